//! What the video wall shows: a layout, and one camera (or nothing) per tile.
//!
//! This is the room's state, not a view's: the app starts a feed for each camera on the wall
//! and stops the feeds of cameras taken off it.

use serde::{Deserialize, Serialize};

/// The wall's layouts. "1+5" is one large tile and five small ones around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Layout {
    One,
    #[default]
    TwoByTwo,
    ThreeByThree,
    FourByFour,
    OnePlusFive,
    OnePlusSeven,
}

impl Layout {
    pub const ALL: [Layout; 6] = [
        Layout::One,
        Layout::TwoByTwo,
        Layout::ThreeByThree,
        Layout::FourByFour,
        Layout::OnePlusFive,
        Layout::OnePlusSeven,
    ];

    /// The name used in config files and on the layout buttons.
    pub fn name(self) -> &'static str {
        match self {
            Layout::One => "1",
            Layout::TwoByTwo => "2x2",
            Layout::ThreeByThree => "3x3",
            Layout::FourByFour => "4x4",
            Layout::OnePlusFive => "1+5",
            Layout::OnePlusSeven => "1+7",
        }
    }

    pub fn parse(s: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == s)
    }

    /// Each tile as `[x, y, width, height]` in a unit square, row by row, the large tile first.
    pub fn cells(self) -> Vec<[f32; 4]> {
        let square = |n: usize| -> Vec<[f32; 4]> {
            let s = 1.0 / n as f32;
            (0..n * n).map(|i| [(i % n) as f32 * s, (i / n) as f32 * s, s, s]).collect()
        };
        // One large tile of (n-1)×(n-1) cells, the rest down the right side and along the bottom.
        let one_plus = |n: usize| -> Vec<[f32; 4]> {
            let s = 1.0 / n as f32;
            let big = (n - 1) as f32 * s;
            let mut cells = vec![[0.0, 0.0, big, big]];
            cells.extend((0..n - 1).map(|r| [big, r as f32 * s, s, s]));
            cells.extend((0..n).map(|c| [c as f32 * s, big, s, s]));
            cells
        };
        match self {
            Layout::One => square(1),
            Layout::TwoByTwo => square(2),
            Layout::ThreeByThree => square(3),
            Layout::FourByFour => square(4),
            Layout::OnePlusFive => one_plus(3),
            Layout::OnePlusSeven => one_plus(4),
        }
    }

    pub fn tile_count(self) -> usize {
        self.cells().len()
    }
}

/// Camera ids per tile, in the layout's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wall {
    pub layout: Layout,
    pub tiles: Vec<Option<String>>,
}

impl Wall {
    /// A wall in `layout` filled with the first cameras.
    pub fn filled(layout: Layout, cameras: impl Iterator<Item = String>) -> Wall {
        let mut wall = Wall { layout, tiles: vec![None; layout.tile_count()] };
        wall.fill_empty(cameras);
        wall
    }

    /// Changes the layout: tiles keep their cameras in order, and new tiles take cameras that
    /// are not up yet, from `cameras`.
    pub fn set_layout(&mut self, layout: Layout, cameras: impl Iterator<Item = String>) {
        self.layout = layout;
        self.tiles.resize(layout.tile_count(), None);
        self.fill_empty(cameras);
    }

    fn fill_empty(&mut self, cameras: impl Iterator<Item = String>) {
        let mut spare = cameras.filter(|c| !self.tiles.contains(&Some(c.clone()))).collect::<Vec<_>>().into_iter();
        for tile in self.tiles.iter_mut().filter(|t| t.is_none()) {
            *tile = spare.next();
        }
    }

    /// Puts cameras on the wall from the first tile on, in order; cameras already up stay
    /// where they are, the rest replace what is there.
    pub fn show(&mut self, cameras: &[String]) {
        let wanted: Vec<&String> = cameras.iter().take(self.tiles.len()).collect();
        let mut free: Vec<usize> =
            (0..self.tiles.len()).filter(|&i| self.tiles[i].as_ref().is_none_or(|c| !wanted.contains(&c))).collect();
        free.reverse();
        for camera in wanted {
            if !self.tiles.iter().any(|t| t.as_ref() == Some(camera))
                && let Some(i) = free.pop()
            {
                self.tiles[i] = Some(camera.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cameras_already_up_keep_their_tiles_and_the_rest_fill_in_order() {
        let mut wall = Wall::filled(Layout::TwoByTwo, ids(&["a", "b", "c", "d"]).into_iter());
        wall.show(&ids(&["c", "x", "y"]));
        assert_eq!(wall.tiles, [Some("x".into()), Some("y".into()), Some("c".into()), Some("d".into())]);
    }

    #[test]
    fn more_cameras_than_tiles_shows_the_first_ones() {
        let mut wall = Wall::filled(Layout::One, std::iter::empty());
        wall.show(&ids(&["a", "b", "c"]));
        assert_eq!(wall.tiles, [Some("a".into())]);
    }

    #[test]
    fn every_layout_tiles_the_unit_square_without_overlap() {
        for layout in Layout::ALL {
            let cells = layout.cells();
            let area: f32 = cells.iter().map(|c| c[2] * c[3]).sum();
            assert!((area - 1.0).abs() < 1e-5, "{layout:?} covers {area}");
            for (i, a) in cells.iter().enumerate() {
                for b in &cells[i + 1..] {
                    let overlap_x = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
                    let overlap_y = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
                    assert!(overlap_x <= 1e-5 || overlap_y <= 1e-5, "{layout:?}: {a:?} overlaps {b:?}");
                }
            }
            assert_eq!(Layout::parse(layout.name()), Some(layout));
        }
        assert_eq!(Layout::OnePlusFive.tile_count(), 6);
        assert_eq!(Layout::OnePlusSeven.tile_count(), 8);
    }

    #[test]
    fn a_larger_layout_keeps_the_cameras_up_and_adds_the_next_ones() {
        let all = ids(&["a", "b", "c", "d", "e", "f", "g"]);
        let mut wall = Wall::filled(Layout::TwoByTwo, all.clone().into_iter());
        wall.show(&ids(&["f"]));
        wall.set_layout(Layout::OnePlusFive, all.clone().into_iter());
        assert_eq!(wall.tiles, ids(&["f", "b", "c", "d", "a", "e"]).into_iter().map(Some).collect::<Vec<_>>());
        wall.set_layout(Layout::One, all.into_iter());
        assert_eq!(wall.tiles, [Some("f".into())]);
    }
}
