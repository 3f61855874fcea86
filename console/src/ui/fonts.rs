//! Fonts: egui's defaults plus a CJK face, so Chinese renders (no tofu) on a fresh machine.
//!
//! The face is Noto Sans CJK SC from Debian's fonts-noto-cjk (installed by `make deps`): the
//! `.ttc` collection holds several faces and index 2 is Simplified Chinese. It is added as a
//! fallback behind egui's own fonts in both families. `LINKAGE_CJK_FONT` may name another file.

use std::sync::{Arc, OnceLock};

use egui::{FontData, FontDefinitions, FontFamily};

/// Where Debian (and a few other systems) keep a CJK face, with its index in the collection.
const CANDIDATES: [(&str, u32); 4] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
];

/// The CJK font's bytes, read once per process (the file is about 19 MB).
fn cjk_font() -> Result<(egui::epaint::text::Blob, u32), String> {
    static FONT: OnceLock<Result<(egui::epaint::text::Blob, u32), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let from_env = std::env::var("LINKAGE_CJK_FONT").ok().map(|p| (p, 0));
        let candidates = from_env.into_iter().chain(CANDIDATES.iter().map(|(p, i)| (p.to_string(), *i)));
        for (path, index) in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                tracing::info!(%path, "CJK font loaded");
                return Ok((Arc::new(bytes) as egui::epaint::text::Blob, index));
            }
        }
        Err("no CJK font found (install fonts-noto-cjk: `make deps`); Chinese will not render".into())
    })
    .clone()
}

/// Installs egui's fonts plus the CJK face. On failure the console still runs, and says why.
pub fn install(ctx: &egui::Context) -> Result<(), String> {
    let (blob, index) = cjk_font()?;
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert("cjk".into(), Arc::new(FontData::from_blob(blob, index)));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("cjk".into());
    }
    ctx.set_fonts(fonts);
    Ok(())
}
