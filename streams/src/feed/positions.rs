//! Where the units are, at the hub: live state beside the log, not in it. Each unit's newest
//! position is kept in memory and passed to the consoles as it comes; a console that connects is
//! told every unit's newest after its replay. A terminal's positions are taken at most every
//! [`GAP`] (one every few seconds is all a map needs; more are dropped without an answer).
//! After a restart of the hub the terminals' next reports fill it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use linkage_protocol::{Body, Envelope, UnitPosition};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Positions buffered per client; a client that falls behind misses some (the next comes).
const BUFFER: usize = 1024;
/// A terminal's positions are taken at most this often.
pub(super) const GAP: Duration = Duration::from_secs(5);

pub(super) struct Positions {
    newest: Mutex<HashMap<String, UnitPosition>>,
    moves: broadcast::Sender<Utf8Bytes>,
}

impl Positions {
    pub(super) fn new() -> Positions {
        Positions { newest: Mutex::default(), moves: broadcast::channel(BUFFER).0 }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.moves.subscribe()
    }

    /// Takes a unit's position, stamped with the hub's time: kept as its newest, passed on.
    pub(super) fn take(&self, mut position: UnitPosition) {
        position.at = Some(chrono::Utc::now());
        if let Ok(mut newest) = self.newest.lock() {
            newest.insert(position.unit.clone(), position.clone());
        }
        // No receivers is fine: no console is listening.
        let _ = self.moves.send(frame(position));
    }

    /// Every unit's newest position, as frames.
    pub(super) fn now(&self) -> Vec<Utf8Bytes> {
        self.newest.lock().map(|p| p.values().cloned().map(frame).collect()).unwrap_or_default()
    }
}

fn frame(position: UnitPosition) -> Utf8Bytes {
    Envelope::new(0, Body::UnitMoved(position)).to_text().into()
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
