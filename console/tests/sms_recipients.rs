//! An order's SMS to a unit with two mobiles, through the npm SMSC (tests/peers/smsc.js) that
//! refuses the second part of the long order to the second number once: the order shows which
//! number got what, and the resend goes only where it failed — the SMSC, which keeps no key of
//! ours in its count here, saw every part to each number taken exactly once.

mod peers;

use linkage::config::Config;
use linkage::core::Command;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::{ChannelKind, DeliveryState};
use linkage::core::plan::Texts;
use peers::Seat;

const FIRST: &str = "13800000011";
const SECOND: &str = "13800000012";

#[test]
fn a_part_refused_for_one_number_is_resent_to_that_number_alone() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let smsc = peers::start_smsc_with(dir.path(), 0, &["--refuse", &format!("{SECOND}:2:1")]);
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.dispatch.sms = Some(peers::smpp_account(smsc.port));
    let police = config.units.iter_mut().find(|u| u.id == "police").unwrap();
    police.sms = vec![FIRST.into(), SECOND.into()];
    police.posts.clear();
    let rig = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &rig.url(), "seat-1", &config);
    seat.feed.send(peers::report(1));
    seat.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    let sms = "【青溪镇综治中心】纠纷：青溪村三组两户村民因宅基地界线发生争执，双方情绪激动，请青溪派出所立即前往调解，到场后签收反馈。".repeat(2);
    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), vec![ChannelKind::Sms])],
        texts: Texts { sms, ..Texts::default() },
        clocks: Default::default(),
    };
    seat.apply(Command::Dispatch(draft));
    let sent = |core: &linkage::core::Core| {
        core.orders.list.values().flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries)).any(|d| {
            d.recipients.len() == 2
                && d.recipients
                    .values()
                    .all(|s| matches!(s, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }))
        })
    };
    seat.until(60, "both numbers sent", sent);
    let order = seat.core.orders.list.values().next().unwrap();
    let d = &order.units[0].deliveries[0];
    assert_eq!(d.recipients.keys().collect::<Vec<_>>(), [FIRST, SECOND], "the order names each number");
    assert!(matches!(d.state, DeliveryState::Sent { .. } | DeliveryState::Delivered { .. }), "{:?}", d.state);

    // The failure was the second number's alone, and is on the order's record.
    let store = linkage::center::store::Store::open(&dir.path().join("hub/center")).unwrap();
    let audit: Vec<String> = store.audit_of(&order.id).unwrap().into_iter().map(|(_, what)| what).collect();
    let failed: Vec<&String> = audit.iter().filter(|l| l.starts_with("failed")).collect();
    assert_eq!(failed.len(), 1, "{audit:#?}");
    assert!(failed[0].contains(&format!("#{SECOND}")) && failed[0].contains("part 2 of"), "{}", failed[0]);

    // At the SMSC: one refusal, then every part to each number taken exactly once.
    let log = std::fs::read_to_string(&smsc.log).unwrap();
    let events: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let refused: Vec<_> = events.iter().filter(|e| e["event"] == "refused").collect();
    assert_eq!(refused.len(), 1);
    let submits: Vec<_> = events.iter().filter(|e| e["event"] == "submit").collect();
    let parts = submits[0]["parts"].as_u64().unwrap();
    assert!(parts >= 2, "a long order: {parts} parts");
    for mobile in [FIRST, SECOND] {
        let mut taken: Vec<u64> =
            submits.iter().filter(|e| e["dest"] == mobile).map(|e| e["part"].as_u64().unwrap()).collect();
        taken.sort();
        assert_eq!(taken, (1..=parts).collect::<Vec<_>>(), "{mobile}: each part once");
    }
    assert!(submits.iter().all(|e| e["duplicate"] == false), "nothing submitted twice");
}

/// The demo with `[simulation] sms = "cmpp"` and `"http"`: its simulated China Mobile gateway
/// and its simulated vendor service each take the order's SMS and report it delivered.
#[test]
fn the_demo_can_send_its_sms_through_a_simulated_cmpp_gateway_or_http_service() {
    for gateway in [linkage::config::SimulatedSms::Cmpp, linkage::config::SimulatedSms::Http] {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (_world, mut seat) = peers::quiet_demo(&runtime, dir.path(), gateway);
        seat.feed.send(peers::report(1));
        let ours = |core: &linkage::core::Core| {
            core.incidents.all().iter().find(|t| t.incident.report.report_id == "r1").map(|t| t.incident.id.clone())
        };
        seat.until(20, "the incident", |core| ours(core).is_some());
        let draft = DispatchDraft {
            incident: ours(&seat.core).unwrap(),
            plan: None,
            units: vec![("police".into(), vec![ChannelKind::Sms])],
            texts: Texts { sms: "请青溪派出所前往处置。".into(), ..Texts::default() },
            clocks: Default::default(),
        };
        seat.apply(Command::Dispatch(draft));
        seat.until(30, &format!("the SMS delivered through {gateway:?}"), |core| {
            core.orders
                .list
                .values()
                .flat_map(|o| o.units.iter().flat_map(|u| &u.deliveries))
                .any(|d| d.channel == ChannelKind::Sms && matches!(d.state, DeliveryState::Delivered { .. }))
        });
    }
}
