//! Simulated linked units: each unit's terminal is a real hub client with the unit-terminal
//! role. It receives the work orders addressed to its unit and walks them through their steps
//! with human delays: most units answer in time, some late, some never — so the console's
//! clocks, escalations and scores have something real to work on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::feed::{
    Body, ClientHandle, Connection, Envelope, FeedClient, FeedUpdate, OrderProgress, Role, Step, WorkOrder,
};

/// A unit's terminal to connect.
#[derive(Debug, Clone)]
pub struct SimUnit {
    pub id: String,
    pub token: String,
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
            runtime.spawn(async move {
                // Where the hub keeps photos: a report back takes one there.
                let mut files = None;
                while let Some(update) = incoming.recv().await {
                    if let FeedUpdate::Connection(Connection::Connected { files: at, .. }) = &update {
                        files.clone_from(at);
                    }
                    let FeedUpdate::Event(Envelope { body: Body::OrderIssued(order), .. }) = update else {
                        tracing::debug!(?update, "simulated unit terminal");
                        continue;
                    };
                    // After a restart the hub replays every order: old ones are history.
                    if order.acknowledge_by < Utc::now() - chrono::Duration::hours(1) {
                        continue;
                    }
                    let photos = files.clone().map(|files| (files, token.clone()));
                    let note = rng.usize(..REPORT_NOTES.len());
                    tokio::spawn(walk(weak.clone(), order, Answer::draw(&mut rng), note, photos));
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
    note: usize,
    photos: Option<(String, String)>,
) {
    for (step, delay) in answer.steps {
        let Some(delay) = delay else { return };
        tokio::time::sleep(delay).await;
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

/// A photo of the scene for a report back (a picture made here, its colour from the order),
/// kept at the hub's files endpoint; none if the endpoint is unknown or refuses it.
async fn photo(order: &WorkOrder, photos: Option<&(String, String)>) -> Vec<String> {
    let Some((files, token)) = photos else { return vec![] };
    let seed = order.order.bytes().fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    let picture = tokio::task::spawn_blocking(move || crate::feed::attachments::samples::jpeg(800, 600, seed)).await;
    let Ok(picture) = picture else { return vec![] };
    match crate::feed::files::upload(files, token, None, picture).await {
        Ok(kept) => vec![kept.id],
        Err(reason) => {
            tracing::warn!(order = %order.order, %reason, "simulated unit: photo not kept");
            vec![]
        }
    }
}
