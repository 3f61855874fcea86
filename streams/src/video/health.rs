//! What a feed is doing, as its tile shows it.

use std::time::Duration;

/// The life of a feed. The supervisor moves it; the wall draws it on the tile.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedState {
    /// Building the pipeline and waiting for the first frame.
    Connecting,
    /// Frames arrive; `fps` and `kbps` (the compressed stream into the decoder) are measured
    /// over the last second. `decoder` is the decoding element, `hardware` whether it runs on a
    /// GPU or a VPU (VA-API, NVDEC, V4L2) rather than on the CPU.
    /// `sound`: the stream's sound is playing (only asked for on the focused tile).
    /// `latency_ms`: what the console adds — the RTSP jitter buffer and decoding — up to
    /// the frame being ready to draw (what the camera and the network add is not visible here).
    Playing {
        fps: f32,
        width: u32,
        height: u32,
        kbps: u32,
        decoder: String,
        hardware: bool,
        sound: bool,
        latency_ms: u32,
    },
    /// No new picture for a while — no frames at all, or (`frozen`) the same picture over and
    /// over; the tile keeps the last good one.
    Stalled { for_secs: u64, frozen: bool },
    /// The pipeline failed or stalled and is rebuilt after `next_in`.
    Reconnecting { attempt: u32, next_in: Duration, reason: String },
    /// The feed cannot be built at all (a bad URI, a missing element).
    Failed { reason: String },
}
