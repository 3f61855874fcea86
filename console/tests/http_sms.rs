//! SMS through a vendor's HTTP SMS service, against a simulator shaped like the common cloud SMS
//! APIs (tests/peers/sms_cloud.py, Python's standard library): the order's words go signed with
//! the sign name and template, the service's delivery reports come back through our callback
//! and are answered `{"code":0}`, a wrong secret is refused with the service's reason, and a
//! service that is down is a failure the outbox retries.

mod peers;

use linkage::center::channels::Channel;
use linkage::center::channels::http_sms::{HttpSmsChannel, HttpSmsSettings};

fn settings(port: u16, secret: &str, callback: Option<std::net::SocketAddr>) -> HttpSmsSettings {
    HttpSmsSettings {
        url: format!("http://127.0.0.1:{port}"),
        key: "LTAI-linkage".into(),
        secret: secret.into(),
        sign_name: "青溪镇综治中心".into(),
        template_code: "SMS_0001".into(),
        callback_listen: callback,
    }
}

/// The order's words.
const TEXT: &str = "火情（特别严重）：东湾村DW-03柴草堆起火，请立即出警。";

#[test]
fn an_order_goes_signed_its_reports_come_back_through_the_callback_and_a_wrong_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let callback: std::net::SocketAddr = format!("127.0.0.1:{}", linkage_tests::free_tcp_port()).parse().unwrap();
    let url = format!("http://{callback}/sms/reports");
    let service = peers::PythonPeer::start(
        dir.path(),
        "sms_cloud.py",
        &["--key", "LTAI-linkage:s3cret", "--callback", &url, "--undeliverable", "13800000099"],
    );
    let (late_tx, mut late) = tokio::sync::mpsc::unbounded_channel();
    let channel = HttpSmsChannel::connect(settings(service.port, "s3cret", Some(callback)), late_tx, runtime.handle());
    let msg = peers::sms_order(TEXT, &["13800000001", "13800000099"]);
    let receipt = runtime.block_on(channel.send(&msg)).unwrap();
    assert_eq!(receipt.id, "m000001,m000002");

    let sent = service.events("send");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0]["sign_name"].as_str(), sent[0]["template_code"].as_str()),
        (Some("青溪镇综治中心"), Some("SMS_0001"))
    );
    assert_eq!(sent[0]["template_param"]["text"].as_str(), Some(msg.text.as_str()));
    assert_eq!(sent[0]["out_id"].as_str(), Some("D000042/police/sms"));

    // The reports came back through our callback, which answered {"code":0}.
    let mut reports = peers::receipts(&mut late, 2, 10);
    reports.sort();
    assert_eq!(reports, [("m000001".to_owned(), true), ("m000002".to_owned(), false)]);
    service.until(5, "report", |reports| reports.iter().any(|r| r["acked"] == true));

    // A wrong secret: refused with the service's reason, nothing sent.
    let (late_tx, _late) = tokio::sync::mpsc::unbounded_channel();
    let wrong = HttpSmsChannel::connect(settings(service.port, "wrong", None), late_tx, runtime.handle());
    let refused = runtime.block_on(wrong.send(&msg)).unwrap_err();
    assert!(refused.0.contains("401") && refused.0.contains("signature"), "{refused}");
    assert_eq!(service.events("send").len(), 1);

    // The service down: a failure (the outbox retries it), not a hang.
    let port = service.port;
    drop(service);
    let (late_tx, _late) = tokio::sync::mpsc::unbounded_channel();
    let down = HttpSmsChannel::connect(settings(port, "s3cret", None), late_tx, runtime.handle());
    assert!(runtime.block_on(down.send(&msg)).is_err());
}
