//! The views in an egui_kittest harness, with made-up state: no hub, no video. Shared by the
//! view tests; widgets are found by their accessible labels, as a screen reader would find them.
#![allow(dead_code)] // Each test file uses its own part of these.

use egui_kittest::Harness;
use linkage::core::grid::GridMap;
use linkage::core::kind::IncidentKinds;
use linkage::core::wall::{Layout, Wall};
use linkage::core::{Command, Core, Effect};
use linkage::i18n::{I18n, Lang};
use linkage::ui::wall::TileFeed;
use linkage::ui::{self, Action, Views};
use streams::feed::{
    Body, CoordinateSystem, Envelope, FeedUpdate, Incident, IncidentReport, IncidentStatus, Location, ReportSource,
    Severity,
};
use streams::video::FeedState;

pub struct State {
    pub core: Core,
    pub tr: I18n,
    pub views: Views,
    /// What the commands asked the app to do.
    pub effects: Vec<Effect>,
    /// The photos the views show (none arrive in these tests unless put in).
    pub photos: linkage::photos::Photos,
    /// What the tiles show of their recordings, by camera.
    pub recording: std::collections::HashMap<String, linkage::wall::clips::RecordingMark>,
    /// The PTZ cameras' presets, by camera.
    pub presets: std::collections::HashMap<String, Vec<linkage::core::camera::Preset>>,
    /// The open meeting's pictures (none unless put in).
    pub meeting: ui::meeting::MeetingFrame,
}

pub fn incident(n: u64, kind: &str, severity: Severity, text: &str) -> FeedUpdate {
    incident_at(n, kind, severity, text, (120.00262, 30.13669))
}

pub fn incident_at(n: u64, kind: &str, severity: Severity, text: &str, (lon, lat): (f64, f64)) -> FeedUpdate {
    let incident = Incident {
        id: format!("E{n:06}"),
        reported_at: chrono::Utc::now(),
        status: IncidentStatus::New,
        report: IncidentReport {
            report_id: format!("r{n}"),
            kind: kind.into(),
            severity,
            location: Location { lon, lat, crs: CoordinateSystem::Wgs84 },
            grid: Some("XL-01".into()),
            reporter: "王芳".into(),
            reporter_mobile: None,
            source: ReportSource::Field,
            text: text.into(),
            attachments: vec![],
        },
    };
    FeedUpdate::Event(Envelope { seq: n, ..Envelope::new(n, Body::IncidentReported(incident)) })
}

pub fn state() -> State {
    let mut core = Core {
        grids: GridMap::from_geojson(include_str!("../../../assets/demo/grids.geojson")).unwrap(),
        kinds: IncidentKinds::from_toml(include_str!("../../../assets/demo/incident_kinds.toml")).unwrap(),
        ..Core::default()
    };
    core.on_feed(incident(1, "dispute", Severity::Low, "邻里因噪音发生争执"));
    core.on_feed(incident(2, "fire", Severity::Critical, "垃圾堆放点着火"));
    // 100 m north of the forest camera 南山林场防火点, which looks south-south-west, away from it.
    core.on_feed(incident_at(3, "traffic", Severity::Medium, "两车追尾", (120.01907, 30.11350)));
    let demo = linkage::config::Config::demo().unwrap();
    core.cameras = demo.cameras;
    core.units = demo.units;
    core.plans = demo.dispatch.plans;
    core.center = demo.dispatch.center;
    core.wall = Wall::filled(Layout::TwoByTwo, core.cameras.iter().map(|c| c.id.clone()));
    State::of(core)
}

impl State {
    /// The views over `core`, in Chinese, nothing done yet.
    pub fn of(core: Core) -> State {
        State {
            core,
            tr: I18n::new(Lang::Zh),
            views: Views::default(),
            effects: vec![],
            photos: Default::default(),
            recording: Default::default(),
            presets: Default::default(),
            meeting: Default::default(),
        }
    }
}

/// Plays the center's part in a dispatch given at `at`: the hub logs the seat's request at
/// `seq`, the server builds the order with the same rules and logs it at `seq + 1`.
pub fn log_dispatch(
    core: &mut Core,
    request: &streams::feed::DispatchRequest,
    seq: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let requested = Envelope { time: at, ..Envelope::new(seq, Body::DispatchRequested(request.clone())) };
    let id = linkage::core::dispatch::order_id(&requested);
    core.on_feed(FeedUpdate::Event(requested));
    let order = core.build_order(id, at, &request.draft).expect("a unit to reach");
    let id = order.id.clone();
    core.on_feed(FeedUpdate::Event(Envelope { time: at, ..Envelope::new(seq + 1, Body::OrderCreated(order)) }));
    id
}

/// The seat dispatches `draft` at `at`, and the log answers as the center's server does.
pub fn dispatched(
    core: &mut Core,
    draft: linkage::core::dispatch::DispatchDraft,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let effects = core.apply_at(Command::Dispatch(draft), at);
    let [Effect::Send(Body::Dispatch(request))] = effects.as_slice() else { panic!("no dispatch: {effects:?}") };
    log_dispatch(core, &request.clone(), 100, at)
}

pub fn harness(state: State) -> Harness<'static, State> {
    Harness::builder()
        .with_size([1600.0, 900.0])
        .with_context_setup(|ctx| ui::fonts::install(ctx).expect("the CJK font (make deps installs fonts-noto-cjk)"))
        .build_ui_state(
            |ui, s: &mut State| {
                // The wall's cameras, connecting: no video in these tests.
                let actions = {
                    let tiles: Vec<Option<TileFeed<'_>>> = s
                        .core
                        .wall
                        .tiles
                        .iter()
                        .map(|t| {
                            let camera = s.core.camera(t.as_deref()?)?;
                            let recording = s.recording.get(&camera.id).cloned();
                            let presets = s.presets.get(&camera.id).map(Vec::as_slice);
                            Some(TileFeed {
                                camera,
                                state: FeedState::Connecting,
                                frame: None,
                                recording,
                                presets,
                                notice: None,
                            })
                        })
                        .collect();
                    let frame = ui::Frame {
                        tiles: &tiles,
                        meeting: &s.meeting,
                        basemap: None,
                        photos: &s.photos,
                        now: chrono::Utc::now(),
                    };
                    ui::console(ui, &mut s.views, &s.core, &s.tr, &frame)
                };
                for action in actions {
                    match action {
                        Action::Core(c) => {
                            let effects = s.core.apply(c);
                            s.effects.extend(effects);
                        }
                        Action::SetLanguage(l) => s.tr.set_lang(l),
                    }
                }
            },
            state,
        )
}
