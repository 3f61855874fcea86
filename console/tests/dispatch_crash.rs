//! Nothing lost, nothing doubled, with the truth on the server: a seat sends 100 dispatches to
//! the center's server (`linkage hub --config`, hub and dispatch service in one process), and
//! the server is killed with SIGKILL at random points while it builds and sends them, again and
//! again, and started again on the same data. The seat resends what the log does not have yet
//! from its durable queue. Every unit terminal and the SMSC (not ours) must end up with every
//! message exactly once, every request with exactly one order, and every order's clocks where
//! the first start set them.

mod peers;

use std::collections::{BTreeMap, HashMap, HashSet};

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use linkage::config::Config;
use linkage::core::Command;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::Texts;
use peers::Seat;
use streams::feed::{Body, Envelope, FeedClient, FeedUpdate, Role};

const ORDERS: usize = 100;
const UNITS: [&str; 3] = ["u1", "u2", "u3"];
const KILLS: usize = 10;

/// The township's files; `gateway` is its SMS gateway's section (`[dispatch.sms]` …).
fn write_files(dir: &Path, port: u16, gateway: &str) -> std::path::PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let mut text = format!(
        "[hub]\nmode = \"remote\"\nurl = \"ws://127.0.0.1:{port}\"\ntoken = \"seat\"\n\n\
         [map]\ngrids = \"{grids}\"\nkinds = \"{kinds}\"\n\n\
         [dispatch]\ncenter = \"测试中心\"\n\n{gateway}",
        grids = demo.join("grids.geojson").display(),
        kinds = demo.join("incident_kinds.toml").display(),
    );
    let mut tokens = String::from(
        "[[token]]\ntoken = \"seat\"\nrole = \"console\"\nname = \"officer\"\n\n\
         [[token]]\ntoken = \"field\"\nrole = \"field_terminal\"\nname = \"field\"\n",
    );
    for (i, u) in UNITS.iter().enumerate() {
        text += &format!("\n[[unit]]\nid = \"{u}\"\nname = \"单位{i}\"\ntier = 1\nsms = [\"1380000000{i}\"]\n");
        tokens +=
            &format!("\n[[token]]\ntoken = \"t-{u}\"\nrole = \"unit_terminal\"\nname = \"{u}\"\nunit = \"{u}\"\n");
    }
    std::fs::write(dir.join("tokens.toml"), tokens).unwrap();
    let path = dir.join("linkage.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `linkage hub --config` on `port`, once it listens.
fn start_server(dir: &Path, port: u16) -> Child {
    peers::linkage_hub(dir, port, &["--config".as_ref(), dir.join("linkage.toml").as_os_str()])
}

fn draft(i: usize) -> DispatchDraft {
    DispatchDraft {
        incident: format!("E{:06}", i + 1),
        plan: None,
        units: UNITS.iter().map(|u| (u.to_string(), vec![ChannelKind::Order, ChannelKind::Sms])).collect(),
        texts: Texts {
            order: format!("第{i}号派单，请{{unit}}处置。"),
            sms: format!("第{i}号短信通知。"),
            radio: String::new(),
        },
        clocks: Default::default(),
    }
}

/// The keys of every message of every order on `channel`, as the seat sees them.
fn keys(seat: &Seat, channel: ChannelKind) -> Vec<String> {
    let deliveries = seat.core.orders.list.values().flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries));
    deliveries.filter(|d| d.channel == channel).map(|d| d.key.clone()).collect()
}

/// Each order's deadlines, as the seat sees them.
fn clocks(seat: &Seat) -> BTreeMap<String, Vec<DateTime<Utc>>> {
    let orders = &seat.core.orders.list;
    orders.iter().map(|(id, o)| (id.clone(), o.units.iter().map(|u| u.acknowledge_by).collect())).collect()
}

/// Every order built and every message sent (or delivered).
fn sent(core: &linkage::core::Core) -> bool {
    core.orders.list.len() == ORDERS
        && core
            .orders
            .list
            .values()
            .flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries))
            .all(|d| matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
}

/// The incidents from a field terminal, then the dispatches `draft(i)` of a seat (its journal
/// in `dir/seat`) that keeps what it sent until it is logged.
fn dispatch_all(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    (url, config): (&str, &Config),
    draft: impl Fn(usize) -> DispatchDraft,
) -> Seat {
    let field = peers::field_terminal(runtime, url);
    for n in 0..ORDERS {
        field.send(peers::report(n));
    }
    let mut seat = Seat::open(runtime, &dir.join("seat"), url, "seat", config);
    seat.until(30, "every incident", |core| core.incidents.len() == ORDERS);
    for i in 0..ORDERS {
        seat.apply(Command::Dispatch(draft(i)));
    }
    seat
}

/// Kills the server with SIGKILL [`KILLS`] times at random points (5–150 ms apart, the seat
/// following meanwhile) and starts it again on the same data. Returns each order's deadlines as
/// the seat first saw them, and how many kills fell before `done` (mid-work).
fn kill_repeatedly(
    seat: &mut Seat,
    server: &mut Child,
    start: impl Fn() -> Child,
    done: &dyn Fn(&linkage::core::Core) -> bool,
) -> (BTreeMap<String, Vec<DateTime<Utc>>>, usize) {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut first_clocks: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut mid_work = 0;
    for _ in 0..KILLS {
        let after = Instant::now() + Duration::from_millis(rng.u64(5..150));
        while Instant::now() < after {
            if let Ok(update) = seat.feed.updates.try_recv() {
                seat.core.on_feed(update);
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        for (id, c) in clocks(seat) {
            first_clocks.entry(id).or_insert(c);
        }
        if !done(&seat.core) {
            mid_work += 1;
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        *server = start();
    }
    (first_clocks, mid_work)
}

#[test]
fn a_server_killed_at_random_points_of_a_dispatch_reaches_every_peer_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let smsc = peers::start_smsc(dir.path(), 0);
    let port = linkage_tests::free_tcp_port();
    let smpp = format!(
        "[dispatch.sms]\naddress = \"127.0.0.1:{}\"\nsystem_id = \"linkage\"\npassword = \"secret\"\nsource = \"10690001\"\n",
        smsc.port
    );
    let config_path = write_files(dir.path(), port, &smpp);
    let config = Config::load(&config_path).unwrap();
    let mut server = start_server(dir.path(), port);
    let url = format!("ws://127.0.0.1:{port}");

    // Unit terminals that reconnect on their own and count what they receive.
    let (tx, mut received) = tokio::sync::mpsc::unbounded_channel();
    let _terminals: Vec<_> = UNITS
        .iter()
        .map(|u| {
            let client = FeedClient {
                url: url.clone(),
                token: format!("t-{u}"),
                role: Role::UnitTerminal,
                since: 0,
                name: u.to_string(),
                trust: None,
            };
            client.spawn(runtime.handle(), tx.clone(), streams::no_waker())
        })
        .collect();
    let mut seat = dispatch_all(&runtime, dir.path(), (&url, &config), draft);
    let (first_clocks, mid_work) = kill_repeatedly(&mut seat, &mut server, || start_server(dir.path(), port), &sent);
    seat.until(120, "every order built and every message sent", sent);

    assert!(mid_work >= 3, "only {mid_work} kills landed mid-dispatch: the test proves little");
    // One order per request, and the clocks the first start set.
    assert_eq!(seat.core.orders.list.len(), ORDERS);
    let incidents: HashSet<&str> = seat.core.orders.list.values().map(|o| o.incident.as_str()).collect();
    assert_eq!(incidents.len(), ORDERS, "an incident got two orders");
    let now_clocks = clocks(&seat);
    for (id, c) in &first_clocks {
        assert_eq!(now_clocks.get(id), Some(c), "order {id}'s clocks moved across a restart");
    }

    // The terminals: every order key exactly once.
    let expected: HashSet<String> = keys(&seat, ChannelKind::Order).into_iter().collect();
    assert_eq!(expected.len(), ORDERS * UNITS.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < expected.len() && Instant::now() < deadline {
        match received.try_recv() {
            Ok(FeedUpdate::Event(Envelope { body: Body::OrderIssued(o), .. })) => *seen.entry(o.key).or_default() += 1,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(update) = received.try_recv() {
        if let FeedUpdate::Event(Envelope { body: Body::OrderIssued(o), .. }) = update {
            *seen.entry(o.key).or_default() += 1;
        }
    }
    for key in &expected {
        assert_eq!(seen.get(key), Some(&1), "a terminal got {key} {:?} times", seen.get(key));
    }
    assert_eq!(seen.len(), expected.len());

    // The SMSC: every SMS key accepted exactly once; resends it recognised are counted.
    let submits = peers::submits(&smsc.log);
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut resent = 0;
    for s in &submits {
        let key = s["key"].as_str().unwrap().split('#').next().unwrap().to_owned();
        if s["duplicate"] == true {
            resent += 1;
        } else {
            *accepted.entry(key).or_default() += 1;
        }
    }
    let sms_keys = keys(&seat, ChannelKind::Sms);
    assert_eq!(sms_keys.len(), ORDERS * UNITS.len());
    for key in &sms_keys {
        assert_eq!(accepted.get(key), Some(&1), "SMSC accepted {key} {:?} times", accepted.get(key));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    eprintln!("{KILLS} kills, {mid_work} mid-dispatch; {resent} SMS resends recognised by key at the SMSC");
}

/// The promise where the peer cannot know a resend: CMPP 2.0 has no field for our key, and the
/// gateway simulator (tests/peers/cmpp_gateway.py) keeps none. The server is killed at random
/// points while 100 orders go out by SMS through it: every SMS reaches the gateway at least
/// once, and what it got twice — a kill between a submit and its answer — is counted, never more
/// than the messages that can be waiting for an answer when the kill falls.
#[test]
fn a_server_killed_while_it_sends_over_cmpp_loses_no_sms_and_its_duplicates_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let gateway = peers::PythonPeer::start(dir.path(), "cmpp_gateway.py", &["--sp", "901234:s3cret"]);
    let [port] = linkage_tests::free_tcp_ports();
    let cmpp = format!(
        "[dispatch.cmpp]\naddress = \"127.0.0.1:{}\"\nsp_id = \"901234\"\nsecret = \"s3cret\"\nsrc_id = \"10690001\"\n",
        gateway.port
    );
    let config_path = write_files(dir.path(), port, &cmpp);
    let config = Config::load(&config_path).unwrap();
    let mut server = start_server(dir.path(), port);
    let url = format!("ws://127.0.0.1:{port}");
    let sms_only = |i| {
        let mut d = draft(i);
        for (_, channels) in &mut d.units {
            *channels = vec![ChannelKind::Sms];
        }
        d
    };
    let mut seat = dispatch_all(&runtime, dir.path(), (&url, &config), sms_only);
    let (_, mid_work) = kill_repeatedly(&mut seat, &mut server, || start_server(dir.path(), port), &sent);
    seat.until(120, "every SMS sent", sent);
    assert!(mid_work >= 3, "only {mid_work} kills landed mid-dispatch: the drill proves little");

    let mut got: HashMap<(String, String), usize> = HashMap::new();
    for s in gateway.events("submit") {
        let dest = s["dests"][0].as_str().unwrap_or_default().to_owned();
        *got.entry((dest, s["text"].as_str().unwrap_or_default().to_owned())).or_default() += 1;
    }
    for i in 0..ORDERS {
        for n in 0..UNITS.len() {
            let (dest, text) = (format!("1380000000{n}"), format!("第{i}号短信通知。"));
            assert!(got.get(&(dest.clone(), text.clone())).is_some_and(|c| *c >= 1), "{dest} never got {text}");
        }
    }
    let twice: usize = got.values().map(|c| c - 1).sum();
    // Each kill can cut off at most the submits waiting for their answers (the window, 16).
    assert!(twice <= KILLS * 16, "{twice} duplicates in {KILLS} kills");
    server.kill().unwrap();
    server.wait().unwrap();
    eprintln!(
        "CMPP kill drill: {} SMS, {KILLS} kills ({mid_work} mid-dispatch), {twice} reached the gateway twice",
        ORDERS * UNITS.len()
    );
}
