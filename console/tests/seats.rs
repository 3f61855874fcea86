//! One truth for every seat: three seats on one center's server. One dispatches and closes its
//! window; the server keeps the order's clock running and escalates it; all three — the one
//! that closed, reopened from its journal — show the same order, every unit, channel and step,
//! the same at-risk clocks and the same ranking, derived each on its own from the log.

mod peers;

use std::time::Duration;

use linkage::config::Config;
use linkage::core::clock::ClockKind;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::{PlanClocks, Texts};
use linkage::core::score::Period;
use linkage::core::{Command, Core, ZONE};
use peers::Seat;
use streams::feed::{Body, OrderProgress, Step};

fn escalated(core: &Core) -> bool {
    core.orders.alerts.iter().any(|(_, unit, clock)| unit == "fire" && *clock == ClockKind::Acknowledge)
        && core.orders.list.values().all(|o| {
            o.units.iter().flat_map(|u| &u.deliveries).all(|d| !matches!(d.state, DeliveryState::Queued))
                && o.units.iter().any(|u| u.unit == "police" && u.steps.contains_key(&Step::Acknowledged))
        })
}

#[test]
fn three_seats_show_the_same_orders_clocks_and_ranking_and_a_closed_seat_stops_nothing() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let url = center.url();
    let seat_dir = |n: usize| dir.path().join(format!("seat-{n}"));
    let mut seats: Vec<Seat> =
        (1..=3).map(|n| Seat::open(&runtime, &seat_dir(n), &url, &format!("seat-{n}"), &config)).collect();

    seats[0].feed.send(peers::report(1));
    seats[0].until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    // The fire station must acknowledge within 2 s (the plan's clock for its tier-1 units).
    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), vec![ChannelKind::Order]), ("fire".into(), vec![ChannelKind::Order])],
        texts: Texts { order: "请{unit}前往处置".into(), ..Texts::default() },
        clocks: PlanClocks { acknowledge: Some(Duration::from_secs(2)), ..PlanClocks::default() },
    };
    seats[0].apply(Command::Dispatch(draft));
    seats[0].until(20, "the order built by the server", |core| !core.orders.list.is_empty());
    let order = seats[0].core.orders.list.keys().next().unwrap().clone();
    assert!(order.starts_with('D'), "the server gives the id: {order}");
    // The seat that dispatched closes before the clock runs out.
    drop(seats.remove(0));

    center.terminals["police"].send(Body::Progress(OrderProgress {
        order: order.clone(),
        unit: "police".into(),
        step: Step::Acknowledged,
        note: String::new(),
        attachments: vec![],
    }));
    // The clock ran out on the server: the fire station's order went out again, every seat is
    // alerted — the two that stayed, and the one that reopens.
    for seat in &mut seats {
        seat.until(30, "the escalation and the police's acknowledgement", escalated);
    }
    let reopened = Seat::open(&runtime, &seat_dir(1), &url, "seat-1", &config);
    seats.insert(0, reopened);
    seats[0].until(30, "the reopened seat catching up", escalated);
    let reference = seats[1].core.orders.list.clone();
    for seat in &mut seats {
        seat.until(30, "the same orders as the other seats", |core| core.orders.list == reference);
    }
    let o = &reference[&order];
    assert!(o.units.iter().any(|u| u.unit == "fire" && u.escalated.contains(&"acknowledge".to_owned())));
    assert!(o.units.iter().flat_map(|u| &u.deliveries).any(|d| d.key.ends_with("/acknowledge")), "resent");

    let now = chrono::Utc::now();
    let clocks: Vec<_> = seats.iter().map(|s| s.core.running_clocks(now)).collect();
    assert!(!clocks[0].is_empty());
    assert!(clocks.iter().all(|c| c == &clocks[0]), "{clocks:#?}");
    let period = Period::Day(now.with_timezone(&ZONE).date_naive());
    let ranks: Vec<_> = seats.iter().map(|s| s.core.unit_ranking(period, now)).collect();
    assert!(!ranks[0].is_empty());
    assert!(ranks.iter().all(|r| r == &ranks[0]), "{ranks:#?}");
}
