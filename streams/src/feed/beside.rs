//! Live state beside the log, not in it: where the units are, whether the townships on their
//! own nodes can be reached from the county, and (on such a township's node) whether the
//! county hears it. The newest of each unit and township is kept
//! in memory and passed to the consoles as it comes; a console that connects is told every one
//! after its replay. A terminal's positions are taken at most every [`GAP`] (one every few
//! seconds is all a map needs; more are dropped without an answer). After a restart of the hub
//! the terminals' next reports, and the next look at the townships, fill it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use linkage_protocol::{Body, CountyLink, Envelope, TownshipLink, UnitPosition};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Frames buffered per client; a client that falls behind misses some (the next comes).
const BUFFER: usize = 1024;
/// A terminal's positions are taken at most this often.
pub(super) const GAP: Duration = Duration::from_secs(5);

/// What one newest frame is of.
#[derive(PartialEq, Eq, Hash)]
enum Of {
    Unit(String),
    Township(String),
    County,
}

pub(super) struct Beside {
    newest: Mutex<HashMap<Of, Utf8Bytes>>,
    frames: broadcast::Sender<Utf8Bytes>,
}

impl Beside {
    pub(super) fn new() -> Beside {
        Beside { newest: Mutex::default(), frames: broadcast::channel(BUFFER).0 }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.frames.subscribe()
    }

    /// Takes a unit's position, stamped with the hub's time: kept as its newest, passed on.
    pub(super) fn moved(&self, mut position: UnitPosition) {
        position.at = Some(chrono::Utc::now());
        self.keep(Of::Unit(position.unit.clone()), Body::UnitMoved(position));
    }

    /// Takes how a township can be reached now: kept as its newest, passed on.
    pub(super) fn linked(&self, link: TownshipLink) {
        self.keep(Of::Township(link.township.clone()), Body::TownshipLinked(link));
    }

    /// Takes whether the county hears this township now: kept as the newest, passed on.
    pub(super) fn county_linked(&self, link: CountyLink) {
        self.keep(Of::County, Body::CountyLinked(link));
    }

    fn keep(&self, of: Of, body: Body) {
        let frame: Utf8Bytes = Envelope::new(0, body).to_text().into();
        if let Ok(mut newest) = self.newest.lock() {
            newest.insert(of, frame.clone());
        }
        // No receivers is fine: no console is listening.
        let _ = self.frames.send(frame);
    }

    /// The newest of every unit, township and the county, as frames.
    pub(super) fn now(&self) -> Vec<Utf8Bytes> {
        self.newest.lock().map(|p| p.values().cloned().collect()).unwrap_or_default()
    }
}

/// One connection's allowance: a position every [`GAP`].
#[derive(Default)]
pub(super) struct Allowance(Option<tokio::time::Instant>);

impl Allowance {
    /// Whether a position may be taken now (and, if so, the next not before [`GAP`]).
    pub(super) fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let allowed = self.0.is_none_or(|last| now - last >= GAP);
        if allowed {
            self.0 = Some(now);
        }
        allowed
    }
}
