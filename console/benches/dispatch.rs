//! `make bench-dispatch`: from the officer's click to every channel of every unit sent, against
//! loopback peers — the hub with its unit terminals (online order), the SMSC simulator on the
//! npm `smpp` package (SMS, "sent" = submit_sm_resp), and radio gateways (radio, "sent" = the
//! call is on the air: text to speech done, first RTP packet out). Each order goes to three
//! units on three channels, one order after another, 0.6 s apart; a unit's talk-group is free
//! again before its next order. Prints, last:
//! `dispatch-bench orders=100 channels=3 p50_ms=A p99_ms=B`

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::time::{Duration, Instant};

use linkage::channels::outbox::{Job, Outbox};
use linkage::config::{DispatchSettings, SmsSettings};
use linkage::core::dispatch::{DeliveryReport, DispatchDraft};
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::{PlanLibrary, Texts};
use linkage::core::unit::{LinkedUnit, Tier};
use linkage::core::{Command, Core, Effect};
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
    let ids: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let terminals = peers::unit_hub(&runtime, dir.path(), &ids);
    let gateways: Vec<_> = units.iter().filter_map(|u| u.radio).collect();
    let _gateways = RadioGateways::start(&gateways, runtime.handle()).unwrap();
    let smsc = peers::start_smsc(dir.path(), 0);

    let settings = DispatchSettings {
        center: "青溪镇综治中心".into(),
        plans_path: None,
        plans: PlanLibrary::default(),
        leader_sms: vec![],
        sms: Some(SmsSettings {
            address: format!("127.0.0.1:{}", smsc.port),
            system_id: "linkage".into(),
            password: "secret".into(),
            source: "10690001".into(),
        }),
        radio_voice: "cmn".into(),
    };
    let (channels, late) = linkage::channels::open(&settings, Some((&terminals.hub.url(), "disp")), runtime.handle());
    let (reports, mut told) = tokio::sync::mpsc::unbounded_channel();
    let outbox =
        Outbox::start(runtime.handle(), dir.path().join("store"), channels, late, reports, streams::no_waker());
    let mut core = Core { units, center: settings.center.clone(), ..Core::default() };
    // Let the SMSC bind and the terminals connect before the first click.
    std::thread::sleep(Duration::from_secs(2));

    let mut took = vec![];
    for i in 0..orders {
        let group: Vec<String> = (0..3).map(|k| format!("u{}", (i * 3 + k) % UNITS)).collect();
        let draft = DispatchDraft {
            incident: format!("E{i:06}"),
            plan: None,
            units: group.iter().map(|u| (u.clone(), ChannelKind::ALL.to_vec())).collect(),
            texts: Texts {
                order: "东湾村火情，请{unit}立即前往处置并反馈。".into(),
                sms: "【青溪镇综治中心】东湾村火情，请立即前往处置。".into(),
                radio: "东湾村火情，立即出动。".into(),
            },
            clocks: Default::default(),
        };
        let click = Instant::now();
        let mut id = String::new();
        for effect in core.apply(Command::Dispatch(draft)) {
            if let Effect::Dispatch { order, outgoing } = effect {
                id = order.id.clone();
                outbox.submit(Job::Dispatch { order, outgoing });
            }
        }
        let all_sent = |core: &Core| {
            core.orders.list[&id]
                .units
                .iter()
                .flat_map(|u| &u.deliveries)
                .all(|d| matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
        };
        while !all_sent(&core) {
            match told.try_recv() {
                Ok(DeliveryReport::Trouble(e)) => panic!("{e}"),
                Ok(report) => {
                    core.on_delivery(report);
                }
                Err(_) => std::thread::sleep(Duration::from_micros(200)),
            }
            assert!(
                click.elapsed() < Duration::from_secs(60),
                "order {id} not sent in 60 s: {:#?}",
                core.orders.list[&id]
            );
        }
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
