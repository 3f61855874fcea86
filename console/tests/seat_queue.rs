//! A seat's commands survive a seat killed while the hub is down: the duty officer
//! acknowledges a critical alarm and writes a note while the center's server is away, and the
//! seat's process is killed (SIGKILL) before the hub is back. When both start again, the seat
//! sends its queue, the log has the acknowledgement and the note once each, and the alarm does
//! not ring again — not before the hub answers, not after.
//!
//! The seat that is killed is this test binary run again as a child (`SEAT_QUEUE_CHILD` set):
//! a real process, killed for real.

mod peers;

use std::io::BufRead;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage::core::Command;
use peers::Seat;
use streams::feed::{Body, CoordinateSystem, IncidentReport, Location, ReportSource, Severity};

const NOTE: &str = "已电话联系村委会，消防车在路上";

fn config() -> Config {
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config
}

fn fire() -> Body {
    Body::Report(IncidentReport {
        report_id: "fire-1".into(),
        kind: "fire".into(),
        severity: Severity::Critical,
        location: Location { lon: 120.0026, lat: 30.1367, crs: CoordinateSystem::Wgs84 },
        grid: None,
        reporter: "王芳".into(),
        reporter_mobile: None,
        source: ReportSource::Field,
        text: "仓库起火".into(),
        attachments: vec![],
    })
}

/// The commands in a seat's queue on disk.
fn queued_on_disk(dir: &std::path::Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join(linkage::journal::FILE)).unwrap();
    db.query_row("SELECT COUNT(*) FROM queued", [], |r| r.get::<_, i64>(0)).unwrap_or(0)
}

/// The child: a seat on the seat folder that saw the alarm; the hub is down now. It
/// acknowledges and writes the note, waits until both are in its queue on disk, says so, and
/// waits to be killed.
#[test]
fn child_seat() {
    let (Ok(dir), Ok(url)) = (std::env::var("SEAT_QUEUE_CHILD"), std::env::var("SEAT_QUEUE_URL")) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut seat = Seat::open(&runtime, std::path::Path::new(&dir), &url, "seat-1", &config());
    assert_eq!(seat.core.alarms, ["E000001"], "the journal has the ringing alarm");
    seat.apply(Command::AcknowledgeAlarm("E000001".into()));
    seat.apply(Command::UpdateIncident { incident: "E000001".into(), status: None, note: Some(NOTE.into()) });
    let deadline = Instant::now() + Duration::from_secs(10);
    while queued_on_disk(std::path::Path::new(&dir)) < 2 {
        assert!(Instant::now() < deadline, "the queue never reached the disk");
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("QUEUED");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_seat_killed_while_the_hub_is_down_sends_its_queue_once_and_the_alarm_stays_silent() {
    if std::env::var("SEAT_QUEUE_CHILD").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = config();
    let listen = format!("127.0.0.1:{}", linkage_tests::free_tcp_port());
    let url = format!("ws://{listen}");
    let seat_dir = dir.path().join("seat");

    // 1. The hub is up: a critical fire is reported and the seat rings.
    let center = peers::center(&runtime, dir.path(), &listen, &config);
    let field = peers::field_terminal(&runtime, &url);
    field.send(fire());
    {
        let mut seat = Seat::open(&runtime, &seat_dir, &url, "seat-1", &config);
        seat.until(20, "the alarm", |core| core.alarms == ["E000001"]);
    }
    // 2. The hub goes down; the officer acts in a seat that is then killed.
    drop(field);
    drop(center);
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_seat", "--nocapture", "--test-threads=1"])
        .env("SEAT_QUEUE_CHILD", &seat_dir)
        .env("SEAT_QUEUE_URL", &url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("QUEUED"))), "the child seat never queued");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // 3. The seat starts again first: the alarm stays silent though the hub is still away.
    let mut seat = Seat::open(&runtime, &seat_dir, &url, "seat-1", &config);
    assert!(seat.core.alarms.is_empty(), "the queued acknowledgement silences it at start");
    // 4. The hub is back on the same log: the queue goes out, and is logged once.
    let center = peers::center(&runtime, dir.path(), &listen, &config);
    seat.until(30, "the note in the trail", |core| {
        core.history.notes("E000001") == 1
            && core.history.of("E000001").iter().any(|l| l.entry == linkage::core::history::Entry::AlarmAcknowledged)
    });
    assert!(seat.core.alarms.is_empty());
    // A second seat reading the whole log counts each once.
    let mut other = Seat::open(&runtime, &dir.path().join("other"), &url, "seat-2", &config);
    other.until(30, "the whole log", |core| core.history.notes("E000001") == 1);
    let acks = other
        .core
        .history
        .of("E000001")
        .iter()
        .filter(|l| l.entry == linkage::core::history::Entry::AlarmAcknowledged)
        .count();
    assert_eq!(acks, 1);
    assert!(other.core.alarms.is_empty(), "acknowledged for every seat");
    // Nothing is left in the queue: the log settled it.
    drop(seat);
    assert_eq!(queued_on_disk(&seat_dir), 0, "the log settled the queue");
    drop(center);
}
