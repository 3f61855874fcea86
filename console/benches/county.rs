//! `make bench-county`: a county's reports through its gateways into a three-replica JetStream
//! stream (Debian's nats-server, three nodes on loopback), while seats follow.
//!
//! Two gateways of the whole county (`linkage hub --nats … --county c1`) serve ten townships,
//! each township a grid worker's terminal reporting at an even pace (its token names its
//! township, so the gateway writes its reports under it); 20 seats: the county's two (one on
//! each gateway) and 18 townships' (their tokens keep them to their township): two each for
//! t0–t7 (one on each gateway), one each for t8 and t9. Terminals alternate between the
//! gateways. Half way through, the stream's leader is killed (SIGKILL) and started again a
//! second later — or, with `--planned` (`make bench-county-planned`), stopped as a planned
//! restart stops it (lame duck mode: it hands its leadership over first) and started again
//! once it has stopped, if that is within the run.
//! Reports not acknowledged are sent again afterwards (the log keeps a repeat once).
//!
//! - `events_per_s`: reports acknowledged during the paced run, per second of it (at most the
//!   10 000 a second offered: the county keeping up reads 10000);
//! - `p99_ms`: from a terminal sending a report to a seat receiving it, every seat, every report
//!   (those that arrive after the paced run too);
//! - `failover_gap_ms`: the longest a seat waited between two reports, from the start until it
//!   holds every report of its scope (the kill included);
//! - `lost`, `duplicated`: acknowledged reports a seat of their scope never received / received
//!   twice (or, at a township's seat, another township's). Reports never acknowledged (after
//!   five minutes of resending) are said on stderr.
//!
//! Also on stderr: how long after the stop the stream was led again (the election's part of
//! the gap), and the seats' latency for the reports sent over 2 s before the stop (what they
//! wait with every node up).
//!
//! Prints, last:
//! `county-bench townships=10 consoles=20 events_per_s=E p99_ms=P failover_gap_ms=G lost=L duplicated=D`
//! (`county-bench-planned …` with `--planned`).

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
    /// Each report's latency, by when it was first sent.
    latencies_us: Vec<(u64, u64)>,
    last: Option<Instant>,
    gap: Duration,
}

impl Seat {
    /// Takes what arrived: every report's latency, and the gap since the one before (until
    /// the seat holds every report of its scope: what comes after, a report sent again for
    /// want of an answer, is no gap of the stream).
    fn drain(&mut self, all: usize) {
        while let Ok(update) = self.rx.try_recv() {
            let FeedUpdate::Event(env) = update else { continue };
            let Body::IncidentReported(incident) = env.body else { continue };
            let now = Instant::now();
            if let Some(last) = self.last.filter(|_| self.got.len() < all) {
                self.gap = self.gap.max(now - last);
            }
            if let Ok(sent) = incident.report.text.parse::<u64>() {
                self.latencies_us.push((sent, now_us().saturating_sub(sent)));
            }
            self.last = Some(now);
            *self.got.entry(incident.report.report_id).or_default() += 1;
        }
    }
}

/// Drains every seat every 10 ms for `time` (a report's arrival is timed when it is drained);
/// `all(township)`: how many reports a seat of that scope is to hold.
fn follow(seats: &mut [Seat], time: Duration, all: &dyn Fn(Option<usize>) -> usize) {
    let until = Instant::now() + time;
    loop {
        for seat in seats.iter_mut() {
            seat.drain(all(seat.township));
        }
        if Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long after `from` the county's stream is led again, asked through `client` (of the
/// other nodes) every 50 ms, each question waited for 200 ms at most (a stream without a
/// leader does not answer); `None` after a minute. An upper bound, by the questions' spacing.
/// `gone`: the node stopped in lame duck mode, which answers as the leader until it has
/// handed over, so another's name is waited for; a killed leader answers nothing, and the
/// new one may be that node again, started anew.
async fn elected_after(client: async_nats::Client, gone: Option<String>, from: Instant) -> Option<Duration> {
    let mut js = async_nats::jetstream::new(client);
    js.set_timeout(Duration::from_millis(200));
    while from.elapsed() < Duration::from_secs(60) {
        if let Ok(stream) = js.get_stream("LK_c1").await
            && stream
                .cached_info()
                .cluster
                .as_ref()
                .and_then(|c| c.leader.as_deref())
                .is_some_and(|now| gone.as_deref() != Some(now))
        {
            return Some(from.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Report `n` of `township`, first sent at `sent_us` (a report sent again carries the time
/// it was first sent: its latency is what the grid worker waited).
fn report(township: usize, n: usize, sent_us: u64) -> Body {
    let Body::Report(report) = peers::report(n) else { unreachable!("peers::report is a report") };
    Body::Report(IncidentReport { report_id: format!("t{township}-{n}"), text: sent_us.to_string(), ..report })
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    // `--planned`: the leader is stopped as a planned restart stops it (lame duck mode), not
    // killed; the last line says `county-bench-planned`.
    let planned = std::env::args().any(|a| a == "--planned");
    // The benchmark: 10 townships × 1000 reports a second for 20 s; the smoke run (in `make
    // test`): 2 townships, 100 a second for 2 s, no kill.
    let (townships, per_second, seconds) = if smoke { (2, 100, 2) } else { (10, 1000, 20) };
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ports: [u16; 2] = linkage_tests::free_tcp_ports();
    let gateways: Vec<Gateway> = ports
        .iter()
        .enumerate()
        .map(|(g, port)| gateway(dir.path(), &format!("county{g}"), *port, &nats, None))
        .collect();
    let url = |n: usize| format!("ws://127.0.0.1:{}", ports[n % 2]);
    let mut seats: Vec<Seat> = vec![];
    let mut seat = |township: Option<usize>, url: String| {
        let token = township.map_or("console".into(), |t| format!("console-t{t}"));
        let (client, rx) = client(&runtime, &url, &token, Role::Console);
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
    seat(None, url(0));
    seat(None, url(1));
    for t in 0..townships {
        let each = if smoke || t < 8 { 2 } else { 1 };
        for n in 0..each {
            seat(Some(t), url(t + n));
        }
    }
    let consoles = seats.len();
    let mut terminals: Vec<(ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>)> =
        (0..townships).map(|t| client(&runtime, &url(t), &format!("field-t{t}"), Role::FieldTerminal)).collect();
    // Every seat has said hello and been replayed an empty log.
    std::thread::sleep(Duration::from_secs(2));

    // The paced run: every 10 ms each township sends its share.
    let per_tick = (per_second / 100).max(1);
    let ticks = seconds * 100;
    // Each township's reports by number (from 1), as the time each was first sent.
    let mut sent: Vec<Vec<u64>> = vec![vec![]; townships];
    let mut acked: Vec<HashMap<String, bool>> = vec![HashMap::new(); townships];
    // While reports are still being sent, every arrival's gap counts.
    let during = |_: Option<usize>| usize::MAX;
    let start = Instant::now();
    let (mut stopping, mut restarted): (Option<String>, bool) = (None, false);
    // When the leader was stopped (never, in the smoke run), and how long until another led.
    let mut stopped_us = u64::MAX;
    let mut elected = None;
    for tick in 0..ticks {
        for (t, (terminal, _)) in terminals.iter().enumerate() {
            for _ in 0..per_tick {
                let at = now_us();
                sent[t].push(at);
                terminal.send(report(t, sent[t].len(), at));
            }
        }
        if !smoke && stopping.is_none() && tick >= ticks / 2 {
            let leader = runtime.block_on(cluster.leader("LK_c1")).expect("the stream has a leader");
            let beside = runtime.block_on(cluster.client_beside(&leader)).expect("a client of the other nodes");
            stopped_us = now_us();
            let gone = planned.then(|| leader.clone());
            elected = Some(runtime.spawn(elected_after(beside, gone, Instant::now())));
            if planned {
                cluster.lame_duck(&leader);
            } else {
                cluster.kill(&leader);
                follow(&mut seats, Duration::from_secs(1), &during);
            }
            stopping = Some(leader);
        }
        // Started again once it has stopped (killed: at once; in lame duck mode: after it
        // handed its leadership over and closed its clients, one a second at most — it may
        // still be closing them when the paced run ends, and stays down then).
        if let Some(node) = stopping.as_deref()
            && !restarted
            && cluster.stopped(node)
        {
            cluster.restart(node);
            restarted = true;
        }
        follow(&mut seats, Duration::ZERO, &during);
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
            for (n, first) in (1..).zip(&sent[t]) {
                if !acked[t].contains_key(&format!("t{t}-{n}")) {
                    missing += 1;
                    terminal.send(report(t, n, *first));
                }
            }
        }
        if missing == 0 || Instant::now() > until {
            if missing > 0 {
                eprintln!("county-bench: {missing} reports still not acknowledged after 300 s of resending");
            }
            break;
        }
        follow(&mut seats, Duration::from_secs(2), &during);
    }
    // The seats catch up with every acknowledged report of their scope.
    let accepted: Vec<usize> = acked.iter().map(HashMap::len).collect();
    let total: usize = accepted.iter().sum();
    let caught_up = |seats: &[Seat]| seats.iter().all(|s| s.got.len() >= s.township.map_or(total, |t| accepted[t]));
    let until = Instant::now() + Duration::from_secs(300);
    let all = |township: Option<usize>| township.map_or(total, |t| accepted[t]);
    while !caught_up(&seats) && Instant::now() < until {
        follow(&mut seats, Duration::from_millis(200), &all);
    }
    // A late duplicate would come within this second.
    follow(&mut seats, Duration::from_secs(1), &all);

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
    // Of the reports sent over 2 s before the leader was stopped (what the seats wait for
    // while every node is up: none of them was waiting on the stopped leader then), and over
    // the whole run.
    let steady = stopped_us.saturating_sub(2_000_000);
    let before: Vec<u64> =
        seats.iter().flat_map(|s| s.latencies_us.iter().filter(|(sent, _)| *sent < steady).map(|l| l.1)).collect();
    let mut latencies: Vec<u64> = seats.iter().flat_map(|s| s.latencies_us.iter().map(|l| l.1)).collect();
    latencies.sort_unstable();
    let p99 = latencies.get(latencies.len().saturating_sub(1) * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
    let gap = seats.iter().map(|s| s.gap).max().unwrap_or_default();
    let events_per_s = in_run as f64 / run.as_secs_f64();
    let at = |q: usize| latencies.get(latencies.len().saturating_sub(1) * q / 100).copied().unwrap_or(0) / 1000;
    eprintln!(
        "county-bench: {} deliveries, p50 {} ms, p99 {} ms, max {} ms; {} over a second",
        latencies.len(),
        at(50),
        at(99),
        at(100),
        latencies.iter().filter(|l| **l > 1_000_000).count()
    );
    if let Some(elected) = elected {
        match runtime.block_on(elected).ok().flatten() {
            Some(after) => eprintln!(
                "county-bench: the stream had a new leader {} ms after its leader was stopped",
                after.as_millis()
            ),
            None => eprintln!("county-bench: the stream had no new leader within 60 s of its leader being stopped"),
        }
    }
    let mut before = before;
    before.sort_unstable();
    let before_at = |q: usize| before.get(before.len().saturating_sub(1) * q / 100).copied().unwrap_or(0) / 1000;
    if stopped_us != u64::MAX {
        eprintln!(
            "county-bench: {} deliveries of reports sent over 2 s before the leader was stopped, p50 {} ms, p99 {} ms",
            before.len(),
            before_at(50),
            before_at(99)
        );
    }
    drop(gateways);
    println!(
        "county-bench{} townships={townships} consoles={consoles} events_per_s={events_per_s:.0} p99_ms={p99:.1} failover_gap_ms={} lost={lost} duplicated={duplicated}",
        if planned { "-planned" } else { "" },
        gap.as_millis()
    );
}
