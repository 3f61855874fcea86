//! What the video wall shows: a layout, one camera (or nothing) per tile, the tile focused
//! full-wall if any, the page of cameras and the tour that steps through the pages.
//!
//! This is the room's state, not a view's: the app plays a feed for each tile on screen —
//! the main stream on a large tile, the sub stream on a small one — and stops the feeds of
//! cameras that left the screen after a short grace.

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

/// Which stream of a camera a tile plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// The small stream (about 640×360): enough for a tile among many, and cheap to decode.
    Sub,
    /// The full stream, for a tile that fills most of the wall.
    Main,
}

/// What a tile plays of a camera: which stream, and whether its sound goes to the speakers
/// (only ever the focused tile's, when the officer turns sound on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stream {
    pub quality: Quality,
    pub sound: bool,
}

/// A tile at least this share of the wall's width is large: it plays the main stream.
const LARGE_TILE: f32 = 0.6;

/// Camera ids per tile, in the layout's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wall {
    pub layout: Layout,
    pub tiles: Vec<Option<String>>,
    /// The tile shown alone across the wall (a double-click), if any.
    pub focused: Option<usize>,
    /// The page of the camera list last put up (see [`Wall::show_page`]).
    pub page: usize,
    /// The tour: step to the next page every this many seconds, from when.
    pub tour: Option<Tour>,
    /// Whether the focused tile's sound is on.
    pub sound: bool,
}

/// A tour through the pages of cameras.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tour {
    pub every_secs: u32,
    pub last_step: chrono::DateTime<chrono::Utc>,
}

impl Wall {
    /// A wall in `layout` filled with the first cameras.
    pub fn filled(layout: Layout, cameras: impl Iterator<Item = String>) -> Wall {
        let mut wall = Wall { layout, tiles: vec![None; layout.tile_count()], ..Wall::default() };
        wall.fill_empty(cameras);
        wall
    }

    /// The tiles on screen now with the stream each plays: only the focused tile when one is
    /// focused (the others are hidden and stop decoding), else every tile with a camera.
    pub fn on_screen(&self) -> Vec<(usize, &str, Stream)> {
        let cells = self.layout.cells();
        let stream = |i: usize| match self.focused {
            Some(_) => Stream { quality: Quality::Main, sound: self.sound },
            None if cells.get(i).is_some_and(|c| c[2] >= LARGE_TILE) => Stream { quality: Quality::Main, sound: false },
            None => Stream { quality: Quality::Sub, sound: false },
        };
        self.tiles
            .iter()
            .enumerate()
            .filter(|(i, _)| self.focused.is_none_or(|f| f == *i))
            .filter_map(|(i, camera)| Some((i, camera.as_deref()?, stream(i))))
            .collect()
    }

    /// How many pages `cameras` cameras fill in this layout.
    pub fn pages(&self, cameras: usize) -> usize {
        cameras.div_ceil(self.tiles.len().max(1)).max(1)
    }

    /// Puts page `page` (wrapping around) of the camera list on the tiles, in order.
    pub fn show_page(&mut self, page: usize, cameras: &[String]) {
        let pages = self.pages(cameras.len());
        self.page = page % pages;
        let n = self.tiles.len();
        for (i, tile) in self.tiles.iter_mut().enumerate() {
            *tile = cameras.get(self.page * n + i).cloned();
        }
        self.focused = None;
    }

    /// Steps the tour when its time has come; returns whether the page changed.
    pub fn tour_step(&mut self, now: chrono::DateTime<chrono::Utc>, cameras: &[String]) -> bool {
        let Some(tour) = &mut self.tour else { return false };
        if (now - tour.last_step).num_seconds() < i64::from(tour.every_secs) {
            return false;
        }
        tour.last_step = now;
        let next = self.page + 1;
        self.show_page(next, cameras);
        true
    }

    /// Puts `camera` on `tile`; if it was on another tile, the two tiles trade cameras.
    pub fn place(&mut self, tile: usize, camera: &str) {
        if tile >= self.tiles.len() {
            return;
        }
        match self.tiles.iter().position(|t| t.as_deref() == Some(camera)) {
            Some(from) => self.tiles.swap(from, tile),
            None => self.tiles[tile] = Some(camera.to_owned()),
        }
    }

    /// Trades the cameras of two tiles.
    pub fn swap(&mut self, a: usize, b: usize) {
        if a < self.tiles.len() && b < self.tiles.len() {
            self.tiles.swap(a, b);
        }
    }

    /// Changes the layout: tiles keep their cameras in order, and new tiles take cameras that
    /// are not up yet, from `cameras`.
    pub fn set_layout(&mut self, layout: Layout, cameras: impl Iterator<Item = String>) {
        self.layout = layout;
        self.focused = None;
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
    fn small_tiles_play_the_sub_stream_and_a_focused_or_large_one_the_main() {
        let mut wall = Wall::filled(Layout::OnePlusFive, ids(&["a", "b", "c", "d", "e"]).into_iter());
        let on = |w: &Wall| w.on_screen().into_iter().map(|(i, c, s)| (i, c.to_owned(), s.quality)).collect::<Vec<_>>();
        let shown = on(&wall);
        assert_eq!(shown.len(), 5, "the empty sixth tile plays nothing");
        assert_eq!(shown[0], (0, "a".into(), Quality::Main), "the large tile of 1+5");
        assert!(shown[1..].iter().all(|(.., q)| *q == Quality::Sub));
        wall.focused = Some(3);
        assert_eq!(on(&wall), [(3, "d".into(), Quality::Main)], "focused: one tile, main, the rest hidden");
        assert!(!wall.on_screen()[0].2.sound, "sound only when turned on");
        wall.sound = true;
        assert!(wall.on_screen()[0].2.sound);
        wall.set_layout(Layout::TwoByTwo, std::iter::empty());
        assert!(on(&wall).iter().all(|(.., q)| *q == Quality::Sub), "a new layout ends the focus");
    }

    #[test]
    fn pages_wrap_and_the_tour_steps_only_when_its_time_has_come() {
        let all = ids(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
        let mut wall = Wall::filled(Layout::TwoByTwo, all.clone().into_iter());
        assert_eq!(wall.pages(all.len()), 3);
        wall.show_page(2, &all);
        assert_eq!(wall.tiles, [Some("i".into()), None, None, None], "the last page is part-filled");
        let t0 = chrono::Utc::now();
        wall.tour = Some(Tour { every_secs: 10, last_step: t0 });
        assert!(!wall.tour_step(t0 + chrono::Duration::seconds(9), &all));
        assert!(wall.tour_step(t0 + chrono::Duration::seconds(10), &all));
        assert_eq!((wall.page, wall.tiles[0].as_deref()), (0, Some("a")), "after the last page, the first");
        assert!(!wall.tour_step(t0 + chrono::Duration::seconds(15), &all), "counted from the last step");
    }

    #[test]
    fn a_camera_dropped_on_a_tile_trades_places_with_what_was_there() {
        let mut wall = Wall::filled(Layout::TwoByTwo, ids(&["a", "b", "c", "d"]).into_iter());
        wall.place(0, "c");
        assert_eq!(wall.tiles, ids(&["c", "b", "a", "d"]).into_iter().map(Some).collect::<Vec<_>>());
        wall.place(1, "x");
        assert_eq!(wall.tiles[1].as_deref(), Some("x"));
        wall.swap(1, 3);
        assert_eq!((wall.tiles[1].as_deref(), wall.tiles[3].as_deref()), (Some("d"), Some("x")));
        wall.place(9, "y");
        wall.swap(0, 9);
        assert_eq!(wall.tiles.len(), 4, "tiles out of range change nothing");
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
