//! Officers log in: a user added with `linkage users add` (the password on standard input,
//! never on the command line) logs in at the center's server and the seat works under the
//! session; what the trail records is signed with the officer's name; a leader's dispatch is
//! refused by the server with the reason. A unit's person logs in to their unit's seat (the
//! server says which unit), works the orders sent to it and may send nothing else.

mod peers;

use std::io::Write;
use std::process::{Command as Process, Stdio};

use linkage::config::Config;
use linkage::core::Command;
use peers::Seat;
use streams::feed::{Body, FeedUpdate, SeatRole, Step};

/// `linkage users add USER ARGS…` on `data`, the password on standard input.
fn users_add(data: &std::path::Path, user: &str, args: &[&str], password: &str) -> std::process::Output {
    let mut child = Process::new(env!("CARGO_BIN_EXE_linkage"))
        .args(["users", "add", user, "--township", "青溪镇", "--data"])
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn add_user(data: &std::path::Path, user: &str, role: &[&str], display: &str, password: &str) {
    let out = users_add(data, user, &[role, &["--display", display]].concat(), password);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The next refusal the hub sends `seat`, applying what comes before it.
fn refusal(seat: &mut Seat) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline, "nothing was refused");
        match seat.feed.updates.try_recv() {
            Ok(FeedUpdate::Refused { reason, .. }) => return reason,
            Ok(update) => seat.core.on_feed(update),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

#[test]
fn an_officer_added_on_the_server_logs_in_and_signs_the_dispatch_and_a_leader_may_not_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    add_user(&dir.path().join("hub"), "zhang", &["--role", "duty_officer"], "值班员 张伟", "correct horse");
    add_user(&dir.path().join("hub"), "li", &["--role", "leader"], "镇长 李娜", "battery staple");
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let url = center.url();

    let refused = runtime.block_on(streams::feed::login(&url, None, "zhang", "wrong horse"));
    assert_eq!(refused, Err("wrong user name or password".into()));
    let session = runtime.block_on(streams::feed::login(&url, None, "zhang", "correct horse")).unwrap();
    let mut seat = Seat::open(&runtime, &dir.path().join("zhang"), &url, &session.token, &config);
    seat.feed.send(peers::report(1));
    seat.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    let draft = peers::order_only("E000001", "police", "");
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
    let reason = refusal(&mut seat);
    assert!(reason.contains("leader may not send dispatch"), "{reason}");
    assert_eq!(seat.core.orders.list.len(), 1, "nothing dispatched");
}

#[test]
fn a_units_person_logs_in_to_their_units_seat_and_works_its_orders_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    let hub = dir.path().join("hub");
    add_user(&hub, "zhang", &["--role", "duty_officer"], "值班员 张伟", "correct horse");
    add_user(&hub, "wang", &["--role", "unit", "--unit", "justice"], "司法所 王芳", "mediate well");
    // A unit person needs their unit, and only a unit person has one.
    let no_unit = users_add(&hub, "zhao", &["--role", "unit"], "pw");
    assert!(!no_unit.status.success() && String::from_utf8_lossy(&no_unit.stderr).contains("--unit"));
    let stray = users_add(&hub, "qian", &["--role", "leader", "--unit", "justice"], "pw");
    assert!(!stray.status.success() && String::from_utf8_lossy(&stray.stderr).contains("--unit"));
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let url = center.url();

    let session = runtime.block_on(streams::feed::login(&url, None, "wang", "mediate well")).unwrap();
    assert_eq!((session.seat, session.unit.as_deref()), (Some(SeatRole::Unit), Some("justice")));
    // The window makes the seat its unit's, as it does here; a unit this config lacks is refused.
    let mut unit_config = Config::demo().unwrap();
    unit_config.simulation = None;
    assert!(unit_config.seat_for_person("nowhere").unwrap_err().contains("justice"), "lists the units there are");
    unit_config.seat_for_person("justice").unwrap();
    let mut unit = Seat::open(&runtime, &dir.path().join("wang"), &url, &session.token, &unit_config);

    let officer_session = runtime.block_on(streams::feed::login(&url, None, "zhang", "correct horse")).unwrap();
    assert_eq!(officer_session.unit, None);
    let mut officer = Seat::open(&runtime, &dir.path().join("zhang"), &url, &officer_session.token, &config);
    officer.feed.send(peers::report(1));
    officer.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    officer.apply(Command::Dispatch(peers::order_only("E000001", "justice", "")));
    unit.until(20, "the order ringing at the unit's seat", |core| !core.desk.ringing().is_empty());
    let order = unit.core.desk.open()[0].order.clone();
    unit.apply(Command::Progress {
        order: order.clone(),
        step: Step::Acknowledged,
        note: String::new(),
        photos: vec![],
    });
    officer.until(20, "signed for, at the center", |core| {
        core.orders.list.get(&order).is_some_and(|o| o.units[0].steps.contains_key(&Step::Acknowledged))
    });

    // The person's session is a unit terminal's: it may not dispatch.
    unit.feed.send(Body::Dispatch(streams::feed::DispatchRequest {
        key: "w-1".into(),
        draft: peers::order_only("E000001", "police", ""),
        by: String::new(),
    }));
    let reason = refusal(&mut unit);
    assert!(reason.contains("may not send dispatch"), "{reason}");
    officer.until(20, "still one order", |core| core.orders.list.len() == 1);
}
