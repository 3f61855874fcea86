//! Camera feeds: a URI becomes a GStreamer pipeline whose last element hands each decoded
//! frame to a [`FrameSlot`]. A supervisor thread per feed watches the pipeline's bus and the
//! flow of frames, and rebuilds the pipeline with back-off when the source fails or stalls.

mod colour;
mod decoder;
mod frame;
mod health;
mod recorder;
mod source;
mod start_gate;

pub use colour::{Colour, Matrix};
pub use decoder::decoder;
pub use frame::{Frame, FrameSlot};
pub use health::FeedState;
pub use recorder::{Clip, ClipDone};
pub use source::{VideoFeed, VideoFeedOptions};

/// Initialises GStreamer once per process; safe to call from many places.
pub fn init() -> Result<(), gstreamer::glib::Error> {
    gstreamer::init()
}
