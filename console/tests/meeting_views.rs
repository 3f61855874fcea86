//! The meeting panel: a duty officer opens a meeting for the incident selected with the units
//! ticked; the chair sees each site in, away or not come, heard or muted, the hands raised, and
//! every action on the record with whether the SFU carried it out; an on-call seat sees the
//! meeting and cannot chair it; a unit's seat is invited, joins, raises its hand and unmutes
//! itself where the chair allowed it.

mod harness;

use egui_kittest::kittest::Queryable;
use harness::{harness, state};
use linkage::core::Effect;
use streams::feed::{
    Body, Connection, Envelope, FeedUpdate, MeetingAction, MeetingCommand, MeetingEnforcement, MeetingPresence,
    SeatRole, Site,
};

fn chaired(seq: u64, action: MeetingAction, by: &str) -> FeedUpdate {
    let command = MeetingCommand { key: format!("k{seq}"), meeting: "M000010".into(), action, by: by.into() };
    FeedUpdate::Event(Envelope::new(seq, Body::MeetingChaired(command)))
}

fn enforced(seq: u64, command: u64, detail: &str) -> FeedUpdate {
    let enforced = MeetingEnforcement {
        meeting: "M000010".into(),
        command,
        ok: detail.is_empty(),
        detail: detail.into(),
        room: Some(42),
        sfu: Some("http://127.0.0.1:8088/janus".into()),
        joins: vec![],
    };
    FeedUpdate::Event(Envelope::new(seq, Body::MeetingEnforced(enforced)))
}

fn presence(seq: u64, site: &str, present: bool) -> FeedUpdate {
    let p = MeetingPresence { meeting: "M000010".into(), site: site.into(), present };
    FeedUpdate::Event(Envelope::new(seq, Body::MeetingPresence(p)))
}

fn sent(effects: &[Effect]) -> Vec<MeetingAction> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Body::ChairMeeting(c)) => Some(c.action.clone()),
            _ => None,
        })
        .collect()
}

/// A meeting on: the police in, the fire station gone away, the clinic not come; the clinic
/// raised its hand; a mute of the fire station the SFU did not carry out.
fn in_a_meeting() -> harness::State {
    let mut s = state();
    for update in meeting_events() {
        s.core.on_feed(update);
    }
    s
}

/// [`in_a_meeting`]'s events.
fn meeting_events() -> Vec<FeedUpdate> {
    let site = |id: &str, name: &str| Site { id: id.into(), name: name.into() };
    let sites = vec![site("police", "青溪派出所"), site("fire", "青溪消防救援站"), site("clinic", "青溪镇卫生院")];
    let open = MeetingAction::Open { title: "垃圾点火情会商".into(), incident: Some("E000002".into()), sites };
    vec![
        chaired(10, open, "镇长 李娜"),
        enforced(11, 10, ""),
        presence(12, "police", true),
        presence(13, "fire", true),
        presence(14, "fire", false),
        chaired(15, MeetingAction::RaiseHand { site: "clinic".into() }, "卫生院 陈医生"),
        chaired(16, MeetingAction::Mute { site: "fire".into() }, "镇长 李娜"),
        enforced(17, 16, "Janus 428: No such feed"),
    ]
}

#[test]
fn an_officer_opens_a_meeting_for_the_selected_incident_with_the_units_ticked() {
    let mut h = harness(state());
    h.state_mut().core.selected = Some("E000002".into());
    h.get_by_label("视图").click();
    h.run();
    h.get_by_label("视频会商").click();
    h.run();
    h.get_by_label("关联事件 E000002，已勾选其派单单位");
    h.get_by_label("青溪派出所").click();
    h.run();
    h.get_by_label("青溪镇卫生院").click();
    h.run();
    h.get_by_label("发起会商").click();
    h.run();
    let Some(MeetingAction::Open { title, incident, sites }) = sent(&h.state().effects).pop() else {
        panic!("no opening sent: {:?}", h.state().effects)
    };
    assert_eq!((title.as_str(), incident.as_deref()), ("E000002 联动会商", Some("E000002")));
    let ids: Vec<&str> = sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["police", "clinic"]);
}

#[test]
fn the_chair_sees_who_is_in_and_heard_grants_a_hand_mutes_all_and_reads_the_record() {
    let mut h = harness(in_a_meeting());
    h.run();
    // The meeting's opening showed the panel beside the map.
    h.get_by_label("垃圾点火情会商");
    h.get_by_label("在会");
    h.get_by_label("已掉线");
    h.get_by_label("未入会");
    h.get_by_label("会议服务器未执行：Janus 428: No such feed");
    h.get_by_label("举手申请（1）");
    h.get_by_label("同意发言").click();
    h.run();
    h.get_by_label("全体静音").click();
    h.run();
    assert_eq!(
        sent(&h.state().effects),
        [MeetingAction::Grant { site: "clinic".into() }, MeetingAction::MuteAll { self_unmute: false }]
    );
    // What the log says next: the floor given.
    h.state_mut().core.on_feed(chaired(18, MeetingAction::Grant { site: "clinic".into() }, "镇长 李娜"));
    h.run();
    h.get_by_label("点名发言：青溪镇卫生院（其余点位已由服务器静音）");
    h.get_by_label("会议记录").click();
    h.run();
    let open = h.query_all_by_label_contains("镇长 李娜 发起会商「垃圾点火情会商」").count();
    assert_eq!(open, 1, "the opening is on the record, carried out");
    h.get_by_label_contains("静音 青溪消防救援站（未执行：Janus 428: No such feed）");
    h.get_by_label_contains("同意 青溪镇卫生院 发言（执行中）");
}

#[test]
fn an_on_call_seat_sees_the_meeting_but_cannot_chair_it() {
    let mut s = in_a_meeting();
    let seat = Connection::Connected { client: "wang".into(), seat: Some(SeatRole::OnCall), files: None };
    s.core.on_feed(FeedUpdate::Connection(seat));
    let mut h = harness(s);
    h.run();
    h.get_by_label("垃圾点火情会商");
    h.get_by_label("在会");
    assert!(h.query_by_label("全体静音").is_none());
    assert!(h.query_by_label("同意发言").is_none());
    assert!(h.query_by_label("结束会议").is_none());
}

/// A unit's seat whose unit is invited: a banner says so until it joins (not while the unit is
/// in from another seat), its panel shows the meeting without the chair's controls and with its
/// own (how it is heard, its hand, unmuting itself after a mute-all that allows it). A unit not
/// invited has no meeting.
#[test]
fn a_units_seat_is_invited_joins_raises_its_hand_and_unmutes_itself_where_allowed() {
    use egui::accesskit::Role;
    let seat_of = |unit: &str| {
        let mut config = linkage::config::Config::demo().unwrap();
        config.simulation = None;
        config.seat_for_unit(unit).unwrap();
        let mut core = config.core();
        let join = streams::feed::SiteJoin { site: "police".into(), participant: 101, token: Some("t".into()) };
        let with_join = match enforced(18, 10, "") {
            FeedUpdate::Event(mut env) => {
                if let Body::MeetingEnforced(e) = &mut env.body {
                    e.joins = vec![join];
                }
                FeedUpdate::Event(env)
            }
            other => other,
        };
        for update in meeting_events().into_iter().chain([with_join]) {
            core.on_feed(update);
        }
        harness(harness::State::of(core))
    };
    let mut h = seat_of("justice");
    h.run();
    assert!(h.query_by_label_contains("会商邀请").is_none(), "not invited: no meeting");

    let mut h = seat_of("police");
    h.run();
    // The police are in from another of their seats (which holds their participant id): no
    // invitation to join here, and said why.
    assert!(h.query_by_label_contains("会商邀请：").is_none());
    h.get_by_label("本单位已在会中（其他席位入会，或本席刚离会）");
    h.state_mut().core.on_feed(presence(30, "police", false));
    h.run();
    h.get_by_role_and_label(Role::Region, "会商邀请");
    h.get_by_label("会商邀请：垃圾点火情会商（主持：镇长 李娜）");
    h.get_by_label("垃圾点火情会商");
    assert!(h.query_by_label("全体静音").is_none(), "no chair's controls");
    assert!(h.query_by_label("同意发言").is_none());
    h.get_by_label("本单位可发言");
    // The banner's button and the panel's: the banner's joins, and the banner goes.
    h.query_all_by_label("入会（发送本单位画面和声音）").next().unwrap().click();
    h.run();
    assert!(h.state().views.meeting.sending);
    assert!(h.query_by_label_contains("会商邀请：").is_none());
    h.get_by_label("离会");
    h.get_by_label("举手申请发言").click();
    h.run();
    h.state_mut().core.on_feed(chaired(31, MeetingAction::RaiseHand { site: "police".into() }, "派出所 赵军"));
    h.state_mut().core.on_feed(chaired(32, MeetingAction::MuteAll { self_unmute: true }, "镇长 李娜"));
    h.run();
    h.get_by_label("已举手，等待主持人同意");
    h.get_by_label("本单位已静音");
    h.get_by_label("取消本单位静音").click();
    h.run();
    let police = || "police".to_owned();
    assert_eq!(
        sent(&h.state().effects),
        [MeetingAction::RaiseHand { site: police() }, MeetingAction::UnmuteSelf { site: police() }]
    );
    // Muted by the chair by name: it may not unmute itself.
    h.state_mut().core.on_feed(chaired(33, MeetingAction::Mute { site: "police".into() }, "镇长 李娜"));
    h.run();
    h.get_by_label("本单位已被主持人静音");
    assert!(h.query_by_label("取消本单位静音").is_none());
}
