//! SMS through a China Mobile gateway (CMPP 2.0), against a gateway simulator written from the
//! spec in Python (tests/peers/cmpp_gateway.py), itself checked with PyPI's cmppy client: a long
//! Chinese order goes in parts the gateway puts back together, every part's status report comes
//! back, and a wrong secret is refused with the gateway's reason. An idle session is kept with
//! active tests; one whose tests go unanswered is given up and connected again.

mod peers;

use std::time::{Duration, Instant};

use linkage::center::channels::Channel;
use linkage::center::channels::cmpp::{CmppChannel, CmppSettings};

fn settings(port: u16, secret: &str) -> CmppSettings {
    CmppSettings {
        address: format!("127.0.0.1:{port}"),
        sp_id: "901234".into(),
        secret: secret.into(),
        src_id: "10690001".into(),
        service_id: "LINKAGE".into(),
        active_test_every: Duration::from_secs(30),
    }
}

#[test]
fn a_long_order_goes_in_parts_its_reports_come_back_and_a_wrong_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let gateway = peers::PythonPeer::start(
        dir.path(),
        "cmpp_gateway.py",
        &["--sp", "901234:s3cret", "--undeliverable", "13800000099"],
    );
    let (late_tx, mut late) = tokio::sync::mpsc::unbounded_channel();
    let channel = CmppChannel::connect(settings(gateway.port, "s3cret"), late_tx, runtime.handle());
    let text =
        "【青溪镇综治中心】火情（特别严重）：东湾村DW-03柴草堆起火，请青溪派出所立即出警，到场后签收反馈。".repeat(3);
    let sent = peers::send_when_up(&runtime, &channel, &peers::sms_order(&text, &["13800000001", "13800000099"]), 20);
    let ids = sent.unwrap().id;
    let ids: Vec<&str> = ids.split(',').collect();
    let per_mobile = text.chars().count().div_ceil(67);
    assert_eq!(ids.len(), 2 * per_mobile, "{ids:?}");

    // The gateway took CMPP 2.0 submits in UCS-2 and put each mobile's parts back together.
    let submits = gateway.events("submit");
    assert_eq!(submits.len(), ids.len());
    for mobile in ["13800000001", "13800000099"] {
        let parts: Vec<&serde_json::Value> = submits.iter().filter(|s| s["dests"][0] == mobile).collect();
        assert!(parts.iter().all(|p| p["version"] == 0x20 && p["msg_fmt"] == 8 && p["pk_total"] == per_mobile));
        assert!(parts.iter().all(|p| p["reference"] == parts[0]["reference"] && !p["reference"].is_null()));
        let whole: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
        assert_eq!(whole, text);
    }
    // Every part's status report came back: delivered to one mobile, not to the other.
    let reports = peers::receipts(&mut late, ids.len(), 10);
    let delivered = reports.iter().filter(|(_, d)| *d).count();
    assert_eq!(delivered, per_mobile, "{reports:?}");
    assert!(reports.iter().all(|(id, _)| ids.contains(&id.as_str())), "reports name the submits' Msg_Ids");

    // A gateway that does not take the secret: the send fails with its reason.
    let (late_tx, _late) = tokio::sync::mpsc::unbounded_channel();
    let wrong = CmppChannel::connect(settings(gateway.port, "wrong"), late_tx, runtime.handle());
    // Until the first connect is answered the channel says it is connecting.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let refused = runtime.block_on(wrong.send(&peers::sms_order("测试", &["13800000001"]))).unwrap_err();
        if refused.0.contains("authentication") || Instant::now() > deadline {
            break refused;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(refused.0.contains("authentication failed"), "{refused}");
}

#[test]
fn the_gateway_simulator_takes_a_cmpp_3_submit_from_cmppy() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = peers::PythonPeer::start(dir.path(), "cmpp_gateway.py", &["--sp", "901234:s3cret"]);
    let out = std::process::Command::new("python3")
        .arg(peers::peers_dir().join("cmppy_submit.py"))
        .args([&gateway.port.to_string(), "901234", "s3cret", "13800000001", "东湾村火情，请立即出警。"])
        .output()
        .expect("python3 with PyPI's cmppy (make deps installs it)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("result=0 msg_id="), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let submits = gateway.events("submit");
    assert_eq!(submits.len(), 1);
    assert_eq!(
        (submits[0]["version"].as_u64(), submits[0]["text"].as_str()),
        (Some(0x30), Some("东湾村火情，请立即出警。"))
    );
    assert_eq!(submits[0]["dests"][0], "13800000001");
}

#[test]
fn an_idle_session_is_kept_with_active_tests_and_a_hung_one_is_connected_again() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let every_second = |port| CmppSettings { active_test_every: Duration::from_secs(1), ..settings(port, "s3cret") };

    // The gateway answers: one session, tested every second, still sending.
    let gateway = peers::PythonPeer::start(dir.path(), "cmpp_gateway.py", &["--sp", "901234:s3cret"]);
    let (late_tx, _late) = tokio::sync::mpsc::unbounded_channel();
    let channel = CmppChannel::connect(every_second(gateway.port), late_tx, runtime.handle());
    gateway.until(20, "active_test", |tests| tests.len() >= 5);
    assert_eq!(gateway.events("connect").len(), 1, "the answered session was kept");
    peers::send_when_up(&runtime, &channel, &peers::sms_order("测试", &["13800000001"]), 20).unwrap();

    // A gateway that takes the tests and never answers: after three unanswered the session is
    // given up and connected anew, again and again.
    let hung_dir = dir.path().join("hung");
    std::fs::create_dir_all(&hung_dir).unwrap();
    let hung = peers::PythonPeer::start(&hung_dir, "cmpp_gateway.py", &["--sp", "901234:s3cret", "--unresponsive"]);
    let (late_tx, _late) = tokio::sync::mpsc::unbounded_channel();
    let _channel = CmppChannel::connect(every_second(hung.port), late_tx, runtime.handle());
    hung.until(20, "connect", |connects| connects.len() >= 2);
    let tests = hung.events("active_test").len();
    assert!(tests >= 3, "three tests went unanswered before the session was given up: {tests}");
}
