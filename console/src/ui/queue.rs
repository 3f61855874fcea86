//! The incident queue: every incident, most urgent first; a click selects it.

use egui::{Rect, Sense, vec2};

use crate::core::incident::TrackedIncident;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// The queue keeps no state of its own yet (search and filters arrive with the queue work).
#[derive(Default)]
pub struct QueueView;

impl QueueView {
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Vec<Command> {
        let mut commands = vec![];
        ui.horizontal(|ui| {
            ui.heading(tr.t("region.queue"));
            ui.label(tr.f("queue.count", &[("n", &core.incidents.len().to_string())]));
        });
        ui.separator();
        if core.incidents.is_empty() {
            ui.label(tr.t("queue.empty"));
            return commands;
        }
        let row_height = 22.0;
        let queue: Vec<&TrackedIncident> = core.incidents.queue().collect();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show_rows(ui, row_height, queue.len(), |ui, range| {
            for t in &queue[range] {
                ui.horizontal(|ui| {
                    let (chip, _) = ui.allocate_exact_size(vec2(6.0, row_height - 6.0), Sense::hover());
                    ui.painter().rect_filled(
                        Rect::from_center_size(chip.center(), chip.size()),
                        1.0,
                        theme::severity(t.incident.report.severity),
                    );
                    let selected = core.selected.as_deref() == Some(t.incident.id.as_str());
                    if ui.selectable_label(selected, row_label(core, tr, t)).clicked() {
                        commands.push(Command::SelectIncident(t.incident.id.clone()));
                    }
                });
            }
        });
        commands
    }
}

/// One row: the incident's line and its status — all a duty officer scans for.
pub fn row_label(core: &Core, tr: &I18n, t: &TrackedIncident) -> String {
    format!("{} · {}", names::incident_line(tr, core, t), names::status(tr, t.incident.status))
}
