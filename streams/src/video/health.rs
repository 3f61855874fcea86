//! What a feed is doing, as its tile shows it.

use std::time::Duration;

/// The life of a feed. The supervisor moves it; the wall draws it on the tile.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedState {
    /// Building the pipeline and waiting for the first frame.
    Connecting,
    /// Frames arrive; `fps` is measured over the last second.
    Playing { fps: f32, width: u32, height: u32 },
    /// No new frame for a while; the tile keeps the last one.
    Stalled { for_secs: u64 },
    /// The pipeline failed or stalled and is rebuilt after `next_in`.
    Reconnecting { attempt: u32, next_in: Duration, reason: String },
    /// The feed cannot be built at all (a bad URI, a missing element).
    Failed { reason: String },
}
