//! A hub that can face a network: with TLS on (a site CA and a certificate made by
//! `linkage hub cert`), a seat that trusts the site CA connects and works — the server's own
//! dispatch service too; one that trusts another authority is refused at the TLS handshake;
//! plain ws is refused.

mod peers;

use std::time::{Duration, Instant};

use linkage::config::Config;
use peers::Seat;
use streams::feed::{Connection, FeedUpdate, tls};

/// Waits for the seat's link to be lost, and gives the reason.
fn lost(seat: &mut Seat) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the link never failed");
        match seat.feed.updates.try_recv() {
            Ok(FeedUpdate::Connection(Connection::Lost { reason, .. })) => return reason,
            Ok(FeedUpdate::Connection(Connection::Connected { client, .. })) => panic!("connected as {client}"),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[test]
fn a_seat_trusting_the_site_ca_connects_over_wss_and_others_and_plain_ws_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    let site = dir.path().join("tls");
    tls::make_site_certs(&site, &["127.0.0.1".into(), "localhost".into()]).unwrap();
    assert!(tls::make_site_certs(&site, &["127.0.0.1".into()]).unwrap_err().contains("already"), "never overwritten");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(site.join("ca.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the CA key is for its owner only");
    let trust = tls::trust(&site.join("ca.pem")).unwrap();
    let tls_pair = Some((tls::identity(&site).unwrap(), trust.clone()));
    let center = peers::center_with_tls(&runtime, dir.path(), "127.0.0.1:0", &config, tls_pair);
    let url = center.url();
    assert!(url.starts_with("wss://"), "{url}");

    // A seat that trusts the site CA works, and so does the server's own dispatch service.
    let mut seat = Seat::open_trusting(&runtime, &dir.path().join("seat"), (&url, Some(trust)), "seat-1", &config);
    seat.feed.send(peers::report(1));
    seat.until(20, "the incident over wss", |core| core.incidents.get("E000001").is_some());
    seat.apply(linkage::core::Command::Dispatch(linkage::core::dispatch::DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), vec![linkage::core::order::ChannelKind::Order])],
        texts: Default::default(),
        clocks: Default::default(),
    }));
    seat.until(20, "the order the service built over wss", |core| !core.orders.list.is_empty());

    // One that trusts another authority does not get past the handshake.
    let other = dir.path().join("other");
    tls::make_site_certs(&other, &["127.0.0.1".into()]).unwrap();
    let stranger = tls::trust(&other.join("ca.pem")).unwrap();
    let mut wrong = Seat::open_trusting(&runtime, &dir.path().join("wrong"), (&url, Some(stranger)), "seat-2", &config);
    let reason = lost(&mut wrong);
    assert!(reason.contains("TLS") || reason.contains("certificate"), "{reason}");

    // Plain ws to the TLS port is refused.
    let plain = url.replace("wss://", "ws://");
    let mut plain_seat = Seat::open(&runtime, &dir.path().join("plain"), &plain, "seat-3", &config);
    let reason = lost(&mut plain_seat);
    assert!(!reason.is_empty());
    assert!(plain_seat.core.incidents.is_empty(), "nothing reached a plain client");
}
