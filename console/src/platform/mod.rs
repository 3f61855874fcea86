//! Video platforms: where a site really keeps its cameras (a GB/T 28181 platform, or an ONVIF
//! camera answering for itself), and the seat's link to them.
//!
//! Each configured platform has one task on the seat's I/O runtime. It reads the platform's
//! directory at start, every `resync_secs` and when asked, and carries out what the wall asks
//! for — start a channel's stream, give it back, move a PTZ camera — each as its own task, so a
//! slow answer never holds the next one. What comes back ([`PlatformUpdate`]) waits in a
//! channel for the UI thread, which [`playing::PlatformStreams`] turns into cameras, stream
//! addresses and what a tile says.

pub mod onvif;
pub mod playing;
pub mod wvp;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{PlatformKind, PlatformSettings};
pub use crate::core::camera::Motion;
use crate::core::camera::{Camera, Preset, StreamUris};

/// What went wrong talking to a platform.
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformError {
    /// It could not be reached, or did not answer as the platform does.
    Link(String),
    /// It answered with a non-zero code: its message, for the duty officer.
    Answer(String),
    /// It says the token is no longer good.
    Unauthorized(String),
}

impl std::fmt::Display for PlatformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlatformError::Link(e) | PlatformError::Answer(e) | PlatformError::Unauthorized(e) => f.write_str(e),
        }
    }
}

/// What the seat asks a platform for; a camera is named by its device and channel there.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// Read the directory again now.
    Sync,
    Play {
        camera: String,
        device: String,
        channel: String,
    },
    Stop {
        camera: String,
        device: String,
        channel: String,
    },
    Ptz {
        camera: String,
        device: String,
        channel: String,
        motion: Motion,
        speed: u8,
    },
    /// List the camera's presets.
    Presets {
        camera: String,
        device: String,
        channel: String,
    },
    /// Go to preset `number`, or (`save`) keep the view as it; the list is read again after a
    /// save.
    Preset {
        camera: String,
        device: String,
        channel: String,
        number: u8,
        save: bool,
    },
}

/// What a platform said.
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformUpdate {
    /// Its whole directory, as cameras.
    Directory { platform: String, cameras: Vec<Camera> },
    /// Its directory could not be read: why. The cameras of the last good read stay.
    DirectoryFailed { platform: String, reason: String },
    /// A camera's stream is running there, at these addresses.
    Playing { camera: String, uris: StreamUris },
    /// A camera's stream was refused: the platform's words.
    Refused { camera: String, reason: String },
    /// A PTZ or preset command was refused: the platform's words.
    NotSteered { camera: String, reason: String },
    /// A camera's presets.
    Presets { camera: String, presets: Vec<Preset> },
}

/// The seat's platforms: asks go in, updates come out.
pub struct Platforms {
    asks: Vec<(String, mpsc::UnboundedSender<Ask>)>,
    pub updates: mpsc::UnboundedReceiver<PlatformUpdate>,
}

impl Platforms {
    /// Starts a task per platform on `runtime`; `cameras` are the configured ones (an ONVIF
    /// camera's platform keeps its name and place); `waker` is called with each update.
    pub fn start(
        settings: &[PlatformSettings],
        cameras: &[Camera],
        runtime: &tokio::runtime::Handle,
        waker: streams::Waker,
    ) -> Platforms {
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let asks = settings
            .iter()
            .filter_map(|s| {
                let (tx, rx) = mpsc::unbounded_channel();
                let client = Arc::new(match (s.kind, cameras.iter().find(|c| c.id == s.id)) {
                    (PlatformKind::Wvp, _) => Client::Wvp(Box::new(wvp::Wvp::new(s.clone()))),
                    (PlatformKind::Onvif, Some(camera)) => {
                        Client::Onvif(Box::new(onvif::Onvif::new(s.clone(), camera.clone())))
                    }
                    (PlatformKind::Onvif, None) => {
                        tracing::error!(camera = %s.id, "an ONVIF camera's platform without its camera: not started");
                        return None;
                    }
                });
                let out = Outbox { updates: updates_tx.clone(), waker: waker.clone() };
                runtime.spawn(run(s.clone(), client, rx, out));
                Some((s.id.clone(), tx))
            })
            .collect();
        Platforms { asks, updates }
    }

    /// The platforms' ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.asks.iter().map(|(id, _)| id.as_str())
    }

    /// Hands `ask` to the platform `platform`; false when there is no such platform.
    pub fn ask(&self, platform: &str, ask: Ask) -> bool {
        self.asks.iter().find(|(id, _)| id == platform).is_some_and(|(_, tx)| tx.send(ask).is_ok())
    }
}

/// A platform's API: a wvp's, or an ONVIF camera's own (its device and channel are unused).
enum Client {
    Wvp(Box<wvp::Wvp>),
    Onvif(Box<onvif::Onvif>),
}

impl Client {
    async fn directory(&self) -> Result<Vec<Camera>, PlatformError> {
        match self {
            Client::Wvp(c) => c.directory().await,
            Client::Onvif(c) => c.directory().await,
        }
    }

    async fn play(&self, device: &str, channel: &str) -> Result<StreamUris, PlatformError> {
        match self {
            Client::Wvp(c) => c.play(device, channel).await,
            Client::Onvif(c) => c.play().await,
        }
    }

    /// Gives a stream back (an ONVIF camera keeps no play session).
    async fn stop(&self, device: &str, channel: &str) -> Result<(), PlatformError> {
        match self {
            Client::Wvp(c) => c.stop(device, channel).await,
            Client::Onvif(_) => Ok(()),
        }
    }

    async fn ptz(&self, device: &str, channel: &str, motion: Motion, speed: u8) -> Result<(), PlatformError> {
        match self {
            Client::Wvp(c) => c.ptz(device, channel, motion, speed).await,
            Client::Onvif(c) => c.ptz(motion, speed).await,
        }
    }

    async fn presets(&self, device: &str, channel: &str) -> Result<Vec<Preset>, PlatformError> {
        match self {
            Client::Wvp(c) => c.presets(device, channel).await,
            Client::Onvif(c) => c.presets().await,
        }
    }

    async fn preset(&self, device: &str, channel: &str, number: u8, save: bool) -> Result<(), PlatformError> {
        match self {
            Client::Wvp(c) => c.preset(device, channel, number, save).await,
            Client::Onvif(c) => c.preset(number, save).await,
        }
    }
}

/// Where a platform's task puts what it learnt.
#[derive(Clone)]
struct Outbox {
    updates: mpsc::UnboundedSender<PlatformUpdate>,
    waker: streams::Waker,
}

impl Outbox {
    fn put(&self, update: PlatformUpdate) {
        if self.updates.send(update).is_ok() {
            (self.waker)();
        }
    }
}

/// One platform's task: the directory on a timer and on demand, the wall's asks as they come.
/// The asks for one camera run in the order they were made (a stop never overtakes the
/// movement it ends, nor a play the stop before it); different cameras' asks run side by side.
async fn run(settings: PlatformSettings, client: Arc<Client>, mut asks: mpsc::UnboundedReceiver<Ask>, out: Outbox) {
    let mut resync = tokio::time::interval(settings.resync);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut reading: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let ask = tokio::select! {
            _ = resync.tick() => Ask::Sync,
            ask = asks.recv() => match ask {
                Some(ask) => ask,
                None => return,
            },
        };
        let (client, out, platform) = (client.clone(), out.clone(), settings.id.clone());
        let camera = match &ask {
            Ask::Sync => {
                // One read at a time; the asks go on meanwhile.
                if reading.as_ref().is_none_or(|r| r.is_finished()) {
                    reading = Some(tokio::spawn(async move { carry_out(&platform, &client, ask, &out).await }));
                }
                continue;
            }
            Ask::Play { camera, .. }
            | Ask::Stop { camera, .. }
            | Ask::Ptz { camera, .. }
            | Ask::Presets { camera, .. }
            | Ask::Preset { camera, .. } => camera.clone(),
        };
        last.retain(|_, task| !task.is_finished());
        let before = last.remove(&camera);
        let task = tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            carry_out(&platform, &client, ask, &out).await;
        });
        last.insert(camera, task);
    }
}

/// One ask of platform `platform`: its directory, or something about one camera.
async fn carry_out(platform: &str, client: &Client, ask: Ask, out: &Outbox) {
    let platform = platform.to_owned();
    match ask {
        Ask::Sync => match client.directory().await {
            Ok(cameras) => {
                tracing::info!(%platform, cameras = cameras.len(), "platform directory read");
                out.put(PlatformUpdate::Directory { platform, cameras });
            }
            Err(e) => {
                tracing::warn!(%platform, error = %e, "platform directory not read");
                out.put(PlatformUpdate::DirectoryFailed { platform, reason: e.to_string() });
            }
        },
        Ask::Play { camera, device, channel } => match client.play(&device, &channel).await {
            Ok(uris) => out.put(PlatformUpdate::Playing { camera, uris }),
            Err(e) => {
                tracing::warn!(%camera, error = %e, "platform refused to play");
                out.put(PlatformUpdate::Refused { camera, reason: e.to_string() });
            }
        },
        Ask::Stop { camera, device, channel } => {
            if let Err(e) = client.stop(&device, &channel).await {
                // Not the tile's business any more: the camera left the wall.
                tracing::warn!(%camera, error = %e, "platform did not stop the stream");
            }
        }
        Ask::Ptz { camera, device, channel, motion, speed } => {
            if let Err(e) = client.ptz(&device, &channel, motion, speed).await {
                tracing::warn!(%camera, ?motion, error = %e, "platform refused the PTZ command");
                out.put(PlatformUpdate::NotSteered { camera, reason: e.to_string() });
            }
        }
        Ask::Presets { camera, device, channel } => match client.presets(&device, &channel).await {
            Ok(presets) => out.put(PlatformUpdate::Presets { camera, presets }),
            // A camera that keeps none, or does not answer: its menu offers none.
            Err(e) => tracing::info!(%camera, error = %e, "no presets"),
        },
        Ask::Preset { camera, device, channel, number, save } => {
            match client.preset(&device, &channel, number, save).await {
                Err(e) => {
                    tracing::warn!(%camera, number, save, error = %e, "platform refused the preset");
                    out.put(PlatformUpdate::NotSteered { camera, reason: e.to_string() });
                }
                Ok(()) if save => {
                    if let Ok(presets) = client.presets(&device, &channel).await {
                        out.put(PlatformUpdate::Presets { camera, presets });
                    }
                }
                Ok(()) => {}
            }
        }
    }
}
