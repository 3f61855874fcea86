//! Incident markers on the map, clustered in screen space.
//!
//! Markers are data, not widgets: each frame the incidents' packed points are projected and
//! dropped into a grid of square cells (`CELL` points wide) over the visible map; a cell with
//! one incident draws it, a cell with many draws one circle with the count, coloured by its most
//! urgent incident. The pass walks one compact array and indexes a cell array: linear, no
//! allocation per incident.

use egui::{Pos2, Rect};

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
}
