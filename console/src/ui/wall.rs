//! The video wall: tiles in a grid, each the newest frame of one camera with its name and
//! the feed's health drawn over it.
//!
//! A tile uploads a texture only when its feed's frame number moved, so a still or stalled
//! feed costs nothing per frame; a stalled feed keeps showing its last good frame.

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Align2, Color32, FontId, Rect, TextureHandle, TextureOptions, UiBuilder, pos2, vec2};
use streams::video::{FeedState, Frame};

use crate::core::Command;
use crate::core::camera::Camera;
use crate::i18n::I18n;
use crate::ui::theme;

/// What one tile shows this frame.
pub struct TileFeed<'a> {
    pub camera: &'a Camera,
    pub state: FeedState,
    pub frame: Option<Arc<Frame>>,
}

/// The wall's own state: one texture per camera on screen and the frame number it holds.
#[derive(Default)]
pub struct WallView {
    textures: HashMap<String, (TextureHandle, u64)>,
}

/// Rows and columns of the foundation's 2×2 layout.
pub const COLUMNS: usize = 2;
pub const ROWS: usize = 2;

impl WallView {
    /// Draws the tiles (`None` is an empty tile). Returns commands (none yet: tile actions
    /// arrive with the full wall).
    pub fn ui(&mut self, ui: &mut egui::Ui, tr: &I18n, tiles: &[Option<TileFeed<'_>>]) -> Vec<Command> {
        let area = ui.available_rect_before_wrap();
        ui.allocate_rect(area, egui::Sense::hover());
        let gap = 4.0;
        let tile_size = vec2(
            (area.width() - gap * (COLUMNS - 1) as f32) / COLUMNS as f32,
            (area.height() - gap * (ROWS - 1) as f32) / ROWS as f32,
        );
        for (i, tile) in tiles.iter().enumerate().take(COLUMNS * ROWS) {
            let (row, col) = (i / COLUMNS, i % COLUMNS);
            let min = area.min + vec2(col as f32 * (tile_size.x + gap), row as f32 * (tile_size.y + gap));
            let rect = Rect::from_min_size(min, tile_size);
            let label = match tile {
                Some(t) => format!("{} {}: {}", tr.t("region.wall"), i + 1, t.camera.name),
                None => format!("{} {}: {}", tr.t("region.wall"), i + 1, tr.t("wall.empty_tile")),
            };
            ui.scope_builder(UiBuilder::new().max_rect(rect).accessibility_label(label), |ui| {
                self.tile(ui, tr, rect, tile.as_ref());
            });
        }
        // Forget textures of cameras no longer on the wall.
        let on_wall: Vec<&str> = tiles.iter().flatten().map(|t| t.camera.id.as_str()).collect();
        self.textures.retain(|id, _| on_wall.contains(&id.as_str()));
        vec![]
    }

    fn tile(&mut self, ui: &mut egui::Ui, tr: &I18n, rect: Rect, tile: Option<&TileFeed<'_>>) {
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, theme::TILE_BACKGROUND);
        let Some(tile) = tile else {
            painter.text(
                rect.center(),
                Align2::CENTER_CENTER,
                tr.t("wall.empty_tile"),
                FontId::proportional(16.0),
                theme::MUTED,
            );
            return;
        };
        if let Some(frame) = &tile.frame {
            let texture = self.texture_for(ui.ctx(), &tile.camera.id, frame);
            let picture = fit(rect, frame.width as f32 / frame.height.max(1) as f32);
            let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
            painter.image(texture.id(), picture, uv, Color32::WHITE);
        }
        // Name at top left.
        let name_font = FontId::proportional(15.0);
        let name = painter.layout_no_wrap(tile.camera.name.clone(), name_font, theme::TILE_TEXT);
        let name_rect = Rect::from_min_size(rect.min, name.size() + vec2(12.0, 6.0));
        painter.rect_filled(name_rect, 0.0, theme::TILE_SHADE);
        painter.galley(rect.min + vec2(6.0, 3.0), name, theme::TILE_TEXT);
        // Health at bottom left.
        let (text, color) = health_line(tr, &tile.state);
        let status = painter.layout_no_wrap(text, FontId::proportional(13.0), color);
        let at = pos2(rect.min.x, rect.max.y - status.size().y - 6.0);
        painter.rect_filled(Rect::from_min_size(at, status.size() + vec2(12.0, 6.0)), 0.0, theme::TILE_SHADE);
        painter.galley(at + vec2(6.0, 3.0), status, color);
    }

    /// The camera's texture, re-uploaded only when a new frame arrived.
    fn texture_for(&mut self, ctx: &egui::Context, camera: &str, frame: &Frame) -> &TextureHandle {
        let image = || {
            let size = [frame.width as usize, frame.height as usize];
            if frame.stride == frame.width as usize * 4 {
                egui::ColorImage::from_rgba_unmultiplied(size, frame.rgba())
            } else {
                let packed: Vec<u8> = frame.rows().flatten().copied().collect();
                egui::ColorImage::from_rgba_unmultiplied(size, &packed)
            }
        };
        let entry = self.textures.entry(camera.to_owned()).or_insert_with(|| {
            (ctx.load_texture(format!("camera {camera}"), image(), TextureOptions::LINEAR), frame.seq)
        });
        if entry.1 != frame.seq {
            entry.0.set(image(), TextureOptions::LINEAR);
            entry.1 = frame.seq;
        }
        &entry.0
    }
}

/// The largest rectangle of the given aspect ratio centred in `outer`.
fn fit(outer: Rect, aspect: f32) -> Rect {
    let mut size = outer.size();
    if size.x / size.y > aspect {
        size.x = size.y * aspect;
    } else {
        size.y = size.x / aspect;
    }
    Rect::from_center_size(outer.center(), size)
}

/// The tile's health line and its colour.
pub fn health_line(tr: &I18n, state: &FeedState) -> (String, Color32) {
    match state {
        FeedState::Connecting => (tr.t("wall.connecting").to_owned(), theme::WARN),
        FeedState::Playing { fps, width, height } => {
            (format!("● {} {fps:.0} fps {width}×{height}", tr.t("wall.playing")), theme::OK)
        }
        FeedState::Stalled { for_secs } => (format!("{} · {for_secs} s", tr.t("wall.stalled")), theme::BAD),
        FeedState::Reconnecting { attempt, next_in, .. } => (
            format!(
                "{} · {} · {}",
                tr.t("wall.reconnecting"),
                tr.f("wall.attempt", &[("n", &attempt.to_string())]),
                tr.f("wall.next_in", &[("s", &format!("{:.1}", next_in.as_secs_f32()))]),
            ),
            theme::WARN,
        ),
        FeedState::Failed { reason } => (format!("{} · {reason}", tr.t("wall.failed")), theme::BAD),
    }
}
