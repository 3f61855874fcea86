//! The wgpu renderer's picture path, drawn by egui's own wgpu renderer (kittest's, on Mesa's
//! lavapipe here): a D1 frame is scaled on the GPU into a tile half its size, and each
//! stream's colour matrix comes out right. Built with the `wgpu` feature (`make test` has it).
#![cfg(feature = "wgpu")]

use std::sync::Arc;

use egui::{Rect, pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
use gstreamer as gst;
use gstreamer_video as gst_video;
use linkage::ui::yuv::{Renderer, YuvPainter, wgpu::install};
use streams::video::{Colour, Frame, Matrix};

const W: u32 = 704;
const H: u32 = 576;

/// A D1 picture, its left half coded `left` and its right half `right` (Y, Cb, Cr), tagged
/// with `colorimetry` as a decoder's caps would be.
fn frame(colorimetry: &str, left: [u8; 3], right: [u8; 3]) -> Arc<Frame> {
    gst::init().unwrap();
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, W, H)
        .colorimetry(&colorimetry.parse().unwrap())
        .build()
        .unwrap();
    let mut bytes = vec![0u8; info.size()];
    for p in 0..3 {
        let (offset, stride) = (info.offset()[p], info.stride()[p] as usize);
        let (w, h) = if p == 0 { (W as usize, H as usize) } else { (W as usize / 2, H as usize / 2) };
        for row in 0..h {
            for col in 0..w {
                bytes[offset + row * stride + col] = if col < w / 2 { left[p] } else { right[p] };
            }
        }
    }
    let data = gst::Buffer::from_mut_slice(bytes).into_mapped_buffer_readable().unwrap();
    Arc::new(Frame::decoded(&info, 1, data).unwrap())
}

/// Draws `frame` into a 352×288 picture at (20, 20) with the wgpu path and renders the window.
fn render(frame: Arc<Frame>) -> image::RgbaImage {
    let render_state = create_render_state(default_wgpu_setup(), eframe::egui_wgpu::RendererOptions::PREDICTABLE);
    install(&render_state);
    let mut painter = YuvPainter::default();
    painter.renderer(Renderer::Wgpu);
    let mut picture = painter.picture();
    let mut harness = Harness::builder()
        .with_size(vec2(400.0, 340.0))
        .renderer(WgpuTestRenderer::from_render_state(render_state))
        .build_ui(move |ui| {
            let rect = Rect::from_min_size(pos2(20.0, 20.0), vec2(W as f32 / 2.0, H as f32 / 2.0));
            painter.paint(ui.painter(), rect, &mut picture, &frame);
        });
    harness.run();
    harness.render().unwrap()
}

fn near(got: image::Rgba<u8>, want: [u8; 3]) -> bool {
    got.0.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 3)
}

#[test]
fn a_d1_picture_is_scaled_on_the_gpu_into_its_tile_with_its_own_matrix() {
    // BT.709's 100 % red and blue in limited range (ITU-R BT.709 Table 4).
    let image = render(frame("bt709", [63, 102, 240], [32, 240, 118]));
    // The picture covers 20..372 × 20..308 of the window: red on the left, blue on the right,
    // the window's background outside.
    let (red, blue, outside) = (image.get_pixel(100, 160), image.get_pixel(300, 160), image.get_pixel(390, 330));
    assert!(near(*red, [255, 0, 0]), "left half: {red:?}");
    assert!(near(*blue, [0, 0, 255]), "right half: {blue:?}");
    assert!(!near(*outside, [255, 0, 0]) && !near(*outside, [0, 0, 255]), "outside: {outside:?}");
    // The picture ends where its rectangle does: half the frame's size.
    assert!(near(*image.get_pixel(370, 300), [0, 0, 255]) && !near(*image.get_pixel(374, 300), [0, 0, 255]));
    assert!(near(*image.get_pixel(22, 306), [255, 0, 0]) && !near(*image.get_pixel(22, 310), [255, 0, 0]));
}

#[test]
fn the_same_codes_read_with_another_matrix_are_another_colour() {
    // BT.601's red is red through BT.601 …
    let image = render(frame("bt601", [81, 90, 240], [81, 90, 240]));
    assert!(near(*image.get_pixel(100, 160), [255, 0, 0]), "{:?}", image.get_pixel(100, 160));
    // … and BT.709's red read as BT.601 is a duller red: the stream's matrix reaches the shader.
    let mut wrong = frame("bt709", [63, 102, 240], [63, 102, 240]);
    Arc::get_mut(&mut wrong).unwrap().colour = Colour { matrix: Matrix::Bt601, full_range: false };
    let dull = *render(wrong).get_pixel(100, 160);
    assert!(dull.0[0] < 240, "{dull:?}");
}
