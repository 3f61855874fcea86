//! Hand-overs (转办 and 退回): an incident the center will not handle itself goes to the system
//! that should — a routine item to the 12345 / petition platform, an incident that is not the
//! center's back to the 110 command center that pushed it. A seat asks, the hub logs it (id
//! `H` + its sequence number), the center's bridge carries it to the peer (docs/bridge.md) and
//! logs what the peer says of it as it goes.

use serde::{Deserialize, Serialize};

use crate::message::{ParseError, check_key};

/// A duty officer's hand-over of one incident to a bridged system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// The seat's idempotency key.
    pub key: String,
    pub incident: String,
    /// The bridge peer it goes to (`[[bridge.peer]] id`). When that is the peer the incident
    /// came from, it is a return (退回); otherwise a transfer (转办).
    pub to: String,
    /// Why: the peer is told, and the incident's trail shows it.
    pub reason: String,
    /// Who: filled in by the hub.
    #[serde(default)]
    pub by: String,
}

/// Where a hand-over is at the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverState {
    /// The peer has it (its answer to our request).
    Received,
    /// The peer's operator took it on (受理).
    Accepted,
    /// The peer's handling has finished (办结).
    Done,
    /// The peer will not take it (不予受理): the incident is the center's again.
    Refused,
}

impl HandoverState {
    pub const ALL: [HandoverState; 4] =
        [HandoverState::Received, HandoverState::Accepted, HandoverState::Done, HandoverState::Refused];

    pub fn code(self) -> &'static str {
        match self {
            HandoverState::Received => "received",
            HandoverState::Accepted => "accepted",
            HandoverState::Done => "done",
            HandoverState::Refused => "refused",
        }
    }

    /// Whether the peer is finished with it.
    pub fn is_final(self) -> bool {
        matches!(self, HandoverState::Done | HandoverState::Refused)
    }
}

/// What the peer said of a hand-over (bridge → hub, logged once per hand-over and state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverProgress {
    /// The hand-over: `H` + the sequence number of its `handed_over`.
    pub handover: String,
    pub incident: String,
    pub state: HandoverState,
    /// The peer's words (its result, or why it refused).
    #[serde(default)]
    pub text: String,
}

/// A system the center's bridge docks with, as the seats name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockedPeer {
    /// Its id at the center (`[[bridge.peer]] id`): a hand-over's `to`.
    pub id: String,
    pub name: String,
}

/// The id of the hand-over `handed_over` (`H` + its place, [`crate::Envelope::name`]).
pub fn handover_id(handed_over: &crate::Envelope) -> String {
    handed_over.name('H')
}

impl Handover {
    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        check_key("incident", &self.incident)?;
        check_key("to", &self.to)?;
        let reason = self.reason.trim().chars().count();
        if reason == 0 || reason > 500 {
            return Err(ParseError::Invalid("a hand-over needs a reason of 1–500 characters".into()));
        }
        Ok(())
    }
}

impl HandoverProgress {
    /// Its key in the bridge's durable queue, and the one its logged event settles.
    pub fn command_key(&self) -> String {
        format!("handover_progress/{}/{}", self.handover, self.state.code())
    }

    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("handover", &self.handover)?;
        check_key("incident", &self.incident)?;
        if self.text.chars().count() > 2000 {
            return Err(ParseError::Invalid("a hand-over's text is at most 2000 characters".into()));
        }
        Ok(())
    }
}
