//! The three-in-one dispatch against real peers on loopback: the hub with a unit terminal, an
//! SMSC that is not ours (the npm `smpp` package under node, tests/peers/smsc.js), and a
//! GStreamer RTP receiver standing in for the radio gateway.

mod peers;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use linkage::channels::outbox::{Job, Outbox};
use linkage::channels::{Channel, order::OrderChannel, radio::RadioChannel, sms::SmsChannel};
use linkage::config::{Config, SmsSettings};
use linkage::core::dispatch::{DeliveryReport, DispatchDraft};
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::{Command, Core, Effect};
use peers::{RadioReceiver, free_tcp_port, free_udp_port, start_smsc};
use streams::feed::{Body, Envelope, FeedUpdate};
use tokio::sync::mpsc;

/// The account the SMSC peers take (the simulated one takes any).
fn sms_settings(address: &str) -> SmsSettings {
    SmsSettings {
        address: address.to_owned(),
        system_id: "linkage".into(),
        password: "secret".into(),
        source: "10690001".into(),
    }
}

type Channels = (Vec<std::sync::Arc<dyn Channel>>, mpsc::UnboundedReceiver<linkage::channels::Late>);

/// The online-order and SMS channels, the SMSC at `smsc`.
fn order_and_sms(rig: &Rig, smsc: &str) -> Channels {
    let (late_tx, late) = mpsc::unbounded_channel();
    let channels: Vec<std::sync::Arc<dyn Channel>> = vec![
        std::sync::Arc::new(OrderChannel::connect(&rig.police.hub.url(), "disp", rig.runtime.handle())),
        std::sync::Arc::new(SmsChannel::connect(sms_settings(smsc), late_tx, rig.runtime.handle())),
    ];
    (channels, late)
}

/// The demo's units and plans, with police reachable on this test's peers.
fn core_with(radio: SocketAddr) -> Core {
    let config = Config::demo().unwrap();
    let mut core = Core { units: config.units, center: config.dispatch.center, ..Core::default() };
    let police = core.units.iter_mut().find(|u| u.id == "police").unwrap();
    police.radio = Some(radio);
    core
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
    // Declared first, dropped first: the hub and terminals go before their runtime.
    police: peers::UnitHub,
    runtime: tokio::runtime::Runtime,
}

fn rig(dir: &Path) -> Rig {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let police = peers::unit_hub(&runtime, dir, &["police"]);
    Rig { police, runtime }
}

/// Sends the draft through Core and a fresh outbox; returns the report stream.
fn dispatch(
    rig: &Rig,
    core: &mut Core,
    dir: &Path,
    channels: Vec<std::sync::Arc<dyn Channel>>,
    late: mpsc::UnboundedReceiver<linkage::channels::Late>,
    draft: DispatchDraft,
) -> mpsc::UnboundedReceiver<DeliveryReport> {
    let (reports, rx) = mpsc::unbounded_channel();
    let outbox = Outbox::start(rig.runtime.handle(), dir.join("store"), channels, late, reports, streams::no_waker());
    for effect in core.apply(Command::Dispatch(draft)) {
        let Effect::Dispatch { order, outgoing } = effect else { panic!("{effect:?}") };
        outbox.submit(Job::Dispatch { order, outgoing });
    }
    // The outbox task lives as long as the runtime; the handle may go.
    drop(outbox);
    rx
}

/// Waits until `done` holds for the reports so far (feeding them to Core), or panics.
fn until(
    core: &mut Core,
    reports: &mut mpsc::UnboundedReceiver<DeliveryReport>,
    what: &str,
    done: impl Fn(&Core) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(45);
    while !done(core) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {:#?}", core.orders.list);
        match reports.try_recv() {
            Ok(report) => {
                core.on_delivery(report);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
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
    let mut rig = rig(dir.path());
    let smsc = start_smsc(dir.path(), 0);
    let radio_port = free_udp_port();
    let radio = RadioReceiver::start(radio_port);
    let (late_tx, late) = mpsc::unbounded_channel();
    let sms = sms_settings(&format!("127.0.0.1:{}", smsc.port));
    let channels: Vec<std::sync::Arc<dyn Channel>> = vec![
        std::sync::Arc::new(OrderChannel::connect(&rig.police.hub.url(), "disp", rig.runtime.handle())),
        std::sync::Arc::new(SmsChannel::connect(sms, late_tx.clone(), rig.runtime.handle())),
        std::sync::Arc::new(RadioChannel::new("cmn", late_tx)),
    ];
    let mut core = core_with(format!("127.0.0.1:{radio_port}").parse().unwrap());
    let mut reports = dispatch(&rig, &mut core, dir.path(), channels, late, draft(ChannelKind::ALL.to_vec()));

    until(&mut core, &mut reports, "every channel sent, the SMS and the radio call delivered", |core| {
        matches!(state(core, ChannelKind::Order), Some(DeliveryState::Sent { .. }))
            && matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Delivered { .. }))
            && matches!(state(core, ChannelKind::Radio), Some(DeliveryState::Delivered { .. }))
    });

    // The unit's terminal got the order once, with its text and the unit's name filled in.
    let order = loop {
        match rig.police.received.try_recv() {
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
    assert_eq!(submits[0]["dest"], "13800000001");
    assert_eq!(submits[0]["text"], "【青溪镇综治中心】东湾村火情，请立即前往处置。");
    assert!(submits[0]["key"].as_str().unwrap().ends_with("/police/sms#13800000001"), "{}", submits[0]);

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
    let rig = rig(dir.path());
    let smsc_port = free_tcp_port();
    let (channels, late) = order_and_sms(&rig, &format!("127.0.0.1:{smsc_port}"));
    let mut core = core_with("127.0.0.1:9".parse().unwrap());
    let mut reports =
        dispatch(&rig, &mut core, dir.path(), channels, late, draft(vec![ChannelKind::Order, ChannelKind::Sms]));
    until(&mut core, &mut reports, "the order out while SMS fails", |core| {
        matches!(state(core, ChannelKind::Order), Some(DeliveryState::Sent { .. }))
            && matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Failed { .. }))
    });
    assert!(core.orders.list.values().next().unwrap().units[0].partial(), "the officer sees it partial");
    // The SMSC comes up; the retry finds it.
    let _smsc = start_smsc(dir.path(), smsc_port);
    until(&mut core, &mut reports, "the SMS sent after the SMSC came up", |core| {
        matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
    });
}

#[test]
fn the_demos_simulated_smsc_takes_an_sms_and_confirms_its_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path());
    let smsc = streams::sim::smsc::Smsc::start(rig.runtime.handle()).unwrap();
    let (late_tx, late) = mpsc::unbounded_channel();
    let sms = sms_settings(&smsc.addr().to_string());
    let channel = SmsChannel::connect(sms, late_tx, rig.runtime.handle());
    let channels: Vec<std::sync::Arc<dyn Channel>> = vec![std::sync::Arc::new(channel)];
    let mut core = core_with("127.0.0.1:9".parse().unwrap());
    let mut reports = dispatch(&rig, &mut core, dir.path(), channels, late, draft(vec![ChannelKind::Sms]));
    until(&mut core, &mut reports, "the SMS delivered", |core| {
        matches!(state(core, ChannelKind::Sms), Some(DeliveryState::Delivered { .. }))
    });
}

#[test]
fn a_reporters_sms_reply_closes_the_order_with_that_satisfaction() {
    use streams::feed::{
        CoordinateSystem, Incident, IncidentReport, IncidentStatus, Location, OrderProgress, ReportSource, Severity,
        Step,
    };
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path());
    let mut smsc = start_smsc(dir.path(), 0);
    let (channels, late) = order_and_sms(&rig, &format!("127.0.0.1:{}", smsc.port));
    let mut core = core_with("127.0.0.1:9".parse().unwrap());
    let incident = Incident {
        id: "E000001".into(),
        reported_at: chrono::Utc::now(),
        status: IncidentStatus::New,
        report: IncidentReport {
            report_id: "r1".into(),
            kind: "fire".into(),
            severity: Severity::High,
            location: Location { lon: 120.0, lat: 30.1, crs: CoordinateSystem::Wgs84 },
            grid: None,
            reporter: "王芳".into(),
            reporter_mobile: Some("13912345678".into()),
            source: ReportSource::Field,
            text: "仓库冒烟".into(),
            attachments: vec![],
        },
    };
    core.on_feed(FeedUpdate::Event(Envelope::new(1, Body::IncidentReported(incident))));
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let outbox =
        Outbox::start(rig.runtime.handle(), dir.path().join("store"), channels, late, reports_tx, streams::no_waker());
    for effect in core.apply(Command::Dispatch(draft(vec![ChannelKind::Order]))) {
        let Effect::Dispatch { order, outgoing } = effect else { panic!("{effect:?}") };
        outbox.submit(Job::Dispatch { order, outgoing });
    }
    // The unit reports back (as the hub would tell the console).
    let order = core.orders.list.keys().next().unwrap().clone();
    let back = OrderProgress {
        order: order.clone(),
        unit: "police".into(),
        step: Step::ReportedBack,
        note: "已处置".into(),
        attachments: vec!["https://p/1.jpg".into()],
    };
    core.on_feed(FeedUpdate::Event(Envelope::new(2, Body::OrderProgressed(back))));
    // The clocks' tick asks the reporter by SMS, once.
    for effect in core.tick(chrono::Utc::now()).into_iter().chain(core.tick(chrono::Utc::now())) {
        let Effect::Notify(msg) = effect else { continue };
        outbox.submit(Job::Notify(msg));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !peers::submits(&smsc.log).iter().any(|s| s["dest"] == "13912345678") {
        assert!(Instant::now() < deadline, "no satisfaction request reached the SMSC");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(peers::submits(&smsc.log).len(), 1, "asked once");
    // The reporter answers "4分，满意".
    smsc.mobile_says("13912345678", "10690001", "4");
    let deadline = Instant::now() + Duration::from_secs(20);
    while core.orders.list[&order].closed.is_none() {
        assert!(Instant::now() < deadline, "the reply did not close the order");
        if let Ok(report) = reports.try_recv() {
            let _ = core.on_delivery(report);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(core.orders.list[&order].closed.map(|(s, _)| s), Some(4));
    assert_eq!(core.incidents.get("E000001").unwrap().incident.status, IncidentStatus::Closed);
}
