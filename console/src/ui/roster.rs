//! The duty rosters (值班表 · AB岗) in an admin's hands: for each unit, who holds its A and B
//! posts at which hours, with their mobiles — edited here and saved to the log (`set_roster`),
//! in force on every seat and at the center's server as soon as the log has it.

use egui::RichText;
use streams::feed::{PostKind, RosterPost};

use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// One post as it is being edited.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    post: PostKind,
    name: String,
    /// Mobile numbers, separated by commas.
    mobiles: String,
    hours: String,
    /// The post's radio, kept as it was (not edited here).
    radio: Option<String>,
}

#[derive(Default)]
pub struct RosterView {
    pub open: bool,
    /// The unit whose roster is being edited, and its posts as edited so far.
    editing: Option<(String, Vec<Row>)>,
    /// Why the last save was not sent.
    trouble: Option<String>,
}

impl RosterView {
    pub fn ui(&mut self, ctx: &egui::Context, core: &Core, tr: &I18n) -> Vec<Command> {
        let mut commands = vec![];
        let mut open = self.open;
        egui::Window::new(tr.t("roster.title")).open(&mut open).default_width(620.0).show(ctx, |ui| {
            let chosen = self.editing.as_ref().map(|(u, _)| u.clone());
            let label = chosen.as_deref().map_or(tr.t("roster.pick"), |u| crate::core::unit::name_of(&core.units, u));
            egui::ComboBox::from_label(tr.t("roster.unit")).selected_text(label).show_ui(ui, |ui| {
                for unit in &core.units {
                    if ui.selectable_label(chosen.as_deref() == Some(unit.id.as_str()), &unit.name).clicked() {
                        let rows = unit
                            .posts
                            .iter()
                            .map(|p| {
                                let wire = p.to_wire();
                                Row {
                                    post: p.kind,
                                    name: wire.name,
                                    mobiles: wire.mobiles.join(","),
                                    hours: wire.hours.unwrap_or_default(),
                                    radio: wire.radio,
                                }
                            })
                            .collect();
                        self.editing = Some((unit.id.clone(), rows));
                        self.trouble = None;
                    }
                }
            });
            let Some((unit, rows)) = &mut self.editing else { return };
            if let Some((by, at)) = core.rosters_set.get(unit.as_str()) {
                ui.label(
                    RichText::new(tr.f("roster.last_set", &[("by", by), ("at", &names::date_time(*at))]))
                        .color(theme::MUTED),
                );
            }
            let mut remove = None;
            egui::Grid::new("roster rows").num_columns(5).spacing([8.0, 4.0]).show(ui, |ui| {
                for key in ["roster.post", "roster.name", "roster.mobiles", "roster.hours", ""] {
                    ui.label(RichText::new(tr.t(key)).color(theme::MUTED));
                }
                ui.end_row();
                for (i, row) in rows.iter_mut().enumerate() {
                    let post = match row.post {
                        PostKind::A => "A",
                        PostKind::B => "B",
                    };
                    let n = i + 1;
                    if ui.button(post).on_hover_text(tr.t("roster.switch")).clicked() {
                        row.post = if row.post == PostKind::A { PostKind::B } else { PostKind::A };
                    }
                    for (text, key, width) in [
                        (&mut row.name, "roster.name_n", 110.0),
                        (&mut row.mobiles, "roster.mobiles_n", 160.0),
                        (&mut row.hours, "roster.hours_n", 100.0),
                    ] {
                        let name = tr.f(key, &[("n", &n.to_string())]);
                        ui.add(egui::TextEdit::singleline(text).desired_width(width))
                            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name));
                    }
                    if ui.small_button(tr.f("roster.remove", &[("n", &n.to_string())])).clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
            if let Some(i) = remove {
                rows.remove(i);
            }
            ui.horizontal(|ui| {
                for (post, key) in [(PostKind::A, "roster.add_a"), (PostKind::B, "roster.add_b")] {
                    if ui.button(tr.t(key)).clicked() {
                        rows.push(Row {
                            post,
                            name: String::new(),
                            mobiles: String::new(),
                            hours: String::new(),
                            radio: None,
                        });
                    }
                }
            });
            ui.label(RichText::new(tr.t("roster.hint")).color(theme::MUTED));
            if let Some(trouble) = &self.trouble {
                ui.label(RichText::new(trouble).color(theme::WARN));
            }
            if ui.button(RichText::new(tr.t("roster.save")).strong()).clicked() {
                let posts: Vec<RosterPost> = rows.iter().map(to_wire).collect();
                match posts.iter().try_for_each(RosterPost::check) {
                    Ok(()) => {
                        commands.push(Command::SetRoster { unit: unit.clone(), posts });
                        self.trouble = None;
                    }
                    Err(reason) => self.trouble = Some(reason),
                }
            }
        });
        self.open = open;
        commands
    }
}

/// A row as the wire carries it: mobiles split at commas, empty hours for the tier's default.
fn to_wire(row: &Row) -> RosterPost {
    let mobiles =
        row.mobiles.split([',', '，', ' ']).map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned).collect();
    let hours = Some(row.hours.trim().to_owned()).filter(|h| !h.is_empty());
    RosterPost { post: row.post, name: row.name.trim().to_owned(), mobiles, radio: row.radio.clone(), hours }
}
