//! The clips the bench serves, and the frame number drawn into every picture of them.
//!
//! A clip is a moving test picture (SMPTE bars scrolling sideways, so every macroblock changes
//! and the encoder spends its whole bit rate, as a camera's sensor noise makes it do) encoded
//! once at start like a camera encodes: H.264 High profile with CABAC and deblocking (x264
//! `veryfast`; `ultrafast` would leave both out and make decoding unrealistically cheap), no
//! B-frames, 25 fps, an IDR frame every 25 frames, a fixed bit rate. It is stored as Matroska,
//! so the server reads back each frame's timestamp.
//!
//! Before encoding, a probe draws the frame's number into its top-left corner
//! ([`linkage_tests::barcode`]).

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

pub const FPS: u64 = 25;
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;

/// The frame number of a buffer of a clip, from its timestamp.
pub fn index_of(pts: gst::ClockTime) -> u32 {
    ((pts.nseconds() + FRAME_NS / 2) / FRAME_NS) as u32
}

/// Encodes `frames` frames at `width`×`height` and `kbps` into `path`; returns when written.
/// A keyframe every second and none between, as a camera sends: x264's scene-cut detection,
/// left on, put one every 2–4 frames into this moving picture (ffprobe), and a viewer joining
/// mid-GOP then hardly waited.
pub fn encode(path: &Path, width: u32, height: u32, kbps: u32, frames: u64) -> Result<(), String> {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers={frames} pattern=smpte horizontal-speed=3 \
         ! capsfilter name=raw caps=\"video/x-raw,format=I420,width={width},height={height},framerate={FPS}/1\" \
         ! x264enc speed-preset=veryfast bframes=0 key-int-max={FPS} bitrate={kbps} option-string=scenecut=0 \
         ! matroskamux ! filesink location=\"{}\"",
        path.display()
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height)
        .build()
        .map_err(|e| e.to_string())?;
    let raw = pipeline.by_name("raw").and_then(|r| r.static_pad("src")).ok_or("no capsfilter")?;
    raw.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
        if let Some(buffer) = probe.buffer_mut()
            && let Some(pts) = buffer.pts()
            && let Ok(mut frame) = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer.make_mut(), &info)
        {
            linkage_tests::barcode::draw(&mut frame, index_of(pts));
        }
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).map_err(|e| e.to_string())?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let ended = bus.timed_pop_filtered(None, &[gst::MessageType::Eos, gst::MessageType::Error]);
    let _ = pipeline.set_state(gst::State::Null);
    match ended.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(format!("encoding {}: {}", path.display(), e.error())),
        _ => Err("the encoder stopped without a word".into()),
    }
}
