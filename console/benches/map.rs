//! `make bench-map`: what one map frame costs before the GPU — the UI pass (egui shapes,
//! clustering included) and the tessellation of its output into meshes — with 100 000
//! incidents, 2 000 grids and 5 000 cameras loaded, the shared filter on (medium and worse,
//! open only), the demo's basemap under it, while the user drags the map: every frame
//! re-projects everything (clusters are anchored to the township, so a drag moves them without
//! re-making them; see `ui::map`). Then, apart, while the user zooms with the wheel, when every
//! frame re-clusters the 100 000 incidents. 500 linked units are on the map too, reporting their
//! positions every 5 s (at 60 frames a second, two positions arrive between two frames; a few
//! units are on orders). The cameras are a video platform's channels (a tenth offline, a
//! quarter domes). Then the camera list beside the wall with the 5 000 of them, scrolled, and
//! what a re-read of the platform's directory costs the UI. Prints the zoom's line, the camera
//! list's, then, last, the drag's:
//! `map-bench incidents=100000 grids=2000 cameras=5000 frame_ms_p50=A frame_ms_p99=B`

use std::fmt::Write;
use std::time::Instant;

use egui::{Event, PointerButton, Pos2, RawInput, Rect, vec2};
use linkage::basemap::{Basemap, BasemapSetting, TileSource};
use linkage::core::Core;
use linkage::core::camera::{Camera, CameraStreams, Presence};
use linkage::core::filter::{IncidentFilter, Matches, StatusFilter};
use linkage::core::grid::GridMap;
use linkage::core::unit::{LinkedUnit, Tier};
use linkage::i18n::{I18n, Lang};
use linkage::ui::camera_list::CameraList;
use linkage::ui::map::MapView;
use streams::feed::{
    Body, CoordinateSystem, Envelope, FeedUpdate, Incident, IncidentReport, IncidentStatus, Location, ReportSource,
    Severity, UnitPosition,
};

/// The allocator the console runs with (console/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A township of `columns × rows` jittered four-sided grids, as GeoJSON.
fn grids(columns: usize, rows: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(7);
    let corner = |c: usize, r: usize, rng: &mut fastrand::Rng| {
        let jitter = |rng: &mut fastrand::Rng| (rng.f64() - 0.5) * 0.0004;
        let (edge_c, edge_r) = (c == 0 || c == columns, r == 0 || r == rows);
        let x = 119.95 + c as f64 * 0.1 / columns as f64 + if edge_c { 0.0 } else { jitter(rng) };
        let y = 30.10 + r as f64 * 0.07 / rows as f64 + if edge_r { 0.0 } else { jitter(rng) };
        (x, y)
    };
    let points: Vec<Vec<(f64, f64)>> =
        (0..=rows).map(|r| (0..=columns).map(|c| corner(c, r, &mut rng)).collect()).collect();
    let mut out = String::from(r#"{"type":"FeatureCollection","features":["#);
    for r in 0..rows {
        for c in 0..columns {
            let ring = [points[r][c], points[r][c + 1], points[r + 1][c + 1], points[r + 1][c], points[r][c]];
            let coords: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
            if r + c > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"type":"Feature","properties":{{"code":"G{r}-{c}","name":"Grid {r}-{c}","village":"Village {}","worker":"w"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
                r / 10,
                coords.join(",")
            );
        }
    }
    out.push_str("]}");
    out
}

fn incident(n: u64, rng: &mut fastrand::Rng) -> FeedUpdate {
    let severity = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical][rng.usize(..4)];
    let incident = Incident {
        id: format!("E{n:06}"),
        reported_at: chrono::Utc::now(),
        status: if rng.u8(..10) == 0 { IncidentStatus::Closed } else { IncidentStatus::New },
        report: IncidentReport {
            report_id: n.to_string(),
            kind: "dispute".into(),
            severity,
            location: Location {
                lon: 119.95 + rng.f64() * 0.1,
                lat: 30.10 + rng.f64() * 0.07,
                crs: CoordinateSystem::Wgs84,
            },
            grid: None,
            reporter: "w".into(),
            reporter_mobile: None,
            source: ReportSource::Field,
            text: String::new(),
            attachments: vec![],
        },
    };
    FeedUpdate::Event(Envelope { seq: n, ..Envelope::new(n, Body::IncidentReported(incident)) })
}

/// The mouse wheel turned by `points` (positive: up).
fn wheel(points: f32) -> Event {
    Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: vec2(0.0, points),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: Default::default(),
    }
}

/// A video platform's channels spread over the township, as its directory gives them: every
/// fourth a dome, every tenth offline, the rest fixed cameras looking every way.
fn cameras(n: usize, rng: &mut fastrand::Rng) -> Vec<Camera> {
    (0..n)
        .map(|i| Camera {
            id: format!("wvp/34020000001320000{:03}/3402000000131{i:07}", i / 250),
            name: format!("Channel {i}"),
            lon: 119.95 + rng.f64() * 0.1,
            lat: 30.10 + rng.f64() * 0.07,
            heading: rng.f32() * 360.0,
            fov: if i % 4 == 0 { 360.0 } else { 60.0 },
            streams: CameraStreams::Platform {
                platform: "wvp".into(),
                device: format!("34020000001320000{:03}", i / 250),
                channel: format!("3402000000131{i:07}"),
            },
            ptz: i % 4 == 0,
            presence: if i % 10 == 0 { Presence::Offline } else { Presence::Online },
            village: None,
        })
        .collect()
}

/// The camera list beside the wall with every camera in it, scrolled a little every frame:
/// its frame times, and what reading the platform's directory again costs (the merge into the
/// cameras and the list built again).
fn camera_list(core: &mut Core, tr: &I18n, frames: usize) -> (Vec<f64>, f64) {
    let ctx = egui::Context::default();
    let mut list = CameraList::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(190.0, 600.0));
    let mut run = |core: &Core, events: Vec<Event>| {
        let input = RawInput { screen_rect: Some(screen), events, ..Default::default() };
        let started = Instant::now();
        let mut output = ctx.run_ui(input, |ui| {
            list.ui(ui, core, tr);
        });
        let meshes = ctx.tessellate(std::mem::take(&mut output.shapes), output.pixels_per_point);
        std::hint::black_box(meshes);
        output.drop_without_applying_deltas();
        started.elapsed().as_secs_f64() * 1000.0
    };
    let mut times: Vec<f64> = (0..frames)
        .map(|frame| {
            let wheel = wheel(if frame / 50 % 2 == 0 { -40.0 } else { 40.0 });
            run(core, vec![Event::PointerMoved(Pos2::new(90.0, 300.0)), wheel])
        })
        .collect();
    times.drain(..WARM_UP.min(times.len()));
    let listed = core.cameras.clone();
    let started = Instant::now();
    core.platform_directory("wvp", listed);
    run(core, vec![]);
    (times, started.elapsed().as_secs_f64() * 1000.0)
}

/// Linked units spread over the township, each with a base and a tier.
fn units(n: usize, rng: &mut fastrand::Rng) -> Vec<LinkedUnit> {
    (0..n)
        .map(|i| LinkedUnit {
            id: format!("u{i}"),
            name: format!("Unit {i}"),
            tier: [Tier::One, Tier::Two, Tier::Three][i % 3],
            roles: vec![],
            area: vec!["*".into()],
            contact: String::new(),
            sms: vec![],
            radio: None,
            base: Some((119.95 + rng.f64() * 0.1, 30.10 + rng.f64() * 0.07)),
            posts: vec![],
        })
        .collect()
}

/// Unit `n`'s terminal reports a position near its base.
fn moved(units: &[LinkedUnit], n: usize, rng: &mut fastrand::Rng) -> FeedUpdate {
    let u = &units[n % units.len()];
    let (lon, lat) = u.base.unwrap_or_default();
    let location = Location {
        lon: lon + (rng.f64() - 0.5) * 0.002,
        lat: lat + (rng.f64() - 0.5) * 0.002,
        crs: CoordinateSystem::Wgs84,
    };
    FeedUpdate::Moved(UnitPosition { unit: u.id.clone(), location, at: Some(chrono::Utc::now()) })
}

/// Positions that arrive between two frames: 500 units every 5 s, at 60 frames a second.
const MOVES_PER_FRAME: usize = 2;

/// Frames before the ones measured.
const WARM_UP: usize = 5;

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (incidents, (columns, rows), cameras_n, frames) =
        if smoke { (2_000, (10, 10), 100, 20) } else { (100_000, (50, 40), 5_000, 300) };
    let units_n = if smoke { 50 } else { 500 };
    let mut rng = fastrand::Rng::with_seed(1);
    let mut core = Core {
        grids: GridMap::from_geojson(&grids(columns, rows)).expect("grids"),
        cameras: cameras(cameras_n, &mut rng),
        units: units(units_n, &mut rng),
        ..Core::default()
    };
    let mut next_move = 0;
    for n in 1..=incidents {
        core.on_feed(incident(n as u64, &mut rng));
    }
    let filter =
        IncidentFilter { min_severity: Some(Severity::Medium), status: StatusFilter::Open, ..Default::default() };
    let mut matches = Matches::default();
    let demo = TileSource::Embedded(include_bytes!("../../assets/demo/basemap.pmtiles"));
    let basemap = Basemap::start(&BasemapSetting { source: demo, crs: CoordinateSystem::Wgs84 }, streams::no_waker())
        .expect("the demo basemap");
    let tr = I18n::new(Lang::En);
    let ctx = egui::Context::default();
    let mut map = MapView::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(1100.0, 900.0));
    // A frame's time, and its meshes' vertices and indices.
    let mut run_frame = |core: &Core, events: Vec<Event>| {
        let input = RawInput { screen_rect: Some(screen), events, ..Default::default() };
        let now = chrono::Utc::now();
        let started = Instant::now();
        let mut output = ctx.run_ui(input, |ui| {
            let matches = matches.refresh(&filter, &core.incidents, &core.grids, &core.kinds, now);
            let _ = map.ui(ui, core, &tr, matches, (Some(&basemap), chrono::Utc::now()));
        });
        let meshes = ctx.tessellate(std::mem::take(&mut output.shapes), output.pixels_per_point);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let size = meshes.iter().fold((0, 0), |(v, i), p| match &p.primitive {
            egui::epaint::Primitive::Mesh(m) => (v + m.vertices.len(), i + m.indices.len()),
            egui::epaint::Primitive::Callback(_) => (v, i),
        });
        std::hint::black_box(meshes);
        // The tiles' textures would go to the GPU here; the bench has none.
        output.drop_without_applying_deltas();
        (ms, size)
    };
    let press = |x: f32, pressed: bool| Event::PointerButton {
        pos: Pos2::new(x, 450.0),
        button: PointerButton::Primary,
        pressed,
        modifiers: Default::default(),
    };
    let (mut dragging, mut dragged) = (vec![], (0, 0));
    for frame in 0..frames {
        // Press once, then keep dragging: every frame pans, so every frame re-projects.
        let x = 500.0 + (frame % 200) as f32;
        let mut events = vec![Event::PointerMoved(Pos2::new(x, 450.0))];
        if frame == 1 {
            events.push(press(x, true));
        }
        if frame == WARM_UP {
            // The basemap's tiles for this view have been read and decoded by now.
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        for _ in 0..MOVES_PER_FRAME {
            core.on_feed(moved(&core.units, next_move, &mut rng));
            next_move += 1;
        }
        let (ms, size) = run_frame(&core, events);
        dragging.push(ms);
        dragged = size;
    }
    run_frame(&core, vec![press(500.0, false)]);
    // Wheel in for ten frames, out for ten, …: every frame's scale differs from the last.
    let mut zooming: Vec<f64> = (0..frames / 2)
        .map(|frame| {
            let wheel = wheel(if frame / 10 % 2 == 0 { 60.0 } else { -60.0 });
            for _ in 0..MOVES_PER_FRAME {
                core.on_feed(moved(&core.units, next_move, &mut rng));
                next_move += 1;
            }
            run_frame(&core, vec![Event::PointerMoved(Pos2::new(550.0, 450.0)), wheel]).0
        })
        .collect();
    // Warm-up: the font atlas, the first layout, the basemap's tiles arriving.
    dragging.drain(..dragging.len().min(WARM_UP + 1));
    let quantiles = |times: &mut Vec<f64>| {
        times.sort_by(|a, b| a.total_cmp(b));
        let q = |f: f64| times[((times.len() as f64 * f) as usize).min(times.len() - 1)];
        (q(0.5), q(0.99))
    };
    let (zoom_p50, zoom_p99) = quantiles(&mut zooming);
    println!("zooming (every frame re-clusters): frame_ms_p50={zoom_p50:.2} frame_ms_p99={zoom_p99:.2}");
    let (mut list_times, rebuild_ms) = camera_list(&mut core, &tr, frames);
    let (list_p50, list_p99) = quantiles(&mut list_times);
    println!(
        "camera-list cameras={} frame_ms_p50={list_p50:.2} frame_ms_p99={list_p99:.2} directory_resync_ms={rebuild_ms:.1}",
        core.cameras.len()
    );
    let (p50, p99) = quantiles(&mut dragging);
    println!("a dragged frame's meshes: vertices={} indices={}", dragged.0, dragged.1);
    println!("units={} on the map, {MOVES_PER_FRAME} positions between two frames", core.units.len());
    println!(
        "map-bench incidents={incidents} grids={} cameras={} frame_ms_p50={:.2} frame_ms_p99={:.2}",
        core.grids.grids.len(),
        core.cameras.len(),
        p50,
        p99
    );
}
