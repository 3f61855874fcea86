//! Officers log in: a user added with `linkage users add` (the password on standard input,
//! never on the command line) logs in at the center's server and the seat works under the
//! session; what the trail records is signed with the officer's name; a leader's dispatch is
//! refused by the server with the reason.

mod peers;

use std::io::Write;
use std::process::{Command as Process, Stdio};

use linkage::config::Config;
use linkage::core::Command;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::ChannelKind;
use peers::Seat;
use streams::feed::{Body, FeedUpdate};

fn add_user(data: &std::path::Path, user: &str, role: &str, display: &str, password: &str) {
    let mut child = Process::new(env!("CARGO_BIN_EXE_linkage"))
        .args(["users", "add", user, "--role", role, "--township", "青溪镇", "--display", display, "--data"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn an_officer_added_on_the_server_logs_in_and_signs_the_dispatch_and_a_leader_may_not_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    add_user(&dir.path().join("hub"), "zhang", "duty_officer", "值班员 张伟", "correct horse");
    add_user(&dir.path().join("hub"), "li", "leader", "镇长 李娜", "battery staple");
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let url = center.url();

    let refused = runtime.block_on(streams::feed::login(&url, None, "zhang", "wrong horse"));
    assert_eq!(refused, Err("wrong user name or password".into()));
    let session = runtime.block_on(streams::feed::login(&url, None, "zhang", "correct horse")).unwrap();
    let mut seat = Seat::open(&runtime, &dir.path().join("zhang"), &url, &session.token, &config);
    seat.feed.send(peers::report(1));
    seat.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), vec![ChannelKind::Order])],
        texts: Default::default(),
        clocks: Default::default(),
    };
    seat.apply(Command::Dispatch(draft.clone()));
    seat.until(20, "the order", |core| !core.orders.list.is_empty());
    seat.apply(Command::AcknowledgeAlarm("E000001".into()));
    seat.apply(Command::UpdateIncident { incident: "E000001".into(), status: None, note: Some("已派单".into()) });
    seat.until(20, "the note signed by the officer", |core| {
        core.history.of("E000001").iter().any(|l| l.by == "值班员 张伟")
    });

    let leader = runtime.block_on(streams::feed::login(&url, None, "li", "battery staple")).unwrap();
    let mut seat = Seat::open(&runtime, &dir.path().join("li"), &url, &leader.token, &config);
    seat.until(20, "the order on the leader's seat", |core| !core.orders.list.is_empty());
    seat.feed.send(Body::Dispatch(streams::feed::DispatchRequest { key: "l-1".into(), draft, by: String::new() }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let reason = loop {
        assert!(std::time::Instant::now() < deadline, "the leader's dispatch was not refused");
        match seat.feed.updates.try_recv() {
            Ok(FeedUpdate::Refused { reason, .. }) => break reason,
            Ok(update) => seat.core.on_feed(update),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };
    assert!(reason.contains("leader may not send dispatch"), "{reason}");
    assert_eq!(seat.core.orders.list.len(), 1, "nothing dispatched");
}
