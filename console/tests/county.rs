//! A county on one log: `linkage hub --nats` gateways over a real three-node JetStream cluster
//! (Debian's nats-server 2.9.10) on loopback. The stream's leader is killed under load, a
//! gateway is killed under load; a seat sees every report once, in log order, and a township's
//! seat never sees another township's.

mod peers;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage_tests::nats::NatsCluster;
use peers::county::{Gateway, client, gateway, gateway_args, gateway_folder};
use peers::drill;
use streams::feed::{
    Body, Change, ClientHandle, Envelope, ErrorCode, FeedUpdate, IncidentReport, Location, OrderChange, Person, Reach,
    Role, SeatRole, UnitPosition, Users, login,
};
use tokio::sync::mpsc;

/// Report `n` of `township`: its text says where it is from; its id is `n` in every township
/// (the same sender's key in two townships must not make one a repeat of the other).
fn report(township: &str, n: usize) -> Body {
    let Body::Report(report) = peers::report(n) else { unreachable!() };
    Body::Report(IncidentReport { report_id: n.to_string(), text: format!("{township}-{n}"), ..report })
}

/// The reports a client was told about (by their text), with their sequence numbers, in the
/// order told. Each incident's id is built from its place in the log, and it carries its
/// township.
fn drain(rx: &mut mpsc::UnboundedReceiver<FeedUpdate>, into: &mut Vec<(u64, String)>) {
    while let Ok(update) = rx.try_recv() {
        if let FeedUpdate::Event(env) = update
            && let Body::IncidentReported(i) = env.body
        {
            assert_eq!(i.id, format!("E{:06}", env.seq), "an incident's id is not its place in the log");
            // It says which township it belongs to (a report's text starts with it).
            assert_eq!(env.township.as_deref(), i.report.text.split('-').next(), "{}: its township", i.report.text);
            into.push((env.seq, i.report.text));
        }
    }
}

/// The first refusal a client is told within 30 s: its code, reason and the command it names.
fn refused(rx: &mut mpsc::UnboundedReceiver<FeedUpdate>) -> Option<(ErrorCode, String, Option<String>)> {
    let mut refusal = None;
    linkage_tests::wait_for(Duration::from_secs(30), || {
        while let Ok(update) = rx.try_recv() {
            if let FeedUpdate::Refused { code, reason, key } = update {
                refusal.get_or_insert((code, reason, key));
            }
        }
        refusal.is_some()
    });
    refusal
}

/// Every one of `expected` once, nothing else, in increasing log order.
fn exactly_once_in_order(who: &str, seen: &[(u64, String)], expected: &[String]) {
    let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{who}: events out of order or doubled: {seqs:?}");
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, id) in seen {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let doubled: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "{who}: doubled {doubled:?}");
    let missing: Vec<&String> = expected.iter().filter(|id| !count.contains_key(id.as_str())).collect();
    assert!(missing.is_empty(), "{who}: missing {missing:?}");
    assert_eq!(seen.len(), expected.len(), "{who}: holds reports it should not: {seen:?}");
}

/// A seat's updates and the reports it was told about so far.
type Following<'a> = (&'a mut mpsc::UnboundedReceiver<FeedUpdate>, &'a mut Vec<(u64, String)>);

/// Sends one last report (number 0) through `terminal` and waits until every seat holds it:
/// whatever the log had before it — a late duplicate too — has then reached them, since a seat
/// receives in log order. The mark is taken out of what they hold again.
fn through_the_mark(terminal: &ClientHandle, township: &str, seats: &mut [Following<'_>]) {
    terminal.send(report(township, 0));
    let mark = format!("{township}-0");
    let arrived = linkage_tests::wait_for(Duration::from_secs(60), || {
        seats.iter_mut().all(|(rx, into)| {
            drain(rx, into);
            into.iter().any(|(_, id)| *id == mark)
        })
    });
    assert!(arrived, "the last report did not reach every seat within 60 s");
    for (_, into) in seats.iter_mut() {
        into.retain(|(_, id)| *id != mark);
    }
}

/// Sends `reports` through `terminal` again and again until each is acknowledged (a report
/// sent into a dying connection is sent anew; the log keeps a repeat once), draining the seats.
fn until_acknowledged(
    terminal: &ClientHandle,
    acks: &mut mpsc::UnboundedReceiver<FeedUpdate>,
    reports: &[(String, Body)],
    seats: &mut [Following<'_>],
) {
    let mut acked = vec![];
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        drain(acks, &mut acked);
        for (rx, into) in seats.iter_mut() {
            drain(rx, into);
        }
        let missing: Vec<&(String, Body)> =
            reports.iter().filter(|(id, _)| !acked.iter().any(|(_, a)| a == id)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < until, "after 60 s, {} reports not acknowledged", missing.len());
        for (_, body) in missing {
            terminal.send(body.clone());
        }
    }
}

#[test]
fn ten_townships_report_while_the_stream_leader_is_killed_and_each_seat_sees_its_own_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let townships: Vec<String> = (1..=10).map(|t| format!("t{t}")).collect();
    let ports = linkage_tests::free_tcp_port_list(townships.len() + 1);
    let mut gateways: Vec<Gateway> = vec![gateway(dir.path(), "county", ports[0], &nats, None)];
    for (t, port) in townships.iter().zip(&ports[1..]) {
        gateways.push(gateway(dir.path(), t, *port, &nats, Some(t)));
    }
    let url = |port: u16| format!("ws://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_county_seat, mut county_rx) = client(&runtime, &url(ports[0]), "console", Role::Console);
    let (_t1_seat, mut t1_rx) = client(&runtime, &url(ports[1]), "console", Role::Console);
    let mut terminals: Vec<(ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>)> =
        ports[1..].iter().map(|p| client(&runtime, &url(*p), "field", Role::FieldTerminal)).collect();

    const EACH: usize = 30;
    let (mut county_seen, mut t1_seen) = (vec![], vec![]);
    let mut all: Vec<Vec<(String, Body)>> = vec![vec![]; townships.len()];
    let mut killed = None;
    for n in 1..=EACH {
        for (i, (terminal, _)) in terminals.iter().enumerate() {
            let body = report(&townships[i], n);
            all[i].push((format!("{}-{n}", townships[i]), body.clone()));
            terminal.send(body);
        }
        std::thread::sleep(Duration::from_millis(30));
        if n == EACH / 2 {
            // The stream's leader dies mid-stream (SIGKILL) and comes back a second later.
            let leader = runtime.block_on(cluster.leader("LK_c1")).expect("the stream has a leader");
            cluster.kill(&leader);
            std::thread::sleep(Duration::from_secs(1));
            cluster.restart(&leader);
            killed = Some(leader);
        }
        drain(&mut county_rx, &mut county_seen);
        drain(&mut t1_rx, &mut t1_seen);
    }
    assert!(killed.is_some());
    for ((terminal, acks), reports) in terminals.iter_mut().zip(&all) {
        until_acknowledged(
            terminal,
            acks,
            reports,
            &mut [(&mut county_rx, &mut county_seen), (&mut t1_rx, &mut t1_seen)],
        );
    }
    let everyone: Vec<String> = all.iter().flatten().map(|(id, _)| id.clone()).collect();
    let own: Vec<String> = all[0].iter().map(|(id, _)| id.clone()).collect();
    through_the_mark(&terminals[0].0, "t1", &mut [(&mut county_rx, &mut county_seen), (&mut t1_rx, &mut t1_seen)]);
    exactly_once_in_order("the county's seat", &county_seen, &everyone);
    exactly_once_in_order("t1's seat", &t1_seen, &own);
}

/// Two gateways of township t1 (`a`, `b`) on a three-node cluster, and a runtime for their
/// clients. Fields drop in order: the gateways before the cluster and their folder.
struct TwoGateways {
    gateways: [Gateway; 2],
    ports: [u16; 2],
    runtime: tokio::runtime::Runtime,
    _cluster: NatsCluster,
    dir: tempfile::TempDir,
}

impl TwoGateways {
    fn of_t1() -> TwoGateways {
        let dir = tempfile::tempdir().unwrap();
        let cluster = NatsCluster::start(3);
        let nats = cluster.urls();
        let ports = linkage_tests::free_tcp_ports();
        let gateways = [
            gateway(dir.path(), "a", ports[0], &nats, Some("t1")),
            gateway(dir.path(), "b", ports[1], &nats, Some("t1")),
        ];
        let runtime = tokio::runtime::Runtime::new().unwrap();
        TwoGateways { gateways, ports, runtime, _cluster: cluster, dir }
    }
}

/// One of two gateways SIGKILLed under load: a seat by token and t1's duty officer, who
/// logged in at it, move to the other (which takes the session: the gateways share the secret
/// that signs it) and hold every report once, in order.
#[test]
fn a_seat_whose_gateway_is_killed_moves_to_the_other_and_misses_nothing() {
    let mut pair = TwoGateways::of_t1();
    let [a, b] = pair.ports;
    let both = format!("ws://127.0.0.1:{a},ws://127.0.0.1:{b}");
    let li = Person {
        user: "li".into(),
        display: "值班员 李娜".into(),
        seat: SeatRole::DutyOfficer,
        township: "t1".into(),
        unit: None,
    };
    for gateway in ["a", "b"] {
        Users::open(&pair.dir.path().join(gateway).join("data")).unwrap().add(&li, "staple horse").unwrap();
    }
    let runtime = &pair.runtime;
    let session = runtime.block_on(login(&format!("ws://127.0.0.1:{a}"), None, "li", "staple horse")).unwrap();
    let (_seat, mut seat_rx) = client(runtime, &both, "console", Role::Console);
    let (_person, mut person_rx) = client(runtime, &both, &session.token, Role::Console);
    let (terminal, mut acks) = client(runtime, &both, "field", Role::FieldTerminal);

    const REPORTS: usize = 200;
    let (mut seen, mut person_seen) = (vec![], vec![]);
    let reports: Vec<(String, Body)> = (1..=REPORTS).map(|n| (format!("t1-{n}"), report("t1", n))).collect();
    for (n, (_, body)) in reports.iter().enumerate() {
        terminal.send(body.clone());
        std::thread::sleep(Duration::from_millis(10));
        if n == REPORTS / 2 {
            // The gateway both are on dies (SIGKILL): they move to the other.
            pair.gateways[0].kill();
        }
        drain(&mut seat_rx, &mut seen);
        drain(&mut person_rx, &mut person_seen);
    }
    let mut seats = [(&mut seat_rx, &mut seen), (&mut person_rx, &mut person_seen)];
    until_acknowledged(&terminal, &mut acks, &reports, &mut seats);
    let everyone: Vec<String> = reports.iter().map(|(id, _)| id.clone()).collect();
    through_the_mark(&terminal, "t1", &mut seats);
    exactly_once_in_order("the seat", &seen, &everyone);
    exactly_once_in_order("t1's duty officer", &person_seen, &everyone);
}

/// A township's gateway serves its own township's seats and the county's, not another
/// township's: a t2 person is refused at login, a t2 seat's token at connect, each naming why.
#[test]
fn a_townships_gateway_refuses_another_townships_seat() {
    let pair = TwoGateways::of_t1();
    let url = format!("ws://127.0.0.1:{}", pair.ports[0]);
    let t2_person = Person {
        user: "wang".into(),
        display: "值班员 王强".into(),
        seat: SeatRole::DutyOfficer,
        township: "t2".into(),
        unit: None,
    };
    Users::open(&pair.dir.path().join("a").join("data")).unwrap().add(&t2_person, "staple horse").unwrap();
    let refused_login = pair.runtime.block_on(login(&url, None, "wang", "staple horse"));
    let reason = refused_login.expect_err("t2's person logged in at t1's gateway");
    assert!(reason.contains("值班员 王强 works for t2, and this gateway serves t1"), "{reason}");
    let (_seat, mut rx) = client(&pair.runtime, &url, "console-t2", Role::Console);
    let (code, reason, _) = refused(&mut rx).expect("t1's gateway served a t2 seat");
    assert_eq!(code, ErrorCode::Unauthorized, "{reason}");
    assert!(reason.contains("乡镇席位 works for t2, and this gateway serves t1"), "{reason}");
    // t1's own seat and the county's are served.
    for token in ["console-t1", "console"] {
        let (_seat, mut rx) = client(&pair.runtime, &url, token, Role::Console);
        let welcomed = linkage_tests::wait_for(Duration::from_secs(30), || {
            std::iter::from_fn(|| rx.try_recv().ok()).any(|u| matches!(u, FeedUpdate::Replayed { .. }))
        });
        assert!(welcomed, "t1's gateway did not serve {token}");
    }
}

/// What a seat was told about the changes of orders: the changes logged, in log order, and
/// its own commands refused (code, key).
#[derive(Default)]
struct ChangesTold {
    logged: Vec<Envelope>,
    refused: Vec<(ErrorCode, String)>,
}

impl ChangesTold {
    fn drain(&mut self, rx: &mut mpsc::UnboundedReceiver<FeedUpdate>) {
        while let Ok(update) = rx.try_recv() {
            match update {
                FeedUpdate::Event(env) if matches!(env.body, Body::OrderChanged(_)) => self.logged.push(env),
                FeedUpdate::Refused { code, key: Some(key), .. } => self.refused.push((code, key)),
                _ => {}
            }
        }
    }

    /// The change sent as `key`, as logged: its place and where its sender saw the order.
    fn logged(&self, key: &str) -> Option<(u64, Option<u64>)> {
        self.logged.iter().find_map(|env| match &env.body {
            Body::OrderChanged(c) if c.key == key => Some((env.numbered_at(), c.seen)),
            _ => None,
        })
    }

    /// Whether the change sent as `key` was refused as made on the order as it no longer is;
    /// any other refusal of it fails the test.
    fn refused(&self, key: &str) -> bool {
        let key = format!("change/{key}");
        let codes: Vec<ErrorCode> = self.refused.iter().filter(|(_, k)| *k == key).map(|(c, _)| *c).collect();
        assert!(codes.iter().all(|c| *c == ErrorCode::Conflict), "{key} refused as {codes:?}");
        !codes.is_empty()
    }
}

/// Two duty officers on two gateways of t1 change one order at the same moment, again and
/// again (closing it, then reopening it), each made on the order as both saw it: each time one
/// change wins. The stream refuses the other, and only its sender is told (`conflict`, naming
/// its command); or — nats-server 2.9 checks a change made on an order with changes before it
/// proposes it only, and may store both — the later one is logged saying where the order
/// stood before the earlier. Each seat's fold of what it was told takes exactly the winners.
/// A change sent again after it was logged is answered as the logged one, not refused.
#[test]
fn two_seats_changing_one_order_at_once_on_two_gateways_get_one_change_in_and_the_other_told() {
    let pair = TwoGateways::of_t1();
    let [a, b] = pair.ports;
    let url = |port: u16| format!("ws://127.0.0.1:{port}");
    let runtime = &pair.runtime;
    let (seat_a, mut rx_a) = client(runtime, &url(a), "console", Role::Console);
    let (seat_b, mut rx_b) = client(runtime, &url(b), "console", Role::Console);
    let (terminal, _acks) = client(runtime, &url(a), "field", Role::FieldTerminal);
    // The order is named after an event of t1's (the gateway asks the stream whose it is).
    terminal.send(report("t1", 1));
    let mut place = None;
    assert!(linkage_tests::wait_for(Duration::from_secs(30), || {
        while let Ok(update) = rx_a.try_recv() {
            if let FeedUpdate::Event(env) = update
                && matches!(env.body, Body::IncidentReported(_))
            {
                place = Some(env.seq);
            }
        }
        place.is_some()
    }));
    let order = streams::feed::id_at('D', place.unwrap(), None);
    let change = |key: &str, round: usize, seen: u64| {
        let change = if round % 2 == 1 { Change::Close { satisfaction: 4 } } else { Change::Reopen };
        Body::ChangeOrder(OrderChange {
            key: key.into(),
            order: order.clone(),
            change,
            by: String::new(),
            seen: Some(seen),
        })
    };

    const ROUNDS: usize = 20;
    let (mut told_a, mut told_b) = (ChangesTold::default(), ChangesTold::default());
    let (mut last, mut raced) = (0, 0);
    let mut winners: Vec<(u64, String, Body)> = vec![];
    for round in 1..=ROUNDS {
        let (key_a, key_b) = (format!("a{round}"), format!("b{round}"));
        let (sent_a, sent_b) = (change(&key_a, round, last), change(&key_b, round, last));
        seat_a.send(sent_a.clone());
        seat_b.send(sent_b.clone());
        let settled = linkage_tests::wait_for(Duration::from_secs(30), || {
            told_a.drain(&mut rx_a);
            told_b.drain(&mut rx_b);
            let known = |key: &str| told_a.logged(key).is_some() || told_a.refused(key) || told_b.refused(key);
            known(&key_a) && known(&key_b)
        });
        assert!(settled, "round {round}: not both changes were logged or refused within 30 s");
        assert!(!told_b.refused(&key_a) && !told_a.refused(&key_b), "round {round}: a refusal told to the other seat");
        let (won, lost, body) = match (told_a.logged(&key_a), told_a.logged(&key_b)) {
            (Some(won), None) => (won, told_b.refused(&key_b), sent_a),
            (None, Some(won)) => (won, told_a.refused(&key_a), sent_b),
            // Both stored: the later says it was made where the order stood before the earlier.
            (Some(one), Some(two)) => {
                raced += 1;
                let (earlier, later, body) = if one.0 < two.0 { (one, two, sent_a) } else { (two, one, sent_b) };
                assert!(later.1 != Some(earlier.0) && later.0 > earlier.0, "round {round}");
                last = later.0;
                (earlier, true, body)
            }
            (None, None) => panic!("round {round}: both changes refused"),
        };
        assert!(lost, "round {round}: the losing change neither refused nor logged");
        last = last.max(won.0);
        let Body::ChangeOrder(c) = &body else { unreachable!() };
        winners.push((won.0, c.key.clone(), body));
    }
    eprintln!("{ROUNDS} rounds: {} refused by the stream, {raced} stored both", ROUNDS - raced);
    assert!(raced < ROUNDS, "the stream refused no change made too late");

    // Round 2's winner sent again (its answer lost, say) as it was, made where round 1 left
    // the order: answered as logged (the stream checks where the order stands before it sees
    // a repeat); the seat that sent it is refused a change made on the order as it first was.
    let (_, key, again) = winners[1].clone();
    let (sender, told, rx) =
        if key.starts_with('a') { (&seat_a, &mut told_a, &mut rx_a) } else { (&seat_b, &mut told_b, &mut rx_b) };
    sender.send(again);
    sender.send(change("stale", 1, 0));
    let stale = linkage_tests::wait_for(Duration::from_secs(30), || {
        told.drain(rx);
        told.refused("stale")
    });
    assert!(stale, "not refused in 30 s: {:?}", told.refused);
    assert!(!told.refused(&key), "a change logged before was refused when sent again");
    // A last change made on the order as it is now goes in; by then every seat has what the
    // log holds before it: each change once.
    seat_a.send(change("last", ROUNDS + 1, last));
    assert!(linkage_tests::wait_for(Duration::from_secs(30), || {
        told_a.drain(&mut rx_a);
        told_b.drain(&mut rx_b);
        told_a.logged("last").is_some()
            && told_b.logged.iter().any(|e| matches!(&e.body, Body::OrderChanged(c) if c.key == "last"))
    }));
    let mut keys: Vec<String> = told_a
        .logged
        .iter()
        .filter_map(|e| match &e.body {
            Body::OrderChanged(c) => Some(c.key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), ROUNDS + raced + 1, "{keys:?}");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), ROUNDS + raced + 1, "a change logged twice");

    // Each seat folds what it was told onto the order (its one unit has reported back): the
    // changes that take effect are the winners, and the last one, on both.
    let winning: Vec<u64> = winners.iter().map(|(at, ..)| *at).chain(told_a.logged("last").map(|l| l.0)).collect();
    for (seat, told) in [("a", &told_a), ("b", &told_b)] {
        let mut core = linkage::core::Core::default();
        let mut d = streams::feed::order::fixtures::order(&["police"]);
        d.id = order.clone();
        d.record_step("police", streams::feed::Step::ReportedBack, chrono::Utc::now(), None);
        core.on_feed(FeedUpdate::Event(Envelope::new(1, Body::OrderCreated(d))));
        for env in &told.logged {
            core.on_feed(FeedUpdate::Event(env.clone()));
        }
        let applied: Vec<u64> = core.orders.changes[&order].applied.iter().map(|a| a.at).collect();
        assert_eq!(applied, winning, "seat {seat}'s fold");
    }
}

/// Two of the three nodes die (SIGKILL): the stream has no quorum and keeps nothing, so a
/// report is refused as not stored and never acknowledged; once the nodes are back the report
/// sent again is logged, once.
#[test]
fn with_two_nodes_down_a_report_is_refused_unacknowledged_and_logged_once_when_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let port = linkage_tests::free_tcp_port();
    let _gateway = gateway(dir.path(), "t1", port, &nats, Some("t1"));
    let url = format!("ws://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_seat, mut seat_rx) = client(&runtime, &url, "console", Role::Console);
    let (terminal, mut acks) = client(&runtime, &url, "field", Role::FieldTerminal);
    let mut seen = vec![];
    let first = [("t1-1".to_string(), report("t1", 1))];
    until_acknowledged(&terminal, &mut acks, &first, &mut [(&mut seat_rx, &mut seen)]);

    for node in ["n1", "n2"] {
        cluster.kill(node);
    }
    terminal.send(report("t1", 2));
    let (mut refused, mut acked) = (None, vec![]);
    let told = linkage_tests::wait_for(Duration::from_secs(90), || {
        while let Ok(update) = acks.try_recv() {
            match update {
                FeedUpdate::Refused { code, reason, .. } => refused = Some((code, reason)),
                FeedUpdate::Event(env) => acked.push(env),
                _ => {}
            }
        }
        refused.is_some()
    });
    assert!(told, "no refusal within 90 s with two nodes down");
    let (code, reason) = refused.unwrap();
    assert_eq!(code, streams::feed::ErrorCode::Internal, "{reason}");
    assert!(reason.contains("could not store"), "{reason}");
    assert!(acked.iter().all(|e| !matches!(&e.body, Body::IncidentReported(i) if i.report.text == "t1-2")));

    for node in ["n1", "n2"] {
        cluster.restart(node);
    }
    let again = [("t1-2".to_string(), report("t1", 2))];
    until_acknowledged(&terminal, &mut acks, &again, &mut [(&mut seat_rx, &mut seen)]);
    through_the_mark(&terminal, "t1", &mut [(&mut seat_rx, &mut seen)]);
    exactly_once_in_order("the seat", &seen, &["t1-1".to_string(), "t1-2".to_string()]);
}

/// Two gateways of the whole county serve two townships' clients side by side, each client
/// kept to its township by its token: a township's seat, on either gateway, live or replayed,
/// holds its own township's reports once and nothing of the other's; the county's seat holds
/// both. The two townships' terminals use the same report ids.
#[test]
fn a_county_gateway_keeps_each_townships_clients_to_their_township() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let [a, b] = linkage_tests::free_tcp_ports();
    // People who log in at gateway a: t1's duty officer, kept to t1 as a t1 token is; and a
    // unit's person of the county itself (the county's name for a township).
    let mut users = Users::open(&dir.path().join("a").join("data")).unwrap();
    for (user, display, seat, township, unit) in [
        ("li", "值班员 李娜", SeatRole::DutyOfficer, "t1", None),
        ("zhao", "派出所 赵军", SeatRole::Unit, "c1", Some("police")),
    ] {
        let (user, display, township, unit) = (user.into(), display.into(), township.into(), unit.map(Into::into));
        users.add(&Person { user, display, seat, township, unit }, "staple horse").unwrap();
    }
    let _gateways = [gateway(dir.path(), "a", a, &nats, None), gateway(dir.path(), "b", b, &nats, None)];
    let url = |port: u16| format!("ws://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (county_seat, mut county_rx) = client(&runtime, &url(a), "console", Role::Console);
    let (_t1_seat, mut t1_rx) = client(&runtime, &url(b), "console-t1", Role::Console);
    let (t2_seat, mut t2_rx) = client(&runtime, &url(a), "console-t2", Role::Console);
    let (t1, mut t1_acks) = client(&runtime, &url(a), "field-t1", Role::FieldTerminal);
    let (t2, mut t2_acks) = client(&runtime, &url(b), "field-t2", Role::FieldTerminal);

    let reports = |t: &str| -> Vec<(String, Body)> { (1..=20).map(|n| (format!("{t}-{n}"), report(t, n))).collect() };
    let (t1_reports, t2_reports) = (reports("t1"), reports("t2"));
    let (mut county_seen, mut t1_seen, mut t2_seen) = (vec![], vec![], vec![]);
    for ((_, one), (_, two)) in t1_reports.iter().zip(&t2_reports) {
        t1.send(one.clone());
        t2.send(two.clone());
    }
    let mut seats = [(&mut county_rx, &mut county_seen), (&mut t1_rx, &mut t1_seen), (&mut t2_rx, &mut t2_seen)];
    until_acknowledged(&t1, &mut t1_acks, &t1_reports, &mut seats);
    until_acknowledged(&t2, &mut t2_acks, &t2_reports, &mut seats);
    through_the_mark(&t1, "t1", &mut seats[..2]);
    through_the_mark(&t2, "t2", &mut [(&mut county_rx, &mut county_seen), (&mut t2_rx, &mut t2_seen)]);
    let ids = |reports: &[(String, Body)]| reports.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    let (own1, own2) = (ids(&t1_reports), ids(&t2_reports));
    exactly_once_in_order("the county's seat", &county_seen, &[own1.clone(), own2.clone()].concat());
    exactly_once_in_order("t1's seat", &t1_seen, &own1);
    exactly_once_in_order("t2's seat", &t2_seen, &own2);

    // A t1 seat may not acknowledge t2's incident, nor one there is none of: refused for good,
    // not logged, each naming the command so that the seat drops it from its queue.
    let (t2_incident, _) = t2_seen[0];
    let (t1_seat_handle, mut t1_seat_rx) = client(&runtime, &url(b), "console-t1", Role::Console);
    let acknowledge = |incident: String| Body::Acknowledge { incident };
    for (incident, code, why) in [
        (format!("E{t2_incident:06}"), ErrorCode::Unauthorized, "is t2's, not t1's"),
        ("E999999".into(), ErrorCode::Invalid, "there is no event 999999"),
    ] {
        t1_seat_handle.send(acknowledge(incident.clone()));
        let (refused_as, reason, key) = refused(&mut t1_seat_rx).expect("a t1 seat's acknowledgement was not refused");
        assert!(reason.contains(why) && refused_as == code && code.is_final(), "{refused_as:?}: {reason}");
        assert_eq!(key, Some(format!("ack/{incident}")));
    }

    // A t1 seat that connects now — by t1's token, or t1's duty officer who logged in — is
    // replayed t1's events only (the server's filter).
    let replayed_t1 = |token: &str, who: &str| {
        let (_late, mut late_rx) = client(&runtime, &url(a), token, Role::Console);
        let mut late_seen = vec![];
        let replayed = linkage_tests::wait_for(Duration::from_secs(30), || {
            drain(&mut late_rx, &mut late_seen);
            late_seen.iter().any(|(_, id)| id == "t1-0")
        });
        assert!(replayed, "{who} was not replayed t1's reports: {late_seen:?}");
        late_seen.retain(|(_, id)| id != "t1-0");
        exactly_once_in_order(who, &late_seen, &own1);
    };
    replayed_t1("console-t1", "the late t1 seat");
    let session = runtime.block_on(login(&url(a), None, "li", "staple horse")).expect("t1's duty officer logs in");
    replayed_t1(&session.token, "t1's duty officer");

    // The county's seat acknowledges t2's incident: logged under t2, so t2's seat sees it and
    // t1's does not. Each seat's events: acknowledgements (incident, township) and reports.
    type Acks = Vec<(String, Option<String>)>;
    let told = |rx: &mut mpsc::UnboundedReceiver<FeedUpdate>, acks: &mut Acks, reports: &mut Vec<String>| {
        while let Ok(update) = rx.try_recv() {
            let FeedUpdate::Event(env) = update else { continue };
            match env.body {
                Body::AlarmAcknowledged { incident, .. } => acks.push((incident, env.township)),
                Body::IncidentReported(i) => reports.push(i.report.text),
                _ => {}
            }
        }
    };
    let t2_incident = format!("E{t2_incident:06}");
    county_seat.send(Body::Acknowledge { incident: t2_incident.clone() });
    let (mut t2_acks, mut t1_acks, mut t1_told) = (vec![], vec![], vec![]);
    let acked = linkage_tests::wait_for(Duration::from_secs(30), || {
        told(&mut t2_rx, &mut t2_acks, &mut vec![]);
        !t2_acks.is_empty()
    });
    assert!(acked, "t2's seat did not see the county seat's acknowledgement");
    assert_eq!(t2_acks, [(t2_incident, Some("t2".to_owned()))], "logged under t2");
    // t1's seat reads in log order: by a t1 report logged after the acknowledgement, it would
    // have been told of it.
    t1.send(report("t1", 99));
    let marked = linkage_tests::wait_for(Duration::from_secs(60), || {
        told(&mut t1_rx, &mut t1_acks, &mut t1_told);
        t1_told.iter().any(|text| text == "t1-99")
    });
    assert!(marked, "t1's seat was not told of t1's last report");
    assert_eq!(t1_acks, [], "t1's seat was told of t2's acknowledgement");

    // The unit's person of the county itself logs in, but may not read orders on a gateway of
    // the whole county: it would read every township's orders for its unit id.
    let session = runtime.block_on(login(&url(a), None, "zhao", "staple horse")).expect("the person logs in");
    let (_person, mut person_rx) = client(&runtime, &url(a), &session.token, Role::UnitTerminal);
    let (_, refusal, _) = refused(&mut person_rx).expect("a unit's person was let in on the whole county's gateway");
    assert!(refusal.contains("needs its township"), "{refusal}");

    // Where the units are reaches the county's seat, not a seat kept to a township: a
    // gateway's positions are the whole county's, by unit id alone.
    let (unit, mut unit_rx) = client(&runtime, &url(a), "unit-t2", Role::UnitTerminal);
    let here = Location { lon: 120.1, lat: 30.2, crs: Default::default() };
    let moves = |rx: &mut mpsc::UnboundedReceiver<FeedUpdate>| {
        std::iter::from_fn(|| rx.try_recv().ok()).filter(|u| matches!(u, FeedUpdate::Moved(_))).count()
    };
    let (mut county_moves, mut t2_moves) = (0, 0);
    let told = linkage_tests::wait_for(Duration::from_secs(30), || {
        unit.send(Body::Position(UnitPosition { unit: "police".into(), location: here, at: None }));
        std::thread::sleep(Duration::from_millis(200));
        county_moves += moves(&mut county_rx);
        t2_moves += moves(&mut t2_rx);
        county_moves > 0
    });
    assert!(told, "the county's seat was not told where t2's police are");
    // Both seats are on gateway a, which broadcasts a position to its seats at once.
    std::thread::sleep(Duration::from_secs(1));
    t2_moves += moves(&mut t2_rx);
    assert_eq!(t2_moves, 0, "a seat kept to t2 was told where the units are");

    // A meeting t2's seat opens reaches t2's unit terminal (routed to every unit), live and
    // replayed from the stream.
    let sites = vec![streams::feed::Site { id: "police".into(), name: "派出所".into() }];
    let action = streams::feed::MeetingAction::Open { title: "会商".into(), incident: None, sites };
    let command =
        streams::feed::MeetingCommand { key: "m-1".into(), meeting: String::new(), action, by: String::new() };
    t2_seat.send(Body::ChairMeeting(command));
    let opened = |rx: &mut mpsc::UnboundedReceiver<FeedUpdate>| {
        linkage_tests::wait_for(Duration::from_secs(30), || {
            std::iter::from_fn(|| rx.try_recv().ok())
                .any(|u| matches!(u, FeedUpdate::Event(env) if matches!(env.body, Body::MeetingChaired(_))))
        })
    };
    assert!(opened(&mut unit_rx), "t2's unit terminal was not sent t2's meeting live");
    let (_late, mut late_rx) = client(&runtime, &url(b), "unit-t2", Role::UnitTerminal);
    assert!(opened(&mut late_rx), "t2's unit terminal was not replayed t2's meeting");
}

/// A node lost for good, replaced by a fresh one of the same name on an empty store, is given
/// the stream by the others (docs/deployment.md, "When a node is lost"): its own copy of the
/// stream on disk comes to hold every report, those logged before it was lost and while it
/// was down.
#[test]
fn a_node_replaced_on_an_empty_store_is_given_the_stream() {
    const REPORTS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut cluster = NatsCluster::start(3);
    let nats = cluster.urls();
    let port = linkage_tests::free_tcp_port();
    let _gateway = gateway(dir.path(), "g", port, &nats, None);
    let url = format!("ws://127.0.0.1:{port}");
    let (field, mut field_rx) = client(&runtime, &url, "field-t1", Role::FieldTerminal);
    let sent: Vec<(String, Body)> = (1..=REPORTS).map(|n| (format!("t1-{n}"), report("t1", n))).collect();
    let (before, down) = sent.split_at(REPORTS / 2);
    until_acknowledged(&field, &mut field_rx, before, &mut []);
    cluster.kill("n3");
    until_acknowledged(&field, &mut field_rx, down, &mut []);
    cluster.replace("n3");
    let mut missing = vec![];
    let filled = linkage_tests::wait_for(Duration::from_secs(60), || {
        let held = cluster.stored("n3", "LK_c1");
        missing = sent
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !contains(&held, format!("\"text\":\"{id}\"").as_bytes()))
            .collect();
        missing.is_empty()
    });
    assert!(filled, "the node replaced on an empty store lacks {missing:?}");
    // And the cluster serves them all.
    let (_seat, mut seat_rx) = client(&runtime, &url, "console", Role::Console);
    let mut seen = vec![];
    let replayed = linkage_tests::wait_for(Duration::from_secs(60), || {
        drain(&mut seat_rx, &mut seen);
        seen.len() >= REPORTS
    });
    assert!(replayed, "a seat was replayed {} of {REPORTS} reports", seen.len());
    let expected: Vec<String> = sent.into_iter().map(|(id, _)| id).collect();
    exactly_once_in_order("the seat", &seen, &expected);
}

/// Whether `bytes` holds `needle`.
fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// The `[dispatch.sms]` section of a township whose SMSC listens on `port`.
fn smpp(port: u16) -> String {
    format!(
        "[dispatch.sms]\naddress = \"127.0.0.1:{port}\"\nsystem_id = \"linkage\"\npassword = \"secret\"\nsource = \"10690001\"\n"
    )
}

/// A gateway's arguments (of the whole county, on the nodes `nats`) with the user, its password
/// in the file `password`, trusting the authority `ca`.
fn access<'a>(
    nats: &'a str,
    user: &'a str,
    password: &'a std::path::Path,
    ca: &'a std::path::Path,
) -> Vec<&'a std::ffi::OsStr> {
    let mut args = gateway_args(nats, None);
    args.extend(credentials(user, password, ca));
    args
}

/// How a gateway is let in by a secured cluster: as `user`, its password in the file
/// `password`, trusting the authority `ca`.
fn credentials<'a>(user: &'a str, password: &'a std::path::Path, ca: &'a std::path::Path) -> [&'a std::ffi::OsStr; 6] {
    [
        "--nats-user".as_ref(),
        user.as_ref(),
        "--nats-password-file".as_ref(),
        password.as_os_str(),
        "--nats-ca".as_ref(),
        ca.as_os_str(),
    ]
}

/// A file in `dir` named `name` that only its owner may read, holding `text` (a password).
fn secret(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Another site's authority, certificate and key for 127.0.0.1, in the folder `dir/other`
/// (returned): that authority did not sign the secured nodes' certificates.
fn other_authority(dir: &std::path::Path) -> std::path::PathBuf {
    let other = dir.join("other");
    streams::feed::tls::make_site_certs(&other, &["127.0.0.1".into()]).unwrap();
    other
}

/// The nodes of a secured cluster let a gateway in only with their user's password and over
/// TLS to the authority that signed their certificates: a gateway with a wrong password, or
/// that trusts another authority, stops at start saying which; one with both serves its seats.
/// Their routes take in only a node with the routes' own password and the nodes' certificate.
#[test]
fn a_secured_cluster_lets_in_only_a_gateway_with_its_password_that_knows_its_authority() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = NatsCluster::start_secured(3);
    let nats = cluster.urls();
    let secured = cluster.secured().unwrap();
    let (right, wrong) = (secret(dir.path(), "password", &secured.password), secret(dir.path(), "wrong", "guess"));
    let other = other_authority(dir.path()).join("ca.pem");
    // Refused at start: the process ends, saying why.
    let refused = |args: Vec<&std::ffi::OsStr>| {
        let folder = gateway_folder(dir.path(), "refused");
        let said = folder.join("stderr");
        let port = linkage_tests::free_tcp_port();
        let mut hub = peers::linkage_hub_command(&folder, port, &args)
            .stderr(std::fs::File::create(&said).unwrap())
            .spawn()
            .unwrap();
        let ended = linkage_tests::wait_for(Duration::from_secs(60), || hub.try_wait().unwrap().is_some());
        if !ended {
            let _ = hub.kill();
        }
        let said = std::fs::read_to_string(said).unwrap_or_default();
        assert!(ended, "a gateway the nodes refused went on running: {said}");
        assert!(!hub.wait().unwrap().success());
        said
    };
    let said = refused(access(&nats, &secured.user, &wrong, &secured.ca));
    assert!(said.contains("refused this gateway's user and password"), "{said}");
    let said = refused(access(&nats, &secured.user, &right, &other));
    assert!(said.contains("could not be trusted") && said.contains("--nats-ca"), "{said}");

    let port = linkage_tests::free_tcp_port();
    let args = access(&nats, &secured.user, &right, &secured.ca);
    let _gateway = Gateway::new(peers::linkage_hub(&gateway_folder(dir.path(), "let-in"), port, &args));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!("ws://127.0.0.1:{port}");
    let (_seat, mut seat_rx) = client(&runtime, &url, "console", Role::Console);
    let (field, mut field_rx) = client(&runtime, &url, "field-t1", Role::FieldTerminal);
    let sent = vec![("t1-1".to_owned(), report("t1", 1))];
    let mut seen = vec![];
    until_acknowledged(&field, &mut field_rx, &sent, &mut [(&mut seat_rx, &mut seen)]);
    let told = linkage_tests::wait_for(Duration::from_secs(30), || {
        drain(&mut seat_rx, &mut seen);
        !seen.is_empty()
    });
    assert!(told, "the seat behind the secured cluster was not told of the report");

    // The routes let in only a node that gives their password and shows the nodes' certificate.
    // One with both comes in (so the check can see a node come in; how long it took is the
    // least the others are given): what is published on it reaches a client of the cluster.
    // On a node without the password, without TLS, or showing another authority's certificate
    // (while trusting the nodes'), it reaches none.
    let (nodes, nodes_ca) = (cluster.tls(), cluster.tls().join("ca.pem"));
    let began = Instant::now();
    let joined = runtime
        .block_on(cluster.hears(&cluster.outsider(true, Some((Some(&nodes), &nodes_ca))), Duration::from_secs(60)));
    assert!(joined, "a node with the password and certificate did not join");
    let patience = (began.elapsed() * 2).max(Duration::from_secs(10));
    let other = dir.path().join("other");
    let refused = [
        cluster.outsider(false, Some((Some(&nodes), &nodes_ca))),
        cluster.outsider(true, None),
        cluster.outsider(true, Some((Some(&other), &nodes_ca))),
    ];
    let heard = runtime.block_on(futures_util::future::join_all(refused.iter().map(|n| cluster.hears(n, patience))));
    assert_eq!(heard, [false; 3], "joined the routes: a node without the password, without TLS, of another authority");
}

/// A secured cluster's leaf nodes' port takes in only a township's node that gives the leaves'
/// password and shows a certificate of the townships' authority. Through it a township on its
/// own node works as deployed: its terminal's report reaches a county seat on a gateway let in
/// with the cluster's password, and that seat is told t1 is linked — and that t5, whose node
/// joined but holds no log of t5 (no gateway there), and t6, which has no node, are not; t1's
/// seat is told the county reads it. A county gateway not told of t1 takes it as on its own
/// node all the same. What is published
/// on a township's node without the leaves' password, without TLS, showing another
/// authority's certificate or none reaches no client of the cluster, nor does what a node
/// routing in with a township's certificate publishes.
#[test]
fn a_secured_clusters_leaf_port_takes_in_only_a_township_with_the_leaves_password_and_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = NatsCluster::start_secured(3);
    let (nats, secured) = (cluster.urls(), cluster.secured().unwrap());
    // How long the township's node takes to join is the least the others are given.
    let leaf = cluster.leaf("t1");
    let began = Instant::now();
    let joined = runtime.block_on(cluster.hears(&leaf, Duration::from_secs(60)));
    assert!(joined, "a township's node with the leaves' password and certificate did not join");
    let patience = (began.elapsed() * 2).max(Duration::from_secs(10));

    let [township, county] = linkage_tests::free_tcp_ports();
    let own = leaf.url();
    let mut args = gateway_args(&own, Some("t1"));
    args.extend(["--leaf-townships", "t1", "--replicas", "1"].map(std::ffi::OsStr::new));
    let _township = Gateway::new(peers::linkage_hub(&gateway_folder(dir.path(), "t1"), township, &args));
    let password = secret(dir.path(), "password", &secured.password);
    let _t5 = cluster.leaf("t5");
    let mut args = access(&nats, &secured.user, &password, &secured.ca);
    args.extend(["--leaf-townships", "t1,t5,t6"].map(std::ffi::OsStr::new));
    let _county = Gateway::new(peers::linkage_hub(&gateway_folder(dir.path(), "county"), county, &args));
    let (field, _field_rx) = client(&runtime, &format!("ws://127.0.0.1:{township}"), "field-t1", Role::FieldTerminal);
    let (_seat, mut seat_rx) = client(&runtime, &format!("ws://127.0.0.1:{county}"), "console", Role::Console);
    field.send(report("t1", 1));
    let mut at_county = Told::default();
    let sourced = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_county.take(&mut seat_rx);
        !at_county.incidents().is_empty()
    });
    assert!(sourced, "the county seat was not told of the township's report through the secured leaf port");
    let expected = [("t1", Reach::Linked), ("t5", Reach::NoLog), ("t6", Reach::Cut)];
    let told = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_county.take(&mut seat_rx);
        expected.iter().all(|(township, reach)| at_county.reach(township) == Some(*reach))
    });
    assert!(told, "how the townships are reached, as told: {:?}", at_county.links);

    // A county gateway not told of t1 takes it as on its own node all the same, since the
    // county's stream sources it: its seat is told t1 is linked, and its acknowledgement of
    // t1's incident is written into t1's own log (t1's seat is told of it).
    let (incident, _) = at_county.incidents()[0].clone();
    let unnamed = linkage_tests::free_tcp_port();
    let args = access(&nats, &secured.user, &password, &secured.ca);
    let _unnamed = Gateway::new(peers::linkage_hub(&gateway_folder(dir.path(), "unnamed"), unnamed, &args));
    let (seat, mut seat_rx) = client(&runtime, &format!("ws://127.0.0.1:{unnamed}"), "console", Role::Console);
    let mut at_unnamed = Told::default();
    let told = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_unnamed.take(&mut seat_rx);
        at_unnamed.incidents().len() == 1 && at_unnamed.reach("t1") == Some(Reach::Linked)
    });
    assert!(told, "the gateway not told of t1: {:?}, {:?}", at_unnamed.incidents(), at_unnamed.links);
    seat.send(Body::Acknowledge { incident: incident.clone() });
    let (_t1_seat, mut t1_rx) = client(&runtime, &format!("ws://127.0.0.1:{township}"), "console", Role::Console);
    let mut at_t1 = Told::default();
    let acknowledged = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_t1.take(&mut t1_rx);
        at_t1.acknowledged(&incident)
    });
    assert!(acknowledged, "the acknowledgement did not reach t1's own log: {:?}", at_unnamed.refused);
    // t1's seat is told the county reads t1's log (asked of the county's gateways through the
    // secured leaf port).
    let heard = linkage_tests::wait_for(Duration::from_secs(30), || {
        at_t1.take(&mut t1_rx);
        at_t1.county() == Some(Reach::Linked)
    });
    assert!(heard, "t1's seat was not told the county reads it: {:?}", at_t1.county);

    // Refused, each trusting the nodes' authority: a township's node without the leaves'
    // password, one without TLS, one showing another authority's certificate, one showing
    // none; and a node that routes in with the routes' password showing a township's
    // certificate (the townships' authority is not the nodes').
    let (nodes_ca, other) = (cluster.tls().join("ca.pem"), other_authority(dir.path()));
    let t2 = cluster.township_certificate("t2");
    let refused = [
        cluster.leaf_showing("t2", false, Some((Some(&t2), &nodes_ca))),
        cluster.leaf_showing("t3", true, None),
        cluster.leaf_showing("t4", true, Some((Some(&other), &nodes_ca))),
        cluster.leaf_showing("t7", true, Some((None, &nodes_ca))),
        cluster.outsider(true, Some((Some(&t2), &nodes_ca))),
    ];
    let heard = runtime.block_on(futures_util::future::join_all(refused.iter().map(|n| cluster.hears(n, patience))));
    assert_eq!(
        heard, [false; 5],
        "heard: a township's node without the password, without TLS, of another authority, without a certificate; \
         a route showing a township's certificate"
    );
}

/// A gateway of township t1 that runs its services (`--config`: the drill's township), in its
/// own folder `dir/name` with the drill's tokens; `more` arguments after.
fn service(
    dir: &std::path::Path,
    name: &str,
    port: u16,
    (nats, config): (&str, &std::path::Path),
    more: &[&std::ffi::OsStr],
) -> Gateway {
    let own = dir.join(name);
    std::fs::create_dir_all(&own).unwrap();
    std::fs::copy(dir.join("tokens.toml"), own.join("tokens.toml")).unwrap();
    let mut args = gateway_args(nats, Some("t1"));
    args.extend::<[&std::ffi::OsStr; 2]>(["--config".as_ref(), config.as_os_str()]);
    args.extend(more);
    Gateway::new(peers::linkage_hub(&own, port, &args))
}

/// What the tests of a township's service stand on: a folder, a runtime, a three-node cluster
/// (its URLs in `nats`) and an SMSC that is not ours. Dropped last, after the gateways.
struct ServiceRig {
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    cluster: NatsCluster,
    nats: String,
    smsc: peers::Smsc,
}

impl ServiceRig {
    fn start() -> ServiceRig {
        ServiceRig::on(NatsCluster::start(3))
    }

    fn on(cluster: NatsCluster) -> ServiceRig {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let nats = cluster.urls();
        let smsc = peers::start_smsc(dir.path(), 0);
        ServiceRig { dir, runtime, cluster, nats, smsc }
    }

    /// The township's files, its config naming the hub at `hubs` and the SMSC: the config's
    /// path, and the config.
    fn config(&self, hubs: &str) -> (std::path::PathBuf, Config) {
        let path = drill::write_files(self.dir.path(), hubs, &smpp(self.smsc.port));
        let config = Config::load(&path).unwrap();
        (path, config)
    }
}

/// A county seat, on a gateway of the whole county, dispatches a township's incidents: its
/// dispatches are logged under that township, whose service (on the township's gateway) builds
/// and sends the orders; every unit terminal of the township gets each order once. On a
/// secured cluster, where the township's gateway is let in as its own user with the
/// permissions `linkage hub permissions` prints: its service works whole, and that user may
/// not write under another township, take another township's lease or delete the stream.
#[test]
fn a_county_seat_dispatches_a_townships_incidents_through_its_service_whose_user_writes_only_its_own() {
    const ORDERS: usize = 5;
    let rig = ServiceRig::on(NatsCluster::start_secured(3));
    let (dir, runtime, nats) = (&rig.dir, &rig.runtime, &rig.nats);
    let secured = rig.cluster.secured().unwrap();
    let (t1_user, t1_password) = &secured.township;
    let (county_secret, t1_secret) =
        (secret(dir.path(), "password", &secured.password), secret(dir.path(), "t1-password", t1_password));
    let [township, county] = linkage_tests::free_tcp_ports();
    let (t1, whole) = (format!("ws://127.0.0.1:{township}"), format!("ws://127.0.0.1:{county}"));
    let (config_path, config) = rig.config(&whole);
    // The county's gateway first: it makes the county's stream, which a township's may not.
    // It knows the seat only (unit terminals connect to their township's).
    let own = dir.path().join("county");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(own.join("tokens.toml"), "[[token]]\ntoken = \"seat\"\nrole = \"console\"\nname = \"县值班员\"\n")
        .unwrap();
    let _county =
        Gateway::new(peers::linkage_hub(&own, county, &access(nats, &secured.user, &county_secret, &secured.ca)));
    let t1_access = credentials(t1_user, &t1_secret, &secured.ca);
    let _service = service(dir.path(), "t1", township, (nats, &config_path), &t1_access);
    let (_terminals, mut received) = drill::unit_terminals(runtime, &t1);
    let mut seat = drill::dispatch_from(ORDERS, runtime, dir.path(), (&t1, &whole, &config), drill::draft);
    seat.until(60, "every order built and every message sent", |core| drill::all_sent(core, ORDERS));
    assert!(seat.core.incidents.all().iter().all(|t| t.township.as_deref() == Some("t1")));
    drill::each_order_once(&seat, &mut received, ORDERS);
    drill::each_sms_once(&seat, &rig.smsc.log, ORDERS);

    // As t1's gateways' user: an event under t2 is never stored (one under t1, sent after it
    // on the same connection, is), t2's lease is not taken, the stream is not deleted.
    let (other, own_event, lease, deleted, none_stored) = runtime.block_on(async {
        let client = rig.cluster.client_as(Some((t1_user, t1_password))).await.expect("t1's user is let in");
        let js = async_nats::jetstream::new(client);
        let acked = |subject: &'static str| {
            let js = js.clone();
            async move {
                let sent = js.publish(subject, "{}".into()).await.ok()?;
                tokio::time::timeout(Duration::from_secs(3), sent).await.ok()?.ok()
            }
        };
        let other = acked("lk.c1.t2.incident_reported._").await;
        let own_event = acked("lk.c1.t1.incident_reported._").await;
        let leases = js.get_key_value("LK_c1_leases").await.expect("t1 reads the leases");
        let lease = tokio::time::timeout(Duration::from_secs(3), leases.create("services.t2", "t1".into())).await;
        let deleted = tokio::time::timeout(Duration::from_secs(3), js.delete_stream("LK_c1")).await;
        // Read back after t1's own event was stored: t2's lease and t2's event are not there.
        let lease_now = leases.entry("services.t2").await.expect("the leases answer");
        let stream = js.get_stream("LK_c1").await.expect("the county's stream is there");
        let stored = stream.get_last_raw_message_by_subject("lk.c1.t2.incident_reported._").await;
        let none_stored =
            stored.is_err_and(|e| e.kind() == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound);
        let deleted = deleted.ok().and_then(Result::ok).is_some();
        (other, own_event, (lease.ok().and_then(Result::ok), lease_now), deleted, none_stored)
    });
    assert!(own_event.is_some(), "t1's user could not write under t1");
    assert!(other.is_none() && none_stored, "t1's user wrote under t2");
    assert!(lease.0.is_none() && lease.1.is_none(), "t1's user took t2's lease");
    assert!(!deleted, "t1's user deleted the county's stream");
}

/// Only one of a township's servers acts for it: two gateways of township `t1` both run its
/// dispatch service; one holds the lease, the other stands by. The holder is killed (SIGKILL)
/// in the middle of a 60-order dispatch; the standby takes the lease over and finishes. Every
/// unit terminal gets each work order once and the SMSC (not ours) accepts each SMS once.
#[test]
fn the_standby_takes_the_township_over_when_the_lease_holder_dies_and_nothing_is_sent_twice() {
    const ORDERS: usize = 60;
    let rig = ServiceRig::start();
    let (dir, runtime) = (&rig.dir, &rig.runtime);
    let [a, b] = linkage_tests::free_tcp_ports();
    let both = format!("ws://127.0.0.1:{a},ws://127.0.0.1:{b}");
    let (config_path, config) = rig.config(&both);
    let server = |name: &str, port: u16| service(dir.path(), name, port, (&rig.nats, &config_path), &[]);
    let mut holder = server("a", a);
    let (_terminals, mut received) = drill::unit_terminals(runtime, &both);
    let mut seat = drill::dispatch_all(ORDERS, runtime, dir.path(), (&both, &config), drill::draft);
    // The first server acts (it holds the lease); the second starts and stands by.
    seat.until(60, "a first order sent", |core| core.orders.list.len() > 5);
    let _standby = server("b", b);
    seat.until(60, "a third of the orders built", |core| core.orders.list.len() >= ORDERS / 3);
    assert!(!drill::all_sent(&seat.core, ORDERS), "the dispatch was over before the kill: the test proves little");
    holder.kill();
    seat.until(120, "every order built and every message sent", |core| drill::all_sent(core, ORDERS));
    let incidents: std::collections::HashSet<&str> =
        seat.core.orders.list.values().map(|o| o.incident.as_str()).collect();
    assert_eq!(incidents.len(), ORDERS, "an incident got two orders");
    drill::each_order_once(&seat, &mut received, ORDERS);
    let resent = drill::each_sms_once(&seat, &rig.smsc.log, ORDERS);
    eprintln!("lease take-over: {ORDERS} orders, {resent} SMS resends recognised by key at the SMSC");
}

/// What a client was told: the events of township t1 (envelopes in the order told), every
/// refusal, how the townships on their own nodes were reached and whether the county heard
/// this township (each in the order told).
#[derive(Default)]
struct Told {
    events: Vec<streams::feed::Envelope>,
    refused: Vec<String>,
    links: Vec<(String, Reach)>,
    county: Vec<Reach>,
}

impl Told {
    fn take(&mut self, rx: &mut mpsc::UnboundedReceiver<FeedUpdate>) {
        while let Ok(update) = rx.try_recv() {
            match update {
                FeedUpdate::Event(env) if env.township.as_deref() == Some("t1") => self.events.push(env),
                FeedUpdate::Refused { reason, .. } => self.refused.push(reason),
                FeedUpdate::TownshipLinked(link) => self.links.push((link.township, link.reach)),
                FeedUpdate::CountyLinked(link) => self.county.push(link.reach),
                _ => {}
            }
        }
    }

    /// How this township was last told the county hears it.
    fn county(&self) -> Option<Reach> {
        self.county.last().copied()
    }

    /// How `township` was last told to be reached.
    fn reach(&self, township: &str) -> Option<Reach> {
        self.links.iter().rev().find(|(t, _)| t == township).map(|(_, reach)| *reach)
    }

    /// The incidents told of: their ids and their reports' texts.
    fn incidents(&self) -> Vec<(String, String)> {
        let incident = |env: &streams::feed::Envelope| match &env.body {
            Body::IncidentReported(i) => Some((i.id.clone(), i.report.text.clone())),
            _ => None,
        };
        self.events.iter().filter_map(incident).collect()
    }

    /// The orders told of for `incident`, by id.
    fn orders_for(&self, incident: &str) -> Vec<String> {
        let of = |env: &streams::feed::Envelope| match &env.body {
            Body::OrderCreated(o) if o.incident == incident => Some(o.id.clone()),
            _ => None,
        };
        self.events.iter().filter_map(of).collect()
    }

    /// Whether an acknowledgement of `incident` was told.
    fn acknowledged(&self, incident: &str) -> bool {
        self.events.iter().any(|e| matches!(&e.body, Body::AlarmAcknowledged { incident: i, .. } if i == incident))
    }

    /// The events as the log keeps them, whichever log they are read from: when, and what
    /// (not their place in that log).
    fn logged(&self) -> Vec<streams::feed::Envelope> {
        self.events.iter().map(|e| streams::feed::Envelope { seq: 0, ..e.clone() }).collect()
    }
}

/// A township on its own node — a leaf node of the county's cluster with its own JetStream
/// domain, through a link the test cuts — works on while that link is cut for a minute under
/// load: its terminal's reports (ten a second) are acknowledged and reach its seat, its seat
/// dispatches, its service sends each work order and SMS once; meanwhile the county seat is
/// told none of its events, is told its link is cut, and its command for it is refused. When
/// the link comes back, the county seat is told it is linked and holds the township's events
/// exactly as the township's seat does — every one once, in the township's order, with the
/// township's names — and acts on them again: its acknowledgement reaches the township, and
/// its dispatch becomes one order of the township's service, sent to each unit once.
#[test]
fn a_township_on_its_own_node_works_on_through_a_cut_link_and_the_county_catches_up_once_in_order() {
    use linkage::core::Command;
    use linkage::core::dispatch::DispatchDraft;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    const ORDERS: usize = 3;
    const BEFORE: usize = 10;
    const CUT: Duration = Duration::from_secs(60);
    let rig = ServiceRig::start();
    let (dir, runtime) = (&rig.dir, &rig.runtime);
    let leaf = rig.cluster.leaf("t1");
    let [township, county] = linkage_tests::free_tcp_ports();
    let (t1, whole) = (format!("ws://127.0.0.1:{township}"), format!("ws://127.0.0.1:{county}"));
    let (config_path, config) = rig.config(&t1);
    let own = ["--leaf-townships", "t1", "--replicas", "1"].map(std::ffi::OsStr::new);
    let _service = service(dir.path(), "t1", township, (&leaf.url(), &config_path), &own);
    let mut args = gateway_args(&rig.nats, None);
    args.extend(["--leaf-townships", "t1"].map(std::ffi::OsStr::new));
    let _county = Gateway::new(peers::linkage_hub(&gateway_folder(dir.path(), "county"), county, &args));

    let (_t1_seat, mut t1_rx) = client(runtime, &t1, "seat", Role::Console);
    let (county_seat, mut county_rx) = client(runtime, &whole, "console", Role::Console);
    let (field, mut field_rx) = client(runtime, &t1, "field", Role::FieldTerminal);
    let (_terminals, mut received) = drill::unit_terminals(runtime, &t1);
    let (mut at_t1, mut at_county, mut at_field) = (Told::default(), Told::default(), Told::default());
    for n in 1..=BEFORE {
        field.send(report("t1", n));
    }
    let sourced = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_county.take(&mut county_rx);
        at_county.incidents().len() == BEFORE
    });
    assert!(sourced, "the county's stream did not source the township's reports: {:?}", at_county.incidents());
    let (first, _) = at_county.incidents()[0].clone();
    assert!(first.starts_with("t1/E"), "named after the township's own log: {first}");
    // How each side is told the other is reached, whenever that changes: the county seat of
    // t1 (`of_t1`), t1's seat of the county (`Told::county`).
    type Rx = mpsc::UnboundedReceiver<FeedUpdate>;
    let of_t1 = |told: &Told| told.reach("t1");
    let reached = |(told, rx): (&mut Told, &mut Rx), of: &dyn Fn(&Told) -> Option<Reach>, reach, within| {
        let told_so = linkage_tests::wait_for(within, || {
            told.take(rx);
            of(told) == Some(reach)
        });
        assert!(told_so, "not told {reach:?}: {:?} {:?}", told.links, told.county);
    };
    reached((&mut at_county, &mut county_rx), &of_t1, Reach::Linked, Duration::from_secs(30));
    reached((&mut at_t1, &mut t1_rx), &Told::county, Reach::Linked, Duration::from_secs(30));

    rig.cluster.cut_leaf_links();
    let cut = Instant::now();
    let load = Arc::new(AtomicBool::new(true));
    let reporting = {
        let load = load.clone();
        std::thread::spawn(move || {
            let mut n = BEFORE;
            while load.load(Ordering::SeqCst) {
                n += 1;
                field.send(report("t1", n));
                std::thread::sleep(Duration::from_millis(100));
            }
            (field, n)
        })
    };
    // The county seat's command for the township cannot reach the township's log.
    county_seat.send(Body::Acknowledge { incident: first.clone() });
    // The township's seat dispatches reports of the cut; its service sends the orders.
    let mut seat = peers::Seat::open(runtime, &dir.path().join("seat"), &t1, "seat", &config);
    seat.until(60, "reports of the cut", |core| core.incidents.len() >= BEFORE + ORDERS);
    let mut incidents: Vec<String> = seat.core.incidents.all().iter().map(|t| t.incident.id.clone()).collect();
    incidents.sort();
    for (i, incident) in incidents.into_iter().skip(BEFORE).take(ORDERS).enumerate() {
        seat.apply(Command::Dispatch(DispatchDraft { incident, ..drill::draft(i) }));
    }
    seat.until(60, "every order built and every message sent", |core| drill::all_sent(core, ORDERS));
    assert!(seat.core.orders.list.keys().all(|id| id.starts_with("t1/D")), "{:?}", seat.core.orders.list.keys());
    drill::each_order_once(&seat, &mut received, ORDERS);
    drill::each_sms_once(&seat, &rig.smsc.log, ORDERS);
    let refused = linkage_tests::wait_for(CUT.saturating_sub(cut.elapsed()), || {
        at_county.take(&mut county_rx);
        at_county.refused.iter().any(|r| r.contains("t1's own stream") && r.contains("cannot be reached now"))
    });
    assert!(refused, "the county seat's command for a township cut off was not refused: {:?}", at_county.refused);
    reached((&mut at_county, &mut county_rx), &of_t1, Reach::Cut, CUT.saturating_sub(cut.elapsed()));
    reached((&mut at_t1, &mut t1_rx), &Told::county, Reach::Cut, CUT.saturating_sub(cut.elapsed()));
    while cut.elapsed() < CUT {
        std::thread::sleep(Duration::from_millis(200));
    }
    load.store(false, Ordering::SeqCst);
    let (field, sent) = reporting.join().unwrap();
    // Its own seat never noticed: every report of the cut acknowledged and told, none refused.
    let told = linkage_tests::wait_for(Duration::from_secs(30), || {
        at_t1.take(&mut t1_rx);
        at_t1.incidents().len() == sent
    });
    assert!(told, "the township's seat holds {} of {sent} reports", at_t1.incidents().len());
    at_field.take(&mut field_rx);
    assert!(at_field.refused.is_empty(), "the township's terminal was refused: {:?}", at_field.refused);
    at_county.take(&mut county_rx);
    assert_eq!(at_county.incidents().len(), BEFORE, "the county was told of reports of the cut: was it cut?");
    assert!(!at_t1.acknowledged(&first), "the refused acknowledgement reached the township");

    rig.cluster.restore_leaf_links();
    // Caught up: the county holds as many of the township's events as its seat, and a second
    // later still (nothing more arriving: no late repeat).
    let mut held = (0, 0);
    let caught_up = linkage_tests::wait_for(Duration::from_secs(120), || {
        std::thread::sleep(Duration::from_millis(500));
        at_county.take(&mut county_rx);
        at_t1.take(&mut t1_rx);
        let now = (at_county.events.len(), at_t1.events.len());
        let steady = now.0 == now.1 && now == held;
        held = now;
        steady
    });
    assert!(caught_up, "the county holds {} of the township's {} events", held.0, held.1);
    reached((&mut at_county, &mut county_rx), &of_t1, Reach::Linked, Duration::from_secs(30));
    reached((&mut at_t1, &mut t1_rx), &Told::county, Reach::Linked, Duration::from_secs(30));
    assert!(at_county.logged() == at_t1.logged(), "the county's copy of the township's log differs from it");
    // Replayed from the county's stream alike: to a county seat, and to a t1 seat served by the
    // county's gateway (its township's subjects only).
    for token in ["console", "console-t1"] {
        let (_late, mut late_rx) = client(runtime, &whole, token, Role::Console);
        let mut late = Told::default();
        let replayed = linkage_tests::wait_for(Duration::from_secs(60), || {
            late.take(&mut late_rx);
            late.events.len() >= held.0
        });
        assert!(replayed, "{token}: replayed {} of {} events", late.events.len(), held.0);
        // A second more, for a late repeat to show; the township's seat holds at least as much.
        std::thread::sleep(Duration::from_secs(1));
        late.take(&mut late_rx);
        let ahead = linkage_tests::wait_for(Duration::from_secs(30), || {
            at_t1.take(&mut t1_rx);
            at_t1.events.len() >= late.events.len()
        });
        assert!(ahead, "{token}: replayed {} events, the township holds {}", late.events.len(), at_t1.events.len());
        assert!(late.logged() == at_t1.logged()[..late.events.len()], "{token}: the replay differs");
        // A seat of the whole county is told how t1 is reached after its replay; a t1 seat of
        // the county's gateway is told nothing of the county's links.
        let reach = if token == "console" { Some(Reach::Linked) } else { None };
        assert_eq!(late.reach("t1"), reach, "{token}: {:?}", late.links);
    }
    let expected: Vec<String> = (1..=sent).map(|n| format!("t1-{n}")).collect();
    for (who, told) in [("the township's seat", &at_t1), ("the county's seat", &at_county)] {
        let texts: Vec<String> = told.incidents().into_iter().map(|(_, text)| text).collect();
        assert_eq!(texts, expected, "{who}: the township's reports, once each, in the order sent");
    }
    // The county seat acts on the township again.
    county_seat.send(Body::Acknowledge { incident: first.clone() });
    let acknowledged = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_t1.take(&mut t1_rx);
        at_t1.acknowledged(&first)
    });
    assert!(acknowledged, "the county seat's acknowledgement did not reach the township");
    // And dispatches it: t1's service builds the order in t1's own log and sends it to each
    // unit once; the county seat is told of the order, named after t1.
    let draft = DispatchDraft { incident: first.clone(), ..drill::draft(ORDERS) };
    county_seat.send(Body::Dispatch(streams::feed::DispatchRequest {
        key: "county-1".into(),
        draft,
        by: String::new(),
    }));
    let mut issued: Vec<String> = vec![];
    let mut take_issued = |issued: &mut Vec<String>| {
        while let Ok(update) = received.try_recv() {
            if let FeedUpdate::Event(env) = update
                && let Body::OrderIssued(o) = env.body
                && o.incident == first
            {
                issued.push(o.unit);
            }
        }
    };
    let ordered = linkage_tests::wait_for(Duration::from_secs(60), || {
        at_county.take(&mut county_rx);
        take_issued(&mut issued);
        issued.len() >= drill::UNITS.len() && at_county.orders_for(&first).len() == 1
    });
    assert!(
        ordered,
        "the county seat's dispatch: units told {issued:?}, the county told {:?}",
        at_county.orders_for(&first)
    );
    // A second more, for a repeat to show.
    std::thread::sleep(Duration::from_secs(1));
    at_county.take(&mut county_rx);
    take_issued(&mut issued);
    let order = at_county.orders_for(&first);
    assert!(order.len() == 1 && order[0].starts_with("t1/D"), "the county seat told of {order:?}");
    issued.sort();
    assert_eq!(issued, drill::UNITS, "each unit once");
    drop(field);
}
