//! Incident markers on the map, clustered in screen space, and drawn as one mesh.
//!
//! Markers are data, not widgets: the incidents' packed points are projected and dropped into
//! a grid of square cells (`CELL` points wide); a cell with one incident draws it, a cell with
//! many draws one circle with the count, coloured by its most urgent incident. The pass walks
//! one compact array and indexes a cell array: linear, no allocation per incident. The map
//! anchors the cells to the township, not to the panel, so a drag moves clusters without
//! re-making them (see `ui::map`).
//!
//! A thousand clusters as egui circles cost more to tessellate than everything else on the map
//! (egui builds each circle's path, its normals and its feathered edge every frame), and even
//! as rings of a precomputed circle laid into one mesh they were most of a frame's vertices
//! (a disc, its outline and a halo: 170), which egui then copies into its output. So each
//! marker is a square of a pre-drawn picture ([`Sprites`]) tinted by its colour: four
//! vertices ([`Stamps`]).

use egui::{Color32, Mesh, Pos2, Rect, Vec2};

use crate::core::incident::MarkerPoint;

/// Cell width in points: markers closer than this merge.
pub const CELL: f32 = 28.0;

/// What one cell shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Where to draw: the mean position of the incidents in the cell.
    pub at: Pos2,
    pub count: u32,
    /// The most urgent incident in the cell (index into `Incidents::all`) and its urgency.
    pub first: u32,
    pub urgency: u64,
}

/// Clusters the points that `project` puts inside `rect`; the result is least urgent first, so
/// drawing it in order leaves the most urgent on top.
pub fn cluster<'a>(
    points: impl IntoIterator<Item = &'a MarkerPoint>,
    project: impl Fn(f64, f64) -> Pos2,
    rect: Rect,
) -> Vec<Marker> {
    let columns = (rect.width() / CELL).ceil().max(1.0) as usize;
    let rows = (rect.height() / CELL).ceil().max(1.0) as usize;
    // Per cell: index into `markers` + 1 (0 = empty), and the sum of positions.
    let mut cells = vec![0u32; columns * rows];
    let mut sums: Vec<(f32, f32)> = vec![];
    let mut markers: Vec<Marker> = vec![];
    for p in points {
        let at = project(p.lon, p.lat);
        if !rect.contains(at) {
            continue;
        }
        let col = (((at.x - rect.min.x) / CELL) as usize).min(columns - 1);
        let row = (((at.y - rect.min.y) / CELL) as usize).min(rows - 1);
        let cell = &mut cells[row * columns + col];
        if *cell == 0 {
            markers.push(Marker { at, count: 1, first: p.index, urgency: p.urgency });
            sums.push((at.x, at.y));
            *cell = markers.len() as u32;
        } else {
            let i = *cell as usize - 1;
            let m = &mut markers[i];
            m.count += 1;
            if p.urgency > m.urgency {
                (m.first, m.urgency) = (p.index, p.urgency);
            }
            sums[i].0 += at.x;
            sums[i].1 += at.y;
        }
    }
    for (m, (x, y)) in markers.iter_mut().zip(sums) {
        m.at = Pos2::new(x / m.count as f32, y / m.count as f32);
    }
    markers.sort_unstable_by_key(|m| m.urgency);
    markers
}

/// The largest radius a marker picture is drawn for, in points: a cluster's disc is capped at
/// `CELL / 2 + 3`, its halo sits 4 points beyond, with room to spare.
const WIDEST: f32 = CELL / 2.0 + 3.0 + 4.0 + HALO_WIDTH;

/// The width of the ring around an open critical incident, in points.
const HALO_WIDTH: f32 = 2.0;

/// Radii are drawn to the nearest half pixel.
const STEPS_PER_PIXEL: f32 = 2.0;

/// The atlas of marker pictures, laid out in rows this wide (texels).
const ATLAS_WIDTH: usize = 1024;

/// Pre-drawn marker pictures: for every radius up to [`WIDEST`], in half-pixel steps, a disc
/// (white inside, a black outline one point wide just outside the radius) and a ring
/// ([`HALO_WIDTH`] wide, white, outside its radius), as egui strokes a circle, every edge
/// anti-aliased over one pixel as egui draws. A marker
/// is then one textured square tinted by its colour — white becomes the colour, black stays
/// black — four vertices where a tessellated circle with its outline and halo took 170. Map
/// engines draw their symbols the same way (sprites). Made for one `pixels_per_point`.
#[derive(Clone)]
pub struct Sprites {
    texture: egui::TextureHandle,
    pixels_per_point: f32,
    places: Places,
}

/// Per radius step: where the disc and the ring are in the atlas (normalised), and the
/// half-width of their square in texels.
#[derive(Clone, Debug)]
struct Places {
    discs: Vec<Rect>,
    rings: Vec<Rect>,
    half_texels: Vec<f32>,
}

impl std::fmt::Debug for Sprites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sprites({} radii at {}×)", self.places.discs.len(), self.pixels_per_point)
    }
}

/// What one texel at `distance` pixels from a picture's centre shows, premultiplied, going
/// linearly between the `(radius, colour)` stops (the first's colour inside, nothing after
/// the last).
fn shade(stops: &[(f32, [f32; 4])], distance: f32) -> Color32 {
    let [r, g, b, a] = match stops.iter().position(|&(radius, _)| distance < radius) {
        Some(0) => stops[0].1,
        Some(k) => {
            let ((r0, c0), (r1, c1)) = (stops[k - 1], stops[k]);
            let t = (distance - r0) / (r1 - r0).max(f32::EPSILON);
            std::array::from_fn(|i| c0[i] + (c1[i] - c0[i]) * t)
        }
        None => [0.0; 4],
    };
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    Color32::from_rgba_premultiplied(byte(r), byte(g), byte(b), byte(a))
}

/// The stops of a band of `colour` from `radius − half` to `radius + half` with `inside`
/// within, each change spread over one pixel (radii in pixels). A band narrower than the
/// feather is no wider than it.
fn band(radius: f32, half: f32, inside: [f32; 4], colour: [f32; 4]) -> Vec<(f32, [f32; 4])> {
    let (a, b) = (radius - half + 0.5, radius + half - 0.5);
    let mut stops = vec![((radius - half - 0.5).max(0.0), inside), (a, colour)];
    if b > a {
        stops.push((b, colour));
    }
    stops.push((radius + half + 0.5, [0.0; 4]));
    stops
}

const WHITE: [f32; 4] = [1.0; 4];
const BLACK: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

impl Sprites {
    /// Draws the atlas for `pixels_per_point` and hands it to the GPU.
    pub fn new(ctx: &egui::Context, pixels_per_point: f32) -> Sprites {
        let ppp = pixels_per_point.max(0.1);
        let (image, places) = Sprites::draw(ppp);
        let texture = ctx.load_texture("map markers", image, egui::TextureOptions::LINEAR);
        Sprites { texture, pixels_per_point: ppp, places }
    }

    /// The atlas's picture, and where each sprite is in it (the texture still to be made).
    fn draw(ppp: f32) -> (egui::ColorImage, Places) {
        let steps = (WIDEST * ppp * STEPS_PER_PIXEL).ceil() as usize;
        let radius_of = |step: usize| (step + 1) as f32 / STEPS_PER_PIXEL;
        // Shelves of squares, smallest first: each square is the radius, the halo's width
        // and the feather on both sides of its centre, which is a texel's corner — a marker
        // placed on a pixel's corner then lies texel on pixel, as sharp as it was drawn.
        let side = |step: usize| 2 * (radius_of(step) + HALO_WIDTH * ppp + 0.5).ceil() as usize;
        let mut places = Vec::with_capacity(2 * steps);
        let (mut x, mut y, mut row) = (0, 0, 0);
        for step in (0..steps).flat_map(|s| [s, s]) {
            let w = side(step);
            if x + w > ATLAS_WIDTH {
                (x, y, row) = (0, y + row, 0);
            }
            places.push((x, y));
            (x, row) = (x + w, row.max(w));
        }
        let mut image = egui::ColorImage::filled([ATLAS_WIDTH, y + row], Color32::TRANSPARENT);
        let (width, height) = (image.width() as f32, image.height() as f32);
        let uv = |(x, y): (usize, usize), w: usize| {
            let texel = |x: usize, y: usize| Pos2::new(x as f32 / width, y as f32 / height);
            Rect::from_min_max(texel(x, y), texel(x + w, y + w))
        };
        let (mut discs, mut rings, mut half_texels) = (vec![], vec![], vec![]);
        for step in 0..steps {
            let (radius, w) = (radius_of(step), side(step));
            let (outline, halo) = (0.5 * ppp, HALO_WIDTH / 2.0 * ppp);
            let disc = band(radius + outline, outline, WHITE, BLACK);
            let ring = band(radius + halo, halo, [0.0; 4], WHITE);
            for (stops, at) in [(&disc, places[2 * step]), (&ring, places[2 * step + 1])] {
                let centre = w as f32 / 2.0;
                for ty in 0..w {
                    for tx in 0..w {
                        let d = Vec2::new(tx as f32 + 0.5 - centre, ty as f32 + 0.5 - centre).length();
                        image[(at.0 + tx, at.1 + ty)] = shade(stops, d);
                    }
                }
            }
            discs.push(uv(places[2 * step], w));
            rings.push(uv(places[2 * step + 1], w));
            half_texels.push(w as f32 / 2.0);
        }
        (image, Places { discs, rings, half_texels })
    }

    /// These sprites, or new ones when the screen's scale has changed.
    pub fn for_scale<'k>(kept: &'k mut Option<Sprites>, ctx: &egui::Context, pixels_per_point: f32) -> &'k Sprites {
        if kept.as_ref().is_none_or(|s| s.pixels_per_point != pixels_per_point.max(0.1)) {
            *kept = Some(Sprites::new(ctx, pixels_per_point));
        }
        kept.as_ref().expect("just made")
    }

    /// The radius step nearest to `radius` points (the largest for anything wider).
    fn step(&self, radius: f32) -> usize {
        let step = (radius * self.pixels_per_point * STEPS_PER_PIXEL).round() as usize;
        step.clamp(1, self.places.discs.len()) - 1
    }
}

/// Markers laid into one textured mesh, a square per disc or ring.
pub struct Stamps<'s> {
    sprites: &'s Sprites,
    mesh: Mesh,
}

impl<'s> Stamps<'s> {
    /// Room for `squares` discs and rings.
    pub fn new(sprites: &'s Sprites, squares: usize) -> Stamps<'s> {
        let mut mesh = Mesh::with_texture(sprites.texture.id());
        mesh.reserve_vertices(4 * squares);
        mesh.reserve_triangles(2 * squares);
        Stamps { sprites, mesh }
    }

    /// A disc of `radius` points filled with `fill`, outlined in black one point wide just
    /// outside it, as egui strokes a circle.
    pub fn disc(&mut self, at: Pos2, radius: f32, fill: Color32) {
        let step = self.sprites.step(radius);
        self.square(at, step, self.sprites.places.discs[step], fill);
    }

    /// A ring [`HALO_WIDTH`] wide just outside `radius`.
    pub fn ring(&mut self, at: Pos2, radius: f32, colour: Color32) {
        let step = self.sprites.step(radius);
        self.square(at, step, self.sprites.places.rings[step], colour);
    }

    /// The picture at `uv` centred on the pixel corner nearest to `at` (half a pixel at most
    /// from it), so that its texels fall on pixels.
    fn square(&mut self, at: Pos2, step: usize, uv: Rect, colour: Color32) {
        let ppp = self.sprites.pixels_per_point;
        let at = Pos2::new((at.x * ppp).round() / ppp, (at.y * ppp).round() / ppp);
        let half = self.sprites.places.half_texels[step] / ppp;
        self.mesh.add_rect_with_uv(Rect::from_center_size(at, Vec2::splat(2.0 * half)), uv, colour);
    }

    pub fn into_mesh(self) -> Mesh {
        self.mesh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(index: u32, x: f64, y: f64, urgency: u64) -> MarkerPoint {
        MarkerPoint { lon: x, lat: y, urgency, index }
    }

    #[test]
    fn close_incidents_merge_far_ones_stay_apart_and_outside_ones_are_dropped() {
        let rect = Rect::from_min_size(Pos2::ZERO, egui::vec2(280.0, 280.0));
        let points =
            [point(0, 5.0, 5.0, 1), point(1, 9.0, 7.0, 9), point(2, 150.0, 150.0, 5), point(3, 500.0, 5.0, 99)];
        let markers = cluster(&points, |x, y| Pos2::new(x as f32, y as f32), rect);
        assert_eq!(markers.len(), 2);
        // Least urgent first: the lone one (5), then the pair led by its urgent member (9).
        assert_eq!((markers[0].count, markers[0].first), (1, 2));
        assert_eq!((markers[1].count, markers[1].first, markers[1].at), (2, 1, Pos2::new(7.0, 6.0)));
    }

    fn rgba(c: Color32) -> [u8; 4] {
        c.to_array()
    }

    #[test]
    fn a_disc_is_white_inside_black_at_its_radius_and_clear_beyond() {
        let disc = band(10.0, 0.5, WHITE, BLACK);
        assert_eq!(disc, [(9.0, WHITE), (10.0, BLACK), (11.0, [0.0; 4])]);
        let at = |d: f32| rgba(shade(&disc, d));
        assert_eq!(at(0.0), [255; 4]);
        assert_eq!(at(8.9), [255; 4]);
        assert_eq!(at(9.5), [128, 128, 128, 255]);
        assert_eq!(at(10.0), [0, 0, 0, 255]);
        assert_eq!(at(10.5), [0, 0, 0, 128]);
        assert_eq!(at(11.0), [0; 4]);
        assert_eq!(at(30.0), [0; 4]);
    }

    #[test]
    fn a_ring_wider_than_the_feather_keeps_its_colour_across_its_width() {
        let ring = band(14.0, 1.0, [0.0; 4], WHITE);
        assert_eq!(ring, [(12.5, [0.0; 4]), (13.5, WHITE), (14.5, WHITE), (15.5, [0.0; 4])]);
        let at = |d: f32| rgba(shade(&ring, d));
        assert_eq!(at(5.0), [0; 4]);
        assert_eq!(at(13.0), [128; 4]);
        assert_eq!(at(14.0), [255; 4]);
        assert_eq!(at(15.5), [0; 4]);
    }

    #[test]
    fn every_radius_has_its_own_place_in_the_atlas_and_is_drawn_there() {
        for ppp in [1.0, 1.5, 2.0] {
            let (image, places) = Sprites::draw(ppp);
            let size = egui::vec2(image.width() as f32, image.height() as f32);
            let texels =
                |uv: Rect| Rect::from_min_max((uv.min.to_vec2() * size).to_pos2(), (uv.max.to_vec2() * size).to_pos2());
            let all: Vec<Rect> = places.discs.iter().chain(&places.rings).map(|&uv| texels(uv)).collect();
            assert_eq!(all.len(), 2 * (WIDEST * ppp * STEPS_PER_PIXEL).ceil() as usize);
            for (i, a) in all.iter().enumerate() {
                assert!(Rect::from_min_size(Pos2::ZERO, size).contains_rect(*a), "{a:?} outside {size:?}");
                // Shrunk a little: neighbours may touch, never overlap.
                assert!(all[i + 1..].iter().all(|b| !a.shrink(0.1).intersects(*b)), "{a:?} overlaps at {ppp}×");
            }
            // A disc is white at its centre and clear in its corners; a ring the other way round.
            let texel = |p: Pos2| rgba(image[(p.x as usize, p.y as usize)]);
            for (step, (disc, ring)) in places.discs.iter().zip(&places.rings).enumerate().skip(4) {
                let (disc, ring) = (texels(*disc), texels(*ring));
                assert_eq!(texel(disc.center()), [255; 4], "disc {step} at {ppp}×");
                assert_eq!(texel(disc.min), [0; 4]);
                assert_eq!(texel(ring.center()), [0; 4], "ring {step} at {ppp}×");
                assert_eq!(places.half_texels[step] * 2.0, disc.width());
            }
        }
    }

    #[test]
    fn a_marker_is_one_square_of_its_picture_centred_on_it_and_tinted() {
        let ctx = egui::Context::default();
        let sprites = Sprites::new(&ctx, 1.0);
        let red = Color32::from_rgb(200, 0, 0);
        let mut stamps = Stamps::new(&sprites, 2);
        stamps.disc(Pos2::new(50.0, 50.0), 10.0, red);
        stamps.ring(Pos2::new(50.0, 50.0), 14.0, red);
        // Wider than any picture: the widest.
        stamps.disc(Pos2::new(0.0, 0.0), 400.0, red);
        let mesh = stamps.into_mesh();
        assert_eq!(mesh.texture_id, sprites.texture.id());
        assert_eq!((mesh.vertices.len(), mesh.indices.len()), (12, 18));
        let square =
            |k: usize| Rect::from_points(&mesh.vertices[4 * k..4 * k + 4].iter().map(|v| v.pos).collect::<Vec<_>>());
        // Radius 10, the halo's 2 points and the feather's half, to whole texels, both sides.
        assert_eq!(square(0), Rect::from_center_size(Pos2::new(50.0, 50.0), egui::vec2(26.0, 26.0)));
        assert_eq!(square(1).center(), Pos2::new(50.0, 50.0));
        assert!(square(1).width() > square(0).width());
        // Off the pixel grid, a marker moves to the nearest pixel corner.
        let mut stamps = Stamps::new(&sprites, 1);
        stamps.disc(Pos2::new(50.3, 49.6), 10.0, red);
        let moved = stamps.into_mesh();
        assert_eq!(
            Rect::from_points(&moved.vertices.iter().map(|v| v.pos).collect::<Vec<_>>()).center(),
            Pos2::new(50.0, 50.0)
        );
        assert_eq!(square(2).width(), 2.0 * sprites.places.half_texels.last().unwrap());
        assert!(mesh.vertices.iter().all(|v| v.color == red));
        let uv =
            |k: usize| Rect::from_points(&mesh.vertices[4 * k..4 * k + 4].iter().map(|v| v.uv).collect::<Vec<_>>());
        assert_eq!(uv(0), sprites.places.discs[sprites.step(10.0)]);
        assert_eq!(uv(1), sprites.places.rings[sprites.step(14.0)]);
        // The picture drawn for 10 points at 1×, 20 pixels at 2×.
        let radius_px = |s: &Sprites| (s.step(10.0) + 1) as f32 / STEPS_PER_PIXEL;
        assert_eq!(radius_px(&sprites), 10.0);
        assert_eq!(radius_px(&Sprites::new(&ctx, 2.0)), 20.0);
    }
}
