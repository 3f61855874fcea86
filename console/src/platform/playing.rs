//! The platform's side of the wall, on the UI thread: a platform camera that comes on screen is
//! asked for at its platform, its stream address goes where the wall's feeds find addresses,
//! and when the wall no longer runs its feed (after the grace period) the stream is given back.
//!
//! A camera the platform refused to play says why on its tile (the platform's own words) and is
//! asked for again after [`RETRY`] while it stays on screen; an offline camera, or one the
//! platform no longer lists, is not asked for at all and its tile says so.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use streams::video::FeedState;

use crate::core::Core;
use crate::core::camera::{Camera, Presence, Preset, StreamUris};
use crate::core::wall::Quality;
use crate::i18n::I18n;
use crate::platform::{Ask, Motion, PlatformUpdate, Platforms};

/// How long a refused camera waits before it is asked for again.
pub const RETRY: Duration = Duration::from_secs(30);

/// The PTZ speed the tile's controls move at (wvp: 0–255 for pan and tilt, 0–15 for zoom).
pub const PTZ_SPEED: u8 = 128;

pub struct PlatformStreams {
    platforms: Platforms,
    /// Asked for, no answer yet.
    asked: HashSet<String>,
    /// Running at the platform for this seat (their addresses are in the wall's map).
    playing: HashSet<String>,
    /// Refused: why, and when.
    refused: HashMap<String, (String, Instant)>,
    /// The PTZ cameras' presets, read when each first plays and after each save.
    presets: HashMap<String, Vec<Preset>>,
    /// When each camera's stream was last asked for anew (at most once per [`RETRY`]).
    renewed: HashMap<String, Instant>,
    /// PTZ or preset commands refused: why, and when (shown on the tile for [`NOTICE_SHOWN`]).
    not_steered: HashMap<String, (String, Instant)>,
}

/// How long a refused PTZ command's reason stays on its tile.
pub const NOTICE_SHOWN: Duration = Duration::from_secs(10);

impl PlatformStreams {
    pub fn new(platforms: Platforms) -> PlatformStreams {
        PlatformStreams {
            platforms,
            asked: HashSet::new(),
            playing: HashSet::new(),
            refused: HashMap::new(),
            presets: HashMap::new(),
            not_steered: HashMap::new(),
            renewed: HashMap::new(),
        }
    }

    /// Takes in what the platforms said: directories into `core`, stream addresses into `uris`.
    pub fn pump(&mut self, core: &mut Core, uris: &mut HashMap<String, StreamUris>) {
        while let Ok(update) = self.platforms.updates.try_recv() {
            match update {
                PlatformUpdate::Directory { platform, cameras } => core.platform_directory(&platform, cameras),
                PlatformUpdate::DirectoryFailed { platform, reason } => {
                    if let Some(link) = core.video_platforms.iter_mut().find(|l| l.id == platform) {
                        link.trouble = Some(reason);
                    }
                }
                PlatformUpdate::Playing { camera, uris: addresses } => {
                    // An answer for a camera that left the wall meanwhile is given back at
                    // the next `follow`.
                    self.asked.remove(&camera);
                    if let Some(c) = core.camera(&camera).filter(|c| c.ptz && !self.presets.contains_key(&c.id))
                        && let Some((platform, device, channel)) = c.on_platform()
                    {
                        let ask =
                            Ask::Presets { camera: camera.clone(), device: device.into(), channel: channel.into() };
                        self.platforms.ask(platform, ask);
                    }
                    self.refused.remove(&camera);
                    self.playing.insert(camera.clone());
                    uris.insert(camera, addresses);
                }
                PlatformUpdate::NotSteered { camera, reason } => {
                    self.not_steered.insert(camera, (reason, Instant::now()));
                }
                PlatformUpdate::Presets { camera, presets } => {
                    self.presets.insert(camera, presets);
                }
                PlatformUpdate::Refused { camera, reason } => {
                    self.asked.remove(&camera);
                    self.refused.insert(camera, (reason, Instant::now()));
                }
            }
        }
    }

    /// Asks for the platform cameras on screen that have no stream yet, and gives back the ones
    /// whose feeds stopped (`running`: the wall's feeds, on screen or parked).
    pub fn follow(
        &mut self,
        core: &Core,
        running: &[(String, Quality)],
        uris: &mut HashMap<String, StreamUris>,
        now: Instant,
    ) {
        let on_screen: HashSet<&str> = core.wall.on_screen().into_iter().map(|(_, camera, _)| camera).collect();
        for &id in &on_screen {
            let Some(camera) = core.camera(id) else { continue };
            let Some((platform, device, channel)) = camera.on_platform() else { continue };
            let waiting = self.refused.get(id).is_some_and(|(_, at)| now.duration_since(*at) < RETRY);
            if camera.presence != Presence::Online || uris.contains_key(id) || self.asked.contains(id) || waiting {
                continue;
            }
            let ask = Ask::Play { camera: id.to_owned(), device: device.to_owned(), channel: channel.to_owned() };
            if self.platforms.ask(platform, ask) {
                self.asked.insert(id.to_owned());
            }
        }
        let done: Vec<String> = self
            .playing
            .iter()
            .filter(|id| !on_screen.contains(id.as_str()) && !running.iter().any(|(c, _)| c == *id))
            .cloned()
            .collect();
        for id in done {
            self.playing.remove(&id);
            uris.remove(&id);
            if let Some((platform, device, channel)) = core.camera(&id).and_then(Camera::on_platform) {
                let ask = Ask::Stop { camera: id.clone(), device: device.to_owned(), channel: channel.to_owned() };
                self.platforms.ask(platform, ask);
            }
        }
    }

    /// Reads every platform's directory again now.
    pub fn resync(&self) {
        for platform in self.platforms.ids() {
            self.platforms.ask(platform, Ask::Sync);
        }
    }

    /// The platform cameras among `lost` (feeds that keep failing to reconnect) whose streams
    /// the platform gave: the stream is given back and its address forgotten, so that it is
    /// asked for anew (a device or media server that dropped a stream needs a new play). Returns
    /// them, for the wall to stop their feeds. A camera is renewed at most once per [`RETRY`].
    pub fn renew(&mut self, core: &Core, lost: &[String], uris: &mut HashMap<String, StreamUris>) -> Vec<String> {
        let mut renewed = vec![];
        for id in lost {
            // A stream that cannot be had is not asked for over and over: once per RETRY.
            if self.renewed.get(id).is_some_and(|at| at.elapsed() < RETRY) || !self.playing.remove(id) {
                continue;
            }
            self.renewed.insert(id.clone(), Instant::now());
            uris.remove(id);
            if let Some((platform, device, channel)) = core.camera(id).and_then(Camera::on_platform) {
                let ask = Ask::Stop { camera: id.clone(), device: device.to_owned(), channel: channel.to_owned() };
                self.platforms.ask(platform, ask);
            }
            tracing::info!(camera = %id, "platform stream lost: asked for anew");
            renewed.push(id.clone());
        }
        renewed
    }

    /// Moves a platform camera (until [`Motion::Stop`]); false when it is not one.
    pub fn steer(&self, camera: &Camera, motion: Motion) -> bool {
        let Some((platform, device, channel)) = camera.on_platform() else { return false };
        let ask = Ask::Ptz {
            camera: camera.id.clone(),
            device: device.to_owned(),
            channel: channel.to_owned(),
            motion,
            speed: PTZ_SPEED,
        };
        self.platforms.ask(platform, ask)
    }

    /// Sends a platform camera to a preset, or saves one; false when it is not one.
    pub fn preset(&self, camera: &Camera, number: u8, save: bool) -> bool {
        let Some((platform, device, channel)) = camera.on_platform() else { return false };
        let (camera, device, channel) = (camera.id.clone(), device.to_owned(), channel.to_owned());
        self.platforms.ask(platform, Ask::Preset { camera, device, channel, number, save })
    }

    /// Why the camera's last PTZ or preset command was refused, for a few seconds after.
    pub fn notice(&self, camera: &str) -> Option<&str> {
        let (reason, at) = self.not_steered.get(camera)?;
        (at.elapsed() < NOTICE_SHOWN).then_some(reason.as_str())
    }

    /// A camera's presets, as its platform last listed them; `None` until it has (saving one
    /// before would write over a preset the camera keeps).
    pub fn presets(&self, camera: &str) -> Option<&[Preset]> {
        self.presets.get(camera).map(Vec::as_slice)
    }

    /// What the tile of a platform camera with no feed yet says: offline, gone, refused (with
    /// the platform's words), or connecting. `None` for other cameras.
    pub fn tile_state(&self, camera: &Camera, tr: &I18n) -> Option<FeedState> {
        camera.on_platform()?;
        let failed = |reason: String| Some(FeedState::Failed { reason });
        match camera.presence {
            Presence::Offline => failed(tr.t("wall.platform_offline").to_owned()),
            Presence::Gone => failed(tr.t("wall.platform_gone").to_owned()),
            Presence::Online => match self.refused.get(&camera.id) {
                Some((reason, _)) => failed(tr.f("wall.platform_refused", &[("reason", reason)])),
                None => Some(FeedState::Connecting),
            },
        }
    }
}
