//! A simulated PTZ head: the camera looks at a window of a larger scene, and steering moves
//! the window (pan, tilt) or shrinks it (zoom), as a dome camera's picture moves.
//!
//! The scene is the camera's test picture at [`SCENE`] size; its pipeline crops the window out
//! (`videocrop name=ptz`) and scales it to the stream's size. A head moves at the velocity it
//! was last given until told to stop; [`PtzHeads::tick`] advances every head and sets the
//! crops of every pipeline that shows it (the sub and the main stream each have one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

/// The scene a PTZ camera looks into, in pixels.
pub const SCENE: (u32, u32) = (1280, 720);
/// The most a head zooms in: its window is then the scene's size divided by this times two.
pub const MAX_ZOOM: f64 = 4.0;

/// Where a head looks: the window's centre as a fraction of the scene (0–1 each way) and the
/// zoom (1: half the scene each way, up to [`MAX_ZOOM`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub pan: f64,
    pub tilt: f64,
    pub zoom: f64,
}

/// How fast a head moves: scene fractions per second for pan and tilt (right and down
/// positive), zoom factor per second (in positive).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Velocity {
    pub pan: f64,
    pub tilt: f64,
    pub zoom: f64,
}

struct Head {
    pose: Pose,
    moving: Velocity,
    /// Poses kept by number (1–255), as a dome keeps its presets.
    presets: std::collections::BTreeMap<u8, Pose>,
    /// The crop elements of the pipelines showing this camera now.
    crops: Vec<glib::WeakRef<gst::Element>>,
}

/// Every PTZ head of a camera server, shared with whoever steers them.
#[derive(Clone, Default)]
pub struct PtzHeads(Arc<Mutex<HashMap<String, Head>>>);

impl PtzHeads {
    /// Adds a head for `camera`, looking at the middle of its scene.
    pub(super) fn add(&self, camera: &str) {
        let pose = Pose { pan: 0.5, tilt: 0.5, zoom: 1.0 };
        let head = Head { pose, moving: Velocity::default(), presets: Default::default(), crops: vec![] };
        self.lock().insert(camera.to_owned(), head);
    }

    /// A pipeline showing `camera` started: its crop follows the head from now on.
    pub(super) fn attach(&self, camera: &str, crop: &gst::Element) {
        if let Some(head) = self.lock().get_mut(camera) {
            apply(crop, head.pose);
            head.crops.push(crop.downgrade());
        }
    }

    /// Sets how `camera` moves (a zero velocity stops it); false when it has no head.
    pub fn steer(&self, camera: &str, velocity: Velocity) -> bool {
        match self.lock().get_mut(camera) {
            Some(head) => {
                head.moving = velocity;
                true
            }
            None => false,
        }
    }

    /// Keeps where `camera` looks as preset `number`; false when it has no head.
    pub fn save_preset(&self, camera: &str, number: u8) -> bool {
        self.lock().get_mut(camera).map(|head| head.presets.insert(number, head.pose)).is_some()
    }

    /// Sends `camera` to its preset `number` (at once; it stops moving); false when it has no
    /// such preset.
    pub fn go_to_preset(&self, camera: &str, number: u8) -> bool {
        let mut heads = self.lock();
        let Some(head) = heads.get_mut(camera) else { return false };
        let Some(pose) = head.presets.get(&number).copied() else { return false };
        head.pose = pose;
        head.moving = Velocity::default();
        head.crops.retain(|crop| crop.upgrade().inspect(|c| apply(c, pose)).is_some());
        true
    }

    /// The numbers of `camera`'s presets.
    pub fn presets(&self, camera: &str) -> Vec<u8> {
        self.lock().get(camera).map(|h| h.presets.keys().copied().collect()).unwrap_or_default()
    }

    /// Where `camera` looks now.
    pub fn pose(&self, camera: &str) -> Option<Pose> {
        self.lock().get(camera).map(|h| h.pose)
    }

    /// Moves every moving head on by `seconds`, and its pipelines' crops with it.
    pub(super) fn tick(&self, seconds: f64) {
        for head in self.lock().values_mut() {
            if head.moving == Velocity::default() {
                continue;
            }
            let Pose { pan, tilt, zoom } = head.pose;
            let zoom = (zoom * (1.0 + head.moving.zoom * seconds)).clamp(1.0, MAX_ZOOM);
            // The window stays inside the scene: its half-size is a quarter of it at zoom 1.
            let half = 0.25 / zoom;
            let pan = (pan + head.moving.pan * seconds / zoom).clamp(half, 1.0 - half);
            let tilt = (tilt + head.moving.tilt * seconds / zoom).clamp(half, 1.0 - half);
            head.pose = Pose { pan, tilt, zoom };
            head.crops.retain(|crop| crop.upgrade().inspect(|c| apply(c, head.pose)).is_some());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Head>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sets a crop to the window of `pose`, in even pixels (the picture is I420).
fn apply(crop: &gst::Element, pose: Pose) {
    let (width, height) = (SCENE.0 as f64, SCENE.1 as f64);
    let even = |v: f64| ((v / 2.0).round() as i32 * 2).max(0);
    let (w, h) = (width / (2.0 * pose.zoom), height / (2.0 * pose.zoom));
    let left = even(pose.pan * width - w / 2.0);
    let top = even(pose.tilt * height - h / 2.0);
    let right = even(width - left as f64 - w);
    let bottom = even(height - top as f64 - h);
    crop.set_property("left", left);
    crop.set_property("top", top);
    crop.set_property("right", right);
    crop.set_property("bottom", bottom);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_pans_until_told_to_stop_and_never_leaves_its_scene() {
        let heads = PtzHeads::default();
        heads.add("dome");
        assert!(heads.steer("dome", Velocity { pan: -0.1, ..Velocity::default() }));
        heads.tick(1.0);
        let moved = heads.pose("dome").unwrap();
        assert!((moved.pan - 0.4).abs() < 1e-9, "{moved:?}");
        heads.tick(100.0);
        assert_eq!(heads.pose("dome").unwrap().pan, 0.25, "stops at the scene's edge");
        heads.steer("dome", Velocity { zoom: 1.0, ..Velocity::default() });
        heads.tick(100.0);
        let zoomed = heads.pose("dome").unwrap();
        assert_eq!((zoomed.zoom, zoomed.pan), (MAX_ZOOM, 0.25));
        heads.steer("dome", Velocity::default());
        heads.tick(1.0);
        assert_eq!(heads.pose("dome").unwrap(), zoomed, "stopped");
        // A preset kept here brings it back from anywhere.
        assert!(heads.save_preset("dome", 3));
        heads.steer("dome", Velocity { tilt: 0.2, zoom: -1.0, ..Velocity::default() });
        heads.tick(1.0);
        assert_ne!(heads.pose("dome").unwrap(), zoomed);
        assert!(heads.go_to_preset("dome", 3));
        assert_eq!((heads.pose("dome").unwrap(), heads.presets("dome")), (zoomed, vec![3]));
        assert!(!heads.go_to_preset("dome", 4), "no such preset");
        assert!(!heads.steer("nobody", Velocity::default()));
    }
}
