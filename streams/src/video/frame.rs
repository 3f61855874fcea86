//! The hand-over point between a decoder thread and the screen.
//!
//! A [`FrameSlot`] holds only the newest frame. The decoder thread replaces it; the UI takes
//! a look when it draws and uploads a texture only when the sequence number moved. The frame
//! keeps the decoder's own buffer (mapped read-only), so nothing is copied on the way in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;

/// One decoded picture in tightly packed RGBA, as the appsink produced it.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// Bytes per row; equal to `width * 4` for RGBA.
    pub stride: usize,
    /// Counts frames of this feed from 1; a new number means a new picture.
    pub seq: u64,
    /// Wall-clock time of arrival: a stalled tile says since when its signal is lost.
    pub received: std::time::SystemTime,
    data: gst::MappedBuffer<gst::buffer::Readable>,
}

impl Frame {
    pub(crate) fn new(
        width: u32,
        height: u32,
        stride: usize,
        seq: u64,
        data: gst::MappedBuffer<gst::buffer::Readable>,
    ) -> Self {
        Frame { width, height, stride, seq, received: std::time::SystemTime::now(), data }
    }

    /// The pixels, `stride * height` bytes of RGBA.
    pub fn rgba(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// The rows without padding, for consumers that want `width * 4` bytes a row.
    pub fn rows(&self) -> impl Iterator<Item = &[u8]> {
        let row = self.width as usize * 4;
        self.rgba().chunks(self.stride).take(self.height as usize).map(move |r| &r[..row])
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame#{} {}x{}", self.seq, self.width, self.height)
    }
}

/// The newest frame of one feed, shared between its decoder thread and the screen.
#[derive(Default)]
pub struct FrameSlot {
    newest: Mutex<Option<Arc<Frame>>>,
    count: AtomicU64,
}

impl FrameSlot {
    /// Puts a frame in, dropping the one it replaces.
    pub fn put(&self, frame: Frame) {
        let frame = Arc::new(frame);
        self.count.store(frame.seq, Ordering::Release);
        if let Ok(mut newest) = self.newest.lock() {
            *newest = Some(frame);
        }
    }

    /// The newest frame, if any arrived yet. Cheap: clones an `Arc`.
    pub fn newest(&self) -> Option<Arc<Frame>> {
        self.newest.lock().ok().and_then(|n| n.clone())
    }

    /// The sequence number of the newest frame (0 before the first).
    pub fn seq(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }
}
