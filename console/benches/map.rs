//! `make bench-map`: building one map frame (egui shapes, clustering included) with 100 000
//! incidents and 2 000 grids loaded, while the user drags the map (so nothing can be cached).
//! Prints, last: `map-bench incidents=100000 grids=2000 frame_ms_p50=A frame_ms_p99=B`

use std::fmt::Write;
use std::time::Instant;

use egui::{Event, PointerButton, Pos2, RawInput, Rect, vec2};
use linkage::core::Core;
use linkage::core::grid::GridMap;
use linkage::i18n::{I18n, Lang};
use linkage::ui::map::MapView;
use streams::feed::{
    Body, CoordinateSystem, Envelope, FeedUpdate, Incident, IncidentReport, IncidentStatus, Location, ReportSource,
    Severity,
};

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

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (incidents, (columns, rows), frames) = if smoke { (2_000, (10, 10), 20) } else { (100_000, (50, 40), 300) };
    let mut core = Core { grids: GridMap::from_geojson(&grids(columns, rows)).expect("grids"), ..Core::default() };
    let mut rng = fastrand::Rng::with_seed(1);
    for n in 1..=incidents {
        core.on_feed(incident(n as u64, &mut rng));
    }
    let tr = I18n::new(Lang::En);
    let ctx = egui::Context::default();
    let mut map = MapView::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(1100.0, 900.0));
    let mut times = vec![];
    for frame in 0..frames {
        // Press once, then keep dragging: every frame pans, so every frame re-projects.
        let x = 500.0 + (frame % 200) as f32;
        let mut events = vec![Event::PointerMoved(Pos2::new(x, 450.0))];
        if frame == 1 {
            events.push(Event::PointerButton {
                pos: Pos2::new(x, 450.0),
                button: PointerButton::Primary,
                pressed: true,
                modifiers: Default::default(),
            });
        }
        let input = RawInput { screen_rect: Some(screen), events, ..Default::default() };
        let started = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            let _ = map.ui(ui, &core, &tr, None, None);
        });
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        output.drop_without_applying_deltas();
    }
    times.drain(..times.len().min(5)); // warm-up: font atlas, first layout
    times.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f64| times[((times.len() as f64 * f) as usize).min(times.len() - 1)];
    println!(
        "map-bench incidents={incidents} grids={} frame_ms_p50={:.2} frame_ms_p99={:.2}",
        core.grids.grids.len(),
        q(0.5),
        q(0.99)
    );
}
