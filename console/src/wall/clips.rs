//! Evidence clips from the wall's tiles: where they are kept (the seat's `clips` folder, one
//! Matroska file per recording, named after the camera and the start time), what a tile says
//! while one records or after one failed, and the record each kept clip leaves in the log
//! (`camera_used`, with the incident selected when it started).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use streams::feed::CameraAction;
use streams::video::Clip;

use crate::core::{Core, Effect};
use crate::wall::feeds::WallFeeds;

/// What a recording's end says: its camera, the incident it was for, the clip or why not.
type Ended = (String, Option<String>, Result<Clip, String>);

/// How long a failed recording's reason stays on its tile.
const TROUBLE_SHOWN: Duration = Duration::from_secs(30);

/// What a tile shows of its recording.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordingMark {
    /// Recording since then.
    Since(Instant),
    /// The last recording ended with this error.
    Failed(String),
}

pub struct Clips {
    folder: PathBuf,
    ended_tx: mpsc::Sender<Ended>,
    ended: mpsc::Receiver<Ended>,
    started: HashMap<String, Instant>,
    trouble: HashMap<String, (String, Instant)>,
}

impl Clips {
    /// Clips go into `folder` (made when the first one starts).
    pub fn new(folder: PathBuf) -> Clips {
        let (ended_tx, ended) = mpsc::channel();
        Clips { folder, ended_tx, ended, started: HashMap::new(), trouble: HashMap::new() }
    }

    /// Starts recording tile `tile` (showing `camera`) for at most `minutes`; `waker` is called
    /// when it ends.
    pub fn start(
        &mut self,
        feeds: &WallFeeds,
        (tile, camera): (usize, &str),
        minutes: u32,
        incident: Option<String>,
        waker: streams::Waker,
    ) {
        let at = chrono::Utc::now().with_timezone(&crate::core::ZONE).format("%Y%m%d-%H%M%S-%3f");
        let safe: String = camera.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let path = self.folder.join(format!("{safe}-{at}.mkv"));
        let (tx, id) = (self.ended_tx.clone(), camera.to_owned());
        let done = Box::new(move |ended| {
            let _ = tx.send((id, incident, ended));
            waker();
        });
        let started = std::fs::create_dir_all(&self.folder)
            .map_err(|e| format!("{}: {e}", self.folder.display()))
            .and_then(|()| feeds.record(tile, &path, Duration::from_secs(u64::from(minutes.max(1)) * 60), done));
        match started {
            Ok(()) => {
                tracing::info!(%camera, file = %path.display(), "recording");
                self.trouble.remove(camera);
                self.started.insert(camera.to_owned(), Instant::now());
            }
            Err(reason) => {
                tracing::warn!(%camera, %reason, "recording not started");
                self.trouble.insert(camera.to_owned(), (reason, Instant::now()));
            }
        }
    }

    /// Takes in the recordings that ended: the record of each kept clip, for the log.
    pub fn pump(&mut self, core: &mut Core) -> Vec<Effect> {
        let mut effects = vec![];
        while let Ok((camera, incident, ended)) = self.ended.try_recv() {
            self.started.remove(&camera);
            match ended {
                Ok(clip) => {
                    tracing::info!(%camera, file = %clip.path.display(), seconds = clip.seconds, "clip kept");
                    let file = clip.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if let Some(reason) = &clip.cut {
                        self.trouble.insert(camera.clone(), (reason.clone(), Instant::now()));
                    }
                    let action = CameraAction::Clip {
                        file,
                        sha256: clip.sha256,
                        bytes: clip.bytes,
                        seconds: clip.seconds,
                        cut: clip.cut,
                    };
                    effects.push(core.clip_kept(&camera, incident, action, chrono::Utc::now()));
                }
                Err(reason) => {
                    tracing::warn!(%camera, %reason, "recording ended without a clip");
                    self.trouble.insert(camera, (reason, Instant::now()));
                }
            }
        }
        self.trouble.retain(|_, (_, at)| at.elapsed() < TROUBLE_SHOWN);
        effects
    }

    /// Whether a recording started here has not ended yet.
    pub fn recording(&self) -> bool {
        !self.started.is_empty()
    }

    /// What `camera`'s tile shows of its recording.
    pub fn mark(&self, feeds: &WallFeeds, camera: &str) -> Option<RecordingMark> {
        if let Some(since) = self.started.get(camera).filter(|_| feeds.recording(camera)) {
            return Some(RecordingMark::Since(*since));
        }
        self.trouble.get(camera).map(|(reason, _)| RecordingMark::Failed(reason.clone()))
    }
}
