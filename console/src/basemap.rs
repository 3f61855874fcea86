//! Raster tiles under the map, from files on this machine: an XYZ folder (`z/x/y.png` or
//! `.jpg`), an MBTiles file (SQLite) or a PMTiles archive. No network: a command room must see
//! its township when the line to the outside is down.
//!
//! Tiles are Web-Mercator XYZ tiles. A source may be in GCJ-02 (tiles cut from a Chinese web
//! map); the map then moves each tile's corners to WGS-84, where everything else is.
//!
//! Reading and decoding happen on a thread of the basemap's own: the map asks for the tiles it
//! needs with [`Basemap::request`] and takes the decoded pictures with [`Basemap::ready`] on
//! the next frames. A tile that is missing or unreadable comes back as `None` (the map draws
//! the vectors alone there) and a reason is logged once per source.

mod pmtiles;

use std::path::PathBuf;
use std::sync::mpsc;

use streams::Waker;
use streams::feed::CoordinateSystem;

/// The deepest zoom a basemap may hold: 24 is finer than a centimetre a pixel, and every
/// tile sum below stays inside 64 bits.
pub const MAX_ZOOM: u8 = 24;

/// A tile's place in the pyramid (XYZ numbering: y grows southwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Where the tiles are, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct BasemapSetting {
    pub source: TileSource,
    pub crs: CoordinateSystem,
}

/// A folder or file on disk, or a PMTiles archive compiled into the program (the demo's).
#[derive(Debug, Clone, PartialEq)]
pub enum TileSource {
    Path(PathBuf),
    Embedded(&'static [u8]),
}

impl std::fmt::Display for TileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TileSource::Path(path) => write!(f, "{}", path.display()),
            TileSource::Embedded(_) => write!(f, "the built-in demo basemap"),
        }
    }
}

/// An open tile source.
pub enum TileArchive {
    Folder { dir: PathBuf },
    MbTiles(rusqlite::Connection),
    PmTiles(pmtiles::PmTiles),
}

impl TileArchive {
    /// Opens a folder, a `.mbtiles` or a `.pmtiles` file, and finds its zoom range.
    pub fn open(source: &TileSource) -> Result<(TileArchive, (u8, u8)), String> {
        let (archive, (lo, hi)) = TileArchive::open_any(source).map_err(|e| format!("{source}: {e}"))?;
        if lo > hi || hi > MAX_ZOOM {
            return Err(format!("{source}: zooms {lo} to {hi}: a basemap holds zooms 0 to {MAX_ZOOM}, lowest first"));
        }
        Ok((archive, (lo, hi)))
    }

    fn open_any(source: &TileSource) -> Result<(TileArchive, (u8, u8)), String> {
        let path = match source {
            TileSource::Path(path) => path.as_path(),
            TileSource::Embedded(bytes) => {
                let archive = pmtiles::PmTiles::new(Box::new(std::io::Cursor::new(*bytes)))?;
                let zooms = (archive.min_zoom, archive.max_zoom);
                return Ok((TileArchive::PmTiles(archive), zooms));
            }
        };
        if path.is_dir() {
            let zooms: Vec<u8> = std::fs::read_dir(path)
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|z| *z <= MAX_ZOOM)
                .collect();
            let (Some(&lo), Some(&hi)) = (zooms.iter().min(), zooms.iter().max()) else {
                return Err(format!("no zoom folders (0…{MAX_ZOOM}) in it: expected z/x/y.png"));
            };
            return Ok((TileArchive::Folder { dir: path.to_owned() }, (lo, hi)));
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("mbtiles") => {
                let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|e| e.to_string())?;
                let zooms: (Option<i64>, Option<i64>) = db
                    .query_row("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(|e| format!("not an MBTiles file: {e}"))?;
                let zoom = |z: i64| u8::try_from(z).map_err(|_| format!("a zoom level of {z} in its tiles table"));
                match zooms {
                    (Some(lo), Some(hi)) => Ok((TileArchive::MbTiles(db), (zoom(lo)?, zoom(hi)?))),
                    _ => Err("the MBTiles file holds no tiles".into()),
                }
            }
            Some("pmtiles") => {
                let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
                let archive = pmtiles::PmTiles::new(Box::new(file))?;
                let zooms = (archive.min_zoom, archive.max_zoom);
                Ok((TileArchive::PmTiles(archive), zooms))
            }
            _ => Err("tiles must be a folder (z/x/y.png), a .mbtiles or a .pmtiles file".into()),
        }
    }

    /// The encoded picture of a tile, or `None` when the source does not have it (nor can:
    /// a tile outside the pyramid of zooms 0 to [`MAX_ZOOM`]).
    pub fn tile(&mut self, id: TileId) -> Result<Option<Vec<u8>>, String> {
        let TileId { z, x, y } = id;
        if z > MAX_ZOOM || x >> z != 0 || y >> z != 0 {
            return Ok(None);
        }
        match self {
            TileArchive::Folder { dir } => {
                for ext in ["png", "jpg", "jpeg"] {
                    match std::fs::read(dir.join(format!("{z}/{x}/{y}.{ext}"))) {
                        Ok(bytes) => return Ok(Some(bytes)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(None)
            }
            TileArchive::MbTiles(db) => {
                use rusqlite::OptionalExtension;
                // MBTiles count rows from the south (TMS).
                let row = (1u32 << z) - 1 - y;
                db.query_row(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                    rusqlite::params![z, x, row],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| e.to_string())
            }
            TileArchive::PmTiles(archive) => archive.tile(z, x, y),
        }
    }
}

/// The map's end of the tile thread.
pub struct Basemap {
    pub zooms: (u8, u8),
    pub crs: CoordinateSystem,
    requests: mpsc::Sender<TileId>,
    decoded: mpsc::Receiver<(TileId, Option<egui::ColorImage>)>,
}

impl Basemap {
    /// Opens the source (errors name the file) and starts its thread.
    pub fn start(setting: &BasemapSetting, waker: Waker) -> Result<Basemap, String> {
        let (mut archive, zooms) = TileArchive::open(&setting.source)?;
        let (requests, asked) = mpsc::channel::<TileId>();
        let (done, decoded) = mpsc::channel();
        let name = setting.source.to_string();
        std::thread::Builder::new()
            .name("basemap".into())
            .spawn(move || {
                let mut complained = false;
                while let Ok(id) = asked.recv() {
                    let picture = archive.tile(id).and_then(|bytes| bytes.map(|b| decode(&b)).transpose());
                    let picture = picture.unwrap_or_else(|e| {
                        if !std::mem::replace(&mut complained, true) {
                            tracing::warn!(source = %name, tile = ?id, error = %e, "basemap tile unreadable");
                        }
                        None
                    });
                    if done.send((id, picture)).is_err() {
                        return;
                    }
                    waker();
                }
            })
            .map_err(|e| format!("cannot start the basemap thread: {e}"))?;
        Ok(Basemap { zooms, crs: setting.crs, requests, decoded })
    }

    /// Asks for a tile; it comes back from [`Basemap::ready`] once read.
    pub fn request(&self, id: TileId) {
        let _ = self.requests.send(id);
    }

    /// The tiles read since the last call (`None`: the source has no picture for it).
    pub fn ready(&self) -> impl Iterator<Item = (TileId, Option<egui::ColorImage>)> + '_ {
        self.decoded.try_iter()
    }
}

fn decode(bytes: &[u8]) -> Result<egui::ColorImage, String> {
    let picture = image::load_from_memory(bytes).map_err(|e| e.to_string())?.to_rgba8();
    let size = [picture.width() as usize, picture.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(size, picture.as_raw()))
}

/// Web-Mercator tile maths.
pub mod mercator {
    use super::TileId;

    /// The tile that holds lon/lat at zoom `z` (clamped to the pyramid).
    pub fn tile_at(z: u8, lon: f64, lat: f64) -> (u32, u32) {
        let n = f64::from(1u32 << z);
        let lat = lat.clamp(-85.0511, 85.0511).to_radians();
        let x = (lon + 180.0) / 360.0 * n;
        let y = (1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n;
        let clamp = |v: f64| (v.max(0.0) as u32).min((1u32 << z) - 1);
        (clamp(x), clamp(y))
    }

    /// The lon/lat of a tile's north-west corner (x, y may be one past the last tile).
    pub fn corner(z: u8, x: u32, y: u32) -> (f64, f64) {
        let n = f64::from(1u32 << z);
        let lon = f64::from(x) / n * 360.0 - 180.0;
        let lat = (std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n)).sinh().atan().to_degrees();
        (lon, lat)
    }

    /// The zoom whose tile pixels are nearest in size to `metres_per_pixel` at `lat`.
    pub fn zoom_for(metres_per_pixel: f64, lat: f64, tile_pixels: f64) -> u8 {
        let equator = 40_075_016.686 * lat.to_radians().cos();
        let z = (equator / (tile_pixels * metres_per_pixel.max(1e-3))).log2().round();
        z.clamp(0.0, f64::from(super::MAX_ZOOM)) as u8
    }

    /// The parent of a tile `up` zooms up, and which part of it (u0, v0, size in 0…1) the tile is.
    pub fn ancestor(id: TileId, up: u8) -> (TileId, [f32; 3]) {
        let up = up.min(id.z);
        let parent = TileId { z: id.z - up, x: id.x >> up, y: id.y >> up };
        let scale = 1.0 / f32::from(1u16 << up);
        let (dx, dy) = (id.x - (parent.x << up), id.y - (parent.y << up));
        (parent, [dx as f32 * scale, dy as f32 * scale, scale])
    }
}

#[cfg(test)]
mod tests {
    use super::mercator::*;
    use super::*;
    use std::path::Path;

    #[test]
    fn the_tile_of_a_point_and_its_corners_agree() {
        // 青溪镇 at zoom 15.
        let (x, y) = tile_at(15, 120.01, 30.13);
        let (west, north) = corner(15, x, y);
        let (east, south) = corner(15, x + 1, y + 1);
        assert!((west..east).contains(&120.01) && (south..north).contains(&30.13));
        assert_eq!(tile_at(0, 0.0, 0.0), (0, 0));
        assert_eq!(tile_at(3, 179.999, -89.0), (7, 7), "clamped to the last tile");
    }

    #[test]
    fn the_zoom_follows_the_scale() {
        // Zoom 15 has 4.14 m pixels at 30° N (256-pixel tiles), zoom 14 8.27 m.
        assert_eq!(zoom_for(4.1, 30.0, 256.0), 15);
        assert_eq!(zoom_for(8.3, 30.0, 256.0), 14);
        let (parent, [u, v, s]) = ancestor(TileId { z: 15, x: 27307, y: 13377 }, 2);
        assert_eq!(parent, TileId { z: 13, x: 6826, y: 3344 });
        assert_eq!([u, v, s], [0.75, 0.25, 0.25]);
    }

    #[test]
    fn a_file_that_is_no_tile_source_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("town.pmtiles");
        std::fs::write(&junk, b"not at all").unwrap();
        let open = |path: &Path| TileArchive::open(&TileSource::Path(path.to_owned())).err().unwrap();
        let e = open(&junk);
        assert!(e.contains("town.pmtiles") && e.contains("header"), "{e}");
        let e = open(&dir.path().join("x.png"));
        assert!(e.contains("must be a folder"), "{e}");
        assert!(open(dir.path()).contains("no zoom folders"));
    }
}
