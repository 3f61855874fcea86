//! The video wall: tiles in a grid, each the newest frame of one camera with its name and
//! the feed's health drawn over it; above them the layouts, the pages and the tour, saved
//! walls; beside them (when opened) the camera list by village and grid, to drag a camera onto
//! a tile. A tile's menu swaps it with another, saves its picture, shows its stream's details
//! or closes it; a double-click shows it alone across the wall.
//!
//! A tile uploads its picture only when its feed's frame number moved, so a still or stalled
//! feed costs nothing per frame; a stalled feed keeps showing its last good frame. Pictures
//! are YUV, converted to RGB on the GPU as they are drawn ([`yuv`]).

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Align2, Color32, FontId, Rect, UiBuilder, pos2, vec2};
use streams::video::{FeedState, Frame};

use serde::{Deserialize, Serialize};

use crate::core::camera::{Camera, Motion, Preset, free_preset};
use crate::core::wall::{Layout, Wall};
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{camera_list, names, theme, yuv};
use crate::wall::clips::RecordingMark;

/// What one tile shows this frame.
pub struct TileFeed<'a> {
    pub camera: &'a Camera,
    pub state: FeedState,
    pub frame: Option<Arc<Frame>>,
    /// Whether it records an evidence clip, or why its last recording failed.
    pub recording: Option<RecordingMark>,
    /// A PTZ camera's presets, as its platform listed them (`None`: not listed yet).
    pub presets: Option<&'a [Preset]>,
    /// Why its last PTZ or preset command was refused, for a few seconds.
    pub notice: Option<&'a str>,
}

/// How long a recording from the tile's menu may run, in minutes.
const RECORD_MINUTES: [u32; 3] = [1, 5, 30];

/// A wall saved under a name: its layout and the camera on each tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedWall {
    pub name: String,
    pub layout: Layout,
    pub tiles: Vec<Option<String>>,
}

/// Tour intervals offered, in seconds.
const TOUR_STEPS: [u32; 3] = [10, 30, 60];

/// The wall's own state: one picture (its textures and the frame number they hold) per camera
/// on screen.
#[derive(Default)]
pub struct WallView {
    pictures: HashMap<String, yuv::Picture>,
    yuv: yuv::YuvPainter,
    /// The tile showing its stream details (from its context menu).
    info: Option<usize>,
    /// Whether the camera list is open beside the tiles, and the list.
    camera_list: bool,
    list: camera_list::CameraList,
    /// Whether the saved walls' window is open, and the name being typed for saving the wall.
    saved_open: bool,
    saving_as: String,
    /// The PTZ camera moving now, and how.
    steering: Option<(String, Motion)>,
}

impl WallView {
    /// Tells the wall how the window renders (see [`yuv`]): with glow or wgpu the pictures
    /// are scaled and converted on the GPU, otherwise on the CPU. Left untold, the wall finds
    /// out by itself.
    pub fn renderer(&mut self, renderer: yuv::Renderer) {
        self.yuv.renderer(renderer);
    }

    /// Draws the wall's controls and its tiles (`None` is an empty tile). `saved` are the walls
    /// saved under a name (kept between runs by the app).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        core: &Core,
        tr: &I18n,
        saved: &mut Vec<SavedWall>,
        tiles: &[Option<TileFeed<'_>>],
    ) -> Vec<Command> {
        let mut commands = vec![];
        let wall = &core.wall;
        ui.horizontal(|ui| {
            ui.label(tr.t("wall.layout"));
            for l in Layout::ALL {
                if ui.selectable_label(l == wall.layout, l.name().replace('x', "×")).clicked() && l != wall.layout {
                    commands.push(Command::SetLayout(l));
                }
            }
        });
        // A second row: the pages and the tour, the camera list, saved walls.
        ui.horizontal(|ui| {
            commands.extend(pages(ui, core, tr));
            ui.separator();
            // Sound is for the one tile shown across the wall.
            if wall.focused.is_some() {
                let mut sound = wall.sound;
                if ui.toggle_value(&mut sound, tr.t("wall.sound")).changed() {
                    commands.push(Command::SetSound(sound));
                }
            }
            ui.toggle_value(&mut self.camera_list, tr.t("wall.cameras"));
            ui.toggle_value(&mut self.saved_open, tr.t("wall.saved"));
        });
        if self.saved_open {
            let mut open = true;
            egui::Window::new(tr.t("wall.saved"))
                .id(egui::Id::unique("saved walls"))
                .open(&mut open)
                .show(ui.ctx(), |ui| commands.extend(saved_walls(ui, wall, tr, saved, &mut self.saving_as)));
            self.saved_open &= open;
        }
        let mut area = ui.available_rect_before_wrap();
        ui.allocate_rect(area, egui::Sense::hover());
        let mut steering = None;
        if self.camera_list {
            let list = Rect::from_min_size(area.min, vec2(CAMERA_LIST_WIDTH.min(area.width() / 3.0), area.height()));
            commands.extend(ui.scope_builder(UiBuilder::new().max_rect(list), |ui| self.list.ui(ui, core, tr)).inner);
            area.min.x = list.max.x + 4.0;
        }
        let gap = 4.0;
        let cells: Vec<(usize, [f32; 4])> = match wall.focused.filter(|&i| i < tiles.len()) {
            Some(i) => vec![(i, [0.0, 0.0, 1.0, 1.0])],
            None => wall.layout.cells().into_iter().enumerate().collect(),
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
                    commands.push(Command::FocusTile(if wall.focused.is_some() { None } else { Some(i) }));
                }
                // A camera dragged from the list and let go over this tile goes onto it.
                if let Some(camera) = response.dnd_release_payload::<String>() {
                    commands.push(Command::PlaceCamera { tile: i, camera: (*camera).clone() });
                }
                if response.dnd_hover_payload::<String>().is_some() {
                    ui.painter().rect_stroke(rect, 2.0, egui::Stroke::new(3.0, theme::OK), egui::StrokeKind::Inside);
                }
                if let Some(t) = tile.as_ref().filter(|t| t.camera.ptz) {
                    let keys = wall.focused == Some(i);
                    if let Some(motion) = ptz_controls(ui, tr, rect, i, keys) {
                        steering = Some((t.camera.id.clone(), motion));
                    }
                }
                if let Some(t) = tile {
                    if self.info == Some(i) {
                        info_overlay(ui, tr, rect, t);
                    }
                    response.context_menu(|ui| commands.extend(self.tile_menu(ui, wall, tr, i, t)));
                }
            });
        }
        // A PTZ camera moves while a control is held, and stops when it is let go.
        if steering != self.steering {
            if let Some((camera, _)) = self.steering.take() {
                commands.push(Command::Steer { camera, motion: Motion::Stop });
            }
            if let Some((camera, motion)) = &steering {
                commands.push(Command::Steer { camera: camera.clone(), motion: *motion });
            }
            self.steering = steering;
        }
        // Forget the pictures (and textures) of cameras no longer on the wall.
        let on_wall: Vec<&str> = tiles.iter().flatten().map(|t| t.camera.id.as_str()).collect();
        self.pictures.retain(|id, _| on_wall.contains(&id.as_str()));
        commands
    }

    /// A tile's menu: swap it with another tile, save its picture, its stream's details, close.
    fn tile_menu(&mut self, ui: &mut egui::Ui, wall: &Wall, tr: &I18n, i: usize, t: &TileFeed<'_>) -> Vec<Command> {
        let mut commands = vec![];
        let recording = matches!(t.recording, Some(RecordingMark::Since(_)));
        if t.camera.ptz {
            commands.extend(preset_menu(ui, tr, t));
        }
        ui.menu_button(tr.t("wall.swap_with"), |ui| {
            for other in (0..wall.tiles.len()).filter(|&o| o != i) {
                if ui.button(tr.f("wall.tile_n", &[("n", &(other + 1).to_string())])).clicked() {
                    commands.push(Command::SwapTiles(i, other));
                    ui.close();
                }
            }
        });
        if ui.button(tr.t("wall.snapshot")).clicked() {
            commands.push(Command::Snapshot(i));
            ui.close();
        }
        if recording {
            if ui.button(tr.t("wall.stop_recording")).clicked() {
                commands.push(Command::StopRecording(i));
                ui.close();
            }
        } else {
            ui.menu_button(tr.t("wall.record"), |ui| {
                for minutes in RECORD_MINUTES {
                    if ui.button(tr.f("wall.record_minutes", &[("n", &minutes.to_string())])).clicked() {
                        commands.push(Command::Record { tile: i, minutes });
                        ui.close();
                    }
                }
            });
        }
        if ui.button(tr.t("wall.stream_info")).clicked() {
            self.info = if self.info == Some(i) { None } else { Some(i) };
            ui.close();
        }
        if ui.button(tr.t("wall.close_tile")).clicked() {
            commands.push(Command::ClearTile(i));
            ui.close();
        }
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
            let area = fit(rect, frame.display_aspect());
            let picture = self.pictures.entry(tile.camera.id.clone()).or_insert_with(|| self.yuv.picture());
            self.yuv.paint(&painter, area, picture, frame);
        }
        // Name at top left.
        let name_font = FontId::proportional(15.0);
        let name = painter.layout_no_wrap(tile.camera.name.clone(), name_font, theme::TILE_TEXT);
        let name_rect = Rect::from_min_size(rect.min, name.size() + vec2(12.0, 6.0));
        painter.rect_filled(name_rect, 0.0, theme::TILE_SHADE);
        painter.galley(rect.min + vec2(6.0, 3.0), name, theme::TILE_TEXT);
        // A recording: a red dot and how long, at top right; a failed one, or a refused PTZ
        // command, says why.
        let recording = match &tile.recording {
            Some(RecordingMark::Since(since)) => {
                let s = since.elapsed().as_secs();
                Some((format!("● {} {:02}:{:02}", tr.t("wall.recording"), s / 60, s % 60), theme::BAD))
            }
            Some(RecordingMark::Failed(reason)) => {
                Some((tr.f("wall.recording_failed", &[("reason", reason)]), theme::WARN))
            }
            None => tile.notice.map(|reason| (tr.f("wall.ptz_refused", &[("reason", reason)]), theme::WARN)),
        };
        if let Some((text, colour)) = recording {
            let galley = painter.layout(text, FontId::proportional(14.0), colour, rect.width() * 0.6);
            let at = pos2(rect.max.x - galley.size().x - 12.0, rect.min.y + 30.0);
            painter.rect_filled(
                Rect::from_min_size(at - vec2(6.0, 3.0), galley.size() + vec2(12.0, 6.0)),
                0.0,
                theme::TILE_SHADE,
            );
            painter.galley(at, galley, colour);
        }
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
}

/// A PTZ camera's presets in its tile's menu: go to one, or keep where it looks as the next.
fn preset_menu(ui: &mut egui::Ui, tr: &I18n, t: &TileFeed<'_>) -> Option<Command> {
    let mut chosen = None;
    let camera = &t.camera.id;
    ui.menu_button(tr.t("wall.presets"), |ui| {
        let Some(presets) = t.presets else {
            ui.label(egui::RichText::new(tr.t("wall.presets_unknown")).color(theme::MUTED));
            return;
        };
        for p in presets {
            ui.horizontal(|ui| {
                let label = tr.f("wall.preset_go", &[("n", &p.number.to_string()), ("name", &p.name)]);
                if ui.button(label.trim_end()).clicked() {
                    chosen = Some(Command::Preset { camera: camera.clone(), number: p.number, save: false });
                    ui.close();
                }
                let place = tr.f("wall.preset_place", &[("n", &p.number.to_string())]);
                if p.stable && ui.button(place).clicked() {
                    chosen = Some(Command::PlacingPreset(Some((camera.clone(), p.number))));
                    ui.close();
                }
            });
        }
        if let Some(number) = free_preset(presets) {
            ui.separator();
            if ui.button(tr.f("wall.preset_save", &[("n", &number.to_string())])).clicked() {
                chosen = Some(Command::Preset { camera: camera.clone(), number, save: true });
                ui.close();
            }
        }
    });
    chosen
}

/// A PTZ camera's controls over its tile while the pointer is on it: hold an arrow or a zoom
/// button to move, let go to stop; on the tile shown alone (`keys`), the arrow keys and +/−
/// do the same. Returns the movement held this frame.
fn ptz_controls(ui: &mut egui::Ui, tr: &I18n, rect: Rect, tile: usize, keys: bool) -> Option<Motion> {
    let mut held = None;
    if keys && ui.memory(|m| m.focused().is_none()) {
        use egui::Key;
        let bindings = [
            (Key::ArrowLeft, Motion::Left),
            (Key::ArrowRight, Motion::Right),
            (Key::ArrowUp, Motion::Up),
            (Key::ArrowDown, Motion::Down),
            (Key::Plus, Motion::ZoomIn),
            (Key::Equals, Motion::ZoomIn),
            (Key::Minus, Motion::ZoomOut),
        ];
        held = ui.input(|i| bindings.iter().find(|(key, _)| i.key_down(*key)).map(|(_, m)| *m));
    }
    if !ui.rect_contains_pointer(rect) {
        return held;
    }
    const SIZE: f32 = 28.0;
    // A cross of arrows at the bottom right, above the health line, and the zoom beside it.
    let centre = pos2(rect.max.x - 3.2 * SIZE, rect.max.y - 2.2 * SIZE - 24.0);
    let controls = [
        (Motion::Up, "▲", vec2(0.0, -1.0), "wall.ptz_up"),
        (Motion::Down, "▼", vec2(0.0, 1.0), "wall.ptz_down"),
        (Motion::Left, "◀", vec2(-1.0, 0.0), "wall.ptz_left"),
        (Motion::Right, "▶", vec2(1.0, 0.0), "wall.ptz_right"),
        (Motion::ZoomIn, "+", vec2(2.3, -0.5), "wall.ptz_zoom_in"),
        (Motion::ZoomOut, "-", vec2(2.3, 0.5), "wall.ptz_zoom_out"),
    ];
    let painter = ui.painter_at(rect);
    for (motion, symbol, at, name) in controls {
        let button = Rect::from_center_size(centre + at * SIZE, vec2(SIZE - 3.0, SIZE - 3.0));
        let response = ui.interact(button, egui::Id::unique(("ptz", tile, name)), egui::Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, tr.t(name)));
        let down = response.is_pointer_button_down_on();
        let fill = if down {
            theme::OK
        } else if response.hovered() {
            theme::TILE_TEXT.gamma_multiply(0.35)
        } else {
            theme::TILE_SHADE
        };
        painter.rect_filled(button, 4.0, fill);
        painter.text(button.center(), Align2::CENTER_CENTER, symbol, FontId::proportional(16.0), theme::TILE_TEXT);
        if down {
            held = Some(motion);
        }
    }
    held
}

/// Save the wall under a name; bring back or delete a saved one.
fn saved_walls(
    ui: &mut egui::Ui,
    wall: &Wall,
    tr: &I18n,
    saved: &mut Vec<SavedWall>,
    saving_as: &mut String,
) -> Vec<Command> {
    let mut commands = vec![];
    ui.horizontal(|ui| {
        let label = ui.label(tr.t("wall.saved_name"));
        ui.add(egui::TextEdit::singleline(saving_as).desired_width(120.0)).labelled_by(label.id);
        let name = saving_as.trim().to_owned();
        if ui.add_enabled(!name.is_empty(), egui::Button::new(tr.t("wall.save"))).clicked() {
            saved.retain(|s| s.name != name);
            saved.push(SavedWall { name, layout: wall.layout, tiles: wall.tiles.clone() });
            saving_as.clear();
        }
    });
    let mut delete = None;
    for (k, s) in saved.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.button(&s.name).clicked() {
                commands.push(Command::RestoreWall { layout: s.layout, tiles: s.tiles.clone() });
                ui.close();
            }
            if ui.small_button(tr.t("wall.delete_saved")).clicked() {
                delete = Some(k);
            }
        });
    }
    if let Some(k) = delete {
        saved.remove(k);
    }
    commands
}

/// The camera list's width beside the tiles.
const CAMERA_LIST_WIDTH: f32 = 190.0;

/// Page buttons when the cameras do not fit on the tiles, and the tour through the pages.
fn pages(ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Vec<Command> {
    let mut commands = vec![];
    let wall = &core.wall;
    let pages = wall.pages(core.cameras.len());
    if ui.add_enabled(pages > 1, egui::Button::new("◀").small()).on_hover_text(tr.t("wall.prev_page")).clicked() {
        commands.push(Command::ShowPage(wall.page + pages - 1));
    }
    ui.label(tr.f("wall.page", &[("page", &(wall.page + 1).to_string()), ("pages", &pages.to_string())]));
    if ui.add_enabled(pages > 1, egui::Button::new("▶").small()).on_hover_text(tr.t("wall.next_page")).clicked() {
        commands.push(Command::ShowPage(wall.page + 1));
    }
    let every = wall.tour.map(|t| t.every_secs);
    let name = every.map_or(tr.t("wall.tour_off").to_owned(), |s| tr.f("wall.tour_every", &[("s", &s.to_string())]));
    crate::ui::queue::combo(ui, tr.t("wall.tour"), name, |ui| {
        if ui.selectable_label(every.is_none(), tr.t("wall.tour_off")).clicked() {
            commands.push(Command::SetTour(None));
        }
        for s in TOUR_STEPS {
            if ui.selectable_label(every == Some(s), tr.f("wall.tour_every", &[("s", &s.to_string())])).clicked() {
                commands.push(Command::SetTour(Some(s)));
            }
        }
    });
    commands
}

/// The largest rectangle of the given aspect ratio centred in `outer`.
pub fn fit(outer: Rect, aspect: f32) -> Rect {
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
        FeedState::Playing { fps, width, height, kbps, hardware, sound, latency_ms, .. } => {
            let decoding = if *hardware { tr.t("wall.hw_decoder") } else { tr.t("wall.sw_decoder") };
            let sound = if *sound { format!(" · {}", tr.t("wall.sound_on")) } else { String::new() };
            let line = format!(
                "● {} {fps:.0} fps {width}×{height} · {kbps} kbps · {decoding} · {latency_ms} ms{sound}",
                tr.t("wall.playing")
            );
            (line, theme::OK)
        }
        FeedState::Stalled { for_secs, frozen } => {
            let what = if *frozen { tr.t("wall.frozen") } else { tr.t("wall.stalled") };
            (format!("{what} · {for_secs} s"), theme::BAD)
        }
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
    let decoder = match &tile.state {
        FeedState::Playing { decoder, .. } => decoder.as_str(),
        _ => "—",
    };
    let text = format!(
        "{}: {} ({})\n{state}\n{}: {decoder}\n{}: {frames}",
        tr.t("wall.info_camera"),
        tile.camera.name,
        tile.camera.id,
        tr.t("wall.info_decoder"),
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
