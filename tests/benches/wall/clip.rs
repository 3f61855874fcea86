//! The clips the bench serves, and the frame number drawn into every picture of them.
//!
//! A clip is a moving test picture (SMPTE bars scrolling sideways, so every macroblock changes
//! and the encoder spends its whole bit rate, as a camera's sensor noise makes it do) encoded
//! once at start like a camera encodes: H.264 High profile with CABAC and deblocking (x264
//! `veryfast`; `ultrafast` would leave both out and make decoding unrealistically cheap), no
//! B-frames, 25 fps, an IDR frame every 25 frames, a fixed bit rate. It is stored as Matroska,
//! so the server reads back each frame's timestamp.
//!
//! Before encoding, a probe draws the frame's number into its top-left corner as two rows of
//! 16 black or white blocks: the number's bits, then their complement. A block is 1/22.5 of
//! the picture's height (25 px at 576 lines, 48 at 1080), so it survives compression. [`read`] takes the block centres of a decoded frame's
//! luma and accepts the number only if the second row is the complement of the first: a
//! smeared picture gives no number rather than a wrong one.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use streams::video::Frame;

pub const FPS: u64 = 25;
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;
const BITS: usize = 16;

/// The frame number of a buffer of a clip, from its timestamp.
pub fn index_of(pts: gst::ClockTime) -> u32 {
    ((pts.nseconds() + FRAME_NS / 2) / FRAME_NS) as u32
}

/// The side of a barcode block in a picture `height` lines high.
fn block(height: u32) -> usize {
    height as usize * 2 / 45
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
            draw(&mut frame, index_of(pts));
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

/// Draws `index` as two rows of blocks (bits, then their complement) in neutral grey levels.
fn draw(frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>, index: u32) {
    let b = block(frame.height());
    let strides: Vec<usize> = frame.plane_stride().iter().map(|s| *s as usize).collect();
    for bit in 0..BITS {
        let one = index >> (BITS - 1 - bit) & 1 == 1;
        for (row, white) in [(0, one), (1, !one)] {
            let (x, y) = (bit * b, row * b);
            // Luma black or white; both chroma planes (half size) neutral.
            for (plane, shift, value) in [(0, 0, if white { 235 } else { 16 }), (1, 1, 128), (2, 1, 128)] {
                let Ok(data) = frame.plane_data_mut(plane) else { continue };
                let stride = strides[plane as usize];
                for line in (y >> shift)..((y + b) >> shift) {
                    let start = line * stride + (x >> shift);
                    data[start..start + (b >> shift)].fill(value);
                }
            }
        }
    }
}

/// The frame number drawn into a decoded picture, if both rows read back consistently.
/// Blocks are black or white with neutral chroma, so luma alone tells them apart: the Y
/// plane at each block's centre, bright above mid-way between limited-range black (16) and
/// white (235).
pub fn read(frame: &Frame) -> Option<u32> {
    let b = block(frame.height);
    let (luma, stride) = frame.y();
    let bright = |bit: usize, row: usize| {
        let at = (row * b + b / 2) * stride + bit * b + b / 2;
        Some(*luma.get(at)? > 126)
    };
    let mut index = 0;
    for bit in 0..BITS {
        let one = bright(bit, 0)?;
        if bright(bit, 1)? == one {
            return None;
        }
        index = index << 1 | u32::from(one);
    }
    Some(index)
}
