//! The console's views in an egui_kittest harness, with made-up state: no hub, no video.
//! Widgets are found by their accessible labels, as a screen reader would find them.

mod harness;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use harness::*;
use linkage::core::wall::Layout;
use linkage::core::{Command, Effect};
use linkage::i18n::{I18n, Lang};
use linkage::ui;
use streams::feed::{Body, Envelope, FeedUpdate, IncidentStatus};

#[test]
fn the_four_regions_are_present_by_their_accessible_labels() {
    let h = harness(state());
    for label in ["视频墙", "网格地图", "事件队列", "事件详情", "状态栏"] {
        h.get_by_role_and_label(Role::Region, label);
    }
}

#[test]
fn switching_the_language_to_english_changes_the_labels() {
    let mut h = harness(state());
    h.get_by_label("语言").click();
    h.run();
    h.get_by_label("English（英文）").click();
    h.run();
    assert_eq!(h.state().tr.lang(), Lang::En);
    for label in ["Video wall", "Grid map", "Incident queue", "Incident detail", "Status bar"] {
        h.get_by_role_and_label(Role::Region, label);
    }
    assert!(h.query_by_role_and_label(Role::Region, "视频墙").is_none());
}

#[test]
fn selecting_an_incident_in_the_queue_shows_it_in_the_detail_panel() {
    let mut h = harness(state());
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    assert!(detail.query_by_label("垃圾堆放点着火").is_none(), "nothing is selected yet");
    // The critical fire is first in the queue; select it.
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000002 [特别严重] 火情").click();
    h.run();
    assert_eq!(h.state().core.selected.as_deref(), Some("E000002"));
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label("垃圾堆放点着火");
    detail.get_by_label("特别严重");
    detail.get_by_label("王芳");
}

#[test]
fn the_queue_lists_the_critical_incident_first() {
    let h = harness(state());
    let queue = h.get_by_role_and_label(Role::Region, "事件队列");
    let rows: Vec<String> =
        queue.query_all_by_label_contains(" · ").filter_map(|n| n.accesskit_node().label()).collect();
    assert!(rows.len() >= 2, "{rows:?}");
    assert!(rows[0].starts_with("E000002"), "{rows:?}");
}

#[test]
fn a_command_for_an_unknown_incident_leaves_the_detail_empty() {
    let mut s = state();
    let _ = s.core.apply(Command::SelectIncident("E999999".into()));
    let h = harness(s);
    h.get_by_role_and_label(Role::Region, "事件详情").get_by_label("在队列或地图上选择一个事件");
}

#[test]
fn a_critical_incident_keeps_its_banner_until_acknowledged() {
    let mut h = harness(state());
    let banner = h.get_by_role_and_label(Role::Region, "报警");
    banner.get_by_label_contains("E000002 [特别严重] 火情");
    // Frames pass; the banner does not go away by itself.
    h.run_steps(20);
    h.get_by_role_and_label(Role::Region, "报警");
    h.get_by_label("确认报警").click();
    h.run();
    assert!(h.state().core.alarms.is_empty());
    assert!(h.query_by_role_and_label(Role::Region, "报警").is_none());
}

#[test]
fn the_cameras_near_an_incident_go_onto_the_wall_in_one_click() {
    let mut h = harness(state());
    assert!(!h.state().core.wall.tiles.contains(&Some("ns-hill".into())));
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000003").click();
    h.run();
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label_contains("南山林场防火点 · 101 m · 未朝向事发点");
    detail.get_by_label("全部上墙").click();
    h.run();
    assert_eq!(h.state().core.wall.tiles[0].as_deref(), Some("ns-hill"));
}

#[test]
fn searching_narrows_the_queue_and_clearing_brings_everything_back() {
    let mut h = harness(state());
    let search = h.get_by_label("搜索");
    search.click();
    h.run();
    h.get_by_label("搜索").type_text("追尾");
    h.run();
    let queue = h.get_by_role_and_label(Role::Region, "事件队列");
    assert!(queue.query_by_label_contains("E000003").is_some());
    assert!(queue.query_by_label_contains("E000001").is_none());
    queue.get_by_label("显示 1 / 共 3 件");
    h.get_by_label("清除筛选").click();
    h.run();
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label("显示 3 / 共 3 件");
}

#[test]
fn the_layout_buttons_change_the_wall() {
    let mut h = harness(state());
    h.get_by_label("3×3").click();
    h.run();
    assert_eq!(h.state().core.wall.layout, Layout::ThreeByThree);
    assert_eq!(h.state().core.wall.tiles.iter().flatten().count(), 8, "all eight demo cameras are up");
    h.get_by_label("1").click();
    h.run();
    assert_eq!(h.state().core.wall.tiles.len(), 1);
    h.get_by_label("视频墙 1: 杏林农贸市场");
    assert!(h.query_by_label_contains("视频墙 2").is_none(), "a one-tile layout draws one tile");
}

#[test]
fn a_tile_context_menu_closes_the_tile() {
    let mut h = harness(state());
    h.get_by_label("视频墙 2: 青溪大桥").click_secondary();
    h.run();
    h.get_by_label("关闭窗口").click();
    h.run();
    assert_eq!(h.state().core.wall.tiles[1], None);
    h.get_by_label("视频墙 2: 空闲窗口");
}

fn select_the_fire(h: &mut Harness<'static, State>) {
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000002 [特别严重] 火情").click();
    h.run();
}

#[test]
fn the_dispatch_panel_opens_on_the_plan_and_sends_what_the_officer_changed() {
    use linkage::core::order::ChannelKind;
    let mut h = harness(state());
    select_the_fire(&mut h);
    h.get_by_label("三合一派单…").click();
    h.run();
    h.get_by_label("预案：火灾处置预案");
    // The plan proposes the fire station with all three channels; the officer drops the
    // police radio call.
    h.get_by_label("对讲 青溪派出所").click();
    h.run();
    // Simulate: exactly what would go out, and nothing is sent.
    h.get_by_label("模拟（只预览不发送）").click();
    h.run();
    h.get_by_label("短信 · 青溪消防救援站 → 13800000002");
    assert!(h.query_by_label_contains("对讲 · 青溪派出所").is_none(), "the unticked call is not previewed");
    assert!(h.state().effects.is_empty(), "simulating sends nothing");
    h.get_by_label("一键发送").click();
    h.run();
    let Some(Effect::Send(Body::Dispatch(request))) = h.state().effects.first().cloned() else {
        panic!("no dispatch: {:?}", h.state().effects)
    };
    assert_eq!(request.draft.incident, "E000002");
    h.run();
    h.get_by_label("派单已提交，等待中心生成工单…");
    // The center's server builds the order from the request and logs it.
    let now = chrono::Utc::now();
    let id = log_dispatch(&mut h.state_mut().core, &request, 10, now);
    let core = &h.state().core;
    let outgoing = core.messages_of(&core.orders.list[&id]);
    let police: Vec<ChannelKind> = outgoing.iter().filter(|o| o.unit == "police").map(|o| o.channel).collect();
    assert_eq!(police, [ChannelKind::Order, ChannelKind::Sms]);
    let fire = outgoing.iter().find(|o| o.unit == "fire" && o.channel == ChannelKind::Order).unwrap();
    assert!(fire.text.contains("请青溪消防救援站立即出警"), "{}", fire.text);
    h.run();
    // The panel closed; the order is under the incident, every channel queued.
    assert!(h.query_by_label("一键发送").is_none());
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    assert_eq!(detail.query_all_by_label_contains("在线派单 排队").count(), 4, "one per unit, all queued");
}

#[test]
fn a_clock_running_out_shows_in_the_strip_and_a_missed_one_alerts_until_dismissed() {
    use linkage::core::dispatch::DispatchDraft;
    use linkage::core::order::ChannelKind;
    let mut s = state();
    let now = chrono::Utc::now();
    // Sent 2 min 30 s ago on the fire plan: 30 s of the 3-minute acknowledge clock left.
    let mut draft = s.core.proposal("E000002").map(|p| DispatchDraft {
        incident: "E000002".into(),
        plan: Some(p.plan),
        units: vec![("fire".into(), vec![ChannelKind::Order])],
        texts: p.texts,
        clocks: p.clocks,
    });
    dispatched(&mut s.core, draft.take().unwrap(), now - chrono::Duration::seconds(150));
    let mut h = harness(s);
    h.run();
    let strip = h.get_by_role_and_label(Role::Region, "超时预警");
    strip.get_by_label_contains("青溪消防救援站 签收 剩 0:");
    // A minute later the clock is missed: the server escalates it once, resending on SMS and
    // radio, and every seat is alerted when the log has it.
    let later = now + chrono::Duration::seconds(60);
    let escalations = h.state().core.escalations_due(later);
    let [escalation] = escalations.as_slice() else { panic!("{escalations:?}") };
    let resent: Vec<ChannelKind> = escalation.deliveries.iter().map(|d| d.channel).collect();
    assert_eq!(resent, [ChannelKind::Sms, ChannelKind::Radio]);
    let event = Envelope { time: later, ..Envelope::new(200, Body::OrderEscalated(escalation.clone())) };
    h.state_mut().core.on_feed(FeedUpdate::Event(event));
    assert!(h.state().core.escalations_due(later).is_empty(), "escalated once");
    h.run();
    h.get_by_label_contains("青溪消防救援站 未按时签收").click();
    h.run();
    assert!(h.state().core.orders.alerts.is_empty(), "dismissed");
}

/// Two duty officers close one order at the same moment, each on the order as both saw it;
/// the log has the other's first, so this seat's close does not take effect, and its order
/// card says who closed it first, how and when.
#[test]
fn a_close_another_seat_made_first_is_shown_on_the_order_with_who_made_it() {
    use linkage::core::order::{Change, OrderChange};
    let (mut h, mine) = closing_the_fire();
    assert_eq!(mine.seen, Some(0), "made on the order with no change yet");
    let theirs = OrderChange {
        key: "other-seat".into(),
        change: Change::Close { satisfaction: 5 },
        by: "值班员 李娜".into(),
        ..mine.clone()
    };
    let mine = OrderChange { by: "值班员 张伟".into(), ..mine };
    for (seq, change) in [(300, theirs), (301, mine)] {
        h.state_mut().core.on_feed(FeedUpdate::Event(Envelope::new(seq, Body::OrderChanged(change))));
    }
    h.run();
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label_contains("未执行：值班员 李娜 已于");
    detail.get_by_label_contains("先行办结（满意度 5），您的操作未记入，请核对后再操作");
    detail.get_by_label("已办结，满意度 5");
}

/// A change of the seat's own that the order's stage does not allow when the log comes to it
/// is shown as not done, for that reason. No control offers such a change (the controls read
/// the same fold), so the log is made up: an older release's close that says nothing of where
/// it was made, then the seat's close said to be made after it.
#[test]
fn a_change_the_orders_stage_no_longer_allows_is_shown_as_not_done() {
    use linkage::core::order::{Change, OrderChange};
    let (mut h, mine) = closing_the_fire();
    let older =
        OrderChange { key: "older-seat".into(), seen: None, change: Change::Close { satisfaction: 5 }, ..mine.clone() };
    for (seq, change) in [(300, older), (301, OrderChange { seen: Some(300), ..mine })] {
        h.state_mut().core.on_feed(FeedUpdate::Event(Envelope::new(seq, Body::OrderChanged(change))));
    }
    h.run();
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label("未执行：该工单当前状态不允许此操作");
    detail.get_by_label("已办结，满意度 5");
}

/// The fire's order, every unit reported back, and the seat's close of it (4 stars) as sent.
fn closing_the_fire() -> (Harness<'static, State>, linkage::core::order::OrderChange) {
    use linkage::core::dispatch::DispatchDraft;
    use linkage::core::order::ChannelKind;
    use streams::feed::Step;
    let mut s = state();
    let now = chrono::Utc::now();
    let draft = s.core.proposal("E000002").map(|p| DispatchDraft {
        incident: "E000002".into(),
        plan: Some(p.plan),
        units: vec![("fire".into(), vec![ChannelKind::Order])],
        texts: p.texts,
        clocks: p.clocks,
    });
    let id = dispatched(&mut s.core, draft.unwrap(), now - chrono::Duration::minutes(30));
    let order = s.core.orders.list.get_mut(&id).unwrap();
    order.record_step("fire", Step::ReportedBack, now - chrono::Duration::minutes(5), None);
    let mut h = harness(s);
    select_the_fire(&mut h);
    h.get_by_role_and_label(Role::Region, "事件详情").get_by_role_and_label(Role::Button, "4").click();
    h.run();
    let Some(Effect::Send(Body::ChangeOrder(mine))) = h.state().effects.last().cloned() else {
        panic!("no change sent: {:?}", h.state().effects)
    };
    (h, mine)
}

/// `unit`'s acknowledgement of `order` at `at`, as the log has it at `seq`.
fn acknowledged(seq: u64, order: String, unit: &str, at: chrono::DateTime<chrono::Utc>) -> Envelope {
    use streams::feed::{OrderProgress, Step};
    let step =
        OrderProgress { order, unit: unit.into(), step: Step::Acknowledged, note: String::new(), attachments: vec![] };
    Envelope { time: at, ..Envelope::new(seq, Body::OrderProgressed(step)) }
}

/// The views over `s` with the board open (from the 视图 menu).
fn board(s: State) -> Harness<'static, State> {
    let mut h = harness(s);
    h.get_by_label("视图").click();
    h.run();
    h.get_by_label("考核排名…").click();
    h.run();
    h
}

#[test]
fn the_board_ranks_units_and_explains_a_units_mark() {
    use linkage::core::dispatch::DispatchDraft;
    use linkage::core::order::ChannelKind;
    let mut s = state();
    let now = chrono::Utc::now();
    let draft = DispatchDraft {
        incident: "E000002".into(),
        plan: None,
        units: vec![("fire".into(), vec![ChannelKind::Order]), ("police".into(), vec![ChannelKind::Order])],
        texts: Default::default(),
        clocks: Default::default(),
    };
    let order = dispatched(&mut s.core, draft, now - chrono::Duration::minutes(10));
    // The fire station acknowledges in time; the police never does (5 minutes have passed).
    s.core.on_feed(FeedUpdate::Event(acknowledged(9, order, "fire", now - chrono::Duration::minutes(9))));
    let mut h = board(s);
    h.get_by_label("青溪消防救援站");
    h.get_by_label("100.0%");
    h.get_by_label("-25.0%");
    h.get_by_label("青溪派出所").click();
    h.run();
    h.get_by_label_contains("按时签收 · 未达标");
    h.get_by_label("导出 CSV").click();
    h.run();
    let [Effect::Export { name, content }] = &h.state().effects[..] else {
        panic!("one file: {:?}", h.state().effects)
    };
    assert!(name.starts_with("ranking-") && name.ends_with(".csv"), "{name}");
    assert!(content.contains(",1,青溪消防救援站,1,1,20,20,100.0"), "{content}");
}

#[test]
fn a_false_report_is_closed_by_hand_with_its_reason_and_the_trail_shows_who() {
    let mut h = harness(state());
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000001").click();
    h.run();
    // Closing needs a reason first: without a note the button does nothing.
    h.get_by_label("无需派单，办结").click();
    h.run();
    assert!(h.state().effects.is_empty(), "closed without a reason");
    h.get_by_label("备注").click();
    h.run();
    h.get_by_label("备注").type_text("重复上报");
    h.run();
    h.get_by_label("无需派单，办结").click();
    h.run();
    let Some(Effect::Send(Body::UpdateIncident(update))) = h.state().effects.first().cloned() else {
        panic!("no update sent: {:?}", h.state().effects)
    };
    assert_eq!(update.incident, "E000001");
    assert_eq!(update.status, Some(IncidentStatus::Closed));
    assert_eq!(update.note.as_deref(), Some("重复上报"));
    // The console changes nothing until the hub logs it; then every view follows the log.
    assert!(h.state().core.incidents.get("E000001").unwrap().is_open());
    let logged = Body::IncidentUpdated(streams::feed::IncidentUpdate { by: "值班台1".into(), ..update });
    h.state_mut().core.on_feed(FeedUpdate::Event(Envelope { seq: 9, ..Envelope::new(9, logged) }));
    h.run();
    assert!(!h.state().core.incidents.get("E000001").unwrap().is_open());
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label_contains("备注：重复上报 · 值班台1");
    detail.get_by_label_contains("状态改为：已办结 · 值班台1");
    detail.get_by_label_contains("网格员上报 · 王芳");
    detail.get_by_label("重新打开");
    let row =
        h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000001").accesskit_node().label();
    assert!(row.as_ref().is_some_and(|l| l.ends_with("已办结 · 备注1")), "{row:?}");
}

#[test]
fn a_camera_dragged_from_the_list_onto_a_tile_plays_there() {
    let mut h = harness(state());
    h.get_by_label("摄像机列表").click();
    h.run();
    // The list lays out only the rows in view: the officer finds a camera by name.
    h.get_by_label("查找").click();
    h.run();
    h.get_by_label("查找").type_text("南山林场");
    h.run();
    let from = h.get_by_label("南山林场防火点").rect().center();
    let to = h.get_by_label("视频墙 1: 杏林农贸市场").rect().center();
    h.hover_at(from);
    h.run();
    h.drag_at(from);
    h.run();
    // Move in steps, as a hand does: egui starts a drag after the pointer moved a little.
    for k in 1..=10 {
        h.hover_at(from + (to - from) * (k as f32 / 10.0));
        h.run();
    }
    // Let go over the tile (the pointer stays there for this frame).
    h.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    assert_eq!(h.state().core.wall.tiles[0].as_deref(), Some("ns-hill"));
    h.get_by_label("视频墙 1: 南山林场防火点");
}

#[test]
fn a_tile_menu_swaps_two_tiles_and_asks_for_a_snapshot() {
    let mut h = harness(state());
    h.get_by_label("视频墙 1: 杏林农贸市场").click_secondary();
    h.run();
    h.get_by_label("与…交换").click();
    h.run();
    h.get_by_label("画面 3").click();
    h.run();
    assert_eq!(h.state().core.wall.tiles[0].as_deref(), Some("xl-square"));
    assert_eq!(h.state().core.wall.tiles[2].as_deref(), Some("xl-market"));
    h.get_by_label("视频墙 2: 青溪大桥").click_secondary();
    h.run();
    h.get_by_label("截图保存").click();
    h.run();
    assert_eq!(h.state().effects, [Effect::Snapshot { tile: 1, camera: "qx-bridge".into() }]);
}

#[test]
fn pages_step_through_every_camera_and_the_tour_is_set_from_the_wall() {
    let mut h = harness(state());
    h.get_by_label("第1/2页");
    h.get_by_label("▶").click();
    h.run();
    h.get_by_label("第2/2页");
    h.get_by_label("视频墙 1: 柳塘水库大坝");
    h.get_by_label("视频墙 4: 客运站");
    h.get_by_label("轮巡").click();
    h.run();
    h.get_by_label("每10秒").click();
    h.run();
    assert_eq!(h.state().core.wall.tour.map(|t| t.every_secs), Some(10));
}

#[test]
fn a_saved_wall_comes_back_with_its_layout_and_cameras() {
    let mut h = harness(state());
    h.get_by_label("预存画面").click();
    h.run();
    h.get_by_label("名称").click();
    h.run();
    h.get_by_label("名称").type_text("防汛");
    h.run();
    h.get_by_label("保存当前画面").click();
    h.run();
    assert_eq!(h.state().views.saved_walls.len(), 1);
    let saved = h.state().core.wall.tiles.clone();
    // The window may cover the layout buttons; the layout changes all the same.
    let _ = h.state_mut().core.apply(Command::SetLayout(Layout::ThreeByThree));
    h.run();
    assert_eq!(h.state().core.wall.tiles.len(), 9);
    h.get_by_label("防汛").click();
    h.run();
    assert_eq!(h.state().core.wall.layout, Layout::TwoByTwo);
    assert_eq!(h.state().core.wall.tiles, saved);
}

#[test]
fn sound_is_offered_only_for_the_tile_shown_across_the_wall() {
    let mut h = harness(state());
    assert!(h.query_by_label("声音").is_none(), "no sound switch for a wall of tiles");
    let _ = h.state_mut().core.apply(Command::FocusTile(Some(1)));
    h.run();
    h.get_by_label("声音").click();
    h.run();
    assert!(h.state().core.wall.sound);
    let on_screen = h.state().core.wall.on_screen().into_iter().map(|(i, _, s)| (i, s.sound)).collect::<Vec<_>>();
    assert_eq!(on_screen, [(1, true)], "the focused tile plays its sound, nothing else plays");
}

#[test]
fn the_login_screen_sends_the_user_and_password_once_and_shows_why_it_was_refused() {
    use linkage::ui::login::{LoginView, login};
    struct Login {
        view: LoginView,
        tr: I18n,
        sent: Vec<(String, String)>,
    }
    let state = Login {
        view: LoginView { user: "zhang".into(), ..LoginView::default() },
        tr: I18n::new(Lang::Zh),
        sent: vec![],
    };
    let mut h = Harness::builder()
        .with_size([1200.0, 800.0])
        .with_context_setup(|ctx| ui::fonts::install(ctx).expect("the CJK font"))
        .build_ui_state(
            |ui, s: &mut Login| {
                if let Some(sent) = login(ui, &mut s.view, &s.tr) {
                    s.sent.push(sent);
                }
            },
            state,
        );
    h.run();
    // No password yet: nothing to send.
    h.get_by_label("登录").click();
    h.run();
    assert!(h.state().sent.is_empty());
    h.get_by_label("密码").click();
    h.run();
    h.get_by_label("密码").type_text("correct horse");
    h.run();
    h.get_by_label("登录").click();
    h.run();
    assert_eq!(h.state().sent, [("zhang".to_owned(), "correct horse".to_owned())]);
    assert!(h.state().view.password.is_empty(), "the password is not kept");
    h.get_by_label("正在登录…");
    // The server refuses: the reason shows and the officer may try again.
    h.state_mut().view.waiting = false;
    h.state_mut().view.refused = Some("wrong user name or password".into());
    h.run();
    h.get_by_label("wrong user name or password");
}

#[test]
fn an_on_call_seat_shows_the_tier_one_watch_in_place_of_the_wall_and_a_leader_opens_on_the_board() {
    use streams::feed::{Connection, SeatRole};
    let connected = |seat| {
        FeedUpdate::Connection(Connection::Connected { client: "值守 王强".into(), seat: Some(seat), files: None })
    };
    let mut s = state();
    s.core.on_feed(connected(SeatRole::OnCall));
    let mut h = harness(s);
    h.run();
    let watch = h.get_by_role_and_label(Role::Region, "一级值守");
    assert!(watch.query_by_label_contains("E000001").is_none(), "a low dispute is not on the watch");
    assert!(h.query_by_role_and_label(Role::Region, "事件队列").is_none(), "the watch takes the queue's place");
    h.get_by_label("确认告警 E000002").click();
    h.run();
    assert!(
        h.state()
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Send(Body::Acknowledge { incident }) if incident == "E000002")),
        "{:?}",
        h.state().effects
    );
    h.get_by_label("当前无未确认的一级告警");

    let mut s = state();
    s.core.on_feed(connected(SeatRole::Leader));
    let mut h = harness(s);
    h.run();
    assert!(h.state().views.board.open, "a leader's seat opens on the board");
    h.get_by_role_and_label(Role::Region, "事件队列");
}

#[test]
fn a_110_incident_is_returned_with_its_reason_and_the_trail_follows_the_peer() {
    let mut state = state();
    let peer = |id: &str, name: &str| streams::feed::DockedPeer { id: id.into(), name: name.into() };
    state.core.peers = vec![peer("110", "县110指挥中心"), peer("12345", "12345热线")];
    let FeedUpdate::Event(mut event) = incident(4, "public_order", streams::feed::Severity::Medium, "有人聚集")
    else {
        unreachable!()
    };
    if let Body::IncidentReported(i) = &mut event.body {
        i.report.report_id = "110:110-20261206-0009".into();
        i.report.source = streams::feed::ReportSource::Hotline110;
        i.report.reporter = "县110指挥中心".into();
    }
    state.core.on_feed(FeedUpdate::Event(event));
    let mut h = harness(state);
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000004").click();
    h.run();
    // To the system it came from it is a return; to another, a transfer. Both need the reason.
    h.get_by_label("转办 12345热线");
    h.get_by_label("退回 县110指挥中心").click();
    h.run();
    assert!(h.state().effects.is_empty(), "returned without a reason");
    h.get_by_label("备注").click();
    h.run();
    h.get_by_label("备注").type_text("属治安案件，由派出所办理");
    h.run();
    h.get_by_label("退回 县110指挥中心").click();
    h.run();
    let Some(Effect::Send(Body::HandOver(handover))) = h.state().effects.first().cloned() else {
        panic!("no hand-over sent: {:?}", h.state().effects)
    };
    assert_eq!((handover.incident.as_str(), handover.to.as_str()), ("E000004", "110"));
    assert_eq!(handover.reason, "属治安案件，由派出所办理");
    let log = |h: &mut Harness<'static, State>, seq: u64, body: Body| {
        h.state_mut().core.on_feed(FeedUpdate::Event(Envelope { seq, ..Envelope::new(seq, body) }));
        h.run();
    };
    log(&mut h, 10, Body::HandedOver(streams::feed::Handover { by: "值班台1".into(), ..handover }));
    assert!(!h.state().core.incidents.get("E000004").unwrap().is_open(), "off the center's queue");
    let progress = streams::feed::HandoverProgress {
        handover: "H000010".into(),
        incident: "E000004".into(),
        state: streams::feed::HandoverState::Received,
        text: String::new(),
    };
    log(&mut h, 11, Body::HandoverProgressed(progress));
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label_contains("已退回 县110指挥中心：属治安案件，由派出所办理 · 值班台1");
    detail.get_by_label_contains("县110指挥中心：已接收");
}

/// A county seat's incidents carry their township: each row says it, and the filter bar
/// offers the townships to narrow the queue to one. A township's own seat has no such choice.
#[test]
fn a_county_seat_narrows_its_queue_to_one_township() {
    let h = harness(state());
    assert!(h.query_by_label("乡镇").is_none(), "a township's seat has no township choice");
    let mut s = state();
    for (n, township, text) in [(4, "青溪镇", "青溪镇河道漂浮物"), (5, "东山乡", "东山乡道路积水")]
    {
        let FeedUpdate::Event(env) = incident(n, "dispute", streams::feed::Severity::High, text) else {
            unreachable!()
        };
        s.core.on_feed(FeedUpdate::Event(Envelope { township: Some(township.into()), ..env }));
    }
    let mut h = harness(s);
    let rows = |h: &Harness<'_, State>| -> Vec<String> {
        let queue = h.get_by_role_and_label(Role::Region, "事件队列");
        queue.query_all_by_label_contains(" · ").filter_map(|n| n.accesskit_node().label()).collect()
    };
    assert!(rows(&h).iter().any(|r| r.starts_with("E000004") && r.ends_with(" · 青溪镇")), "{:?}", rows(&h));
    h.get_by_label("乡镇").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "东山乡").click();
    h.run();
    assert_eq!(h.state().views.filter.township.as_deref(), Some("东山乡"));
    let shown = rows(&h);
    assert!(shown.len() == 1 && shown[0].starts_with("E000005"), "{shown:?}");
}

/// A county seat's board ranks the townships by their units' work above the units' ranking.
#[test]
fn a_county_seats_board_ranks_the_townships() {
    use linkage::core::dispatch::DispatchDraft;
    use linkage::core::order::ChannelKind;
    let mut s = state();
    let now = chrono::Utc::now();
    let at = now - chrono::Duration::minutes(10);
    let mut ordered = |seq: u64, incident: &str, unit: &str, township: &str| {
        let draft = DispatchDraft {
            incident: incident.into(),
            plan: None,
            units: vec![(unit.into(), vec![ChannelKind::Order])],
            texts: Default::default(),
            clocks: Default::default(),
        };
        let order = s.core.build_order(format!("D{seq:06}"), at, &draft).expect("a unit to reach");
        let id = order.id.clone();
        let created =
            Envelope { time: at, township: Some(township.into()), ..Envelope::new(seq + 1, Body::OrderCreated(order)) };
        s.core.on_feed(FeedUpdate::Event(created));
        id
    };
    // 青溪镇's fire station acknowledges in time; 东山乡's police never does.
    let fire = ordered(20, "E000002", "fire", "青溪镇");
    ordered(30, "E000001", "police", "东山乡");
    let step = acknowledged(40, fire, "fire", now - chrono::Duration::minutes(9));
    s.core.on_feed(FeedUpdate::Event(Envelope { township: Some("青溪镇".into()), ..step }));
    let h = board(s);
    h.get_by_label("乡镇排名");
    h.get_by_label("东山乡");
    // Each mark twice: the township's and its one unit's, which is named by its township (two
    // townships' units may share an id).
    assert_eq!(h.query_all_by_label("100.0%").count(), 2);
    assert_eq!(h.query_all_by_label("-25.0%").count(), 2);
    h.get_by_label("青溪镇 · fire");
    h.get_by_label("东山乡 · police");
    // Its exports rank the townships too: a CSV of their own beside the units', a table of the
    // notice above the units'.
    let mut h = h;
    h.get_by_label("导出 CSV").click();
    h.run();
    let exported: Vec<(&str, &str)> = h
        .state()
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Export { name, content } => Some((name.as_str(), content.as_str())),
            _ => None,
        })
        .collect();
    let [(units, _), (townships, ranked)] = exported[..] else { panic!("two files: {exported:?}") };
    assert!(units.starts_with("ranking-") && townships.starts_with("ranking-townships-"), "{units}, {townships}");
    assert!(ranked.contains(",1,青溪镇,1,20,20,100.0") && ranked.contains(",2,东山乡,1,-5,20,-25.0"), "{ranked}");
    h.get_by_label("生成考核通报").click();
    h.run();
    let Some(Effect::Export { content, .. }) = h.state().effects.last() else { panic!("no notice") };
    assert!(content.contains("<h2>乡镇排名</h2>") && content.contains("<td>1</td><td>青溪镇</td>"), "{content}");
}

/// A county seat's status bar names the townships on their own nodes that the county cannot
/// reach now, and for how long; while all are reached, it says so. A township's seat, told
/// nothing of such links, shows nothing of them.
#[test]
fn a_county_seats_status_bar_names_the_townships_cut_off_and_for_how_long() {
    use streams::feed::{Reach, TownshipLink};
    let h = harness(state());
    assert!(h.query_by_label_contains("乡镇链路").is_none(), "a township's seat shows no township links");
    let now = chrono::Utc::now();
    let link = |township: &str, reach, minutes| {
        let since = now - chrono::Duration::minutes(minutes) - chrono::Duration::seconds(5);
        FeedUpdate::TownshipLinked(TownshipLink { township: township.into(), reach, since })
    };
    let mut s = state();
    s.core.on_feed(link("青溪镇", Reach::Linked, 30));
    s.core.on_feed(link("东山乡", Reach::Linked, 30));
    let h = harness(s);
    h.get_by_label("乡镇链路:");
    h.get_by_label("● 2个乡镇均畅通");
    let mut s = state();
    s.core.on_feed(link("青溪镇", Reach::Linked, 30));
    s.core.on_feed(link("东山乡", Reach::Linked, 30));
    s.core.on_feed(link("东山乡", Reach::Cut, 5));
    let h = harness(s);
    h.get_by_label("● 东山乡 中断（5分钟）");
    assert!(h.query_by_label_contains("均畅通").is_none(), "not all are linked");
    let bar = h.get_by_role_and_label(Role::Region, "状态栏");
    assert!(bar.query_by_label_contains("青溪镇").is_none(), "a township reached is named on hover only");
    drop(h);
    // The cut come first, the longest cut first; past three townships not reached the rest are
    // counted; hours and days are said as such, and a node without its township's service
    // apart from a cut.
    let mut s = state();
    s.core.on_feed(link("东山乡", Reach::NoLog, 90));
    for (township, days) in [("北岭乡", 1), ("南湖镇", 2), ("西坪乡", 3), ("中和镇", 4)] {
        s.core.on_feed(link(township, Reach::Cut, days * 1440 + 120));
    }
    let h = harness(s);
    h.get_by_label("● 中和镇 中断（4天2小时）");
    h.get_by_label("● 西坪乡 中断（3天2小时）");
    h.get_by_label("● 南湖镇 中断（2天2小时）");
    h.get_by_label("另有2个乡镇异常（悬停查看）");
    assert!(h.query_by_label_contains("北岭乡").is_none(), "the fourth is counted, not named");
    let mut s = state();
    s.core.on_feed(link("东山乡", Reach::NoLog, 90));
    let h = harness(s);
    h.get_by_label("● 东山乡 节点在线但无本乡镇日志（1小时30分钟）");
    // Until the hub is heard again, the bar says nothing of the townships: it would be stale.
    let mut s = state();
    s.core.on_feed(link("东山乡", Reach::Cut, 5));
    let lost = streams::feed::Connection::Lost { reason: "gone".into(), retry_in: std::time::Duration::from_secs(1) };
    s.core.on_feed(FeedUpdate::Connection(lost));
    let h = harness(s);
    assert!(h.query_by_label_contains("乡镇链路").is_none(), "stale links shown while the hub is lost");
}

/// A township's seat on its own node says whether the county hears it, and since when the link
/// is cut.
#[test]
fn a_township_seat_on_its_own_node_says_whether_the_county_hears_it() {
    use streams::feed::{CountyLink, Reach};
    let h = harness(state());
    assert!(h.query_by_label_contains("县级链路").is_none(), "a seat of a township on the county's log");
    let now = chrono::Utc::now();
    let link = |reach, minutes| {
        let since = now - chrono::Duration::minutes(minutes) - chrono::Duration::seconds(5);
        FeedUpdate::CountyLinked(CountyLink { reach, since })
    };
    let mut s = state();
    s.core.on_feed(link(Reach::Linked, 30));
    let h = harness(s);
    h.get_by_label("县级链路:");
    h.get_by_label("● 畅通");
    let mut s = state();
    s.core.on_feed(link(Reach::Linked, 30));
    s.core.on_feed(link(Reach::Cut, 12));
    let h = harness(s);
    h.get_by_label("● 中断（12分钟）");
    drop(h);
    // Until the hub is heard again, the bar says nothing of it: it would be stale.
    let mut s = state();
    s.core.on_feed(link(Reach::Cut, 12));
    s.core.on_feed(FeedUpdate::Connection(streams::feed::Connection::Connecting));
    let h = harness(s);
    assert!(h.query_by_label_contains("县级链路").is_none(), "a stale county link shown while the hub is not heard");
}
