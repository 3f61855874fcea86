//! The incident's audit trail in the detail panel, and the officer's own hand on it: write a
//! note, close a report that needs no dispatch (a false or duplicate one — with the reason as
//! its note), open a closed incident again.
//!
//! Nothing changes here directly: each button sends an update to the hub, and the trail shows
//! it once the hub has logged it — so what every console shows is what the log holds.

use egui::RichText;
use streams::feed::IncidentStatus;

use crate::core::history::Entry;
use crate::core::incident::TrackedIncident;
use crate::core::unit::name_of;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// The note being written, per panel.
#[derive(Default)]
pub struct TrailView {
    note: String,
}

impl TrailView {
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, t: &TrackedIncident) -> Vec<Command> {
        let mut commands = vec![];
        let id = &t.incident.id;
        ui.label(RichText::new(tr.t("trail.title")).color(theme::MUTED));
        let label = ui.label(tr.t("trail.note"));
        ui.add(egui::TextEdit::multiline(&mut self.note).desired_rows(2).desired_width(f32::INFINITY))
            .labelled_by(label.id);
        let written = !self.note.trim().is_empty();
        let mut update = |status: Option<IncidentStatus>, note: &mut String| {
            commands.push(Command::UpdateIncident {
                incident: id.clone(),
                status,
                note: Some(std::mem::take(note)).filter(|n| !n.trim().is_empty()),
            });
        };
        ui.horizontal(|ui| {
            if ui.add_enabled(written, egui::Button::new(tr.t("trail.add_note"))).clicked() {
                update(None, &mut self.note);
            }
            if t.is_open() {
                // Closing by hand needs its reason, written as the note.
                let close = ui
                    .add_enabled(written, egui::Button::new(tr.t("trail.close")))
                    .on_hover_text(tr.t("trail.close_hint"))
                    .on_disabled_hover_text(tr.t("trail.close_hint"));
                if close.clicked() {
                    update(Some(IncidentStatus::Closed), &mut self.note);
                }
            } else if ui.button(tr.t("trail.reopen")).clicked() {
                update(Some(IncidentStatus::New), &mut self.note);
            }
        });
        if t.is_open() && !core.handovers.sending.iter().any(|(_, i)| i == id) {
            commands.extend(self.hand_over(ui, core, tr, id));
        }
        for line in core.history.of(id).iter().rev() {
            let what = match &line.entry {
                Entry::Reported { source } => tr.f("trail.reported", &[("source", names::source(tr, *source))]),
                Entry::AlarmAcknowledged => tr.t("trail.acknowledged").to_owned(),
                Entry::Paged { to } => tr.f("trail.paged", &[("to", to)]),
                Entry::Status(s) => tr.f("trail.status", &[("status", names::status(tr, *s))]),
                Entry::Note(note) => tr.f("trail.noted", &[("note", note)]),
                Entry::OrderIssued { order, unit } => {
                    tr.f("trail.order", &[("order", order), ("unit", name_of(&core.units, unit))])
                }
                Entry::Step { unit, step } => {
                    tr.f("trail.step", &[("unit", name_of(&core.units, unit)), ("step", names::step(tr, *step))])
                }
                Entry::HandedOver { unit, to } => {
                    tr.f("trail.handed_over", &[("unit", name_of(&core.units, unit)), ("to", to)])
                }
                Entry::Transferred { to, reason } => {
                    let key = if core.bridged_from(id).is_some_and(|(from, _)| from == to) {
                        "trail.returned"
                    } else {
                        "trail.transferred"
                    };
                    tr.f(key, &[("to", peer_name(core, to)), ("reason", reason)])
                }
                Entry::Clip { camera, file, sha256, seconds, cut } => {
                    let kept = tr.f(
                        "trail.clip",
                        &[
                            ("camera", camera),
                            ("seconds", &format!("{seconds:.0}")),
                            ("file", file),
                            ("sha", sha256.get(..12).unwrap_or(sha256)),
                        ],
                    );
                    match cut {
                        Some(reason) => format!("{kept} {}", tr.f("trail.clip_cut", &[("reason", reason)])),
                        None => kept,
                    }
                }
                Entry::TransferState { to, state, text } => tr.f(
                    "trail.transfer_state",
                    &[("to", peer_name(core, to)), ("state", names::handover_state(tr, *state)), ("text", text)],
                ),
            };
            let by = match &line.entry {
                Entry::OrderIssued { .. }
                | Entry::Step { .. }
                | Entry::Paged { .. }
                | Entry::HandedOver { .. }
                | Entry::TransferState { .. } => String::new(),
                _ => format!(" · {}", line.by),
            };
            ui.label(RichText::new(format!("{} {what}{by}", names::date_time(line.time))).size(13.0));
        }
        commands
    }

    /// 转办 / 退回: one button per docked system, the note being the reason it is told. The
    /// incident came from one of them (a 110 incident): to that one it is a return.
    fn hand_over(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, id: &str) -> Option<Command> {
        if core.peers.is_empty() {
            return None;
        }
        let from = core.bridged_from(id).map(|(peer, _)| peer);
        let written = !self.note.trim().is_empty();
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            for streams::feed::DockedPeer { id: peer, name } in &core.peers {
                let key = if Some(peer.as_str()) == from { "trail.return_to" } else { "trail.transfer_to" };
                let button = ui
                    .add_enabled(written, egui::Button::new(tr.f(key, &[("to", name)])))
                    .on_hover_text(tr.t("trail.transfer_hint"))
                    .on_disabled_hover_text(tr.t("trail.transfer_hint"));
                if button.clicked() {
                    chosen = Some(peer.clone());
                }
            }
        });
        let to = chosen?;
        Some(Command::HandOver { incident: id.to_owned(), to, reason: std::mem::take(&mut self.note) })
    }
}

/// A docked system's name, from its id.
fn peer_name<'a>(core: &'a Core, id: &'a str) -> &'a str {
    core.peers.iter().find(|p| p.id == id).map_or(id, |p| p.name.as_str())
}
