//! Never lose one: the hub process is killed (SIGKILL) in the middle of a stream of reports and
//! started again on the same data directory. A console client and a reporting terminal both
//! reconnect on their own; in the end the console holds every report exactly once, in log
//! order, and nothing the hub logged is missing.

mod peers;

use std::collections::HashSet;

use std::process::Child;
use std::time::{Duration, Instant};

use peers::report;
use streams::feed::{Body, FeedClient, FeedUpdate, Role};
use tokio::sync::mpsc;

const TOKENS: &str = r#"
[[token]]
token = "console"
role = "console"
name = "test console"

[[token]]
token = "field"
role = "field_terminal"
name = "test terminal"
"#;

fn start_hub(dir: &std::path::Path, port: u16) -> Child {
    peers::linkage_hub(dir, port, &[])
}

/// Collects the report ids of the logged events a client received, with their sequence numbers.
fn drain(rx: &mut mpsc::UnboundedReceiver<FeedUpdate>, into: &mut Vec<(u64, String)>) {
    while let Ok(update) = rx.try_recv() {
        if let FeedUpdate::Event(env) = update
            && let Body::IncidentReported(i) = env.body
        {
            into.push((env.seq, i.report.report_id));
        }
    }
}

#[test]
fn a_killed_hub_restarted_on_its_data_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens.toml"), TOKENS).unwrap();
    let port = linkage_tests::free_tcp_port();
    let url = format!("ws://127.0.0.1:{port}");
    let mut hub = start_hub(dir.path(), port);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = |token: &str, role| FeedClient {
        url: url.clone(),
        token: token.into(),
        role,
        since: 0,
        name: token.into(),
        trust: None,
    };
    let (console_tx, mut console_rx) = mpsc::unbounded_channel();
    let _console = client("console", Role::Console).spawn(runtime.handle(), console_tx, streams::no_waker());
    let (field_tx, mut field_rx) = mpsc::unbounded_channel();
    let terminal = client("field", Role::FieldTerminal).spawn(runtime.handle(), field_tx, streams::no_waker());

    const REPORTS: usize = 300;
    let (mut seen, mut acked) = (vec![], vec![]);
    for n in 1..=REPORTS {
        terminal.send(report(n));
        std::thread::sleep(Duration::from_millis(4));
        if n == REPORTS / 2 {
            hub.kill().unwrap(); // SIGKILL: no clean shutdown, no flush
            hub.wait().unwrap();
            std::thread::sleep(Duration::from_millis(700));
            hub = start_hub(dir.path(), port);
        }
        drain(&mut field_rx, &mut acked);
        drain(&mut console_rx, &mut seen);
    }
    // A terminal resends what the hub never acknowledged (the hub logs a repeat once).
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        drain(&mut field_rx, &mut acked);
        drain(&mut console_rx, &mut seen);
        let acked_ids: HashSet<&str> = acked.iter().map(|(_, id)| id.as_str()).collect();
        let missing: Vec<usize> = (1..=REPORTS).filter(|n| !acked_ids.contains(format!("r{n}").as_str())).collect();
        if missing.is_empty() && seen.len() >= REPORTS {
            break;
        }
        assert!(Instant::now() < until, "after 30 s: {} unacknowledged, console has {}", missing.len(), seen.len());
        for n in missing {
            terminal.send(report(n));
        }
    }
    hub.kill().unwrap();
    hub.wait().unwrap();

    // Exactly once, in log order, every report.
    let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "console events out of order or doubled: {seqs:?}");
    let ids: HashSet<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), REPORTS, "the console holds {} distinct of {} reports", ids.len(), REPORTS);
    assert_eq!(seen.len(), REPORTS, "the console holds a report twice");
    assert_eq!(*seqs.last().unwrap(), REPORTS as u64, "the log holds more events than reports");
}
