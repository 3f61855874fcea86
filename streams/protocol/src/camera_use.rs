//! What a seat did with a camera, for the record: a PTZ camera turned or sent to a preset (who
//! moved which camera when), or a clip of what a camera saw kept as evidence for an incident (its file and
//! SHA-256, so the clip shown later can be proven the one kept). A seat sends `use_camera`; the
//! hub logs `camera_used` once per seat and key, with `by`. A clip names its incident, and the
//! incident's trail lists it.

use serde::{Deserialize, Serialize};

use crate::message::{ParseError, check_key};

/// One use of a camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraUse {
    /// The seat's idempotency key.
    pub key: String,
    pub camera: String,
    /// The camera's name as the seat showed it (a platform's directory changes; the log stays).
    pub camera_name: String,
    /// The incident it was for, if one was selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    pub action: CameraAction,
    /// Who: filled in by the hub.
    #[serde(default)]
    pub by: String,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum CameraAction {
    /// A PTZ camera was moved: `left`, `right`, `up`, `down`, `zoom_in` or `zoom_out`.
    Steered { motion: String },
    /// A PTZ camera was sent to its preset `number` (1–255), or (`saved`) where it looks was
    /// kept as that preset.
    Preset { number: u8, saved: bool },
    /// Where a PTZ camera's preset `number` looks, marked on the map (WGS-84): every seat's map
    /// shows it, and an incident near it offers to turn the camera there.
    PresetPlaced { number: u8, lon: f64, lat: f64 },
    /// A clip was kept on the seat's machine: its file name, SHA-256 (hex), size and length;
    /// `cut`: why it ended before it was asked to (a full disk), when it did.
    Clip {
        file: String,
        sha256: String,
        bytes: u64,
        seconds: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cut: Option<String>,
    },
}

impl CameraUse {
    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        check_key("camera", &self.camera)?;
        check_key("camera_name", &self.camera_name)?;
        if let Some(incident) = &self.incident {
            check_key("incident", incident)?;
        }
        match &self.action {
            CameraAction::Steered { motion } => {
                const MOTIONS: [&str; 6] = ["left", "right", "up", "down", "zoom_in", "zoom_out"];
                if !MOTIONS.contains(&motion.as_str()) {
                    return Err(ParseError::Invalid(format!("motion {motion:?} is not one of {MOTIONS:?}")));
                }
            }
            CameraAction::Preset { number, .. } => {
                if *number == 0 {
                    return Err(ParseError::Invalid("a preset is numbered 1–255".into()));
                }
            }
            CameraAction::PresetPlaced { number, lon, lat } => {
                if *number == 0 || !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
                    return Err(ParseError::Invalid(
                        "a preset placed is numbered 1–255, at a longitude and latitude".into(),
                    ));
                }
            }
            CameraAction::Clip { file, sha256, seconds, .. } => {
                check_key("file", file)?;
                if file.contains(['/', '\\']) {
                    return Err(ParseError::Invalid("a clip's file is a name, not a path".into()));
                }
                if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ParseError::Invalid("a clip's sha256 is 64 hex digits".into()));
                }
                if !seconds.is_finite() || *seconds < 0.0 {
                    return Err(ParseError::Invalid("a clip's length is a number of seconds".into()));
                }
            }
        }
        Ok(())
    }
}
