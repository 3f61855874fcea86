//! Nobody misses a tier-1 event, even with no one at a seat: a critical fire rings on a seat
//! that nobody answers; the center's server pages the on-call officer by SMS through an SMSC
//! that is not ours, the page is in every seat's trail, and the officer's SMS answer
//! acknowledges the alarm for every seat.

mod peers;

use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage::core::history::Entry;
use linkage::core::paging::{OnCall, Paging};
use peers::Seat;
use streams::feed::{Body, IncidentReport, Severity};

#[test]
fn an_alarm_nobody_acknowledges_pages_the_on_call_officer_whose_sms_answer_silences_it() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut smsc = peers::start_smsc(dir.path(), 0);
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.dispatch.sms = Some(peers::smpp_account(smsc.port));
    config.paging = Paging {
        on_call_after: chrono::Duration::seconds(1),
        leader_after: chrono::Duration::hours(1),
        roster: vec![OnCall {
            name: "值守 王强".into(),
            mobiles: vec!["13900000001".into()],
            radio: None,
            hours: linkage::core::roster::Hours::ROUND_THE_CLOCK,
        }],
    };
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &center.url(), "seat-1", &config);
    let Body::Report(report) = peers::report(1) else { unreachable!() };
    seat.feed.send(Body::Report(IncidentReport { kind: "fire".into(), severity: Severity::Critical, ..report }));
    seat.until(20, "the alarm", |core| core.alarms == ["E000001"]);

    // Nobody at the seat answers: the page goes to the officer on duty, once.
    seat.until(30, "the page in the trail", |core| {
        core.history.of("E000001").iter().any(|l| matches!(&l.entry, Entry::Paged { to } if to == "值守 王强"))
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        if let Some(s) = peers::submits(&smsc.log).into_iter().find(|s| s["dest"] == "13900000001") {
            break s;
        }
        assert!(Instant::now() < deadline, "no page reached the SMSC");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(page["text"].as_str().unwrap().contains("回复任意内容即签收"), "{page}");
    assert!(!seat.core.alarms.is_empty(), "still ringing until someone answers");

    // The officer answers the SMS: the alarm is acknowledged in their name, for every seat.
    smsc.mobile_says("13900000001", "10690001", "收到");
    seat.until(20, "the answer acknowledging the alarm", |core| core.alarms.is_empty());
    let ack = seat.core.history.of("E000001").iter().find(|l| l.entry == Entry::AlarmAcknowledged).cloned();
    assert_eq!(ack.map(|l| l.by), Some("值守 王强（短信 13900000001）".to_owned()));
    let pages = peers::submits(&smsc.log).into_iter().filter(|s| s["dest"] == "13900000001").count();
    assert_eq!(pages, 1, "paged once");
}
