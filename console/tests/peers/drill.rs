//! The dispatch drill's township and its steps, shared by the crash drills (one server killed
//! again and again; a county's gateways, the lease holder killed): three units reached by work
//! order and SMS, a field terminal's incidents, a seat's dispatches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use linkage::config::Config;
use linkage::core::Command;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::Texts;

use streams::feed::{Body, ClientHandle, Envelope, FeedClient, FeedUpdate, Role};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Seat;

/// The units of the drill's township.
pub const UNITS: [&str; 3] = ["u1", "u2", "u3"];

/// The township's files (`linkage.toml`, `tokens.toml` in `dir`), its seats' hub at `url`;
/// `gateway` is its SMS gateway's section (`[dispatch.sms]` …).
pub fn write_files(dir: &Path, url: &str, gateway: &str) -> std::path::PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let mut text = format!(
        "[hub]\nmode = \"remote\"\nurl = \"{url}\"\ntoken = \"seat\"\n\n\
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
pub fn start_server(dir: &Path, port: u16) -> std::process::Child {
    super::linkage_hub(dir, port, &["--config".as_ref(), dir.join("linkage.toml").as_os_str()])
}

/// Dispatch `i` to every unit, by work order and SMS (of incident `i + 1` on a township's log).
pub fn draft(i: usize) -> DispatchDraft {
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
pub fn keys(seat: &Seat, channel: ChannelKind) -> Vec<String> {
    let deliveries = seat.core.orders.list.values().flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries));
    deliveries.filter(|d| d.channel == channel).map(|d| d.key.clone()).collect()
}

/// Each order's deadlines, as the seat sees them.
pub fn clocks(seat: &Seat) -> BTreeMap<String, Vec<DateTime<Utc>>> {
    let orders = &seat.core.orders.list;
    orders.iter().map(|(id, o)| (id.clone(), o.units.iter().map(|u| u.acknowledge_by).collect())).collect()
}

/// All `orders` built and every message sent (or delivered).
pub fn all_sent(core: &linkage::core::Core, orders: usize) -> bool {
    core.orders.list.len() == orders
        && core
            .orders
            .list
            .values()
            .flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries))
            .all(|d| matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
}

/// The incidents from a field terminal, then the dispatches `draft(i)` of a seat (its journal
/// in `dir/seat`) that keeps what it sent until it is logged.
pub fn dispatch_all(
    orders: usize,
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    (url, config): (&str, &Config),
    draft: impl Fn(usize) -> DispatchDraft,
) -> Seat {
    dispatch_from(orders, runtime, dir, (url, url, config), draft)
}

/// [`dispatch_all`] with the field terminal on the hub at `field` and the seat at `seat` (a
/// county's gateway: the seat's dispatches go to the incidents' township).
pub fn dispatch_from(
    orders: usize,
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    (field, seat, config): (&str, &str, &Config),
    draft: impl Fn(usize) -> DispatchDraft,
) -> Seat {
    let field = super::field_terminal(runtime, field);
    for n in 0..orders {
        field.send(super::report(n));
    }
    let mut seat = Seat::open(runtime, &dir.join("seat"), seat, "seat", config);
    seat.until(30, "every incident", |core| core.incidents.len() == orders);
    // The incidents as the log numbered them (on a county's log, with the other townships'
    // events between them), in that order.
    let mut incidents: Vec<String> = seat.core.incidents.all().iter().map(|t| t.incident.id.clone()).collect();
    incidents.sort();
    for (i, incident) in incidents.into_iter().enumerate() {
        seat.apply(Command::Dispatch(DispatchDraft { incident, ..draft(i) }));
    }
    seat
}

/// A terminal for each unit (token `t-UNIT`) on the hub at `url`, reconnecting on its own;
/// what they all receive comes out of the receiver.
pub fn unit_terminals(
    runtime: &tokio::runtime::Runtime,
    url: &str,
) -> (Vec<ClientHandle>, UnboundedReceiver<FeedUpdate>) {
    let (tx, received) = tokio::sync::mpsc::unbounded_channel();
    let terminals = UNITS
        .iter()
        .map(|u| {
            let client = FeedClient {
                url: url.to_owned(),
                token: format!("t-{u}"),
                role: Role::UnitTerminal,
                since: 0,
                name: u.to_string(),
                trust: None,
            };
            client.spawn(runtime.handle(), tx.clone(), streams::no_waker())
        })
        .collect();
    (terminals, received)
}

/// The unit terminals (their updates on `received`) got every order's work order exactly once.
pub fn each_order_once(seat: &Seat, received: &mut UnboundedReceiver<FeedUpdate>, orders: usize) {
    let expected: HashSet<String> = keys(seat, ChannelKind::Order).into_iter().collect();
    assert_eq!(expected.len(), orders * UNITS.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let count = |seen: &mut HashMap<String, usize>, update| {
        if let FeedUpdate::Event(Envelope { body: Body::OrderIssued(o), .. }) = update {
            *seen.entry(o.key).or_default() += 1;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match received.try_recv() {
            Ok(update) => count(&mut seen, update),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
        if seen.len() >= expected.len() {
            break;
        }
    }
    // A little longer: a late duplicate would arrive now.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(update) = received.try_recv() {
        count(&mut seen, update);
    }
    for key in &expected {
        assert_eq!(seen.get(key), Some(&1), "a terminal got {key} {:?} times", seen.get(key));
    }
    assert_eq!(seen.len(), expected.len());
}

/// The SMSC (its log at `log`) accepted every SMS key exactly once; returns how many resends
/// it recognised by key.
pub fn each_sms_once(seat: &Seat, log: &Path, orders: usize) -> usize {
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut resent = 0;
    for s in &super::submits(log) {
        let key = s["key"].as_str().unwrap().split('#').next().unwrap().to_owned();
        if s["duplicate"] == true {
            resent += 1;
        } else {
            *accepted.entry(key).or_default() += 1;
        }
    }
    let sms_keys = keys(seat, ChannelKind::Sms);
    assert_eq!(sms_keys.len(), orders * UNITS.len());
    for key in &sms_keys {
        assert_eq!(accepted.get(key), Some(&1), "SMSC accepted {key} {:?} times", accepted.get(key));
    }
    resent
}
