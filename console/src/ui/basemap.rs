//! The raster layer of the map: the tiles that cover the view at the zoom nearest the map's
//! scale, drawn as textured quads under the vectors.
//!
//! A tile not read yet is asked for once and, until it comes, its nearest loaded ancestor (up
//! to three zooms up) stands in, stretched — so zooming never shows holes, only a moment of
//! blur. Textures are kept for the 256 tiles used last; older ones are freed.

use std::collections::HashMap;

use egui::{Color32, Mesh, Pos2, Rect, TextureHandle, TextureOptions, pos2};
use streams::feed::CoordinateSystem;

use crate::basemap::mercator::{ancestor, corner, tile_at, zoom_for};
use crate::basemap::{Basemap, TileId};
use crate::core::coords::{gcj02_to_wgs84, wgs84_to_gcj02};

/// Textures kept at most.
const KEEP: usize = 256;
/// More tiles than this on screen: the view is far beyond the source's zooms; draw none.
const MAX_ON_SCREEN: u32 = 400;

#[derive(Clone)]
enum Slot {
    Asked,
    Missing,
    Ready { texture: TextureHandle, used: u64 },
}

/// What the map keeps of the basemap between frames.
#[derive(Default, Clone)]
pub struct TileLayer {
    tiles: HashMap<TileId, Slot>,
    frame: u64,
    /// Tiles seen this frame and not asked for yet.
    wanted: Vec<TileId>,
}

impl std::fmt::Debug for TileLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TileLayer({} tiles)", self.tiles.len())
    }
}

/// The map's projection for one frame, as the tile layer needs it.
pub struct View<'a> {
    pub rect: Rect,
    pub to_screen: &'a dyn Fn(f64, f64) -> Pos2,
    pub to_lonlat: &'a dyn Fn(Pos2) -> [f64; 2],
    pub metres_per_pixel: f64,
}

impl TileLayer {
    pub fn draw(&mut self, ctx: &egui::Context, painter: &egui::Painter, basemap: &Basemap, view: &View<'_>) {
        self.frame += 1;
        for (id, picture) in basemap.ready() {
            let slot = match picture {
                Some(image) => Slot::Ready {
                    texture: ctx.load_texture(
                        format!("tile {}/{}/{}", id.z, id.x, id.y),
                        image,
                        TextureOptions::LINEAR,
                    ),
                    used: self.frame,
                },
                None => Slot::Missing,
            };
            self.tiles.insert(id, slot);
        }
        let gcj = basemap.crs == CoordinateSystem::Gcj02;
        // Tiles are found in the source's system and drawn in ours.
        let to_source = |[lon, lat]: [f64; 2]| if gcj { wgs84_to_gcj02(lon, lat) } else { (lon, lat) };
        let from_source = |(lon, lat): (f64, f64)| if gcj { gcj02_to_wgs84(lon, lat) } else { (lon, lat) };
        let (west, north) = to_source((view.to_lonlat)(view.rect.left_top()));
        let (east, south) = to_source((view.to_lonlat)(view.rect.right_bottom()));
        let (lo, hi) = basemap.zooms;
        let z = zoom_for(view.metres_per_pixel, (north + south) / 2.0, 256.0).clamp(lo, hi);
        let (x0, y0) = tile_at(z, west, north);
        let (x1, y1) = tile_at(z, east, south);
        if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_ON_SCREEN {
            return;
        }
        for y in y0..=y1 {
            for x in x0..=x1 {
                let id = TileId { z, x, y };
                let Some((texture, [u, v, size])) = self.best_for(id, lo) else {
                    continue;
                };
                let at = |dx: u32, dy: u32| {
                    let (lon, lat) = from_source(corner(z, x + dx, y + dy));
                    (view.to_screen)(lon, lat)
                };
                let mut mesh = Mesh::with_texture(texture);
                let uv = |du: f32, dv: f32| pos2(u + du * size, v + dv * size);
                mesh.vertices.extend([
                    egui::epaint::Vertex { pos: at(0, 0), uv: uv(0.0, 0.0), color: Color32::WHITE },
                    egui::epaint::Vertex { pos: at(1, 0), uv: uv(1.0, 0.0), color: Color32::WHITE },
                    egui::epaint::Vertex { pos: at(1, 1), uv: uv(1.0, 1.0), color: Color32::WHITE },
                    egui::epaint::Vertex { pos: at(0, 1), uv: uv(0.0, 1.0), color: Color32::WHITE },
                ]);
                mesh.add_triangle(0, 1, 2);
                mesh.add_triangle(0, 2, 3);
                painter.add(mesh);
            }
        }
        self.forget_old();
        for id in self.wanted.drain(..) {
            self.tiles.insert(id, Slot::Asked);
            basemap.request(id);
        }
    }

    /// The texture to draw for `id` and the part of it that is `id` (u, v, size): the tile
    /// itself, or while it loads its nearest loaded ancestor. Asks for the tile if nobody has.
    fn best_for(&mut self, id: TileId, min_zoom: u8) -> Option<(egui::TextureId, [f32; 3])> {
        if !self.tiles.contains_key(&id) {
            self.wanted.push(id);
        }
        for up in 0..=3.min(id.z - min_zoom) {
            let (tile, part) = ancestor(id, up);
            if let Some(Slot::Ready { texture, used }) = self.tiles.get_mut(&tile) {
                *used = self.frame;
                return Some((texture.id(), part));
            }
        }
        None
    }

    /// Frees the textures used longest ago when more than [`KEEP`] are loaded.
    fn forget_old(&mut self) {
        let mut ready: Vec<(u64, TileId)> = self
            .tiles
            .iter()
            .filter_map(|(id, slot)| match slot {
                Slot::Ready { used, .. } => Some((*used, *id)),
                _ => None,
            })
            .collect();
        if ready.len() <= KEEP {
            return;
        }
        ready.sort_unstable_by_key(|(used, _)| *used);
        for (_, id) in &ready[..ready.len() - KEEP] {
            self.tiles.remove(id);
        }
    }
}
