//! Simulated linked units: each unit's terminal is a real hub client with the unit-terminal
//! role. It receives the work orders addressed to its unit and walks them through their steps
//! with human delays: most units answer in time, some late, some never — so the console's
//! clocks, escalations and scores have something real to work on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::feed::{
    Body, ClientHandle, Connection, CoordinateSystem, Envelope, FeedClient, FeedUpdate, Location, OrderProgress, Role,
    Step, UnitPosition, WorkOrder,
};

/// A unit's terminal to connect.
#[derive(Debug, Clone)]
pub struct SimUnit {
    pub id: String,
    pub token: String,
    /// Where it is based (lon, lat): it reports its position from there, drives to the scene of
    /// the orders it takes and back.
    pub base: Option<(f64, f64)>,
}

/// How often a simulated terminal reports where it is (the hub takes one every 5 s at most;
/// a second of slack keeps jitter from making it drop one).
const POSITION_EVERY: Duration = Duration::from_secs(6);
/// How fast a simulated unit drives, in metres a second (about 50 km/h).
const SPEED_M_S: f64 = 14.0;

/// Where a simulated unit is and where it is going.
#[derive(Debug, Clone, Copy)]
struct Motion {
    at: (f64, f64),
    to: (f64, f64),
    /// Where it goes back to after an order.
    base: (f64, f64),
}

impl Motion {
    /// Moves `seconds` of driving toward the destination.
    fn drive(&mut self, seconds: f64) {
        let cos_lat = self.at.1.to_radians().cos();
        let (east, north) = ((self.to.0 - self.at.0) * 111_320.0 * cos_lat, (self.to.1 - self.at.1) * 110_540.0);
        let left = east.hypot(north);
        let step = SPEED_M_S * seconds;
        if left <= step {
            self.at = self.to;
        } else {
            let share = step / left;
            self.at = (self.at.0 + (self.to.0 - self.at.0) * share, self.at.1 + (self.to.1 - self.at.1) * share);
        }
    }
}

/// How a simulated unit answers one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Delay before each step after the order arrived; the walk stops at the first `None`.
    pub steps: Vec<(Step, Option<Duration>)>,
}

impl Answer {
    /// Draws an answer: 70 % in time, 20 % acknowledged late (after the 5-minute tier-1
    /// clock), 7 % never acknowledged, 3 % handed back as not the unit's after a look.
    /// `Received` always comes at once: the terminal is on.
    pub fn draw(rng: &mut fastrand::Rng) -> Answer {
        let secs = |rng: &mut fastrand::Rng, lo: u64, hi: u64| Some(Duration::from_secs(rng.u64(lo..=hi)));
        let roll = rng.u8(0..100);
        if roll >= 97 {
            let received = Some(Duration::from_millis(rng.u64(50..400)));
            return Answer { steps: vec![(Step::Received, received), (Step::Returned, secs(rng, 10, 60))] };
        }
        let acknowledge = match roll {
            0..70 => secs(rng, 3, 40),
            70..90 => secs(rng, 330, 480),
            _ => None,
        };
        let steps = vec![
            (Step::Received, Some(Duration::from_millis(rng.u64(50..400)))),
            (Step::Acknowledged, acknowledge),
            (Step::OnScene, secs(rng, 20, 90)),
            (Step::Handling, secs(rng, 5, 20)),
            (Step::ReportedBack, secs(rng, 30, 120)),
        ];
        Answer { steps }
    }
}

/// What a unit reports back when it is done.
const REPORT_NOTES: [&str; 4] = [
    "已到场处置完毕，现场秩序恢复。",
    "已处置，无人员伤亡，已拍照留存。",
    "已联系当事人调解，双方达成一致。",
    "隐患已排除，已设置警示标志。",
];

/// Connected terminals; dropping this disconnects them.
pub struct LinkedUnits {
    _terminals: Vec<Arc<ClientHandle>>,
}

/// Connects one terminal per unit to the hub at `hub_url`; each walks its orders.
pub fn start(hub_url: &str, units: &[SimUnit], runtime: &tokio::runtime::Handle) -> LinkedUnits {
    let terminals = units
        .iter()
        .map(|unit| {
            let (updates, mut incoming) = mpsc::unbounded_channel();
            let terminal = Arc::new(
                FeedClient {
                    url: hub_url.to_owned(),
                    token: unit.token.clone(),
                    role: Role::UnitTerminal,
                    since: 0,
                    name: format!("unit {}", unit.id),
                    trust: None,
                }
                .spawn(runtime, updates, crate::no_waker()),
            );
            let weak = Arc::downgrade(&terminal);
            let mut rng = fastrand::Rng::new();
            let token = unit.token.clone();
            let motion = unit.base.map(|base| Arc::new(std::sync::Mutex::new(Motion { at: base, to: base, base })));
            if let Some(motion) = &motion {
                runtime.spawn(report_positions(weak.clone(), unit.id.clone(), motion.clone()));
            }
            runtime.spawn(async move {
                // Where the hub keeps photos: a report back takes one there.
                let mut files = None;
                // Each order is walked once, whatever the center resends.
                let mut walked = std::collections::HashSet::new();
                while let Some(update) = incoming.recv().await {
                    if let FeedUpdate::Connection(Connection::Connected { files: at, .. }) = &update {
                        files.clone_from(at);
                    }
                    let FeedUpdate::Event(Envelope { body: Body::OrderIssued(order), .. }) = update else {
                        tracing::debug!(?update, "simulated unit terminal");
                        continue;
                    };
                    // After a restart the hub replays every order: old ones are history.
                    // A channel test (no incident) is no order to walk.
                    let old = order.acknowledge_by < Utc::now() - chrono::Duration::hours(1);
                    if old || order.incident.is_empty() || !walked.insert(order.order.clone()) {
                        continue;
                    }
                    let photos = files.clone().map(|files| (files, token.clone()));
                    let note = rng.usize(..REPORT_NOTES.len());
                    let drive = motion.clone();
                    tokio::spawn(walk(weak.clone(), order, Answer::draw(&mut rng), (note, photos), drive));
                }
            });
            terminal
        })
        .collect();
    LinkedUnits { _terminals: terminals }
}

/// Sends the steps of one order as the answer says, while the terminal exists; the report back
/// carries a photo taken to the hub's files endpoint (`photos`: its URL and the terminal's token).
async fn walk(
    terminal: std::sync::Weak<ClientHandle>,
    order: WorkOrder,
    answer: Answer,
    (note, photos): (usize, Option<(String, String)>),
    motion: Option<Arc<std::sync::Mutex<Motion>>>,
) {
    let scene = order.details.as_ref().map(|d| (d.location.lon, d.location.lat));
    // Signed for: off to the scene; on scene: there; done or handed back: back to base.
    let drive = |step: Step| {
        let (Some(motion), Some(scene)) = (&motion, scene) else { return };
        let Ok(mut m) = motion.lock() else { return };
        match step {
            Step::Acknowledged => m.to = scene,
            Step::OnScene => (m.at, m.to) = (scene, scene),
            Step::ReportedBack | Step::Returned => m.to = m.base,
            Step::Received | Step::Handling => {}
        }
    };
    for (step, delay) in answer.steps {
        let Some(delay) = delay else { return };
        tokio::time::sleep(delay).await;
        drive(step);
        let (note, attachments) = match step {
            Step::ReportedBack => (REPORT_NOTES[note].to_owned(), photo(&order, photos.as_ref()).await),
            Step::Returned => ("非本单位职责范围，请中心改派。".to_owned(), vec![]),
            _ => (String::new(), vec![]),
        };
        let Some(terminal) = terminal.upgrade() else { return };
        terminal.send(Body::Progress(OrderProgress {
            order: order.order.clone(),
            unit: order.unit.clone(),
            step,
            note,
            attachments,
        }));
    }
}

/// A photo of the scene for a report back, its colour from the order.
async fn photo(order: &WorkOrder, photos: Option<&(String, String)>) -> Vec<String> {
    let Some((files, token)) = photos else { return vec![] };
    let seed = order.order.bytes().fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    super::photo(files, token, seed).await
}

/// Reports where the unit is every few seconds, driving it toward where it is going, while the
/// terminal exists.
async fn report_positions(
    terminal: std::sync::Weak<ClientHandle>,
    unit: String,
    motion: Arc<std::sync::Mutex<Motion>>,
) {
    let mut tick = tokio::time::interval(POSITION_EVERY);
    loop {
        tick.tick().await;
        let Some(terminal) = terminal.upgrade() else { return };
        let Ok(at) = motion.lock().map(|mut m| {
            m.drive(POSITION_EVERY.as_secs_f64());
            m.at
        }) else {
            return;
        };
        let location = Location { lon: at.0, lat: at.1, crs: CoordinateSystem::Wgs84 };
        terminal.send(Body::Position(UnitPosition { unit: unit.clone(), location, at: None }));
    }
}
