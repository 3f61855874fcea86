//! The camera list beside the wall: village → grid → camera, each camera dragged onto a tile to
//! play. A site's platform lists thousands of channels, so the list is built once per change
//! of the cameras (or of the filter typed above it), not per frame, and only the rows in view
//! are laid out. A camera the platform calls offline, or no longer lists, says so.

use std::collections::HashSet;

use crate::core::camera::Presence;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::theme;

/// One line of the list.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// A village (`None`: cameras outside every grid), opened or closed by a click.
    Village(Option<String>),
    Grid(String),
    /// An index into `core.cameras`.
    Camera(usize),
}

/// The list's state: the rows as last built, what they were built from, the closed villages
/// and the filter.
#[derive(Default)]
pub struct CameraList {
    rows: Vec<Row>,
    built_for: Option<(u64, usize, String, usize)>,
    closed: HashSet<Option<String>>,
    filter: String,
}

/// Every row is one line of this height, so the scroll area lays out only the visible ones.
const ROW_HEIGHT: f32 = 18.0;

impl CameraList {
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Option<Command> {
        let mut command = None;
        ui.label(egui::RichText::new(tr.t("wall.drag_hint")).color(theme::MUTED).size(12.0));
        // The platforms: read again on demand; a failed read says why (its cameras stay).
        if !core.video_platforms.is_empty() && ui.small_button(tr.t("wall.resync")).clicked() {
            command = Some(Command::ResyncPlatforms);
        }
        for link in &core.video_platforms {
            let (text, colour) = match &link.trouble {
                Some(trouble) => {
                    (tr.f("wall.platform_trouble", &[("name", &link.name), ("reason", trouble)]), theme::BAD)
                }
                None => match link.cameras {
                    Some(n) => {
                        (tr.f("wall.platform_cameras", &[("name", &link.name), ("n", &n.to_string())]), theme::MUTED)
                    }
                    None => (tr.f("wall.platform_reading", &[("name", &link.name)]), theme::MUTED),
                },
            };
            ui.label(egui::RichText::new(text).color(colour).size(12.0));
        }
        ui.horizontal(|ui| {
            let label = ui.label(tr.t("wall.camera_filter"));
            let field = egui::TextEdit::singleline(&mut self.filter).hint_text(tr.t("wall.camera_filter_hint"));
            ui.add(field).labelled_by(label.id);
        });
        let key = (core.cameras_changed, core.cameras.len(), self.filter.clone(), self.closed.len());
        if self.built_for.as_ref() != Some(&key) {
            self.rows = rows(core, self.filter.trim(), &self.closed);
            self.built_for = Some(key);
        }
        let mut toggle = None;
        // Within the wall's height; dragging in it moves cameras, it does not scroll.
        egui::ScrollArea::vertical()
            .id_salt("camera list")
            .max_height(ui.available_height())
            .scroll_source(egui::scroll_area::ScrollSource {
                drag: egui::scroll_area::DragScroll::Never,
                ..Default::default()
            })
            .show_rows(ui, ROW_HEIGHT, self.rows.len(), |ui, range| {
                for row in &self.rows[range] {
                    match row {
                        Row::Village(village) => {
                            let open = !self.closed.contains(village);
                            let name = village.as_deref().unwrap_or(tr.t("detail.outside_grids"));
                            let mark = if open { "▼" } else { "▶" };
                            let text = egui::RichText::new(format!("{mark} {name}")).strong();
                            if ui.add(egui::Button::new(text).frame(false)).clicked() {
                                toggle = Some(village.clone());
                            }
                        }
                        Row::Grid(grid) => {
                            ui.label(egui::RichText::new(grid).color(theme::MUTED).size(12.0));
                        }
                        Row::Camera(i) => {
                            let Some(camera) = core.cameras.get(*i) else { continue };
                            let id = egui::Id::unique(("camera in list", &camera.id));
                            let mut text = camera.name.clone();
                            if camera.ptz {
                                text = format!("{text} · {}", tr.t("wall.ptz"));
                            }
                            let colour = match camera.presence {
                                Presence::Online => ui.visuals().text_color(),
                                Presence::Offline => {
                                    text = format!("{text} · {}", tr.t("wall.offline"));
                                    theme::MUTED
                                }
                                Presence::Gone => {
                                    text = format!("{text} · {}", tr.t("wall.gone"));
                                    theme::BAD
                                }
                            };
                            ui.horizontal(|ui| {
                                ui.add_space(12.0);
                                // Not selectable: selecting text would take the drag.
                                ui.dnd_drag_source(id, camera.id.clone(), |ui| {
                                    ui.add(egui::Label::new(egui::RichText::new(text).color(colour)).selectable(false))
                                });
                            });
                        }
                    }
                }
            });
        if let Some(village) = toggle
            && !self.closed.remove(&village)
        {
            self.closed.insert(village);
        }
        command
    }
}

/// The rows: villages in the order the grid file lists them, then cameras outside every grid;
/// only cameras whose name or id holds `filter`; a closed village shows its name alone.
fn rows(core: &Core, filter: &str, closed: &HashSet<Option<String>>) -> Vec<Row> {
    // village → grid → cameras
    type Grids = Vec<(String, Vec<usize>)>;
    let mut tree: Vec<(Option<String>, Grids)> = vec![];
    for (i, camera) in core.cameras.iter().enumerate() {
        if !filter.is_empty() && !camera.name.contains(filter) && !camera.id.contains(filter) {
            continue;
        }
        let (village, grid) = match core.grids.locate(camera.lon, camera.lat).map(|g| &core.grids.grids[g]) {
            Some(g) => (Some(g.village.clone()), format!("{} {}", g.code, g.name)),
            // Not placed by its position: the village its platform's civil code maps to.
            None => (camera.village.clone(), String::new()),
        };
        let v = match tree.iter().position(|(name, _)| *name == village) {
            Some(v) => v,
            None => {
                tree.push((village, vec![]));
                tree.len() - 1
            }
        };
        let grids = &mut tree[v].1;
        match grids.iter_mut().find(|(name, _)| *name == grid) {
            Some((_, cameras)) => cameras.push(i),
            None => grids.push((grid, vec![i])),
        }
    }
    // Cameras outside every grid last.
    tree.sort_by_key(|(village, _)| village.is_none());
    let mut rows = vec![];
    for (village, grids) in tree {
        let open = !closed.contains(&village);
        rows.push(Row::Village(village));
        if !open {
            continue;
        }
        for (grid, cameras) in grids {
            if !grid.is_empty() {
                rows.push(Row::Grid(grid));
            }
            rows.extend(cameras.into_iter().map(Row::Camera));
        }
    }
    rows
}
