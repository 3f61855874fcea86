//! What a hub client tells its owner: the state of its link and what came over it. Plain data,
//! so the rules (which fold it) need no runtime.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// Whether a township on its own node can be reached from the county now (live, not
    /// logged).
    TownshipLinked(TownshipLink),
    /// On a township's own node: whether the county hears this township now (live, not logged).
    CountyLinked(CountyLink),
    /// The hub refused something we sent; `key` names the command, where the hub said.
    Refused {
        code: ErrorCode,
        reason: String,
        key: Option<String>,
    },
}

/// Whether a township on its own node (a NATS leaf node with its own log) can be reached from
/// the county now, as a gateway of the whole county finds by asking the township's log every
/// few seconds. While it is cut, the township works on and the county hears nothing of it:
/// what a county seat shows of that township is as old as [`TownshipLink::since`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TownshipLink {
    pub township: String,
    pub reach: Reach,
    /// Since when it is so, by the gateway's clock (the first time that gateway found it so:
    /// a gateway started during a cut knows it from its start).
    pub since: DateTime<Utc>,
}

/// Whether the county hears a township on its own node now, as the township's gateway finds by
/// asking the county's gateways every few seconds. While it is cut, the township works on and
/// the county hears nothing of it: its reports and orders reach the county when the link is
/// back. [`Reach::Linked`] or [`Reach::Cut`] (no county gateway answering counts as cut: nobody
/// at the county hears).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountyLink {
    pub reach: Reach,
    /// Since when it is so, by the township's gateway's clock (as [`TownshipLink::since`]).
    pub since: DateTime<Utc>,
}

/// What a gateway found when it asked another place of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// The township's log answered: what it logs reaches the county.
    Linked,
    /// Nothing answered for the township's log for a few seconds: its link to the county is
    /// cut, its node is down, or its node's JetStream domain is not its name's.
    Cut,
    /// The township's node answered but holds no log of the township: its gateway has not
    /// started there yet, or the node serves another township.
    NoLog,
}
