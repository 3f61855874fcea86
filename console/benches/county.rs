//! `make bench-county`: a county's reports through its gateways into a three-replica JetStream
//! stream (Debian's nats-server, three nodes on loopback), while seats follow.
//!
//! Ten townships, each with its gateway (`linkage hub --nats … --township tN`) and a grid
//! worker's terminal reporting at an even pace; two county gateways; 20 seats: one on each
//! county gateway, and 18 on the townships' (two each on t1–t8, one each on t9 and t10). Half
//! way through, the stream's leader is killed (SIGKILL) and started again a second later.
//! Reports not acknowledged are sent again afterwards (the log keeps a repeat once).
//!
//! - `events_per_s`: reports acknowledged during the paced run, per second of it;
//! - `p99_ms`: from a terminal sending a report to a seat receiving it, every seat, every report;
//! - `failover_gap_ms`: the longest a seat waited between two events around the kill;
//! - `lost`, `duplicated`: acknowledged reports a seat of their scope never received / received
//!   twice (or, at a township's seat, another township's). Reports never acknowledged (after
//!   five minutes of resending) are said on stderr.
//!
//! Prints, last:
//! `county-bench townships=10 consoles=20 events_per_s=E p99_ms=P failover_gap_ms=G lost=L duplicated=D`

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use linkage_tests::nats::NatsCluster;
use peers::county::{Gateway, client, gateway};
use streams::feed::{Body, ClientHandle, FeedUpdate, IncidentReport, Role};
use tokio::sync::mpsc;

/// Microseconds since the epoch: the report carries when it was sent (one machine, one clock).
fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// A seat: where it connects, what it received (report id → times), latencies, longest gap.
struct Seat {
    township: Option<usize>,
    rx: mpsc::UnboundedReceiver<FeedUpdate>,
    _client: ClientHandle,
    got: HashMap<String, u32>,
    latencies_us: Vec<u64>,
    last: Option<Instant>,
    gap: Duration,
}

impl Seat {
    fn drain(&mut self, measuring: bool) {
        while let Ok(update) = self.rx.try_recv() {
            let FeedUpdate::Event(env) = update else { continue };
            let Body::IncidentReported(incident) = env.body else { continue };
            let now = Instant::now();
            if measuring {
                if let Some(last) = self.last {
                    self.gap = self.gap.max(now - last);
                }
                if let Ok(sent) = incident.report.text.parse::<u64>() {
                    self.latencies_us.push(now_us().saturating_sub(sent));
                }
            }
            self.last = Some(now);
            *self.got.entry(incident.report.report_id).or_default() += 1;
        }
    }
}

fn report(township: usize, n: usize) -> Body {
    let Body::Report(report) = peers::report(n) else { unreachable!("peers::report is a report") };
    Body::Report(IncidentReport { report_id: format!("t{township}-{n}"), text: now_us().to_string(), ..report })
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    // The benchmark: 10 townships × 1000 reports a second for 20 s; the smoke run (in `make
    // test`): 2 townships, 100 a second for 2 s, no kill.
    let (townships, per_second, seconds) = if smoke { (2, 100, 2) } else { (10, 1000, 20) };
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ports: Vec<u16> = (0..townships + 2).map(|_| linkage_tests::free_tcp_port()).collect();
    let mut gateways: Vec<Gateway> = vec![];
    for (c, port) in ports[..2].iter().enumerate() {
        gateways.push(gateway(dir.path(), &format!("county{c}"), *port, &nats, None));
    }
    for t in 0..townships {
        gateways.push(gateway(dir.path(), &format!("t{t}"), ports[2 + t], &nats, Some(&format!("t{t}"))));
    }
    let mut seats: Vec<Seat> = vec![];
    let mut seat = |township: Option<usize>, port: u16| {
        let (client, rx) = client(&runtime, &format!("ws://127.0.0.1:{port}"), "console", Role::Console);
        seats.push(Seat {
            township,
            rx,
            _client: client,
            got: HashMap::new(),
            latencies_us: vec![],
            last: None,
            gap: Duration::ZERO,
        });
    };
    seat(None, ports[0]);
    seat(None, ports[1]);
    for t in 0..townships {
        let each = if smoke || t < 8 { 2 } else { 1 };
        for _ in 0..each {
            seat(Some(t), ports[2 + t]);
        }
    }
    let consoles = seats.len();
    let mut terminals: Vec<(ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>)> = (0..townships)
        .map(|t| client(&runtime, &format!("ws://127.0.0.1:{}", ports[2 + t]), "field", Role::FieldTerminal))
        .collect();
    // Every seat has said hello and been replayed an empty log.
    std::thread::sleep(Duration::from_secs(2));

    // The paced run: every 10 ms each township sends its share.
    let per_tick = (per_second / 100).max(1);
    let ticks = seconds * 100;
    let mut sent: Vec<usize> = vec![0; townships];
    let mut acked: Vec<HashMap<String, bool>> = vec![HashMap::new(); townships];
    let start = Instant::now();
    let mut killed = false;
    for tick in 0..ticks {
        for (t, (terminal, _)) in terminals.iter().enumerate() {
            for _ in 0..per_tick {
                sent[t] += 1;
                terminal.send(report(t, sent[t]));
            }
        }
        if !smoke && !killed && tick >= ticks / 2 {
            let leader = runtime.block_on(cluster.leader("LK_c1")).expect("the stream has a leader");
            cluster.kill(&leader);
            let back = Instant::now() + Duration::from_secs(1);
            // Keep reporting while the node is down.
            while Instant::now() < back {
                std::thread::sleep(Duration::from_millis(10));
                for seat in &mut seats {
                    seat.drain(true);
                }
            }
            cluster.restart(&leader);
            killed = true;
        }
        for seat in &mut seats {
            seat.drain(true);
        }
        let due = start + Duration::from_millis(10 * (tick as u64 + 1));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let run = start.elapsed();
    for (t, (_, answers)) in terminals.iter_mut().enumerate() {
        while let Ok(update) = answers.try_recv() {
            if let FeedUpdate::Event(env) = update
                && let Body::IncidentReported(i) = env.body
            {
                acked[t].insert(i.report.report_id, true);
            }
        }
    }
    let in_run: usize = acked.iter().map(HashMap::len).sum();

    // Then everything not acknowledged is sent again until it is.
    let until = Instant::now() + Duration::from_secs(300);
    loop {
        let mut missing = 0;
        for (t, (terminal, answers)) in terminals.iter_mut().enumerate() {
            while let Ok(update) = answers.try_recv() {
                if let FeedUpdate::Event(env) = update
                    && let Body::IncidentReported(i) = env.body
                {
                    acked[t].insert(i.report.report_id, true);
                }
            }
            for n in 1..=sent[t] {
                if !acked[t].contains_key(&format!("t{t}-{n}")) {
                    missing += 1;
                    terminal.send(report(t, n));
                }
            }
        }
        for seat in &mut seats {
            seat.drain(false);
        }
        if missing == 0 || Instant::now() > until {
            if missing > 0 {
                eprintln!("county-bench: {missing} reports still not acknowledged after 300 s of resending");
            }
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    // The seats catch up with every acknowledged report of their scope.
    let accepted: Vec<usize> = acked.iter().map(HashMap::len).collect();
    let total: usize = accepted.iter().sum();
    let caught_up = |seats: &[Seat]| seats.iter().all(|s| s.got.len() >= s.township.map_or(total, |t| accepted[t]));
    let until = Instant::now() + Duration::from_secs(300);
    while !caught_up(&seats) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        for seat in &mut seats {
            seat.drain(false);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    for seat in &mut seats {
        seat.drain(false);
    }

    // Lost: an acknowledged report a seat of its scope never received.
    let (mut lost, mut duplicated) = (0, 0);
    for (i, seat) in seats.iter().enumerate() {
        let before = lost;
        for t in (0..townships).filter(|t| seat.township.is_none_or(|own| own == *t)) {
            for id in acked[t].keys() {
                match seat.got.get(id) {
                    None => lost += 1,
                    Some(1) => {}
                    Some(_) => duplicated += 1,
                }
            }
        }
        if lost > before {
            eprintln!("county-bench: seat {i} ({:?}) missing {} acknowledged reports", seat.township, lost - before);
        }
        // Another township's report at a township's seat counts as doubled: it should not be there.
        if let Some(own) = seat.township {
            duplicated += seat.got.keys().filter(|id| !id.starts_with(&format!("t{own}-"))).count();
        }
    }
    let mut latencies: Vec<u64> = seats.iter().flat_map(|s| s.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let p99 = latencies.get(latencies.len().saturating_sub(1) * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
    let gap = seats.iter().map(|s| s.gap).max().unwrap_or_default();
    let events_per_s = in_run as f64 / run.as_secs_f64();
    drop(gateways);
    println!(
        "county-bench townships={townships} consoles={consoles} events_per_s={events_per_s:.0} p99_ms={p99:.1} failover_gap_ms={} lost={lost} duplicated={duplicated}",
        gap.as_millis()
    );
}
