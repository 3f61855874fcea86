//! A tile's picture saved as a PNG, as the officer asks from the tile's menu: evidence for a
//! report, or a picture to send on.

use std::path::Path;

use streams::video::Frame;

/// Writes `frame` to `path` as an RGBA PNG, creating its folder. The frame is YUV (I420);
/// it is converted to RGB on the CPU here, once, as the wall does on the GPU for every frame.
pub fn save(frame: &Frame, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    image::save_buffer(path, &frame.to_rgba(), frame.width, frame.height, image::ColorType::Rgba8)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
