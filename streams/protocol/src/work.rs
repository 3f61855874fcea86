//! What travels between the center and a linked unit: the work order (with what the unit's seat
//! shows of the incident and its clocks), the unit's steps on it, and where the unit is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::message::{Location, ParseError, Severity, check_key};

/// A work order as it travels to one unit's terminals: one unit, one order, one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    /// The idempotency key the console chose: the same key is logged once, ever.
    pub key: String,
    /// The order (派单) this is part of; one order goes to several units.
    pub order: String,
    pub incident: String,
    pub unit: String,
    pub text: String,
    /// When the unit must acknowledge, by its tier's clock.
    pub acknowledge_by: DateTime<Utc>,
    /// What the unit's seat shows of the incident and its other clocks (a unit's terminal
    /// reads nothing of the log but its own orders). Absent from older senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<WorkDetails>>,
}

/// The incident an order is about and the unit's clocks, as the order carries them to the
/// unit: where, what, how urgent, the reporter's words — never the reporter's name or mobile,
/// which stay inside the governance center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkDetails {
    /// The incident kind's code and its name as the center's list has it.
    pub kind: String,
    pub kind_name: String,
    pub severity: Severity,
    /// Where, as the center keeps it (WGS-84).
    pub location: Location,
    /// The place in words: village and grid.
    #[serde(default)]
    pub place: String,
    pub reported_at: DateTime<Utc>,
    /// What the reporter said.
    #[serde(default)]
    pub report: String,
    pub tier: crate::order::Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_scene_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_back_by: Option<DateTime<Utc>>,
}

impl WorkOrder {
    pub(crate) fn validate(&self) -> Result<(), ParseError> {
        for (name, value) in [("key", &self.key), ("order", &self.order), ("unit", &self.unit)] {
            if value.trim().is_empty() || value.len() > 128 {
                return Err(ParseError::Invalid(format!("{name} must be 1–128 characters")));
            }
        }
        if self.text.chars().count() > 2000 {
            return Err(ParseError::Invalid("order text longer than 2000 characters".into()));
        }
        if let Some(d) = &self.details {
            let Location { lon, lat, .. } = d.location;
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err(ParseError::Invalid("details.location out of range".into()));
            }
            if d.report.chars().count() > 4000 || d.place.chars().count() > 200 || d.kind_name.chars().count() > 64 {
                return Err(ParseError::Invalid(
                    "details: report over 4000, place over 200 or kind name over 64 characters".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Where a unit is: its terminal's (or vehicle's) position, with the hub's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitPosition {
    pub unit: String,
    pub location: Location,
    /// Set by the hub when it takes the position (whatever the sender put here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl UnitPosition {
    pub(crate) fn validate(&self) -> Result<(), ParseError> {
        check_key("unit", &self.unit)?;
        let Location { lon, lat, .. } = self.location;
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(ParseError::Invalid("location out of range (lon −180…180, lat −90…90)".into()));
        }
        Ok(())
    }
}

/// The steps of an order at a unit, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The terminal has the order on screen (delivered).
    Received,
    /// 签收: the unit takes the order.
    Acknowledged,
    /// 到场: the unit is at the scene.
    OnScene,
    /// 处置: handling it.
    Handling,
    /// 反馈: the unit reports back, with text and evidence.
    ReportedBack,
    /// 退回: the unit hands the order back as not theirs, `note` saying why. Not a step forward:
    /// it implies none of the others, and the unit's clocks stop.
    Returned,
}

/// A unit's step on an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderProgress {
    pub order: String,
    pub unit: String,
    pub step: Step,
    #[serde(default)]
    pub note: String,
    /// Photo or video URLs (for a report back).
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl OrderProgress {
    /// A step is logged once per order, unit and step: the key a unit's seat queues it under.
    pub fn command_key(&self) -> String {
        format!("progress/{}/{}/{:?}", self.order, self.unit, self.step)
    }

    pub(crate) fn validate(&self) -> Result<(), ParseError> {
        if self.order.trim().is_empty() || self.unit.trim().is_empty() {
            return Err(ParseError::Invalid("order and unit are required".into()));
        }
        if self.note.chars().count() > 4000 || self.attachments.len() > 20 {
            return Err(ParseError::Invalid("note over 4000 characters or more than 20 attachments".into()));
        }
        if self.step == Step::Returned && self.note.trim().is_empty() {
            return Err(ParseError::Invalid("an order is returned with the reason in note".into()));
        }
        Ok(())
    }
}
