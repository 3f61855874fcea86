//! Channel tests against the real center's server and an SMSC that is not ours: a duty
//! officer's seat tests the police station's channels; with the SMSC down its SMS turns red
//! (the order and the radio green), and when the SMSC comes up the outbox's retry gets through
//! and it turns green again — on the seat, from the log.

mod harness;
mod peers;

use linkage::config::Config;
use linkage::core::order::ChannelKind;
use linkage::core::{Command, Core};
use peers::Seat;
use streams::feed::{Body, ChannelTestRequest, ChannelTestResult, Envelope, FeedUpdate};

fn health(core: &Core, channel: ChannelKind) -> Option<bool> {
    core.channel_health.of("police", channel).map(|t| t.ok)
}

#[test]
fn a_unit_whose_sms_gateway_is_down_turns_red_and_green_again_when_it_is_back() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let smsc_port = linkage_tests::free_tcp_port();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    let police = config.units.iter_mut().find(|u| u.id == "police").unwrap();
    police.radio = Some(format!("127.0.0.1:{}", peers::free_udp_port()).parse().unwrap());
    config.dispatch.sms = Some(peers::smpp_account(smsc_port));
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &center.url(), "seat-1", &config);
    seat.apply(Command::TestChannels(Some("police".into())));
    seat.until(60, "the test's outcomes: SMS failed, the order and the radio went", |core| {
        health(core, ChannelKind::Sms) == Some(false)
            && health(core, ChannelKind::Order) == Some(true)
            && health(core, ChannelKind::Radio) == Some(true)
    });
    let failed = seat.core.channel_health.of("police", ChannelKind::Sms).unwrap().detail.clone();
    assert!(!failed.is_empty(), "the failure says why");
    assert!(seat.core.channel_health.of("fire", ChannelKind::Sms).is_none(), "only the police was tested");
    assert!(seat.core.orders.list.is_empty(), "a test is no order");

    let smsc = peers::start_smsc(dir.path(), smsc_port);
    seat.until(60, "the SMS test through once the SMSC is up", |core| health(core, ChannelKind::Sms) == Some(true));
    // The SMSC (which knows nothing of tests) got the test text.
    let submits = peers::submits(&smsc.log);
    assert!(submits.iter().any(|s| s["text"].as_str().is_some_and(|t| t.contains("通道测试"))), "{submits:?}");
}

#[test]
fn the_unit_list_shows_each_channels_test_and_the_dispatch_panel_warns_of_a_failed_one() {
    use egui_kittest::kittest::Queryable;
    use linkage::core::Effect;
    let mut s = harness::state();
    let ask = ChannelTestRequest { key: "k".into(), unit: None, by: "值班员".into() };
    s.core.on_feed(FeedUpdate::Event(Envelope::new(50, Body::ChannelTestRequested(ask))));
    for (seq, channel, ok) in [(51, ChannelKind::Order, true), (52, ChannelKind::Sms, false)] {
        let result =
            ChannelTestResult { run: "T50".into(), unit: "police".into(), channel, ok, detail: "SMSC down".into() };
        s.core.on_feed(FeedUpdate::Event(Envelope::new(seq, Body::ChannelTested(result))));
    }
    let mut h = harness::harness(s);
    h.run();
    h.get_by_label("视图").click();
    h.run();
    h.get_by_label("联动单位与通道测试").click();
    h.run();
    assert!(h.query_all_by_label_contains("正常").count() >= 1, "the order channel works");
    assert!(h.query_all_by_label_contains("失败").count() >= 1, "the SMS failed");
    assert!(h.query_all_by_label("未测试").count() >= 1, "the radio was never tested");
    h.get_by_label("测试 青溪派出所").click();
    h.run();
    let tested = h.state().effects.iter().any(
        |e| matches!(e, Effect::Send(Body::TestChannels(ChannelTestRequest { unit: Some(u), .. })) if u == "police"),
    );
    assert!(tested, "{:?}", h.state().effects);

    // Dispatching the fire: the police's SMS is said to be unreliable.
    let _ = h.state_mut().core.apply(Command::SelectIncident("E000002".into()));
    h.run();
    h.get_by_label("三合一派单…").click();
    h.run();
    h.get_by_label_contains("短信最近测试失败");
}
