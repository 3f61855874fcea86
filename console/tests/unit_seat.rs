//! The other end of the order: a linked unit's seat (联动分中心). In a harness, the order rings in
//! the banner until it is signed for and each step is one click, the report back needing words
//! and taking photos; the center's detail shows the report's photos. Against a real center's
//! server, an order a duty officer's seat sent reaches the unit's seat with its incident, is
//! worked through to the report back with a photo there (bad files refused with reasons), the
//! center sees every step and reads the photo back, and the unit's seat reopened from its
//! journal still has them.

mod harness;
mod peers;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use harness::{State, harness};
use linkage::config::Config;
use linkage::core::dispatch::{Address, DispatchDraft};
use linkage::core::order::ChannelKind;
use linkage::core::plan::{PlanClocks, Texts};
use linkage::core::{Command, Effect};
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
    let order = center.build_order("D000002".into(), chrono::Utc::now(), &draft).unwrap();
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

/// The hub logs the seat's last step (the seat sees it routed back to its unit).
fn log_last_step(h: &mut Harness<'static, State>, seq: u64) -> OrderProgress {
    let p = match h.state().effects.last().cloned() {
        Some(Effect::Send(Body::Progress(p))) => p,
        // The app uploads the photos first; here one is kept, as the files endpoint would.
        Some(Effect::SendWithPhotos { command: Body::Progress(mut p), photos }) => {
            p.attachments = photos.iter().map(|_| format!("sha256:{}", "ab".repeat(32))).collect();
            p
        }
        other => panic!("no step sent: {other:?}"),
    };
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
    let state = State::of(core);
    let mut h = harness(state);
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
    assert_eq!(h.state().effects.len(), 3);
    h.get_by_label("办理结果").click();
    h.run();
    h.get_by_label("办理结果").type_text("双方已调解，签订协议。");
    h.run();
    // A photo by its path; it is listed and can be taken out again.
    h.get_by_label("照片文件").click();
    h.run();
    h.get_by_label("照片文件").type_text("/home/duty/现场.jpg");
    h.run();
    h.get_by_label("添加照片").click();
    h.run();
    h.get_by_label("移除 现场.jpg");
    h.get_by_label("反馈办理结果").click();
    h.run();
    let Some(Effect::SendWithPhotos { photos, .. }) = h.state().effects.last() else {
        panic!("the report waits for its photo: {:?}", h.state().effects)
    };
    assert_eq!(photos, &[std::path::PathBuf::from("/home/duty/现场.jpg")]);
    let report = log_last_step(&mut h, 11);
    assert_eq!((report.step, report.note.as_str()), (Step::ReportedBack, "双方已调解，签订协议。"));
    assert_eq!(report.attachments.len(), 1);
    h.get_by_label("当前没有待办工单");
    h.get_by_label_contains("已办结 1");
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
    let draft = peers::order_only("E000001", "justice", "请{unit}到场调解");
    officer.apply(Command::Dispatch(draft));
    unit.until(20, "the order at the unit's seat", |core| !core.desk.ringing().is_empty());
    let task = unit.core.desk.open()[0].clone();
    assert_eq!(task.text, "请青溪司法所到场调解");
    assert!(task.details.as_ref().is_some_and(|d| d.place.contains("杏林社区")), "{:?}", task.details);
    assert!(unit.core.incidents.get("E000001").is_some(), "on the unit seat's map");
    assert!(unit.core.incidents.len() == 1 && unit.core.orders.list.is_empty(), "the unit reads nothing else");

    let order = task.order.clone();
    // The report back goes with a photo; a text file called .jpg and a 20 MB file are refused
    // with their reasons, and the rest of the report still goes.
    let photo = streams::feed::attachments::samples::jpeg(1024, 768, 5);
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let photos = vec![
        file("现场.jpg", &photo),
        file("说明.jpg", "这不是照片".as_bytes()),
        file("大.jpg", &vec![0xFF; 20 << 20]),
    ];
    for (step, note, photos) in [
        (Step::Acknowledged, "", vec![]),
        (Step::OnScene, "", vec![]),
        (Step::Handling, "", vec![]),
        (Step::ReportedBack, "双方已调解，签订协议。", photos),
    ] {
        unit.apply(Command::Progress { order: order.clone(), step, note: note.into(), photos });
        unit.until(30, "the step back from the log", |core| {
            core.desk.tasks[&order].steps.contains_key(&step) && core.desk.sending.is_empty()
        });
    }
    assert_eq!(unit.refused_photos.len(), 2, "{:?}", unit.refused_photos);
    assert!(unit.refused_photos[0].starts_with("说明.jpg: 415"), "{:?}", unit.refused_photos);
    assert!(unit.refused_photos[1].contains("over the limit"), "{:?}", unit.refused_photos);
    officer.until(20, "the unit's report back at the center", |core| {
        let report = core.orders.list.get(&order).and_then(|o| o.units[0].report.as_ref());
        report.is_some_and(|(text, _)| text == "双方已调解，签订协议。")
    });
    let unit_order = &officer.core.orders.list[&order].units[0];
    assert_eq!(
        unit_order.steps.len(),
        5,
        "received, signed for, on scene, handling, reported back: {:?}",
        unit_order.steps
    );
    let (_, attachments) = unit_order.report.clone().unwrap();
    assert_eq!(attachments.len(), 1);
    // The center's seat reads the photo back, byte for byte.
    let files = center.server.hub.files_url().unwrap().to_owned();
    let back = runtime.block_on(streams::feed::files::fetch(&files, "seat-1", None, &attachments[0], false)).unwrap();
    assert_eq!(back, photo);

    // Reopened from its journal, the unit's seat has the order and every step again.
    drop(unit);
    let unit = Seat::open(&runtime, &unit_dir, &url, "t-justice", &justice_seat_config());
    let task = &unit.core.desk.tasks[&order];
    assert_eq!(task.steps.len(), 5, "the routed steps are in the unit's journal: {:?}", task.steps);
    assert!(unit.core.desk.open().is_empty());
}

#[test]
fn the_centers_detail_shows_a_report_backs_photos_and_opens_one_large() {
    use linkage::photos::Size;
    let mut s = harness::state();
    let draft = peers::order_only("E000002", "fire", "请{unit}前往");
    let order = harness::dispatched(&mut s.core, draft, chrono::Utc::now());
    let photo = format!("sha256:{}", "cd".repeat(32));
    let report = OrderProgress {
        order,
        unit: "fire".into(),
        step: Step::ReportedBack,
        note: "火已扑灭".into(),
        attachments: vec![photo.clone(), "https://files.example/old.jpg".into()],
    };
    s.core.on_feed(FeedUpdate::Event(Envelope::new(200, Body::OrderProgressed(report))));
    let _ = s.core.apply(Command::SelectIncident("E000002".into()));
    let mut h = harness(s);
    h.run();
    let detail = h.get_by_role_and_label(Role::Region, "事件详情");
    detail.get_by_label_contains("照片1 加载中");
    detail.get_by_label("https://files.example/old.jpg");

    // The thumbnail arrives: a button that opens the photo large.
    let ctx = h.ctx.clone();
    h.state_mut().photos.insert(&ctx, &photo, Size::Thumbnail, egui::ColorImage::filled([64, 48], egui::Color32::RED));
    h.run();
    h.get_by_label("照片1").click();
    // The large one is loading: its spinner keeps repainting.
    h.run_steps(3);
    assert_eq!(h.state().views.photo.open.as_deref(), Some(photo.as_str()));
    h.get_by_label("现场照片");
    h.state_mut().photos.insert(&ctx, &photo, Size::Full, egui::ColorImage::filled([640, 480], egui::Color32::RED));
    h.run();
    assert!(h.query_by_label("现场照片").is_some(), "the window stays until closed");
}

#[test]
fn an_order_that_is_not_the_units_is_handed_back_with_its_reason_and_the_center_sees_why() {
    let work = work_order_from_the_center();
    let order = work.order.clone();
    let mut core = justice_seat_config().core();
    core.on_feed(FeedUpdate::Event(Envelope::new(7, Body::OrderIssued(work))));
    let state = State::of(core);
    let mut h = harness(state);
    h.run();
    h.get_by_label("不属于本单位？退回中心").click();
    h.run();
    // No reason, no hand-back.
    h.get_by_label(&format!("退回 {order}")).click();
    h.run();
    assert!(h.state().effects.is_empty());
    h.get_by_label("退回理由").click();
    h.run();
    h.get_by_label("退回理由").type_text("邻里纠纷应由村委会先行调解");
    h.run();
    h.get_by_label(&format!("退回 {order}")).click();
    h.run();
    let back = log_last_step(&mut h, 8);
    assert_eq!((back.step, back.note.as_str()), (Step::Returned, "邻里纠纷应由村委会先行调解"));
    assert!(h.query_by_role_and_label(Role::Region, "新派单").is_none(), "handed back: it rings no more");
    h.get_by_label("当前没有待办工单");
    h.get_by_label_contains("已办结 1").click();
    h.run();
    h.get_by_label_contains("已退回：邻里纠纷应由村委会先行调解");

    // At the center, the order card says who handed it back and why, and the incident waits
    // for a dispatch again.
    let mut center = harness::state();
    let draft = peers::order_only("E000001", "justice", "请{unit}调解");
    let id = harness::dispatched(&mut center.core, draft, chrono::Utc::now());
    let back = OrderProgress { order: id, ..back };
    center.core.on_feed(FeedUpdate::Event(Envelope::new(300, Body::OrderProgressed(back))));
    assert_eq!(center.core.incidents.get("E000001").unwrap().incident.status, streams::feed::IncidentStatus::New);
    let _ = center.core.apply(Command::SelectIncident("E000001".into()));
    let mut h = harness(center);
    h.run();
    h.get_by_role_and_label(Role::Region, "事件详情")
        .get_by_label_contains("青溪司法所 已退回：邻里纠纷应由村委会先行调解");
}
