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
use crate::core::wall::Layout;
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// What one tile shows this frame.
pub struct TileFeed<'a> {
    pub camera: &'a Camera,
    pub state: FeedState,
    pub frame: Option<Arc<Frame>>,
}

/// The wall's own state: one texture per camera on screen and the frame number it holds, and
/// the tile focused full-wall (by a double-click), if any.
#[derive(Default)]
pub struct WallView {
    textures: HashMap<String, (TextureHandle, u64)>,
    focused: Option<usize>,
    /// The tile showing its stream details (from its context menu).
    info: Option<usize>,
}

impl WallView {
    /// Draws the layout buttons and the tiles (`None` is an empty tile). A double-click on a
    /// tile shows it alone across the wall; another brings the layout back.
    pub fn ui(&mut self, ui: &mut egui::Ui, tr: &I18n, layout: Layout, tiles: &[Option<TileFeed<'_>>]) -> Vec<Command> {
        let mut commands = vec![];
        ui.horizontal(|ui| {
            ui.label(tr.t("wall.layout"));
            for l in Layout::ALL {
                if ui.selectable_label(l == layout, l.name().replace('x', "×")).clicked() && l != layout {
                    self.focused = None;
                    commands.push(Command::SetLayout(l));
                }
            }
        });
        let area = ui.available_rect_before_wrap();
        ui.allocate_rect(area, egui::Sense::hover());
        let gap = 4.0;
        let cells: Vec<(usize, [f32; 4])> = match self.focused.filter(|&i| i < tiles.len()) {
            Some(i) => vec![(i, [0.0, 0.0, 1.0, 1.0])],
            None => layout.cells().into_iter().enumerate().collect(),
        };
        for (i, [x, y, w, h]) in cells {
            let Some(tile) = tiles.get(i) else { continue };
            let min = area.min + vec2(x * area.width(), y * area.height());
            let rect = Rect::from_min_size(min, vec2(w * area.width(), h * area.height())).shrink(gap / 2.0);
            let label = match tile {
                Some(t) => format!("{} {}: {}", tr.t("region.wall"), i + 1, t.camera.name),
                None => format!("{} {}: {}", tr.t("region.wall"), i + 1, tr.t("wall.empty_tile")),
            };
            ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                self.tile(ui, tr, rect, tile.as_ref());
                // The tile is one widget named after its camera: a test or a screen reader
                // finds it by that name, and a double-click on it toggles the focus.
                let response = ui.interact(rect, egui::Id::unique(("wall tile", i)), egui::Sense::click());
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Video, true, &label));
                if response.double_clicked() {
                    self.focused = if self.focused.is_some() { None } else { Some(i) };
                }
                if let Some(t) = tile {
                    if self.info == Some(i) {
                        info_overlay(ui, tr, rect, t);
                    }
                    response.context_menu(|ui| {
                        if ui.button(tr.t("wall.stream_info")).clicked() {
                            self.info = if self.info == Some(i) { None } else { Some(i) };
                            ui.close();
                        }
                        if ui.button(tr.t("wall.close_tile")).clicked() {
                            commands.push(Command::ClearTile(i));
                            ui.close();
                        }
                    });
                }
            });
        }
        // Forget textures of cameras no longer on the wall.
        let on_wall: Vec<&str> = tiles.iter().flatten().map(|t| t.camera.id.as_str()).collect();
        self.textures.retain(|id, _| on_wall.contains(&id.as_str()));
        commands
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
        // Health at bottom left; a tile without signal says since when, over its last frame.
        let (mut text, color) = health_line(tr, &tile.state);
        if let Some(frame) = tile.frame.as_ref().filter(|_| !matches!(tile.state, FeedState::Playing { .. })) {
            let lost = names::clock(chrono::DateTime::<chrono::Utc>::from(frame.received));
            text = format!("{} {lost} · {text}", tr.t("wall.signal_lost"));
        }
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

/// A tile's stream details over its picture. The stream address is never shown: it may hold a
/// password.
fn info_overlay(ui: &egui::Ui, tr: &I18n, rect: Rect, tile: &TileFeed<'_>) {
    let (state, _) = health_line(tr, &tile.state);
    let frames = tile.frame.as_ref().map_or(0, |f| f.seq);
    let text = format!(
        "{}: {} ({})\n{state}\n{}: {frames}",
        tr.t("wall.info_camera"),
        tile.camera.name,
        tile.camera.id,
        tr.t("wall.info_frames")
    );
    let painter = ui.painter_at(rect);
    let galley = painter.layout_no_wrap(text, FontId::monospace(12.0), theme::TILE_TEXT);
    let at = rect.center() - galley.size() / 2.0;
    painter.rect_filled(
        Rect::from_min_size(at - vec2(8.0, 6.0), galley.size() + vec2(16.0, 12.0)),
        4.0,
        theme::TILE_SHADE,
    );
    painter.galley(at, galley, theme::TILE_TEXT);
}
