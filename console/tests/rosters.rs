//! Duty rosters in an admin's hands: the roster window edits a unit's A and B posts and saves
//! them to the log; a wrong line is refused with its reason before anything is sent; a duty
//! officer's seat offers no roster at all.

mod harness;

use egui_kittest::kittest::Queryable;
use harness::{harness, state};
use linkage::core::Effect;
use streams::feed::{Body, Connection, FeedUpdate, PostKind, SeatRole};

fn seat(role: SeatRole) -> harness::State {
    let mut s = state();
    s.core.units = linkage::config::Config::demo().unwrap().units;
    let connected = Connection::Connected { client: "管理员 周".into(), seat: Some(role), files: None };
    s.core.on_feed(FeedUpdate::Connection(connected));
    s
}

#[test]
fn an_admin_edits_a_units_roster_and_saves_it_to_the_log() {
    let mut h = harness(seat(SeatRole::Admin));
    h.run();
    h.get_by_label("视图").click();
    h.run();
    h.get_by_label("值班表（AB岗）").click();
    h.run();
    h.get_by_label("单位").click();
    h.run();
    h.get_by_label("青溪派出所").click();
    h.run();
    // The demo's roster of the police station: its A and its B post.
    assert!(h.query_by_label("删除第2行").is_some() && h.query_by_label("删除第3行").is_none());
    h.get_by_label("添加B岗").click();
    h.run();
    for (field, text) in [("第3行姓名", "所长 钱"), ("第3行手机", "13900000041"), ("第3行时段", "17:30-08:30")]
    {
        h.get_by_label(field).click();
        h.run();
        h.get_by_label(field).type_text(text);
        h.run();
    }
    h.get_by_label("保存并生效").click();
    h.run();
    let Some(Effect::Send(Body::SetRoster(change))) = h.state().effects.last().cloned() else {
        panic!("no roster sent: {:?}", h.state().effects)
    };
    assert_eq!(change.unit, "police");
    let posts: Vec<(PostKind, &str, Option<&str>)> =
        change.posts.iter().map(|p| (p.post, p.name.as_str(), p.hours.as_deref())).collect();
    assert_eq!(
        posts,
        [
            (PostKind::A, "值班民警 王磊", Some("00:00-00:00")),
            (PostKind::B, "副所长 赵军", Some("00:00-00:00")),
            (PostKind::B, "所长 钱", Some("17:30-08:30"))
        ]
    );
    assert_eq!(change.posts[2].mobiles, ["13900000041"]);

    // A wrong time is refused here with its reason, and nothing goes.
    h.get_by_label("第3行时段").click();
    h.run();
    h.get_by_label("第3行时段").type_text("x");
    h.run();
    h.get_by_label("保存并生效").click();
    h.run();
    assert_eq!(h.state().effects.len(), 1);
    h.get_by_label_contains("HH:MM-HH:MM");
}

#[test]
fn a_duty_officers_seat_offers_no_roster() {
    let mut h = harness(seat(SeatRole::DutyOfficer));
    h.run();
    h.get_by_label("视图").click();
    h.run();
    assert!(h.query_by_label("值班表（AB岗）").is_none());
    h.get_by_label("地图复位");
}
