//! `make bench-dispatch`: from the officer's click to every channel of every unit sent, through
//! the center's server, against loopback peers. The click is a seat's `dispatch` to the hub;
//! the dispatch service builds the order and its outbox sends it to the hub's unit terminals
//! (online order), the SMSC simulator on the npm `smpp` package (SMS, "sent" =
//! submit_sm_resp) and radio gateways (radio, "sent" = the call is on the air: text to speech
//! done, first RTP packet out); "sent" is when the seat sees every state in the log. Each order
//! goes to three units on three channels, one order after another, 0.6 s apart; a unit's
//! talk-group is free again before its next order. Prints, last:
//! `dispatch-bench orders=100 channels=3 p50_ms=A p99_ms=B`

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::time::{Duration, Instant};

use linkage::config::{Config, SmsSettings};
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::Texts;
use linkage::core::unit::{LinkedUnit, Tier};
use linkage::core::{Command, Core};
use streams::sim::radio_gateways::RadioGateways;

/// Units in the rotation: every order takes three, so each unit's turn comes every 10 orders.
const UNITS: usize = 30;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let orders = if smoke { 3 } else { 100 };
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let units: Vec<LinkedUnit> = (0..UNITS)
        .map(|i| LinkedUnit {
            id: format!("u{i}"),
            name: format!("单位{i}"),
            tier: Tier::One,
            roles: vec![],
            area: vec!["*".into()],
            contact: String::new(),
            sms: vec![format!("1380000{i:04}")],
            radio: Some(format!("127.0.0.1:{}", free_udp_port()).parse().unwrap()),
        })
        .collect();
    let gateways: Vec<_> = units.iter().filter_map(|u| u.radio).collect();
    let _gateways = RadioGateways::start(&gateways, runtime.handle()).unwrap();
    let smsc = peers::start_smsc(dir.path(), 0);
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.units = units;
    config.dispatch.center = "青溪镇综治中心".into();
    config.dispatch.leader_sms = vec![];
    config.dispatch.sms = Some(SmsSettings {
        address: format!("127.0.0.1:{}", smsc.port),
        system_id: "linkage".into(),
        password: "secret".into(),
        source: "10690001".into(),
    });
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut seat = peers::Seat::open(&runtime, &dir.path().join("seat"), &center.url(), "seat-1", &config);
    for n in 0..orders {
        seat.feed.send(peers::report(n));
    }
    seat.until(30, "the incidents", |core| core.incidents.len() == orders);
    // Let the SMSC bind and the terminals connect before the first click.
    std::thread::sleep(Duration::from_secs(2));

    let mut took = vec![];
    for i in 0..orders {
        let group: Vec<String> = (0..3).map(|k| format!("u{}", (i * 3 + k) % UNITS)).collect();
        let draft = DispatchDraft {
            incident: format!("E{:06}", i + 1),
            plan: None,
            units: group.iter().map(|u| (u.clone(), ChannelKind::ALL.to_vec())).collect(),
            texts: Texts {
                order: "东湾村火情，请{unit}立即前往处置并反馈。".into(),
                sms: "【青溪镇综治中心】东湾村火情，请立即前往处置。".into(),
                radio: "东湾村火情，立即出动。".into(),
            },
            clocks: Default::default(),
        };
        let incident = draft.incident.clone();
        let click = Instant::now();
        seat.apply(Command::Dispatch(draft));
        let all_sent = |core: &Core| {
            core.orders.of_incident(&incident).next().is_some_and(|o| {
                o.units
                    .iter()
                    .flat_map(|u| &u.deliveries)
                    .all(|d| matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
            })
        };
        seat.until(60, "the order sent", all_sent);
        took.push(click.elapsed().as_secs_f64() * 1000.0);
        // The next click comes 0.6 s later: with 10 groups of units, a unit's talk-group is
        // free again (a call here is about 5 s) before its next order, so the numbers measure
        // the console and not a busy talk-group (which waits, as a half-duplex channel must).
        std::thread::sleep(Duration::from_millis(600));
    }
    took.sort_by(f64::total_cmp);
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    println!("dispatch-bench orders={orders} channels=3 p50_ms={:.1} p99_ms={:.1}", at(0.5), at(0.99));
}
