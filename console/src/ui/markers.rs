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
//! (egui builds each circle's path, its normals and its feathered edge every frame), so
//! [`Discs`] lays them into one mesh directly: rings of a precomputed unit circle, each edge
//! feathered by a pixel as egui would.

use std::sync::LazyLock;

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

/// Corners of the markers' circles: enough that a 17-point circle's edge is off by less than
/// a fifth of a point.
const SEGMENTS: usize = 24;

/// The directions to those corners.
static UNIT_CIRCLE: LazyLock<[Vec2; SEGMENTS]> =
    LazyLock::new(|| std::array::from_fn(|i| Vec2::angled(i as f32 * std::f32::consts::TAU / SEGMENTS as f32)));

/// Filled and outlined circles, and rings, built into one mesh of plain triangles.
pub struct Discs {
    mesh: Mesh,
    /// The width of the anti-aliased edge: one physical pixel, in points.
    feather: f32,
}

impl Discs {
    pub fn new(pixels_per_point: f32) -> Discs {
        Discs { mesh: Mesh::default(), feather: 1.0 / pixels_per_point.max(0.1) }
    }

    /// A disc of `radius` filled with `fill`, outlined in black one point wide (the outline
    /// centred on the radius, like egui's stroked circle).
    pub fn disc(&mut self, at: Pos2, radius: f32, fill: Color32) {
        self.bands(at, Some(fill), &self.edges(radius, 0.5, fill, Color32::BLACK));
    }

    /// A ring of `width` centred on `radius`.
    pub fn ring(&mut self, at: Pos2, radius: f32, width: f32, colour: Color32) {
        self.bands(at, None, &self.edges(radius, width / 2.0, Color32::TRANSPARENT, colour));
    }

    pub fn into_mesh(self) -> Mesh {
        self.mesh
    }

    /// The radii and colours from `inside` to a band of `colour` from `radius − half` to
    /// `radius + half`, to nothing, each change of colour spread over the feather. A band
    /// narrower than the feather is no wider than it.
    fn edges(&self, radius: f32, half: f32, inside: Color32, colour: Color32) -> Vec<(f32, Color32)> {
        let f = self.feather / 2.0;
        let (a, b) = (radius - half + f, radius + half - f);
        let mut rings = vec![((radius - half - f).max(0.0), inside), (a, colour)];
        if b > a {
            rings.push((b, colour));
        }
        rings.push((radius + half + f, Color32::TRANSPARENT));
        rings
    }

    /// Concentric rings of vertices around `at` (with a `centre` vertex, a filled disc inside
    /// the first ring), each joined to the next by a strip of triangles.
    fn bands(&mut self, at: Pos2, centre: Option<Color32>, rings: &[(f32, Color32)]) {
        let n = SEGMENTS as u32;
        let base = self.mesh.vertices.len() as u32;
        let first = base + u32::from(centre.is_some());
        if let Some(colour) = centre {
            self.mesh.colored_vertex(at, colour);
            for s in 0..n {
                self.mesh.add_triangle(base, first + s, first + (s + 1) % n);
            }
        }
        for &(radius, colour) in rings {
            for direction in UNIT_CIRCLE.iter() {
                self.mesh.colored_vertex(at + *direction * radius, colour);
            }
        }
        for k in 1..rings.len() as u32 {
            let (inner, outer) = (first + (k - 1) * n, first + k * n);
            for s in 0..n {
                let t = (s + 1) % n;
                self.mesh.add_triangle(inner + s, outer + s, outer + t);
                self.mesh.add_triangle(inner + s, outer + t, inner + t);
            }
        }
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

    #[test]
    fn a_disc_is_filled_inside_outlined_at_its_radius_and_fades_out_beyond() {
        let mut discs = Discs::new(1.0);
        let red = Color32::from_rgb(200, 0, 0);
        discs.disc(Pos2::new(50.0, 50.0), 10.0, red);
        let mesh = discs.into_mesh();
        // Centre + rings at 9 (fill), 10 (black, the outline's middle) and 11 (nothing).
        assert_eq!(mesh.vertices.len(), 1 + 3 * SEGMENTS);
        assert_eq!(mesh.indices.len(), 3 * (SEGMENTS + 2 * 2 * SEGMENTS));
        let ring = |k: usize| &mesh.vertices[1 + k * SEGMENTS..1 + (k + 1) * SEGMENTS];
        for (k, (radius, colour)) in
            [(9.0, red), (10.0, Color32::BLACK), (11.0, Color32::TRANSPARENT)].into_iter().enumerate()
        {
            for v in ring(k) {
                assert!((v.pos.distance(Pos2::new(50.0, 50.0)) - radius).abs() < 1e-4);
                assert_eq!(v.color, colour);
            }
        }
        assert!(mesh.indices.iter().all(|&i| (i as usize) < mesh.vertices.len()));
    }

    #[test]
    fn a_ring_wider_than_the_feather_keeps_its_colour_across_its_width() {
        let mut discs = Discs::new(1.0);
        discs.ring(Pos2::ZERO, 14.0, 2.0, Color32::WHITE);
        let radii: Vec<(f32, Color32)> =
            discs.into_mesh().vertices.chunks(SEGMENTS).map(|ring| (ring[0].pos.x, ring[0].color)).collect();
        let white = Color32::WHITE;
        assert_eq!(radii, [(12.5, Color32::TRANSPARENT), (13.5, white), (14.5, white), (15.5, Color32::TRANSPARENT)]);
    }
}
