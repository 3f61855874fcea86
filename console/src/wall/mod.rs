//! What the video wall needs beyond its view: the feeds behind its tiles (a GStreamer pipeline
//! per camera on screen, following the tiles) and the snapshots saved from them.

pub mod clips;
pub mod feeds;
pub mod snapshot;
