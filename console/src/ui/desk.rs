//! The unit seat's view (联动分中心工作台): the orders the center sent to this unit, most
//! urgent first — each with the incident, the order's words, the clock now running and the
//! button for the next step — and, below, what the unit has reported back. A new order rings
//! and stands in the banner across the window until it is signed for (签收); a report back
//! needs the unit's words. Every step is the protocol's `progress`, so the center sees it at
//! once.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use egui::{Color32, RichText};
use streams::feed::{Severity, Step};

use crate::core::clock::ClockKind;
use crate::core::desk::{MAX_NOTE, MAX_PHOTOS, Task};
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// What is being written for each order's report, kept while the seat runs.
#[derive(Default)]
pub struct DeskView {
    /// The words, by order.
    pub reports: HashMap<String, String>,
    /// The photo files chosen, by order.
    pub photos: HashMap<String, Vec<PathBuf>>,
    /// The path typed in for the next photo, by order.
    typed: HashMap<String, String>,
    /// Why an order is not the unit's, by order (to hand it back).
    not_ours: HashMap<String, String>,
    /// Photos the files endpoint refused, with the reason (the report went without them).
    pub refused_photos: Vec<String>,
}

/// The banner: the oldest order not yet signed for, with the button that signs for it.
pub fn banner(ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Vec<Command> {
    let mut commands = vec![];
    let ringing = core.desk.ringing();
    let Some(task) = ringing.first() else { return commands };
    // The button before the words: a long order is cut at the window's edge, the button never.
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("⚠ {}", tr.t("desk.new_order"))).strong().size(18.0).color(Color32::WHITE));
        let label = tr.f("desk.sign_for_order", &[("order", &task.order)]);
        if ui.button(RichText::new(label).strong()).clicked() {
            let order = task.order.clone();
            commands.push(Command::Progress { order, step: Step::Acknowledged, note: String::new(), photos: vec![] });
        }
        if ringing.len() > 1 {
            ui.label(RichText::new(tr.f("alarm.more", &[("n", &(ringing.len() - 1).to_string())])).color(theme::WARN));
        }
        let words = format!("{} — {}", headline(tr, core, task), task.text);
        ui.add(egui::Label::new(RichText::new(words).size(16.0).color(Color32::WHITE)).truncate());
    });
    commands
}

impl DeskView {
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, now: DateTime<Utc>) -> Vec<Command> {
        let mut commands = vec![];
        let open = core.desk.open();
        // Photo files dropped onto the window join the report of the most urgent order waiting
        // for one.
        let dropped: Vec<PathBuf> = ui.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_owned()).collect());
        if let Some(task) = open.iter().find(|t| t.next_step() == Some(Step::ReportedBack))
            && !dropped.is_empty()
        {
            let chosen = self.photos.entry(task.order.clone()).or_default();
            chosen.extend(dropped);
            chosen.truncate(MAX_PHOTOS);
        }
        ui.label(RichText::new(tr.f("desk.open", &[("n", &open.len().to_string())])).size(18.0).strong());
        if !self.refused_photos.is_empty() {
            for refused in &self.refused_photos {
                ui.label(RichText::new(tr.f("desk.photo_refused", &[("why", refused)])).color(theme::WARN));
            }
            if ui.small_button(tr.t("desk.dismiss")).clicked() {
                self.refused_photos.clear();
            }
        }
        ui.separator();
        if open.is_empty() {
            ui.label(RichText::new(tr.t("desk.none_open")).size(16.0).color(theme::OK));
        }
        for task in open {
            // Not signed for: a red frame (the words stay readable in their severity's colour).
            let edge = match (core.selected.as_deref() == Some(task.incident.as_str()), core.desk.rings(task)) {
                (true, _) => egui::Stroke::new(2.0, theme::SELECTION),
                (false, true) => egui::Stroke::new(3.0, theme::ALARM),
                (false, false) => egui::Stroke::NONE,
            };
            let frame =
                egui::Frame::default().fill(theme::TILE_BACKGROUND).inner_margin(8.0).corner_radius(4.0).stroke(edge);
            frame.show(ui, |ui| {
                ui.set_width(ui.available_width());
                commands.extend(self.card(ui, core, tr, task, now));
            });
            ui.add_space(6.0);
        }
        let done = core.desk.done();
        if !done.is_empty() {
            ui.add_space(8.0);
            egui::CollapsingHeader::new(tr.f("desk.done", &[("n", &done.len().to_string())])).show(ui, |ui| {
                for task in done {
                    let at = task.steps.get(&Step::ReportedBack).map(|t| names::clock(*t)).unwrap_or_default();
                    ui.label(format!("{} · {at}", headline(tr, core, task)));
                    if let Some(report) = &task.report {
                        ui.label(RichText::new(report).color(theme::MUTED));
                    }
                    if let Some(why) = &task.returned {
                        ui.label(RichText::new(tr.f("desk.returned", &[("why", why)])).color(theme::WARN));
                    }
                }
            });
        }
        commands
    }

    /// One open order: what, where, the words, the clock, the steps so far and the next one.
    fn card(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, task: &Task, now: DateTime<Utc>) -> Vec<Command> {
        let mut commands = vec![];
        let severity = task.details.as_ref().map_or(Severity::Medium, |d| d.severity);
        let title = RichText::new(headline(tr, core, task)).size(17.0).strong().color(theme::severity(severity));
        if ui.add(egui::Label::new(title).sense(egui::Sense::click())).clicked() {
            commands.push(Command::SelectIncident(task.incident.clone()));
        }
        ui.label(RichText::new(&task.text).size(16.0).color(theme::TILE_TEXT));
        if let Some(d) = &task.details {
            let said = tr.f("desk.reported", &[("at", &names::clock(d.reported_at)), ("text", &d.report)]);
            ui.label(RichText::new(said).color(theme::MUTED));
        }
        if let Some((kind, due)) = task.running_clock() {
            let (text, colour) = clock_line(tr, kind, due, now);
            ui.label(RichText::new(text).size(18.0).strong().color(colour));
        }
        if task.resent > 0 {
            ui.label(RichText::new(tr.f("desk.resent", &[("n", &task.resent.to_string())])).color(theme::WARN));
        }
        let done: Vec<String> = task
            .steps
            .iter()
            .filter(|(s, _)| **s != Step::Received)
            .map(|(s, at)| format!("{} {}", names::step(tr, *s), names::clock(*at)))
            .collect();
        if !done.is_empty() {
            ui.label(RichText::new(done.join(" · ")).color(theme::OK));
        }
        if core.desk.is_sending(&task.order) {
            ui.label(RichText::new(tr.t("desk.sending")).color(theme::MUTED));
            return commands;
        }
        let Some(next) = task.next_step() else { return commands };
        let order = task.order.clone();
        if next == Step::ReportedBack {
            let words = self.reports.entry(order.clone()).or_default();
            let label = ui.label(tr.t("desk.report_label"));
            ui.add(
                egui::TextEdit::multiline(words)
                    .char_limit(MAX_NOTE)
                    .hint_text(tr.t("desk.report_hint"))
                    .desired_rows(2)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
            let ready = !words.trim().is_empty();
            let note = words.trim().to_owned();
            self.photo_picker(ui, tr, &order);
            let button = ui.add_enabled(ready, egui::Button::new(RichText::new(tr.t("desk.report_back")).strong()));
            if button.clicked() {
                let photos = self.photos.remove(&order).unwrap_or_default();
                commands.push(Command::Progress { order: order.clone(), step: next, note, photos });
                self.reports.remove(&order);
                self.typed.remove(&order);
            }
        } else {
            let label = tr.f(step_button(next), &[("order", &order)]);
            if ui.button(RichText::new(label).size(16.0).strong()).clicked() {
                commands.push(Command::Progress {
                    order: order.clone(),
                    step: next,
                    note: String::new(),
                    photos: vec![],
                });
            }
        }
        commands.extend(self.hand_back(ui, tr, &order));
        commands
    }

    /// Not the unit's order: handed back to the center with the reason (退回).
    fn hand_back(&mut self, ui: &mut egui::Ui, tr: &I18n, order: &str) -> Vec<Command> {
        let mut commands = vec![];
        egui::CollapsingHeader::new(tr.t("desk.not_ours")).id_salt(("hand back", order)).show(ui, |ui| {
            let why = self.not_ours.entry(order.to_owned()).or_default();
            let label = ui.label(tr.t("desk.return_reason"));
            ui.add(egui::TextEdit::singleline(why).char_limit(MAX_NOTE).desired_width(f32::INFINITY))
                .labelled_by(label.id);
            let button = egui::Button::new(tr.f("desk.return", &[("order", order)]));
            if ui.add_enabled(!why.trim().is_empty(), button).clicked() {
                let note = why.trim().to_owned();
                commands.push(Command::Progress {
                    order: order.to_owned(),
                    step: Step::Returned,
                    note,
                    photos: vec![],
                });
                self.not_ours.remove(order);
            }
        });
        commands
    }

    /// The photos of a report: a path typed in (or files dropped onto the window), each
    /// listed with its name to take it out again.
    fn photo_picker(&mut self, ui: &mut egui::Ui, tr: &I18n, order: &str) {
        let chosen = self.photos.entry(order.to_owned()).or_default();
        let mut remove = None;
        for (i, path) in chosen.iter().enumerate() {
            ui.horizontal(|ui| {
                let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
                ui.label(RichText::new(&name).color(theme::TILE_TEXT));
                if ui.small_button(tr.f("desk.photo_remove", &[("photo", &name)])).clicked() {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            chosen.remove(i);
        }
        ui.horizontal(|ui| {
            let typed = self.typed.entry(order.to_owned()).or_default();
            let label = ui.label(tr.t("desk.photo_path"));
            let field = ui
                .add(egui::TextEdit::singleline(typed).hint_text(tr.t("desk.photo_hint")).desired_width(260.0))
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let room = chosen.len() < MAX_PHOTOS;
            if (ui.add_enabled(room, egui::Button::new(tr.t("desk.photo_add"))).clicked() || (enter && room))
                && !typed.trim().is_empty()
            {
                chosen.push(PathBuf::from(typed.trim()));
                typed.clear();
            }
        });
    }
}

/// `D000042 [严重] 治安 · 东湾村 · 东湾-03`.
fn headline(tr: &I18n, core: &Core, task: &Task) -> String {
    match &task.details {
        Some(d) => {
            let place = if d.place.is_empty() { String::new() } else { format!(" · {}", d.place) };
            // The seat's own kind list names it in the language in force; else the center's name.
            let kind = core.kinds.get(&d.kind).map_or(d.kind_name.as_str(), |k| tr.pick(&k.zh, &k.en));
            format!("{} [{}] {kind}{place}", task.order, names::severity(tr, d.severity))
        }
        None => format!("{} · {}", task.order, task.incident),
    }
}

/// The running clock in words and its colour: time left, or how long it has been missed.
fn clock_line(tr: &I18n, kind: ClockKind, due: DateTime<Utc>, now: DateTime<Utc>) -> (String, Color32) {
    let clock = tr.t(match kind {
        ClockKind::Acknowledge => "clock.acknowledge",
        ClockKind::OnScene => "clock.on_scene",
        ClockKind::ReportBack => "clock.report_back",
    });
    let left = (due - now).num_seconds();
    let span = |s: i64| {
        let s = s.abs();
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    };
    if left < 0 {
        (format!("{clock} · {}", tr.f("on_call.missed", &[("for", &span(left))])), theme::BAD)
    } else {
        let colour = if left < 120 { theme::WARN } else { theme::TILE_TEXT };
        (format!("{clock} · {}", tr.f("on_call.left", &[("left", &span(left))])), colour)
    }
}

/// The button's words for a step.
fn step_button(step: Step) -> &'static str {
    match step {
        Step::Received | Step::Acknowledged => "desk.sign_for",
        Step::OnScene => "desk.on_scene",
        Step::Handling => "desk.handling",
        Step::ReportedBack => "desk.report_back",
        Step::Returned => "desk.return",
    }
}
