//! Simulated grid workers: one field terminal per grid, each a real hub client, reporting
//! incidents at random points inside its own grid at a realistic, irregular rate.
//!
//! Reports arrive as a Poisson process (exponential gaps around `mean_gap`): bursts and lulls,
//! like a real township's day, compressed for the demo.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use geo::{BoundingRect, Contains, MultiPolygon, Point};

use crate::feed::{
    Body, ClientHandle, Connection, CoordinateSystem, FeedClient, FeedUpdate, IncidentReport, Location, ReportSource,
    Role, Severity,
};

/// One grid as the simulator needs it.
#[derive(Debug, Clone)]
pub struct SimGrid {
    pub code: String,
    pub worker: String,
    pub area: MultiPolygon<f64>,
}

/// One incident kind as the simulator draws it.
#[derive(Debug, Clone)]
pub struct SimKind {
    pub code: String,
    /// Relative frequency among all reports.
    pub weight: u32,
    /// Relative frequency of low, medium, high, critical for this kind.
    pub severity_weights: [u32; 4],
    /// Texts a worker might write (Chinese, as in the field).
    pub texts: Vec<String>,
}

/// The simulation's settings.
#[derive(Debug, Clone)]
pub struct GridWorkerSim {
    pub hub_url: String,
    pub token: String,
    pub grids: Vec<SimGrid>,
    pub kinds: Vec<SimKind>,
    /// Mean time between two reports from the whole township.
    pub mean_gap: Duration,
    /// Seed for the random draws, so a run can be repeated.
    pub seed: u64,
    /// Reports handed in right after the workers connect: what they collected while the
    /// console was away. After these, reports follow the Poisson rate.
    pub backlog: usize,
}

/// A running simulation; dropping it stops every worker.
pub struct GridWorkers {
    _task: tokio::task::JoinHandle<()>,
}

impl GridWorkerSim {
    /// Connects one terminal per grid and starts reporting.
    pub fn start(self, runtime: &tokio::runtime::Handle) -> GridWorkers {
        let handle = runtime.clone();
        GridWorkers { _task: runtime.spawn(async move { self.run(handle).await }) }
    }

    async fn run(self, runtime: tokio::runtime::Handle) {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let (updates, mut sink) = tokio::sync::mpsc::unbounded_channel();
        // Where the hub keeps photos, once a terminal is told.
        let files: Arc<Mutex<Option<String>>> = Arc::default();
        let told = files.clone();
        // The terminals' updates (acks, refusals) are only logged.
        runtime.spawn(async move {
            while let Some(update) = sink.recv().await {
                match update {
                    FeedUpdate::Refused { reason, .. } => tracing::warn!(%reason, "hub refused a simulated report"),
                    FeedUpdate::Connection(Connection::Connected { files: Some(at), .. }) => {
                        if let Ok(mut files) = told.lock() {
                            *files = Some(at);
                        }
                    }
                    _ => {}
                }
            }
        });
        let terminals: Vec<Arc<ClientHandle>> = self
            .grids
            .iter()
            .map(|grid| {
                FeedClient {
                    url: self.hub_url.clone(),
                    token: self.token.clone(),
                    role: Role::FieldTerminal,
                    since: 0,
                    name: format!("grid worker {}", grid.code),
                    trust: None,
                }
                .spawn(&runtime, updates.clone(), crate::no_waker())
            })
            .map(Arc::new)
            .collect();
        if terminals.is_empty() || self.kinds.is_empty() {
            return;
        }
        let run_id = rng.u32(..);
        for n in 1u64.. {
            let gap =
                if n as usize <= self.backlog { 0.15 } else { poisson_gap(&mut rng, self.mean_gap.as_secs_f64()) };
            tokio::time::sleep(Duration::from_secs_f64(gap)).await;
            let i = rng.usize(..self.grids.len());
            let report = self.draw(&mut rng, &self.grids[i], format!("sim-{run_id:08x}-{n}"));
            tracing::debug!(grid = %self.grids[i].code, kind = %report.kind, "simulated report");
            // One live report in four comes with a photo, taken to the hub's files endpoint first.
            let with_photo = n as usize > self.backlog && rng.u8(..4) == 0;
            match files.lock().ok().and_then(|f| f.clone()).filter(|_| with_photo) {
                Some(files) => {
                    let (terminal, token, seed) = (terminals[i].clone(), self.token.clone(), rng.u8(..));
                    runtime.spawn(async move {
                        let mut report = report;
                        report.attachments = super::photo(&files, &token, seed).await;
                        terminal.send(Body::Report(report));
                    });
                }
                None => terminals[i].send(Body::Report(report)),
            }
        }
    }

    fn draw(&self, rng: &mut fastrand::Rng, grid: &SimGrid, report_id: String) -> IncidentReport {
        let kind = pick(rng, &self.kinds, |k| k.weight).unwrap_or(&self.kinds[0]);
        let severities = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
        let severity = pick(rng, &severities, |s| kind.severity_weights[*s as usize]).copied().unwrap_or(Severity::Low);
        let point = random_point_in(rng, &grid.area);
        let text =
            if kind.texts.is_empty() { String::new() } else { kind.texts[rng.usize(..kind.texts.len())].clone() };
        IncidentReport {
            report_id,
            kind: kind.code.clone(),
            severity,
            location: Location { lon: point.x(), lat: point.y(), crs: CoordinateSystem::Wgs84 },
            grid: Some(grid.code.clone()),
            reporter: grid.worker.clone(),
            // Each grid worker's handset: a stable number made from the grid code.
            reporter_mobile: Some(format!(
                "139{:08}",
                grid.code.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % 100_000_000
            )),
            source: ReportSource::Field,
            text,
            attachments: vec![],
        }
    }
}

/// Draws one item with probability proportional to its weight.
fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> Option<&'a T> {
    let total: u32 = items.iter().map(&weight).sum();
    if total == 0 {
        return items.first();
    }
    let mut r = rng.u32(..total);
    items.iter().find(|item| {
        let w = weight(item);
        if r < w {
            true
        } else {
            r -= w;
            false
        }
    })
}

/// The wait before the next of events that come at random about every `mean` seconds (an
/// exponential draw, cut at six means so a demo never goes quiet for long).
pub fn poisson_gap(rng: &mut fastrand::Rng, mean: f64) -> f64 {
    (-mean * (1.0 - rng.f64()).ln()).min(mean * 6.0)
}

/// A uniformly random point inside an area, a polygon or a grid of several parts (rejection
/// sampling in its bounding box).
pub fn random_point_in<A>(rng: &mut fastrand::Rng, area: &A) -> Point<f64>
where
    A: BoundingRect<f64, Output = Option<geo::Rect<f64>>> + Contains<Point<f64>>,
{
    let Some(rect) = area.bounding_rect() else {
        return Point::new(0.0, 0.0);
    };
    for _ in 0..1000 {
        let p = Point::new(rect.min().x + rng.f64() * rect.width(), rect.min().y + rng.f64() * rect.height());
        if area.contains(&p) {
            return p;
        }
    }
    rect.center().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn random_points_fall_inside_a_concave_grid() {
        // An L shape: its bounding box has a corner outside the polygon.
        let l =
            polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 1., y: 2.), (x: 0., y: 2.)];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..500 {
            assert!(l.contains(&random_point_in(&mut rng, &l)));
        }
    }

    #[test]
    fn weighted_pick_never_picks_a_zero_weight() {
        let mut rng = fastrand::Rng::with_seed(1);
        let items = [("a", 0), ("b", 5), ("c", 0)];
        for _ in 0..200 {
            assert_eq!(pick(&mut rng, &items, |i| i.1).unwrap().0, "b");
        }
    }
}
