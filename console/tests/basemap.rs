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

/// A PMTiles archive made by hand: a header, an uncompressed root directory, and one tile of
/// four bytes right after it.
fn hand_made(min_zoom: u8, max_zoom: u8, root: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 127];
    h[..7].copy_from_slice(b"PMTiles");
    h[7] = 3;
    let root_at = 127u64;
    let data_at = root_at + root.len() as u64;
    h[8..16].copy_from_slice(&root_at.to_le_bytes());
    h[16..24].copy_from_slice(&(root.len() as u64).to_le_bytes());
    h[56..64].copy_from_slice(&data_at.to_le_bytes());
    h[64..72].copy_from_slice(&4u64.to_le_bytes());
    h[97] = 1; // directories uncompressed
    h[98] = 1; // tiles uncompressed
    h[100] = min_zoom;
    h[101] = max_zoom;
    h.extend_from_slice(root);
    h.extend_from_slice(b"tile");
    h
}

/// One directory entry, varint-packed: (tile id, run length, length 4, offset 0 + 1).
fn one_entry(tile_id: u64, run_length: u64) -> Vec<u8> {
    let mut bytes = vec![1];
    for mut v in [tile_id, run_length, 4, 1] {
        while v >= 0x80 {
            bytes.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        bytes.push(v as u8);
    }
    bytes
}

fn open_bytes(bytes: Vec<u8>) -> Result<(TileArchive, (u8, u8)), String> {
    TileArchive::open(&TileSource::Embedded(Box::leak(bytes.into_boxed_slice())))
}

#[test]
fn a_hand_made_archive_reads_its_one_tile_back() {
    let (mut archive, zooms) = open_bytes(hand_made(0, 2, &one_entry(0, 1))).unwrap();
    assert_eq!(zooms, (0, 2));
    assert_eq!(archive.tile(TileId { z: 0, x: 0, y: 0 }).unwrap().as_deref(), Some(&b"tile"[..]));
    assert_eq!(archive.tile(TileId { z: 1, x: 0, y: 0 }).unwrap(), None);
}

#[test]
fn impossible_zooms_are_errors_that_name_the_source_and_the_zooms() {
    for (lo, hi) in [(15, 12), (0, 32), (40, 40), (0, 25)] {
        let e = open_bytes(hand_made(lo, hi, &one_entry(0, 1))).err().expect("refused");
        assert!(e.contains("basemap") && e.contains(&format!("zooms {lo} to {hi}")), "{e}");
    }
    // The same from an MBTiles file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.mbtiles");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         INSERT INTO tiles VALUES (33, 0, 0, x'00'); INSERT INTO tiles VALUES (-1, 0, 0, x'00');",
    )
    .unwrap();
    drop(db);
    let e = TileArchive::open(&TileSource::Path(path)).err().expect("refused");
    assert!(e.contains("deep.mbtiles") && e.contains("zoom level of -1"), "{e}");
}

#[test]
fn a_tile_beyond_the_pyramid_is_absent_not_a_panic() {
    let (mut archive, _) = open_bytes(hand_made(0, 2, &one_entry(0, 1))).unwrap();
    for id in [TileId { z: 32, x: 0, y: 0 }, TileId { z: 255, x: 1, y: 1 }, TileId { z: 2, x: 4, y: 0 }] {
        assert_eq!(archive.tile(id).unwrap(), None, "{id:?}");
    }
}

#[test]
fn runs_and_ids_near_the_end_of_64_bits_are_errors_or_misses_not_overflows() {
    // A run that reaches past u64::MAX, then tile ids that add up beyond it.
    let (mut archive, _) = open_bytes(hand_made(0, 24, &one_entry(u64::MAX - 1, u64::MAX))).unwrap();
    assert_eq!(archive.tile(TileId { z: 24, x: 5, y: 7 }).unwrap(), None);
    let mut two = vec![2];
    for v in [u64::MAX, u64::MAX, 1, 1, 4, 4, 1, 0] {
        let mut v = v;
        while v >= 0x80 {
            two.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        two.push(v as u8);
    }
    let e = open_bytes(hand_made(0, 24, &two)).err().expect("refused");
    assert!(e.contains("64 bits"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

    /// Whatever bytes the header and the directories hold, opening and reading gives tiles or
    /// errors. The demo archive's first 2 KiB are its header and root directory.
    #[test]
    fn a_damaged_archive_never_panics(
        changes in proptest::collection::vec((0usize..2048, proptest::prelude::any::<u8>()), 1..12),
        asks in proptest::collection::vec((0u8..40, proptest::prelude::any::<u32>(), proptest::prelude::any::<u32>()), 8),
    ) {
        let mut bytes = DEMO.to_vec();
        for (at, value) in changes {
            bytes[at] = value;
        }
        if let Ok((mut archive, _)) = open_bytes(bytes) {
            for (z, x, y) in asks {
                let _ = archive.tile(TileId { z, x, y });
            }
            for &(z, x, y) in manifest().keys().take(40) {
                let _ = archive.tile(TileId { z, x, y });
            }
        }
    }
}
