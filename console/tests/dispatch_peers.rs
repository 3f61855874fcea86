//! The three-in-one dispatch against real peers on loopback, end to end through the center's
//! server: a seat sends the dispatch to the hub, the dispatch service builds the order and its
//! outbox sends it to a unit terminal on the hub, an SMSC that is not ours (the npm `smpp`
//! package under node, tests/peers/smsc.js) and a GStreamer RTP receiver standing in for the
//! radio gateway; the seat sees every state from the log.

mod peers;

use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::{Command, Core};
use linkage_tests::free_tcp_port;
use peers::{CenterRig, RadioReceiver, Seat, free_udp_port, start_smsc};
use streams::feed::{Body, Envelope, FeedUpdate, IncidentReport};

/// The demo township with police's radio on `radio` and the SMSC on 127.0.0.1:`smsc`.
fn config(radio: &str, smsc: u16) -> Config {
    let mut config = Config::demo().unwrap();
    config.units.iter_mut().find(|u| u.id == "police").unwrap().radio = Some(radio.parse().unwrap());
    config.dispatch.sms = Some(peers::smpp_account(smsc));
    config
}

fn draft(channels: Vec<ChannelKind>) -> DispatchDraft {
    DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), channels)],
        texts: linkage::core::plan::Texts {
            order: "【青溪镇综治中心】东湾村 DW-03 火情，请{unit}立即前往处置并反馈。".into(),
            sms: "【青溪镇综治中心】东湾村火情，请立即前往处置。".into(),
            radio: "青溪镇综治中心呼叫青溪派出所，东湾村火情，请立即出动。".into(),
        },
        clocks: Default::default(),
    }
}

struct Rig {
    // Declared first, dropped first: the seat, the center, then their runtime.
    seat: Seat,
    center: CenterRig,
    _runtime: tokio::runtime::Runtime,
}

/// The center for `config` and a seat on it, with the incident E000001 reported (a fire, its
/// reporter reachable on 13912345678).
fn rig(dir: &std::path::Path, config: &Config) -> Rig {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let center = peers::center(&runtime, dir, "127.0.0.1:0", config);
    let mut seat = Seat::open(&runtime, &dir.join("seat"), &center.url(), "seat-1", config);
    let Body::Report(mut report) = peers::report(1) else { unreachable!() };
    report = IncidentReport { kind: "fire".into(), reporter_mobile: Some("13912345678".into()), ..report };
    seat.feed.send(Body::Report(report));
    seat.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    Rig { seat, center, _runtime: runtime }
}

fn state(core: &Core, channel: ChannelKind) -> Option<DeliveryState> {
    let order = core.orders.list.values().next()?;
    order.units[0]
        .deliveries
        .iter()
        .find(|d| d.channel == channel && !d.key.ends_with("acknowledge"))
        .map(|d| d.state.clone())
}

#[test]
fn one_click_reaches_the_unit_terminal_the_smsc_and_the_radio_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let smsc = start_smsc(dir.path(), 0);
    let radio_port = free_udp_port();
    let radio = RadioReceiver::start(radio_port);
    let config = config(&format!("127.0.0.1:{radio_port}"), smsc.port);
    let mut rig = rig(dir.path(), &config);
    rig.seat.apply(Command::Dispatch(draft(ChannelKind::ALL.to_vec())));

    rig.seat.until(45, "every channel sent, the SMS and the radio call delivered", |core| {
        matches!(state(core, ChannelKind::Order), Some(DeliveryState::Sent { .. }))
            && matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Delivered { .. }))
            && matches!(state(core, ChannelKind::Radio), Some(DeliveryState::Delivered { .. }))
    });

    // The unit's terminal got the order once, with its text and the unit's name filled in.
    let order = loop {
        match rig.center.received.try_recv() {
            Ok(FeedUpdate::Event(Envelope { body: Body::OrderIssued(order), .. })) => break order,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!(order.unit, "police");
    assert!(order.text.contains("请青溪派出所立即前往"), "{}", order.text);

    // The SMSC got one UCS-2 submit_sm carrying the key, with the text intact.
    let log = std::fs::read_to_string(&smsc.log).unwrap();
    let submits: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "submit")
        .collect();
    assert_eq!(submits.len(), 1, "{log}");
    assert_eq!(submits[0]["data_coding"], 8);
    // To the police station's A post on duty (its roster in the demo config), not the station.
    assert_eq!(submits[0]["dest"], "13800000021");
    assert_eq!(submits[0]["text"], "【青溪镇综治中心】东湾村火情，请立即前往处置。");
    assert!(submits[0]["key"].as_str().unwrap().ends_with("/police/sms#13800000021"), "{}", submits[0]);

    // The radio gateway heard speech: seconds of it, and not silence.
    let samples = radio.samples(Duration::from_millis(1500));
    let seconds = samples.len() as f64 / 8000.0;
    let rms = (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64).sqrt();
    assert!(seconds > 2.0, "only {seconds:.2} s of audio arrived");
    assert!(rms > 300.0, "the call is silence (rms {rms:.0})");
}

#[test]
fn a_down_smsc_holds_nobody_else_and_its_message_goes_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let smsc_port = free_tcp_port();
    let mut rig = rig(dir.path(), &config("127.0.0.1:9", smsc_port));
    rig.seat.apply(Command::Dispatch(draft(vec![ChannelKind::Order, ChannelKind::Sms])));
    rig.seat.until(45, "the order out while SMS fails", |core| {
        matches!(state(core, ChannelKind::Order), Some(DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
            && matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Failed { .. }))
    });
    assert!(rig.seat.core.orders.list.values().next().unwrap().units[0].partial(), "the officer sees it partial");
    // The SMSC comes up; the retry finds it.
    let _smsc = start_smsc(dir.path(), smsc_port);
    rig.seat.until(45, "the SMS sent after the SMSC came up", |core| {
        matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
    });
}

#[test]
fn the_demos_simulated_smsc_takes_an_sms_and_confirms_its_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let smsc = streams::sim::smsc::Smsc::start(runtime.handle()).unwrap();
    let mut rig = rig(dir.path(), &config("127.0.0.1:9", smsc.addr().port()));
    rig.seat.apply(Command::Dispatch(draft(vec![ChannelKind::Sms])));
    rig.seat.until(45, "the SMS delivered", |core| {
        matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Delivered { .. }))
    });
}

#[test]
fn a_reporters_sms_reply_closes_the_order_with_that_satisfaction() {
    use streams::feed::{IncidentStatus, OrderProgress, Step};
    let dir = tempfile::tempdir().unwrap();
    let mut smsc = start_smsc(dir.path(), 0);
    let mut rig = rig(dir.path(), &config("127.0.0.1:9", smsc.port));
    rig.seat.apply(Command::Dispatch(draft(vec![ChannelKind::Order])));
    rig.seat.until(20, "the order", |core| !core.orders.list.is_empty());
    // The unit reports back from its terminal.
    let order = rig.seat.core.orders.list.keys().next().unwrap().clone();
    let back = OrderProgress {
        order: order.clone(),
        unit: "police".into(),
        step: Step::ReportedBack,
        note: "已处置".into(),
        attachments: vec!["https://p/1.jpg".into()],
    };
    rig.center.terminals["police"].send(Body::Progress(back));
    // The center's clocks ask the reporter by SMS, once, and every seat sees it asked.
    rig.seat.until(20, "the satisfaction asked", |core| core.orders.list[&order].satisfaction_asked.is_some());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !peers::submits(&smsc.log).iter().any(|s| s["dest"] == "13912345678") {
        assert!(Instant::now() < deadline, "no satisfaction request reached the SMSC");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(peers::submits(&smsc.log).len(), 1, "asked once");
    // The reporter answers "4".
    smsc.mobile_says("13912345678", "10690001", "4");
    rig.seat.until(20, "the reply closing the order", |core| core.orders.list[&order].closed.is_some());
    assert_eq!(rig.seat.core.orders.list[&order].closed.map(|(s, _)| s), Some(4));
    assert_eq!(rig.seat.core.incidents.get("E000001").unwrap().incident.status, IncidentStatus::Closed);
}
