//! The other end of the order: a linked unit's seat (联动分中心). In a harness, the order rings in
//! the banner until it is signed for and each step is one click, the report back needing words;
//! against a real center's server, an order a duty officer's seat sent reaches the unit's seat
//! with its incident, is worked through to the report back there, the center sees every step,
//! and the unit's seat reopened from its journal still has them.

mod peers;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use linkage::config::Config;
use linkage::core::dispatch::{Address, DispatchDraft};
use linkage::core::order::ChannelKind;
use linkage::core::plan::{PlanClocks, Texts};
use linkage::core::{Command, Core, Effect};
use linkage::i18n::{I18n, Lang};
use linkage::ui::{self, Action, Views};
use peers::Seat;
use streams::feed::{Body, Envelope, FeedUpdate, OrderProgress, Step, WorkOrder};

/// The dispute the tests dispatch, in 杏林社区.
fn dispute() -> Body {
    peers::report(1)
}

fn justice_seat_config() -> Config {
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.seat_for_unit("justice").unwrap();
    config
}

/// The work order a center's server sends the justice office for a dispute: built by the
/// center's own rules from the demo's config (so the details are what the center really sends).
fn work_order_from_the_center() -> WorkOrder {
    let mut center = Config::demo().unwrap().core();
    let Body::Report(report) = dispute() else { unreachable!() };
    let incident = streams::feed::Incident {
        id: "E000001".into(),
        reported_at: chrono::Utc::now(),
        status: streams::feed::IncidentStatus::New,
        report,
    };
    center.on_feed(FeedUpdate::Event(Envelope::new(1, Body::IncidentReported(incident))));
    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("justice".into(), vec![ChannelKind::Order, ChannelKind::Sms])],
        texts: Texts { order: "请{unit}到场调解".into(), ..Texts::default() },
        clocks: PlanClocks::default(),
    };
    let order = center.build_order(2, chrono::Utc::now(), &draft).unwrap();
    let online = center.messages_of(&order).into_iter().find(|m| m.channel == ChannelKind::Order).unwrap();
    assert_eq!(online.address, Address::Terminal("justice".into()));
    WorkOrder {
        key: online.key,
        order: online.order,
        incident: online.incident,
        unit: "justice".into(),
        text: online.text,
        acknowledge_by: online.acknowledge_by,
        details: online.details,
    }
}

struct State {
    core: Core,
    tr: I18n,
    views: Views,
    sent: Vec<Body>,
}

fn harness(core: Core) -> Harness<'static, State> {
    let state = State { core, tr: I18n::new(Lang::Zh), views: Views::default(), sent: vec![] };
    Harness::builder()
        .with_size([1600.0, 900.0])
        .with_context_setup(|ctx| ui::fonts::install(ctx).expect("the CJK font (make deps installs fonts-noto-cjk)"))
        .build_ui_state(
            |ui, s: &mut State| {
                let frame = ui::Frame { tiles: &[], basemap: None, now: chrono::Utc::now() };
                for action in ui::console(ui, &mut s.views, &s.core, &s.tr, &frame) {
                    match action {
                        Action::Core(c) => {
                            for effect in s.core.apply(c) {
                                let Effect::Send(body) = effect else { panic!("a unit seat asked for {effect:?}") };
                                s.sent.push(body);
                            }
                        }
                        Action::SetLanguage(l) => s.tr.set_lang(l),
                    }
                }
            },
            state,
        )
}

/// The hub logs the seat's last step (the seat sees it routed back to its unit).
fn log_last_step(h: &mut Harness<'static, State>, seq: u64) -> OrderProgress {
    let Some(Body::Progress(p)) = h.state().sent.last().cloned() else { panic!("no step sent: {:?}", h.state().sent) };
    h.state_mut().core.on_feed(FeedUpdate::Event(Envelope::new(seq, Body::OrderProgressed(p.clone()))));
    h.run();
    p
}

#[test]
fn a_unit_seat_rings_for_a_new_order_until_signed_for_and_reports_back_with_its_words() {
    let work = work_order_from_the_center();
    let details = work.details.clone().expect("the center sends the incident with the order");
    assert_eq!(details.kind_name, "矛盾纠纷");
    assert!(details.place.contains("杏林社区"), "{}", details.place);
    let order = work.order.clone();

    let mut core = justice_seat_config().core();
    core.on_feed(FeedUpdate::Event(Envelope::new(7, Body::OrderIssued(work))));
    assert!(core.incidents.get("E000001").is_some(), "the order's incident is on the seat's map");
    let mut h = harness(core);
    h.run();
    h.get_by_label_contains("青溪司法所 · 联动分中心工作台");
    let banner = h.get_by_role_and_label(Role::Region, "新派单");
    banner.get_by_label_contains(&format!("{order} [一般] 矛盾纠纷 · 杏林社区"));
    assert_eq!(h.state().core.desk.ringing().len(), 1, "the seat's alarm sound rings for it");
    // Frames pass; it does not stop by itself.
    h.run_steps(10);
    assert!(h.query_by_role_and_label(Role::Region, "新派单").is_some());
    let desk = h.get_by_role_and_label(Role::Region, "本单位工单");
    desk.get_by_label_contains("签收 · 剩 23:59");

    h.get_by_role_and_label(Role::Region, "新派单").get_by_label(&format!("签收 {order}")).click();
    h.run();
    assert!(h.query_by_role_and_label(Role::Region, "新派单").is_none(), "signed for: the banner goes");
    assert!(h.state().core.desk.ringing().is_empty());
    h.get_by_label("正在发送至中心…");
    assert_eq!(log_last_step(&mut h, 8).step, Step::Acknowledged);

    h.get_by_label(&format!("已到场 {order}")).click();
    h.run();
    assert_eq!(log_last_step(&mut h, 9).step, Step::OnScene);
    h.get_by_label(&format!("开始处置 {order}")).click();
    h.run();
    assert_eq!(log_last_step(&mut h, 10).step, Step::Handling);

    // No words, no report back.
    h.get_by_label("反馈办理结果").click();
    h.run();
    assert_eq!(h.state().sent.len(), 3);
    h.get_by_label("办理结果").click();
    h.run();
    h.get_by_label("办理结果").type_text("双方已调解，签订协议。");
    h.run();
    h.get_by_label("反馈办理结果").click();
    h.run();
    let report = log_last_step(&mut h, 11);
    assert_eq!((report.step, report.note.as_str()), (Step::ReportedBack, "双方已调解，签订协议。"));
    h.get_by_label("当前没有待办工单");
    h.get_by_label_contains("已反馈 1");
}

#[test]
fn an_order_sent_from_a_center_seat_is_worked_to_its_report_back_at_the_units_seat() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let url = center.url();
    let mut officer = Seat::open(&runtime, &dir.path().join("officer"), &url, "seat-1", &config);
    let unit_dir = dir.path().join("justice");
    let mut unit = Seat::open(&runtime, &unit_dir, &url, "t-justice", &justice_seat_config());

    officer.feed.send(dispute());
    officer.until(20, "the incident", |core| core.incidents.get("E000001").is_some());
    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("justice".into(), vec![ChannelKind::Order])],
        texts: Texts { order: "请{unit}到场调解".into(), ..Texts::default() },
        clocks: PlanClocks::default(),
    };
    officer.apply(Command::Dispatch(draft));
    unit.until(20, "the order at the unit's seat", |core| !core.desk.ringing().is_empty());
    let task = unit.core.desk.open()[0].clone();
    assert_eq!(task.text, "请青溪司法所到场调解");
    assert!(task.details.as_ref().is_some_and(|d| d.place.contains("杏林社区")), "{:?}", task.details);
    assert!(unit.core.incidents.get("E000001").is_some(), "on the unit seat's map");
    assert!(unit.core.incidents.len() == 1 && unit.core.orders.list.is_empty(), "the unit reads nothing else");

    let order = task.order.clone();
    for (step, note) in [
        (Step::Acknowledged, ""),
        (Step::OnScene, ""),
        (Step::Handling, ""),
        (Step::ReportedBack, "双方已调解，签订协议。"),
    ] {
        unit.apply(Command::Progress { order: order.clone(), step, note: note.into() });
        unit.until(20, "the step back from the log", |core| {
            core.desk.tasks[&order].steps.contains_key(&step) && core.desk.sending.is_empty()
        });
    }
    officer.until(20, "the unit's report back at the center", |core| {
        let report = core.orders.list.get(&order).and_then(|o| o.units[0].report.as_ref());
        report.is_some_and(|(text, _)| text == "双方已调解，签订协议。")
    });
    let steps = &officer.core.orders.list[&order].units[0].steps;
    assert_eq!(steps.len(), 5, "received, signed for, on scene, handling, reported back: {steps:?}");

    // Reopened from its journal, the unit's seat has the order and every step again.
    drop(unit);
    let unit = Seat::open(&runtime, &unit_dir, &url, "t-justice", &justice_seat_config());
    let task = &unit.core.desk.tasks[&order];
    assert_eq!(task.steps.len(), 5, "the routed steps are in the unit's journal: {:?}", task.steps);
    assert!(unit.core.desk.open().is_empty());
}
