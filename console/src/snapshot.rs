//! A tile's picture saved as a PNG, as the officer asks from the tile's menu: evidence for a
//! report, or a picture to send on.

use std::path::Path;

use streams::video::Frame;

/// Writes `frame` (RGBA, rows possibly padded) to `path`, creating its folder.
pub fn save(frame: &Frame, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let packed: Vec<u8> = frame.rows().flatten().copied().collect();
    image::save_buffer(path, &packed, frame.width, frame.height, image::ColorType::Rgba8)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
