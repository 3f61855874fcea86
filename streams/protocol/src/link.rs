//! What a hub client tells its owner: the state of its link and what came over it. Plain data,
//! so the rules (which fold it) need no runtime.

use std::time::Duration;

use crate::message::{Envelope, ErrorCode};

/// The state of the link to the hub, as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting,
    /// Connected; for a person's seat, their role at the center (from the hub's welcome).
    Connected {
        client: String,
        seat: Option<crate::message::SeatRole>,
        /// The hub's files endpoint, where attachments go up and come down.
        files: Option<String>,
    },
    Lost {
        reason: String,
        retry_in: Duration,
    },
}

/// What the client tells its owner.
#[derive(Debug, Clone, PartialEq)]
// Nearly every update is an event: boxing it would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum FeedUpdate {
    Connection(Connection),
    /// A logged event (its `seq` is its place in the hub's log).
    Event(Envelope),
    /// The replay after `since` is complete: what follows is live. A client that acts on
    /// the log (the center's dispatch service) waits for this before it acts.
    Replayed {
        head: u64,
    },
    /// A unit's newest position (live, not logged: the journal does not keep it).
    Moved(crate::work::UnitPosition),
    /// The hub refused something we sent; `key` names the command, where the hub said.
    Refused {
        code: ErrorCode,
        reason: String,
        key: Option<String>,
    },
}
