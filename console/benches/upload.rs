//! `make bench-upload`: what the wall's pictures cost the UI thread once they are decoded — the
//! upload of each new frame's native I420 planes to the GPU and the GPU's scaling and colour
//! conversion as it draws them — for the frames bench-wall's feeds deliver: 9 sub streams at
//! 704×576 and 1 main stream at 1920×1080, all new every frame (every camera at 25 fps gives
//! each 40 ms frame a new picture on every tile).
//!
//! Drawn by egui's wgpu renderer (kittest's; on this machine Mesa's lavapipe, a GPU emulated on
//! the CPU: the sampling costs CPU here that a real GPU would take off it). Each frame is the
//! UI pass, the render and the read-back of a 1280×540 window; the same frames are timed
//! twice, once with the pictures unchanged (nothing uploaded) and once with every tile's
//! picture new, and the difference is the upload. Prints the two medians, then last:
//! `upload-bench tiles=10 sub=704x576 main=1920x1080 frame_ms_same=A frame_ms_new=B upload_ms=C upload_cores_at_25fps=D`

use std::sync::Arc;
use std::time::Instant;

use egui::{Rect, pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
use gstreamer as gst;
use gstreamer_video as gst_video;
use linkage::ui::yuv::{Renderer, YuvPainter, wgpu::install};
use streams::video::Frame;

const SUB: (u32, u32) = (704, 576);
const MAIN: (u32, u32) = (1920, 1080);
const TILES: usize = 10;

/// A decoded picture of `size`, grey with a gradient, as the decoder would hand it over.
fn frame((w, h): (u32, u32)) -> Arc<Frame> {
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, w, h).build().expect("I420 info");
    let bytes: Vec<u8> = (0..info.size()).map(|i| (i % 251) as u8).collect();
    let data = gst::Buffer::from_mut_slice(bytes).into_mapped_buffer_readable().expect("mapped");
    Arc::new(Frame::decoded(&info, 1, data).expect("a frame"))
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let frames_per_phase = if smoke { 5 } else { 100 };
    gst::init().expect("GStreamer");
    let render_state = create_render_state(default_wgpu_setup(), eframe::egui_wgpu::RendererOptions::PREDICTABLE);
    install(&render_state);
    let mut painter = YuvPainter::default();
    painter.renderer(Renderer::Wgpu);
    // Per tile its picture and three frames taken in turn: the renderer still holds the last
    // ones drawn while the next frame is laid out.
    let mut tiles: Vec<_> = (0..TILES)
        .map(|t| (painter.picture(), std::array::from_fn::<_, 3, _>(|_| frame(if t == 0 { MAIN } else { SUB }))))
        .collect();
    let mut seq = 1;
    let new_pictures = std::rc::Rc::new(std::cell::Cell::new(false));
    let new = new_pictures.clone();
    let mut harness = Harness::builder()
        .with_size(vec2(1280.0, 540.0))
        .renderer(WgpuTestRenderer::from_render_state(render_state))
        .build_ui(move |ui| {
            if new.get() {
                seq += 1;
            }
            for (t, (picture, frames)) in tiles.iter_mut().enumerate() {
                let frame = &mut frames[seq as usize % 3];
                if frame.seq != seq {
                    // Drawn three frames ago and let go of since: the same planes as a new picture.
                    Arc::get_mut(frame).expect("a frame three frames old is the tile's alone").seq = seq;
                }
                // A 4 × 3 wall of 320 × 180 tiles, the main stream first.
                let at = pos2((t % 4) as f32 * 320.0, (t / 4) as f32 * 180.0);
                painter.paint(ui.painter(), Rect::from_min_size(at, vec2(320.0, 180.0)), picture, frame);
            }
        });
    // The first frame creates the textures; then the same pictures, then new ones each frame.
    new_pictures.set(true);
    harness.step();
    let _ = harness.render();
    let mut phase = |new_each_frame: bool| -> f64 {
        new_pictures.set(new_each_frame);
        let mut times = vec![];
        for n in 0..frames_per_phase + 5 {
            let started = Instant::now();
            harness.step();
            let image = harness.render().expect("rendered");
            std::hint::black_box(image);
            if n >= 5 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        median(times)
    };
    let same = phase(false);
    let new = phase(true);
    let upload = (new - same).max(0.0);
    println!("frame_ms with unchanged pictures {same:.2}, with every picture new {new:.2}");
    println!(
        "upload-bench tiles={TILES} sub={}x{} main={}x{} frame_ms_same={same:.2} frame_ms_new={new:.2} upload_ms={upload:.2} upload_cores_at_25fps={:.3}",
        SUB.0,
        SUB.1,
        MAIN.0,
        MAIN.1,
        upload * 25.0 / 1000.0
    );
}
