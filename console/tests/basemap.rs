//! The offline basemap, read from all three kinds of source. The demo's PMTiles archive was
//! written by the protomaps `pmtiles` Python package (assets/demo/make_basemap.py), with a
//! manifest of every tile's length and CRC-32: our reader must give back exactly those bytes.
//! The same tiles then go into an MBTiles file and an XYZ folder, and each reads back the same.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linkage::basemap::{Basemap, BasemapSetting, TileArchive, TileId, TileSource};
use streams::feed::CoordinateSystem;

const DEMO: &[u8] = include_bytes!("../../assets/demo/basemap.pmtiles");
const MANIFEST: &str = include_str!("../../assets/demo/basemap.manifest.json");

fn manifest() -> BTreeMap<(u8, u32, u32), (usize, u32)> {
    let raw: BTreeMap<String, (usize, u32)> = serde_json::from_str(MANIFEST).unwrap();
    raw.into_iter()
        .map(|(k, v)| {
            let p: Vec<u32> = k.split('/').map(|n| n.parse().unwrap()).collect();
            ((p[0] as u8, p[1], p[2]), v)
        })
        .collect()
}

fn crc(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}

fn all_tiles(archive: &mut TileArchive) -> BTreeMap<(u8, u32, u32), Vec<u8>> {
    manifest()
        .keys()
        .map(|&(z, x, y)| ((z, x, y), archive.tile(TileId { z, x, y }).unwrap().expect("listed tile present")))
        .collect()
}

#[test]
fn every_tile_of_the_demo_archive_reads_back_as_written() {
    let (mut archive, zooms) = TileArchive::open(&TileSource::Embedded(DEMO)).unwrap();
    assert_eq!(zooms, (12, 15));
    let expected = manifest();
    assert!(expected.len() > 100);
    for (key, bytes) in all_tiles(&mut archive) {
        assert_eq!((bytes.len(), crc(&bytes)), expected[&key], "tile {key:?}");
    }
    // Outside the township there is nothing, and asking is not an error.
    assert_eq!(archive.tile(TileId { z: 15, x: 0, y: 0 }).unwrap(), None);
    assert_eq!(archive.tile(TileId { z: 3, x: 6, y: 3 }).unwrap(), None);
}

#[test]
fn the_same_tiles_from_mbtiles_and_an_xyz_folder_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = all_tiles(&mut TileArchive::open(&TileSource::Embedded(DEMO)).unwrap().0);
    let mbtiles = dir.path().join("town.mbtiles");
    let db = rusqlite::Connection::open(&mbtiles).unwrap();
    db.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);",
    )
    .unwrap();
    let folder = dir.path().join("xyz");
    for ((z, x, y), bytes) in &tiles {
        let tms_row = (1u32 << z) - 1 - y;
        db.execute("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)", rusqlite::params![z, x, tms_row, bytes]).unwrap();
        let file = folder.join(format!("{z}/{x}/{y}.png"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    drop(db);
    for source in [mbtiles, folder] {
        let (mut archive, zooms) = TileArchive::open(&TileSource::Path(source.clone())).unwrap();
        assert_eq!(zooms, (12, 15), "{}", source.display());
        assert!(all_tiles(&mut archive) == tiles, "{} reads back other bytes", source.display());
        assert_eq!(archive.tile(TileId { z: 14, x: 1, y: 1 }).unwrap(), None);
    }
}

#[test]
fn the_basemap_thread_decodes_what_the_map_asks_for() {
    let setting = BasemapSetting { source: TileSource::Embedded(DEMO), crs: CoordinateSystem::Wgs84 };
    let basemap = Basemap::start(&setting, streams::no_waker()).unwrap();
    let (&(z, x, y), _) = manifest().iter().find(|((z, ..), _)| *z == 15).unwrap();
    let present = TileId { z, x, y };
    let absent = TileId { z: 15, x: 0, y: 0 };
    basemap.request(present);
    basemap.request(absent);
    let mut got = vec![];
    let until = Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && Instant::now() < until {
        got.extend(basemap.ready());
        std::thread::sleep(Duration::from_millis(10));
    }
    let picture = got.iter().find(|(id, _)| *id == present).and_then(|(_, p)| p.as_ref()).expect("decoded");
    assert_eq!(picture.size, [256, 256]);
    // Not all one colour: fields, lines and houses were painted.
    let first = picture.pixels[0];
    assert!(picture.pixels.iter().any(|p| *p != first));
    assert!(got.iter().any(|(id, p)| *id == absent && p.is_none()), "a missing tile comes back empty");
}
