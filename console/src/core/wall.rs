//! What the video wall shows: one camera (or nothing) per tile.
//!
//! This is the room's state, not a view's: the app starts a feed for each camera on the wall
//! and stops the feeds of cameras taken off it.

/// Camera ids per tile, row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wall {
    pub tiles: Vec<Option<String>>,
}

impl Wall {
    /// A wall of `size` tiles filled with the first cameras.
    pub fn filled(size: usize, cameras: impl Iterator<Item = String>) -> Wall {
        let mut tiles: Vec<Option<String>> = cameras.take(size).map(Some).collect();
        tiles.resize(size, None);
        Wall { tiles }
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
        let mut wall = Wall::filled(4, ids(&["a", "b", "c", "d"]).into_iter());
        wall.show(&ids(&["c", "x", "y"]));
        assert_eq!(wall.tiles, [Some("x".into()), Some("y".into()), Some("c".into()), Some("d".into())]);
    }

    #[test]
    fn more_cameras_than_tiles_shows_the_first_ones() {
        let mut wall = Wall::filled(2, std::iter::empty());
        wall.show(&ids(&["a", "b", "c"]));
        assert_eq!(wall.tiles, [Some("a".into()), Some("b".into())]);
    }
}
