//! A reader for PMTiles version 3: one file holding a whole tile pyramid, found by a Hilbert
//! tile id through a directory tree (<https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md>).
//!
//! The 127-byte header says where the root directory, the leaf directories and the tile data
//! are. A directory lists entries sorted by tile id: an entry covers `run_length` consecutive
//! ids that share one tile (the sea, a blank field), or — with a run length of 0 — points to a
//! leaf directory. Directories are varint-packed and usually gzipped.

use std::io::{Read, Seek, SeekFrom};

/// What an archive is read from: a file, or bytes compiled in.
pub trait Storage: Read + Seek + Send {}
impl<T: Read + Seek + Send> Storage for T {}

/// One directory entry.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u64,
    run_length: u64,
}

/// An open archive. Reads go to the storage; only the root directory is kept in memory.
pub struct PmTiles {
    file: Box<dyn Storage>,
    root: Vec<Entry>,
    leaf_offset: u64,
    data_offset: u64,
    gzip_dirs: bool,
    gzip_tiles: bool,
    pub min_zoom: u8,
    pub max_zoom: u8,
}

impl PmTiles {
    pub fn new(mut file: Box<dyn Storage>) -> Result<PmTiles, String> {
        let mut h = [0u8; 127];
        file.read_exact(&mut h).map_err(|_| "shorter than a PMTiles header".to_string())?;
        if &h[..7] != b"PMTiles" {
            return Err("not a PMTiles file (no magic)".into());
        }
        if h[7] != 3 {
            return Err(format!("PMTiles version {} (this reader knows 3)", h[7]));
        }
        let u64_at = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().unwrap_or_default());
        let compression = |code: u8, what: &str| match code {
            0 | 1 => Ok(false), // unknown (treated as none) or none
            2 => Ok(true),
            other => Err(format!("{what} compression {other} is not supported (only none and gzip)")),
        };
        let mut archive = PmTiles {
            root: vec![],
            leaf_offset: u64_at(40),
            data_offset: u64_at(56),
            gzip_dirs: compression(h[97], "directory")?,
            gzip_tiles: compression(h[98], "tile")?,
            min_zoom: h[100],
            max_zoom: h[101],
            file,
        };
        let root = Entry { tile_id: 0, offset: u64_at(8), length: u64_at(16), run_length: 0 };
        archive.root = archive.directory(0, root)?;
        Ok(archive)
    }

    /// The bytes of tile z/x/y (XYZ numbering, y down), or `None` when the archive lacks it.
    /// The caller keeps `z` within [`super::MAX_ZOOM`] and x, y within the zoom's pyramid.
    pub fn tile(&mut self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        let id = tile_id(z, x, y);
        let mut dir = self.root.clone();
        // A leaf may point to a deeper leaf; the spec allows a few levels.
        for _ in 0..4 {
            let Some(entry) = find(&dir, id) else { return Ok(None) };
            if entry.run_length > 0 {
                let bytes = self.read(self.data_offset, entry)?;
                return if self.gzip_tiles { gunzip(&bytes).map(Some) } else { Ok(Some(bytes)) };
            }
            dir = self.directory(self.leaf_offset, entry)?;
        }
        Err("directories nested deeper than 4 levels".into())
    }

    /// The bytes an entry points to, `base` being the start of its section (tile data or
    /// leaf directories). Offsets and lengths come from the file and are checked, not trusted.
    fn read(&mut self, base: u64, entry: Entry) -> Result<Vec<u8>, String> {
        if entry.length > 64 << 20 {
            return Err(format!("an entry of {} bytes: the file is damaged", entry.length));
        }
        let offset = base.checked_add(entry.offset).ok_or("an entry's offset lies beyond any file")?;
        let mut buf = vec![0; entry.length as usize];
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| format!("an entry at byte {offset}, {} long: {e}", entry.length))?;
        Ok(buf)
    }

    fn directory(&mut self, base: u64, entry: Entry) -> Result<Vec<Entry>, String> {
        let bytes = self.read(base, entry)?;
        let bytes = if self.gzip_dirs { gunzip(&bytes)? } else { bytes };
        parse_directory(&bytes)
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = vec![];
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

/// The entry that holds `id`: the last one starting at or before it, if its run reaches it
/// (a leaf pointer reaches everything up to the next entry).
fn find(dir: &[Entry], id: u64) -> Option<Entry> {
    let at = dir.partition_point(|e| e.tile_id <= id).checked_sub(1)?;
    let e = dir[at];
    (e.run_length == 0 || id - e.tile_id < e.run_length).then_some(e)
}

fn parse_directory(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut at = 0;
    let mut next = || varint(bytes, &mut at);
    let n = next()? as usize;
    if n > bytes.len() {
        return Err(format!("a directory of {n} entries in {} bytes", bytes.len()));
    }
    let mut entries = vec![Entry { tile_id: 0, offset: 0, length: 0, run_length: 0 }; n];
    let mut last = 0u64;
    for e in entries.iter_mut() {
        last = last.checked_add(next()?).ok_or("tile ids beyond 64 bits in a directory")?;
        e.tile_id = last;
    }
    for e in entries.iter_mut() {
        e.run_length = next()?;
    }
    for e in entries.iter_mut() {
        e.length = next()?;
    }
    for i in 0..n {
        let v = next()?;
        entries[i].offset = match (i, v) {
            (1.., 0) => entries[i - 1]
                .offset
                .checked_add(entries[i - 1].length)
                .ok_or("a directory's offsets run beyond 64 bits")?,
            _ => v.checked_sub(1).ok_or("a directory offset of 0 in the first entry")?,
        };
    }
    Ok(entries)
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("a directory ends inside a number")?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err("a varint longer than 64 bits".into())
}

/// The tile id of z/x/y: the tiles of every lower zoom, then the position on the Hilbert curve.
pub fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut id = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    for a in (0..u32::from(z)).rev() {
        let s = 1u64 << a;
        let (rx, ry) = (s & x, s & y);
        id += ((3 * rx) ^ ry) << a;
        // Rotate the quadrant so the curve inside it runs the right way. Only the bits below
        // `s` matter from here on, so the flip may wrap.
        if ry == 0 {
            if rx != 0 {
                x = (s - 1).wrapping_sub(x);
                y = (s - 1).wrapping_sub(y);
            }
            std::mem::swap(&mut x, &mut y);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_spec() {
        // The spec's examples: 0/0/0 is 0, zoom 1 is 1..=4 along the curve, 12/3423/1763 is 19078479.
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!([tile_id(1, 0, 0), tile_id(1, 0, 1), tile_id(1, 1, 1), tile_id(1, 1, 0)], [1, 2, 3, 4]);
        assert_eq!(tile_id(2, 0, 0), 5);
        assert_eq!(tile_id(12, 3423, 1763), 19_078_479);
    }

    #[test]
    fn a_directory_with_a_contiguous_offset_and_a_run() {
        // 2 entries: ids 5 and 7; runs 3 and 1; lengths 10 and 20; offsets 0 (+1) and "after the first".
        let bytes = [2, 5, 2, 3, 1, 10, 20, 1, 0];
        let dir = parse_directory(&bytes).unwrap();
        assert_eq!(dir[1], Entry { tile_id: 7, offset: 10, length: 20, run_length: 1 });
        assert_eq!(find(&dir, 6).map(|e| e.tile_id), Some(5), "inside the run of the first");
        assert_eq!(find(&dir, 8), None, "after the last run");
        assert_eq!(find(&dir, 4), None, "before the first");
        assert!(parse_directory(&[3, 1]).is_err(), "a cut directory is an error, not a panic");
    }
}
