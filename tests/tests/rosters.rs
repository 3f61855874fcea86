//! Rosters through the hub: an admin's roster is logged with the admin's name, a duty
//! officer's is refused with the reason.

use std::collections::HashMap;
use std::time::Duration;

use streams::feed::{
    Body, FeedClient, FeedUpdate, Grant, Hub, HubConfig, PostKind, Role, RosterChange, RosterPost, SeatRole,
};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_roster_is_logged_with_their_name_and_a_duty_officers_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = HashMap::from([
        ("admin".to_string(), Grant { seat: Some(SeatRole::Admin), ..Grant::new(Role::Console, "管理员 周") }),
        ("officer".to_string(), Grant::new(Role::Console, "值班员 张")),
    ]);
    let hub = Hub::start(HubConfig::on_loopback(dir.path(), tokens)).await.unwrap();
    let roster = |key: &str| {
        Body::SetRoster(RosterChange {
            key: key.into(),
            unit: "police".into(),
            posts: vec![RosterPost {
                post: PostKind::A,
                name: "值班民警 李".into(),
                mobiles: vec!["13900000031".into()],
                radio: None,
                hours: Some("08:00-20:00".into()),
            }],
            by: "whoever the sender says".into(),
        })
    };
    let connect = |token: &str| {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = FeedClient {
            url: hub.url(),
            token: token.into(),
            role: Role::Console,
            since: 0,
            name: token.into(),
            trust: None,
        }
        .spawn(&tokio::runtime::Handle::current(), tx, streams::no_waker());
        (client, rx)
    };
    let (officer, mut officer_rx) = connect("officer");
    officer.send(roster("k1"));
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(FeedUpdate::Refused { reason, key, .. }) = officer_rx.recv().await {
                return (reason, key);
            }
        }
    })
    .await
    .unwrap();
    assert!(refused.0.contains("may not set rosters"), "{}", refused.0);
    assert_eq!(refused.1.as_deref(), Some("roster/k1"), "the seat knows which command will never be logged");

    let (admin, mut admin_rx) = connect("admin");
    admin.send(roster("k2"));
    let logged = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(FeedUpdate::Event(env)) = admin_rx.recv().await
                && let Body::RosterSet(change) = env.body
            {
                return change;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!((logged.by.as_str(), logged.posts[0].hours.as_deref()), ("管理员 周", Some("08:00-20:00")));
}
