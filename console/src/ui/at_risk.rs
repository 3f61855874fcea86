//! The "orders at risk" strip: every clock that is running out or missed, soonest first, and
//! the missed-clock alerts the officer has not dismissed. Click a clock to open its incident.

use egui::RichText;

use crate::core::clock::{ClockKind, Running};
use crate::core::unit::name_of;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::theme;

/// The clocks the strip shows at `now` (at most eight, soonest first); worked out once a frame.
pub fn risky(core: &Core, now: chrono::DateTime<chrono::Utc>) -> Vec<Running> {
    core.running_clocks(now).into_iter().filter(|r| r.at_risk).take(8).collect()
}

/// Whether the strip has anything to show.
pub fn needed(core: &Core, risky: &[Running]) -> bool {
    !core.orders.alerts.is_empty() || !risky.is_empty()
}

fn clock_name(tr: &I18n, kind: ClockKind) -> &str {
    tr.t(match kind {
        ClockKind::Acknowledge => "clock.acknowledge",
        ClockKind::OnScene => "clock.on_scene",
        ClockKind::ReportBack => "clock.report_back",
    })
}

/// "m:ss" of a duration, or "h:mm:ss" when an hour or more.
fn span(d: chrono::Duration) -> String {
    let s = d.num_seconds().abs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

pub fn ui(ui: &mut egui::Ui, core: &Core, tr: &I18n, risky: &[Running]) -> Vec<Command> {
    let mut commands = vec![];
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(tr.t("at_risk.title")).strong());
        for (i, (order, unit, kind)) in core.orders.alerts.iter().enumerate() {
            let text = tr.f(
                "at_risk.missed",
                &[("unit", name_of(&core.units, unit)), ("clock", clock_name(tr, *kind)), ("order", order)],
            );
            if ui.button(RichText::new(text).color(theme::BAD)).on_hover_text(tr.t("at_risk.dismiss")).clicked() {
                commands.push(Command::DismissClockAlert(i));
            }
        }
        for r in risky {
            let key = if r.left < chrono::Duration::zero() { "at_risk.overdue" } else { "at_risk.left" };
            let text = tr.f(
                key,
                &[("unit", name_of(&core.units, &r.unit)), ("clock", clock_name(tr, r.kind)), ("time", &span(r.left))],
            );
            if ui.button(RichText::new(text).color(theme::WARN)).clicked() {
                commands.push(Command::SelectIncident(r.incident.clone()));
            }
        }
    });
    commands
}
