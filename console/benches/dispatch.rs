//! `make bench-dispatch`: from the officer's click to every channel of every unit sent, through
//! the center's server, against loopback peers. The click is a seat's `dispatch` to the hub;
//! the dispatch service builds the order and its outbox sends it to the hub's unit terminals
//! (online order), the SMSC simulator on the npm `smpp` package (SMS, "sent" =
//! submit_sm_resp) and radio gateways (radio, "sent" = the call is on the air: text to speech
//! done, first RTP packet out); "sent" is when the seat sees every state in the log. Each order
//! goes to three units on three channels.
//!
//! Paced: one order after another, 0.6 s apart; a unit's talk-group is free again before its
//! next order, so p50/p99 are click to all three channels sent.
//! Burst: then 100 orders 0.1 s apart, clicked without waiting. `burst_p99_ms` is click to the
//! online order and the SMS sent for every unit. Radio calls queue per talk-group by design (a
//! half-duplex channel carries one call at a time, about 5 s each here), so a unit's calls in
//! the burst wait for each other: `radio_wait_p99_ms` is click to the call on the air.
//! Prints, last:
//! `dispatch-bench orders=100 channels=3 p50_ms=A p99_ms=B burst_p99_ms=C radio_wait_p99_ms=W`

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::Texts;
use linkage::core::unit::{LinkedUnit, Tier};
use linkage::core::{Command, Core};
use streams::sim::radio_gateways::RadioGateways;

/// Units in the rotation: every order takes three, so each unit's turn comes every 10 orders.
const UNITS: usize = 30;

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
            radio: Some(format!("127.0.0.1:{}", peers::free_udp_port()).parse().unwrap()),
            base: None,
            posts: vec![],
        })
        .collect();
    let gateways: Vec<_> = units.iter().filter_map(|u| u.radio.as_ref()?.rtp()).collect();
    let _gateways = RadioGateways::start(&gateways, runtime.handle()).unwrap();
    let smsc = peers::start_smsc(dir.path(), 0);
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.units = units;
    config.dispatch.center = "青溪镇综治中心".into();
    config.dispatch.leader_sms = vec![];
    config.dispatch.sms = Some(peers::smpp_account(smsc.port));
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut seat = peers::Seat::open(&runtime, &dir.path().join("seat"), &center.url(), "seat-1", &config);
    for n in 0..orders * 2 {
        seat.feed.send(peers::report(n));
    }
    seat.until(30, "the incidents", |core| core.incidents.len() == orders * 2);
    // Let the SMSC bind and the terminals connect before the first click.
    std::thread::sleep(Duration::from_secs(2));

    let mut took = vec![];
    for i in 0..orders {
        let incident = format!("E{:06}", i + 1);
        let click = Instant::now();
        seat.apply(Command::Dispatch(draft(&incident, i)));
        seat.until(60, "the order sent", |core| sent_on(core, &incident, &ChannelKind::ALL));
        took.push(click.elapsed().as_secs_f64() * 1000.0);
        // The next click comes 0.6 s later: with 10 groups of units, a unit's talk-group is
        // free again (a call here is about 5 s) before its next order, so the numbers measure
        // the console and not a busy talk-group (which waits, as a half-duplex channel must).
        std::thread::sleep(Duration::from_millis(600));
    }
    // Every talk-group free again before the burst.
    if !smoke {
        std::thread::sleep(Duration::from_secs(6));
    }

    /// One order of the burst: when it was clicked, and how long until its order and SMS were
    /// sent and its radio calls were on the air.
    struct Burst {
        incident: String,
        click: Instant,
        order_and_sms: Option<f64>,
        radio: Option<f64>,
    }
    let burst = RefCell::new(Vec::<Burst>::new());
    let note = |core: &Core| {
        for b in burst.borrow_mut().iter_mut() {
            let ms = || b.click.elapsed().as_secs_f64() * 1000.0;
            if b.order_and_sms.is_none() && sent_on(core, &b.incident, &[ChannelKind::Order, ChannelKind::Sms]) {
                b.order_and_sms = Some(ms());
            }
            if b.radio.is_none() && sent_on(core, &b.incident, &[ChannelKind::Radio]) {
                b.radio = Some(ms());
            }
        }
    };
    for i in 0..orders {
        let incident = format!("E{:06}", orders + i + 1);
        burst.borrow_mut().push(Burst {
            incident: incident.clone(),
            click: Instant::now(),
            order_and_sms: None,
            radio: None,
        });
        seat.apply(Command::Dispatch(draft(&incident, i)));
        let next = Instant::now() + Duration::from_millis(100);
        seat.until(60, "the next click", |core| {
            note(core);
            Instant::now() >= next
        });
    }
    // Ten orders a unit, five seconds a call: the last calls go on the air about 50 s later.
    seat.until(180, "every order of the burst sent", |core| {
        note(core);
        burst.borrow().iter().all(|b| b.order_and_sms.is_some() && b.radio.is_some())
    });
    let burst = burst.into_inner();
    let (mut sent, mut radio): (Vec<f64>, Vec<f64>) =
        burst.iter().map(|b| (b.order_and_sms.unwrap_or(f64::NAN), b.radio.unwrap_or(f64::NAN))).unzip();
    println!(
        "paced: p50_ms={:.1}; burst: order+sms p50_ms={:.1}, radio on the air p50_ms={:.1}",
        quantile(&mut took, 0.5),
        quantile(&mut sent, 0.5),
        quantile(&mut radio, 0.5)
    );
    println!(
        "dispatch-bench orders={orders} channels=3 p50_ms={:.1} p99_ms={:.1} burst_p99_ms={:.1} radio_wait_p99_ms={:.1}",
        quantile(&mut took, 0.5),
        quantile(&mut took, 0.99),
        quantile(&mut sent, 0.99),
        quantile(&mut radio, 0.99)
    );
}

/// Order `i`'s dispatch of `incident`: three units of the rotation on every channel.
fn draft(incident: &str, i: usize) -> DispatchDraft {
    let group: Vec<String> = (0..3).map(|k| format!("u{}", (i * 3 + k) % UNITS)).collect();
    DispatchDraft {
        incident: incident.to_owned(),
        plan: None,
        units: group.iter().map(|u| (u.clone(), ChannelKind::ALL.to_vec())).collect(),
        texts: Texts {
            order: "东湾村火情，请{unit}立即前往处置并反馈。".into(),
            sms: "【青溪镇综治中心】东湾村火情，请立即前往处置。".into(),
            radio: "东湾村火情，立即出动。".into(),
        },
        clocks: Default::default(),
    }
}

/// Whether the incident's order has been sent (or delivered) on `channels` to every unit.
fn sent_on(core: &Core, incident: &str, channels: &[ChannelKind]) -> bool {
    core.orders.of_incident(incident).next().is_some_and(|o| {
        let mut on = o.units.iter().flat_map(|u| &u.deliveries).filter(|d| channels.contains(&d.channel)).peekable();
        on.peek().is_some()
            && on.all(|d| matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
    })
}

/// The `q` quantile (nearest rank) of `values`.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}
