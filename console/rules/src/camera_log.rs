//! What the seat tells the log about its cameras: each PTZ movement an officer starts and each
//! preset gone to or saved (who moved which camera when), and each evidence clip kept from a tile, with the incident selected at
//! the seat (see `linkage_protocol::camera_use`).

use linkage_protocol::{Body, CameraAction, CameraUse};

use crate::camera::Motion;
use crate::{Core, Effect};

impl Motion {
    /// Its name in the log; `None` for a stop (not logged).
    pub fn code(self) -> Option<&'static str> {
        match self {
            Motion::Left => Some("left"),
            Motion::Right => Some("right"),
            Motion::Up => Some("up"),
            Motion::Down => Some("down"),
            Motion::ZoomIn => Some("zoom_in"),
            Motion::ZoomOut => Some("zoom_out"),
            Motion::Stop => None,
        }
    }
}

impl Core {
    /// Moves a PTZ camera: the movement for the platform, and (when it starts one) its record
    /// for the log. Nothing for a camera that does not turn.
    pub(crate) fn steer(&mut self, camera: String, motion: Motion, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
        // A stop always goes (the camera may have been re-read as fixed while it moved).
        let steerable = |c: &crate::camera::Camera| c.ptz || (motion == Motion::Stop && c.on_platform().is_some());
        if !self.camera(&camera).is_some_and(steerable) {
            return vec![];
        }
        let record = motion.code().map(|m| self.camera_used(&camera, CameraAction::Steered { motion: m.into() }, now));
        std::iter::once(Effect::Steer { camera, motion }).chain(record).collect()
    }

    /// Sends a PTZ camera to a preset, or saves one: the command for the platform and its
    /// record for the log. Nothing for a camera that does not turn, or preset 0.
    pub(crate) fn preset(
        &mut self,
        camera: String,
        number: u8,
        save: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Effect> {
        if number == 0 || !self.camera(&camera).is_some_and(|c| c.ptz) {
            return vec![];
        }
        let record = self.camera_used(&camera, CameraAction::Preset { number, saved: save }, now);
        vec![Effect::Preset { camera, number, save }, record]
    }

    /// The preset being marked is placed at (`lon`, `lat`): on this seat's map at once, and in
    /// the log for every seat.
    pub(crate) fn place_preset(&mut self, lon: f64, lat: f64, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
        let Some((camera, number)) = self.placing_preset.take() else { return vec![] };
        self.preset_places.entry(camera.clone()).or_default().insert(number, (lon, lat));
        vec![self.camera_used(&camera, CameraAction::PresetPlaced { number, lon, lat }, now)]
    }

    /// What the log says was done with a camera that the seat keeps: where presets look.
    pub(crate) fn camera_used_logged(&mut self, used: &CameraUse) {
        if let CameraAction::PresetPlaced { number, lon, lat } = used.action {
            self.preset_places.entry(used.camera.clone()).or_default().insert(number, (lon, lat));
        }
    }

    /// The PTZ cameras an incident's officer can turn to look at it (see [`crate::camera::turn_to`]).
    pub fn turn_to(&self, incident: &crate::TrackedIncident) -> Vec<crate::camera::TurnTo> {
        let at = incident.incident.report.location;
        crate::camera::turn_to(&self.cameras, &self.preset_places, at.lon, at.lat)
    }

    /// A clip of `camera` was kept for `incident` (the one selected when the recording
    /// started): its record for the log.
    pub fn clip_kept(
        &mut self,
        camera: &str,
        incident: Option<String>,
        clip: CameraAction,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Effect {
        let mut effect = self.camera_used(camera, clip, now);
        if let Effect::Send(Body::UseCamera(used)) = &mut effect {
            used.incident = incident;
        }
        effect
    }

    fn camera_used(&self, camera: &str, action: CameraAction, now: chrono::DateTime<chrono::Utc>) -> Effect {
        let mut camera_name = self.camera(camera).map_or_else(|| camera.to_owned(), |c| c.name.clone());
        // The log takes names of up to 128 bytes: a long Chinese name is cut at a character.
        while camera_name.len() > 128 {
            camera_name.pop();
        }
        Effect::Send(Body::UseCamera(CameraUse {
            key: crate::command_key(now),
            camera: camera.to_owned(),
            camera_name,
            incident: self.selected.clone(),
            action,
            by: String::new(),
        }))
    }
}
