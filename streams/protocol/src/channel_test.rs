//! Channel tests (通道测试, Resgrid's "communication tests"): before the day a unit's SMS or
//! radio is needed, the center sends each channel a test message and logs whether it went —
//! on a seat's demand and on a schedule — so the unit list shows which channels work and the
//! dispatch panel warns of one that did not.

use serde::{Deserialize, Serialize};

use crate::message::{ParseError, check_key};
use crate::order::ChannelKind;

/// A test of the units' channels, asked for by a seat (or the center's schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTestRequest {
    /// The sender's idempotency key.
    pub key: String,
    /// One unit, or (absent) every unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Who asked: filled in by the hub.
    #[serde(default)]
    pub by: String,
}

/// What one test message achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTestResult {
    /// The test run: `T` + the request's sequence number.
    pub run: String,
    pub unit: String,
    pub channel: ChannelKind,
    /// The channel's peer took the message (or it reached the unit); `false`: it failed.
    pub ok: bool,
    /// The peer's receipt, or why it failed.
    #[serde(default)]
    pub detail: String,
}

impl ChannelTestRequest {
    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        if let Some(unit) = &self.unit {
            check_key("unit", unit)?;
        }
        Ok(())
    }
}

/// The run a test request logged at `seq` starts.
pub fn test_run(seq: u64) -> String {
    format!("T{seq}")
}
