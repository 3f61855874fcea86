//! The feeds behind the wall's tiles: which pipelines run, and which picture each tile shows.
//!
//! Three rules, straight from what duty officers hate in other walls:
//! - **Only what is on screen decodes.** A tile hidden behind a focused one, or a camera paged
//!   off the wall, is parked; a parked feed that is not wanted again within the grace period
//!   (10 s) is stopped. Coming back inside the grace is instant: the pipeline never stopped.
//! - **The stream fits the tile.** A small tile plays the camera's sub stream, a focused or
//!   large tile its main stream ([`Wall::on_screen`] decides).
//! - **Never a black flash.** When a tile changes stream (sub → main on focus), the old feed
//!   keeps the tile's picture — frozen, with its own health line — until the new feed's first
//!   frame arrives; only then is the old one parked.
//!
//! A feed follows its camera and stream, not its tile: when tiles trade cameras, the running
//! pipelines trade places with them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use streams::Waker;
use streams::video::{ClipDone, FeedState, Frame, VideoFeed, VideoFeedOptions};

use crate::core::camera::StreamUris;
use crate::core::wall::{Quality, Stream, Wall};

/// How long a feed that left the screen keeps running in case it comes back.
pub const GRACE: Duration = Duration::from_secs(10);

/// One running pipeline: a camera's stream.
struct Playing {
    camera: String,
    stream: Stream,
    feed: VideoFeed,
}

impl Playing {
    fn is(&self, camera: &str, stream: Stream) -> bool {
        self.camera == camera && self.stream == stream
    }

    fn has_frame(&self) -> bool {
        self.feed.slot().seq() > 0
    }
}

/// What runs for one tile: the feed it wants, and the one it showed before while the new one
/// has no picture yet.
struct TileFeeds {
    now: Playing,
    before: Option<Playing>,
}

/// What a tile shows this frame.
pub struct TilePicture {
    pub camera: String,
    pub state: FeedState,
    pub frame: Option<Arc<Frame>>,
}

pub struct WallFeeds {
    tiles: Vec<Option<TileFeeds>>,
    /// Off screen, with when they left it.
    parked: Vec<(Playing, Instant)>,
    grace: Duration,
    waker: Waker,
}

impl WallFeeds {
    /// `waker` is called by every feed after each frame.
    pub fn new(grace: Duration, waker: Waker) -> WallFeeds {
        WallFeeds { tiles: vec![], parked: vec![], grace, waker }
    }

    /// Makes the running feeds follow the wall. Cheap when nothing changed; call it every frame.
    pub fn sync(&mut self, wall: &Wall, uris: &HashMap<String, StreamUris>, now: Instant) {
        let wanted: HashMap<usize, (&str, Stream)> =
            wall.on_screen().into_iter().map(|(i, camera, stream)| (i, (camera, stream))).collect();
        let unchanged = self.tiles.len() == wall.tiles.len()
            && self.tiles.iter().enumerate().all(|(i, t)| match (t, wanted.get(&i)) {
                (None, None) => true,
                (Some(t), Some(&(camera, stream))) => t.now.is(camera, stream),
                // A camera with no address yet (a platform's, asked for): nothing to start.
                (None, Some(&(camera, _))) => !uris.contains_key(camera),
                _ => false,
            });
        if !unchanged {
            self.rearrange(&wanted, wall.tiles.len(), uris, now);
        }
        // A new feed with its first picture: the old one may go.
        for tile in self.tiles.iter_mut().flatten() {
            if tile.now.has_frame()
                && let Some(before) = tile.before.take()
            {
                self.parked.push((before, now));
            }
        }
        let grace = self.grace;
        // A feed that records stays until its recording ends.
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(p, since)| now.duration_since(*since) >= grace && !p.feed.recording());
        self.parked = kept;
        for (playing, _) in expired {
            tracing::info!(camera = %playing.camera, stream = ?playing.stream, "feed stopped: off screen");
            stop_in_background(playing.feed);
        }
    }

    fn rearrange(
        &mut self,
        wanted: &HashMap<usize, (&str, Stream)>,
        tiles: usize,
        uris: &HashMap<String, StreamUris>,
        now: Instant,
    ) {
        // What each tile showed, for the frozen picture during a stream switch …
        let old_tiles: Vec<Option<TileFeeds>> = std::mem::take(&mut self.tiles);
        let previous: Vec<Option<(String, Stream)>> =
            (0..tiles).map(|i| old_tiles.get(i)?.as_ref().map(|t| (t.now.camera.clone(), t.now.stream))).collect();
        // … every running feed into a pool (remembering when it was parked, if it was) …
        let mut pool: Vec<(Playing, Option<Instant>)> = std::mem::take(&mut self.parked)
            .into_iter()
            .map(|(p, since)| (p, Some(since)))
            .chain(
                old_tiles.into_iter().flatten().flat_map(|t| std::iter::once(t.now).chain(t.before)).map(|p| (p, None)),
            )
            .collect();
        // … and each tile takes the feed it wants from the pool, or starts it.
        self.tiles = (0..tiles)
            .map(|i| {
                let &(camera, stream) = wanted.get(&i)?;
                let now_feed = match take(&mut pool, camera, stream) {
                    Some(p) => p,
                    None => self.start(camera, stream, uris)?,
                };
                // The same camera in the other stream, still running: it holds the picture.
                let before = match &previous[i] {
                    Some((c, s)) if c == camera && *s != stream && !now_feed.has_frame() => take(&mut pool, c, *s),
                    _ => None,
                };
                Some(TileFeeds { now: now_feed, before })
            })
            .collect();
        self.parked = pool.into_iter().map(|(p, since)| (p, since.unwrap_or(now))).collect();
    }

    /// What tile `i` shows: its feed's newest frame — or, while a new stream has no picture
    /// yet, the old stream's last one with the old stream's health.
    pub fn picture(&self, i: usize) -> Option<TilePicture> {
        let tile = self.tiles.get(i)?.as_ref()?;
        let shown = match &tile.before {
            Some(before) if !tile.now.has_frame() => before,
            _ => &tile.now,
        };
        Some(TilePicture {
            camera: tile.now.camera.clone(),
            state: shown.feed.state(),
            frame: shown.feed.slot().newest(),
        })
    }

    /// Every pipeline running, on screen or parked: (camera, stream).
    pub fn running(&self) -> Vec<(String, Quality)> {
        self.playing().map(|p| (p.camera.clone(), p.stream.quality)).collect()
    }

    fn playing(&self) -> impl Iterator<Item = &Playing> {
        let on_tiles = self.tiles.iter().flatten().flat_map(|t| std::iter::once(&t.now).chain(&t.before));
        on_tiles.chain(self.parked.iter().map(|(p, _)| p))
    }

    /// Records what tile `i` plays into an evidence clip at `path` (see
    /// [`streams::video::VideoFeed::record`]).
    pub fn record(&self, i: usize, path: &std::path::Path, limit: Duration, done: ClipDone) -> Result<(), String> {
        let tile = self.tiles.get(i).and_then(Option::as_ref).ok_or("the tile plays nothing")?;
        tile.now.feed.record(path, limit, done)
    }

    /// The cameras whose tile's feed has tried to reconnect `attempts` times or more.
    pub fn lost(&self, attempts: u32) -> Vec<String> {
        let reconnecting = |t: &&TileFeeds| matches!(t.now.feed.state(), FeedState::Reconnecting { attempt, .. } if attempt >= attempts);
        self.tiles.iter().flatten().filter(reconnecting).map(|t| t.now.camera.clone()).collect()
    }

    /// Stops every feed of `camera` now (its address is no longer good); a tile that wants it
    /// starts it again once it has an address.
    pub fn drop_camera(&mut self, camera: &str) {
        for tile in &mut self.tiles {
            if tile.as_ref().is_some_and(|t| t.now.camera == camera)
                && let Some(t) = tile.take()
            {
                stop_in_background(t.now.feed);
                if let Some(before) = t.before {
                    stop_in_background(before.feed);
                }
            }
        }
        let (gone, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.parked).into_iter().partition(|(p, _)| p.camera == camera);
        self.parked = kept;
        gone.into_iter().for_each(|(p, _)| stop_in_background(p.feed));
    }

    /// Every feed of `camera`, on screen or parked.
    fn of_camera<'a>(&'a self, camera: &'a str) -> impl Iterator<Item = &'a VideoFeed> {
        self.playing().filter(move |p| p.camera == camera).map(|p| &p.feed)
    }

    /// Ends every recording.
    pub fn stop_all_recordings(&self) {
        self.playing().for_each(|p| p.feed.stop_recording());
    }

    /// Ends the recordings of `camera`'s feeds.
    pub fn stop_recording(&self, camera: &str) {
        self.of_camera(camera).for_each(VideoFeed::stop_recording);
    }

    /// Whether one of `camera`'s feeds records.
    pub fn recording(&self, camera: &str) -> bool {
        self.of_camera(camera).any(VideoFeed::recording)
    }

    /// Whether every tile on screen plays its own stream (for `--screenshot`).
    pub fn all_playing(&self, wall: &Wall) -> bool {
        wall.on_screen().iter().all(|&(i, camera, stream)| {
            self.tiles.get(i).and_then(Option::as_ref).is_some_and(|t| {
                t.now.is(camera, stream) && t.now.has_frame() && matches!(t.now.feed.state(), FeedState::Playing { .. })
            })
        })
    }

    fn start(&self, camera: &str, stream: Stream, uris: &HashMap<String, StreamUris>) -> Option<Playing> {
        let Some(uri) = uris.get(camera) else {
            tracing::warn!(%camera, "camera has no stream address");
            return None;
        };
        let options = VideoFeedOptions { audio: stream.sound, ..VideoFeedOptions::default() };
        let name = match stream.quality {
            Quality::Sub => camera.to_owned(),
            Quality::Main => format!("{camera} main"),
        };
        let feed = VideoFeed::start(&name, uri.of(stream.quality), options, self.waker.clone());
        Some(Playing { camera: camera.to_owned(), stream, feed })
    }
}

fn take(pool: &mut Vec<(Playing, Option<Instant>)>, camera: &str, stream: Stream) -> Option<Playing> {
    let at = pool.iter().position(|(p, _)| p.is(camera, stream))?;
    Some(pool.swap_remove(at).0)
}

/// Stopping a pipeline can take a moment (its supervisor joins): never on the UI thread.
pub fn stop_in_background(feed: VideoFeed) {
    std::thread::spawn(move || drop(feed));
}
