//! The SMPP channel against two SMSCs that share no code with each other or with us — the npm
//! `smpp` package (tests/peers/smsc.js) and PyPI's smpp34 server (tests/peers/smsc_smpp34.py, a
//! Rust/tokio engine): a long Chinese order goes out the same to both, in UCS-2 parts with one
//! reference and the key TLV, and both delivery receipts come back.

mod peers;

use linkage::center::channels::sms::SmsChannel;

/// What an SMSC logged of the submits: (dest, text, data coding, parts, key) per part.
fn parts(events: Vec<serde_json::Value>) -> Vec<(String, String, u64, u64, String)> {
    let mut out: Vec<_> = events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("dest"), s("text"), e["data_coding"].as_u64().unwrap_or(0), e["parts"].as_u64().unwrap_or(1), s("key"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_long_chinese_order_reaches_two_independent_smscs_the_same_and_both_confirm_it() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let npm = peers::start_smsc(dir.path(), 0);
    let port = linkage_tests::free_tcp_port();
    let smpp34 = peers::PythonPeer::start(dir.path(), "smsc_smpp34.py", &["--port", &port.to_string()]);
    let text =
        "【青溪镇综治中心】火情（特别严重）：东湾村DW-03柴草堆起火，请青溪派出所立即出警，到场后签收反馈。".repeat(2);
    let msg = peers::sms_order(&text, &["13800000001"]);
    let mut receipts = vec![];
    for smsc_port in [npm.port, port] {
        let (late_tx, mut late) = tokio::sync::mpsc::unbounded_channel();
        let channel = SmsChannel::connect(peers::smpp_account(smsc_port), late_tx, runtime.handle());
        let receipt = peers::send_when_up(&runtime, &channel, &msg, 20).unwrap_or_else(|e| panic!("{smsc_port}: {e}"));
        let ids: Vec<String> = receipt.id.split(',').map(str::to_owned).collect();
        let confirmed = peers::receipts(&mut late, ids.len(), 10);
        assert!(confirmed.iter().all(|(_, delivered)| *delivered), "{smsc_port}: {confirmed:?}");
        let mut confirmed: Vec<String> = confirmed.into_iter().map(|(id, _)| id).collect();
        confirmed.sort();
        let mut ids = ids;
        ids.sort();
        assert_eq!(confirmed, ids, "every part confirmed by its own id");
        receipts.push(ids.len());
    }
    let from_npm = parts(peers::submits(&npm.log));
    let from_smpp34 = parts(smpp34.events("submit"));
    assert_eq!(from_npm, from_smpp34, "the same parts at both SMSCs");
    assert!(from_npm.len() >= 2 && from_npm.iter().all(|p| p.2 == 8 && p.3 == from_npm.len() as u64));
    assert!(from_npm.iter().all(|p| p.4 == "D000042/police/sms#13800000001"), "the key TLV on every part");
    let mut by_part = smpp34.events("submit");
    by_part.sort_by_key(|e| e["part"].as_u64());
    let whole: String = by_part.iter().map(|e| e["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(whole, text);
    assert_eq!(receipts, [from_npm.len(), from_npm.len()]);
}
