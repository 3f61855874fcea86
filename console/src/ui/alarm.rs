//! The alarm banner: the newest unacknowledged alarm across the top of the window, in red,
//! until the duty officer acknowledges it. It never dismisses itself.

use egui::{Color32, RichText};

use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

pub fn ui(ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Vec<Command> {
    let mut commands = vec![];
    let Some(t) = core.alarms.last().and_then(|id| core.incidents.get(id)) else {
        return commands;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("⚠ {}", tr.t("alarm.title"))).strong().size(18.0).color(Color32::WHITE));
        let line = format!("{} — {}", names::incident_line(tr, core, t), t.incident.report.text);
        ui.label(RichText::new(line).size(16.0).color(Color32::WHITE));
        if core.alarms.len() > 1 {
            let more = tr.f("alarm.more", &[("n", &(core.alarms.len() - 1).to_string())]);
            ui.label(RichText::new(more).color(theme::WARN));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button(RichText::new(tr.t("alarm.acknowledge")).strong()).clicked() {
                commands.push(Command::AcknowledgeAlarm(t.incident.id.clone()));
            }
            if ui.button(tr.t("alarm.show")).clicked() {
                commands.push(Command::SelectIncident(t.incident.id.clone()));
            }
        });
    });
    commands
}
