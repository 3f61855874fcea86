//! The on-call seat's view (值守): only what must never be missed — every tier-1 alarm still
//! ringing, large, with how long it has rung, whom the server paged, and the button that
//! acknowledges it; then every clock of a tier-1 unit's order still running, soonest first.
//! It takes the place of the wall and the queue on a seat whose person is on call; the alarm
//! sounds until someone acknowledges, as on every seat.

use egui::RichText;

use crate::core::clock::ClockKind;
use crate::core::unit::{Tier, name_of};
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

const BIG: f32 = 22.0;

pub fn ui(ui: &mut egui::Ui, core: &Core, tr: &I18n, now: chrono::DateTime<chrono::Utc>) -> Vec<Command> {
    let mut commands = vec![];
    ui.label(RichText::new(tr.t("on_call.title")).size(BIG).strong());
    ui.separator();
    if core.alarms.is_empty() {
        ui.label(RichText::new(tr.t("on_call.quiet")).size(BIG).color(theme::OK));
    }
    for id in &core.alarms {
        let Some(t) = core.incidents.get(id) else { continue };
        egui::Frame::default().fill(theme::ALARM).inner_margin(10.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(names::incident_line(tr, core, t)).size(BIG).strong().color(theme::TILE_TEXT));
            let rung = (now - t.incident.reported_at).num_seconds().max(0);
            let rung = format!("{}:{:02}", rung / 60, rung % 60);
            ui.label(RichText::new(tr.f("on_call.ringing", &[("for", &rung)])).size(18.0).color(theme::TILE_TEXT));
            for page in core.pages.get(id).into_iter().flatten() {
                ui.label(RichText::new(tr.f("on_call.paged", &[("to", &page.to)])).size(16.0).color(theme::TILE_TEXT));
            }
            let label = tr.f("on_call.acknowledge", &[("incident", id)]);
            if ui.button(RichText::new(label).size(BIG).strong()).clicked() {
                commands.push(Command::AcknowledgeAlarm(id.clone()));
            }
        });
        ui.add_space(6.0);
    }
    ui.add_space(10.0);
    ui.label(RichText::new(tr.t("on_call.clocks")).size(18.0).strong());
    let tier_one = |order: &str, unit: &str| {
        core.orders
            .list
            .get(order)
            .and_then(|o| o.units.iter().find(|u| u.unit == unit))
            .is_some_and(|u| u.tier == Tier::One)
    };
    for r in core.running_clocks(now).into_iter().filter(|r| tier_one(&r.order, &r.unit)) {
        let clock = tr.t(match r.kind {
            ClockKind::Acknowledge => "clock.acknowledge",
            ClockKind::OnScene => "clock.on_scene",
            ClockKind::ReportBack => "clock.report_back",
        });
        let left = r.left.num_seconds();
        let (text, colour) = if left < 0 {
            (tr.f("on_call.missed", &[("for", &format!("{}:{:02}", -left / 60, -left % 60))]), theme::BAD)
        } else {
            let colour = if r.at_risk { theme::WARN } else { theme::TILE_TEXT };
            (tr.f("on_call.left", &[("left", &format!("{}:{:02}", left / 60, left % 60))]), colour)
        };
        let line = format!("{} · {} · {clock} · {text}", r.incident, name_of(&core.units, &r.unit));
        if ui.add(egui::Label::new(RichText::new(line).size(18.0).color(colour)).sense(egui::Sense::click())).clicked()
        {
            commands.push(Command::SelectIncident(r.incident.clone()));
        }
    }
    commands
}
