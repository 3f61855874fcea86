//! Never lose one, on the console's side: a console following the hub (`linkage tail
//! --journal`, the console's own journal code without a screen) is killed with SIGKILL again and
//! again while reports stream in, and started again on its folder each time. In the end its
//! journal holds every event the hub logged exactly once: sequence numbers 1..=head, no gap, no
//! duplicate, every report once.

mod peers;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peers::report;
use streams::feed::{Body, Envelope, FeedClient, FeedUpdate, Grant, Hub, HubConfig, Role};

/// A run of the follower: the journal's cursor when it started and where its output goes.
struct Run {
    cursor: u64,
    out: std::path::PathBuf,
}

fn follower(url: &str, journal: &Path, runs: &mut Vec<Run>) -> Child {
    let cursor =
        if journal.join("console.sqlite").exists() { journal_rows(journal).last().map_or(0, |r| r.0) } else { 0 };
    let out = journal.with_file_name(format!("run-{}.jsonl", runs.len()));
    let child = Command::new(env!("CARGO_BIN_EXE_linkage"))
        .args(["tail", "--hub", url, "--journal"])
        .env("LINKAGE_TOKEN", "console")
        .arg(journal)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("linkage tail starts");
    runs.push(Run { cursor, out });
    child
}

/// The journal's rows: (seq, report id) in seq order.
fn journal_rows(dir: &Path) -> Vec<(u64, String)> {
    let db = rusqlite::Connection::open(dir.join("console.sqlite")).unwrap();
    let mut stmt = db.prepare("SELECT seq, frame FROM journal ORDER BY seq").unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|row| {
            let (seq, frame) = row.unwrap();
            let Body::IncidentReported(i) = Envelope::parse(&frame).unwrap().body else {
                panic!("journal row {seq} is not an incident")
            };
            (seq, i.report.report_id)
        })
        .collect()
}

#[test]
fn a_console_killed_again_and_again_ends_with_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tokens = std::collections::HashMap::from([
        ("console".to_string(), Grant::new(Role::Console, "console")),
        ("field".to_string(), Grant::new(Role::FieldTerminal, "field")),
    ]);
    let hub = runtime.block_on(Hub::start(HubConfig::on_loopback(&dir.path().join("hub"), tokens))).unwrap();
    let url = hub.url();
    let journal = dir.path().join("console");

    let (field_tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let terminal = FeedClient {
        url: url.clone(),
        token: "field".into(),
        role: Role::FieldTerminal,
        since: 0,
        name: "field".into(),
        trust: None,
    }
    .spawn(runtime.handle(), field_tx, streams::no_waker());

    const REPORTS: usize = 600;
    const KILLS: usize = 8;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut runs = vec![];
    let mut console = follower(&url, &journal, &mut runs);
    let mut killed = 0;
    for n in 1..=REPORTS {
        terminal.send(report(n));
        std::thread::sleep(Duration::from_millis(3));
        if killed < KILLS && rng.usize(..REPORTS / KILLS) == 0 {
            console.kill().unwrap(); // SIGKILL: the writer thread dies mid-batch
            console.wait().unwrap();
            killed += 1;
            console = follower(&url, &journal, &mut runs);
        }
    }
    // Wait until the hub has logged every report, then until the journal holds all of them.
    let mut head = 0;
    let until = Instant::now() + Duration::from_secs(30);
    while head < REPORTS as u64 {
        assert!(Instant::now() < until, "the hub logged {head} of {REPORTS} reports");
        if let Ok(FeedUpdate::Event(e)) = acks.try_recv() {
            head = head.max(e.seq);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let rows = loop {
        let rows = journal_rows(&journal);
        if rows.len() as u64 >= head || Instant::now() > until {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    console.kill().unwrap();
    console.wait().unwrap();
    assert!(killed >= KILLS / 2, "the drill killed the console only {killed} times");

    let seqs: Vec<u64> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "the journal has a gap or a duplicate");
    let ids: HashSet<&str> = rows.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), REPORTS, "every report once");
    // Each restart asked the hub only for what its journal lacked.
    for (k, run) in runs.iter().enumerate() {
        let printed: Vec<u64> = std::fs::read_to_string(&run.out)
            .unwrap()
            .lines()
            .filter_map(|l| Envelope::parse(l).ok())
            .map(|e| e.seq)
            .collect();
        if let Some(&first) = printed.first() {
            assert_eq!(first, run.cursor + 1, "run {k} started after {} but got {first} first", run.cursor);
        }
        assert!(printed.windows(2).all(|w| w[0] + 1 == w[1]), "run {k} got a gap or a repeat: {printed:?}");
    }
}
