//! The map's markers drawn by a real renderer (kittest's wgpu, on Mesa's lavapipe here): a
//! marker stamped from the sprite atlas looks like the circle egui would have tessellated for
//! it — the same fill, the same black outline, the same halo — at 1× and at 2× pixels.

use egui::{Color32, Stroke, pos2, vec2};
use egui_kittest::Harness;
use linkage::ui::markers::{Sprites, Stamps};

const FILL: Color32 = Color32::from_rgb(230, 60, 40);

/// Renders a disc of `radius` with a halo 4 points beyond, stamped at (40, 40) and drawn by
/// egui at (120, 40), on a white window `ppp` pixels a point.
fn render(radius: f32, ppp: f32) -> image::RgbaImage {
    let mut sprites = None;
    let mut harness = Harness::builder().with_size(vec2(160.0, 80.0)).with_pixels_per_point(ppp).build_ui(move |ui| {
        let painter = ui.painter();
        painter.rect_filled(ui.max_rect().expand(10.0), 0.0, Color32::WHITE);
        let sprites = Sprites::for_scale(&mut sprites, ui.ctx(), painter.pixels_per_point());
        let mut stamps = Stamps::new(sprites, 2);
        stamps.disc(pos2(40.0, 40.0), radius, FILL);
        stamps.ring(pos2(40.0, 40.0), radius + 4.0, FILL);
        painter.add(stamps.into_mesh());
        painter.circle(pos2(120.0, 40.0), radius, FILL, Stroke::new(1.0, Color32::BLACK));
        painter.circle_stroke(pos2(120.0, 40.0), radius + 4.0, Stroke::new(2.0, FILL));
    });
    harness.run();
    harness.render().expect("rendered")
}

/// The largest difference of any channel between the stamped marker and egui's, pixel by
/// pixel over the square around them, and the mean over the square.
fn difference(image: &image::RgbaImage, ppp: f32, reach: f32) -> (u8, f64) {
    let px = |v: f32| (v * ppp).round() as i64;
    let half = (reach * ppp).ceil() as i64;
    let (a, b) = ((px(40.0), px(40.0)), (px(120.0), px(40.0)));
    let (mut worst, mut sum, mut n) = (0u8, 0u64, 0u64);
    for dy in -half..=half {
        for dx in -half..=half {
            let at = |(x, y): (i64, i64)| image.get_pixel((x + dx) as u32, (y + dy) as u32).0;
            for (s, e) in at(a).iter().zip(at(b)) {
                let d = s.abs_diff(e);
                worst = worst.max(d);
                sum += u64::from(d);
                n += 1;
            }
        }
    }
    (worst, sum as f64 / n as f64)
}

#[test]
fn a_stamped_marker_looks_like_the_circle_egui_would_draw() {
    for ppp in [1.0, 2.0] {
        for radius in [4.0, 7.5, 12.0, 17.0] {
            let image = render(radius, ppp);
            let at = |x: f32, y: f32| image.get_pixel((x * ppp) as u32, (y * ppp) as u32).0;
            // Inside: the fill; the outline, one point just outside the radius: black; from
            // there to the halo: the window; the halo, two points from 4 beyond: the fill.
            assert_eq!(&at(40.0, 40.0)[..3], &FILL.to_array()[..3], "centre, r={radius} {ppp}×");
            // (Of the two pixels nearest the outline's middle, the darker: a radius of 7.5 at 1×
            // puts it on their border.)
            let dark = |p: [u8; 4]| p[..3].iter().copied().max().unwrap_or(0);
            let outline = dark(at(40.0 + radius, 40.0)).min(dark(at(40.0 + radius + 1.0, 40.0)));
            assert!(outline < 140, "outline {outline}, r={radius} {ppp}×");
            assert_eq!(at(40.0 + radius + 2.5, 40.0), [255; 4], "gap, r={radius} {ppp}×");
            let halo = at(40.0 + radius + 5.0, 40.0);
            assert!(halo[..3].iter().zip(FILL.to_array()).all(|(h, f)| h.abs_diff(f) < 40), "halo {halo:?}");
            // And pixel by pixel like egui's (worst 50, mean 1.7 here; a picture half a pixel off,
            // or its outline centred on the radius, is 157 and 26): the edges may differ by a
            // little anti-aliasing.
            let (worst, mean) = difference(&image, ppp, radius + 7.0);
            assert!(worst < 64 && mean < 2.5, "r={radius} {ppp}×: worst {worst}, mean {mean:.2}");
        }
    }
}
