//! Units' positions through the hub, against real WebSocket clients: a terminal's position
//! reaches the consoles with the hub's time, no oftener than the hub takes them, a console that
//! connects later is told where every unit is, and no terminal reports for another unit.

use std::collections::HashMap;
use std::time::Duration;

use streams::feed::{
    Body, CoordinateSystem, FeedClient, FeedUpdate, Grant, Hub, HubConfig, Location, Role, UnitPosition,
};
use tokio::sync::mpsc;

fn position(unit: &str, lon: f64) -> Body {
    Body::Position(UnitPosition {
        unit: unit.into(),
        location: Location { lon, lat: 30.13, crs: CoordinateSystem::Wgs84 },
        at: None,
    })
}

fn client(url: &str, token: &str, role: Role) -> (streams::feed::ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = FeedClient { url: url.into(), token: token.into(), role, since: 0, name: token.into(), trust: None }
        .spawn(&tokio::runtime::Handle::current(), tx, streams::no_waker());
    (handle, rx)
}

/// The next position a client is told, or what else it was told.
async fn next_move(rx: &mut mpsc::UnboundedReceiver<FeedUpdate>) -> UnitPosition {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(FeedUpdate::Moved(p)) = rx.recv().await {
                return p;
            }
        }
    })
    .await
    .expect("a position within 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_units_position_reaches_the_consoles_thinned_and_a_late_console_learns_where_every_unit_is() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = HashMap::from([
        ("console".to_string(), Grant::new(Role::Console, "console")),
        ("police".to_string(), Grant::unit_terminal("police")),
        ("field".to_string(), Grant::new(Role::FieldTerminal, "field")),
    ]);
    let hub = Hub::start(HubConfig::on_loopback(dir.path(), tokens)).await.unwrap();
    let url = hub.url();
    let (_console, mut seen) = client(&url, "console", Role::Console);
    let (police, mut police_rx) = client(&url, "police", Role::UnitTerminal);
    // Both connected (the console has its replay) before the terminal reports.
    loop {
        if let Some(FeedUpdate::Replayed { .. }) = seen.recv().await {
            break;
        }
    }
    loop {
        if let Some(FeedUpdate::Connection(streams::feed::Connection::Connected { .. })) = police_rx.recv().await {
            break;
        }
    }
    let before = chrono::Utc::now();
    police.send(position("police", 120.001));
    // Sent again at once: the hub takes one every few seconds, the first stands.
    police.send(position("police", 120.002));
    let first = next_move(&mut seen).await;
    assert_eq!((first.unit.as_str(), first.location.lon), ("police", 120.001));
    assert!(first.at.is_some_and(|at| at >= before - chrono::Duration::seconds(1)), "the hub's time: {first:?}");
    // For another unit, or from a field terminal: refused.
    police.send(position("fire", 120.003));
    let (field, mut field_rx) = client(&url, "field", Role::FieldTerminal);
    field.send(position("police", 120.004));
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        let mut n = 0;
        while n < 2 {
            let update = tokio::select! {
                Some(update) = police_rx.recv() => update,
                Some(update) = field_rx.recv() => update,
            };
            if let FeedUpdate::Refused { reason, .. } = update {
                assert!(reason.contains("may not send position"), "{reason}");
                n += 1;
            }
        }
        n
    })
    .await
    .expect("both refused");
    assert_eq!(refused, 2);
    // A console connecting now is told where the police is: the position the hub took.
    let (_late, mut late_seen) = client(&url, "console", Role::Console);
    let now = next_move(&mut late_seen).await;
    assert_eq!((now.unit.as_str(), now.location.lon), ("police", 120.001));
    // Nothing else came to the first console: the thinned and refused positions did not pass.
    while let Ok(update) = seen.try_recv() {
        assert!(!matches!(update, FeedUpdate::Moved(_)), "{update:?}");
    }
}
