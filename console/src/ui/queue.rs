//! The incident queue: the incidents the filter lets through, most urgent first; a click
//! selects one. The filter bar on top (search, kind, severity, status, village, time window) is
//! shared with the map.

use chrono::{DateTime, Utc};
use egui::{ComboBox, Rect, Sense, vec2};
use streams::feed::Severity;

use crate::core::filter::{IncidentFilter, Matches, StatusFilter, TimeWindow};
use crate::core::incident::TrackedIncident;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// The queue's own state lives in the shared filter; the list itself is drawn from Core.
#[derive(Default)]
pub struct QueueView;

impl QueueView {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        core: &Core,
        tr: &I18n,
        filter: &mut IncidentFilter,
        matches: &mut Matches,
        now: DateTime<Utc>,
    ) -> Vec<Command> {
        let mut commands = vec![];
        // Rows follow the filter as it was when this frame began; a change in the bar below
        // repaints at once, so the lag is one frame the eye never sees.
        let rows: Vec<&TrackedIncident> = match matches.refresh(filter, &core.incidents, &core.grids, &core.kinds, now)
        {
            None => core.incidents.queue().collect(),
            Some(flags) => {
                core.incidents.queue_indices().filter(|&i| flags[i]).map(|i| &core.incidents.all()[i]).collect()
            }
        };
        ui.horizontal(|ui| {
            ui.heading(tr.t("region.queue"));
            let (shown, all) = (rows.len().to_string(), core.incidents.len().to_string());
            ui.label(tr.f("queue.shown", &[("shown", &shown), ("n", &all)]));
        });
        filter_bar(ui, core, tr, filter);
        ui.separator();
        if rows.is_empty() {
            ui.label(tr.t(if core.incidents.is_empty() { "queue.empty" } else { "queue.none_match" }));
            return commands;
        }
        let row_height = 22.0;
        egui::ScrollArea::vertical().auto_shrink([false, false]).show_rows(ui, row_height, rows.len(), |ui, range| {
            for t in &rows[range] {
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

/// Search and the five narrowing choices (a sixth, the township, on a county seat), and a
/// reset when anything is set.
fn filter_bar(ui: &mut egui::Ui, core: &Core, tr: &I18n, f: &mut IncidentFilter) {
    // Two fixed rows: a wrapped row would split a label from its box.
    ui.horizontal(|ui| {
        let label = ui.label(tr.t("filter.search"));
        ui.add(egui::TextEdit::singleline(&mut f.search).desired_width(140.0)).labelled_by(label.id);
        let any = tr.t("filter.any");
        let kind_name = f.kind.as_deref().map_or(any, |k| names::kind(tr, core, k)).to_owned();
        combo(ui, tr.t("detail.kind"), kind_name, |ui| {
            ui.selectable_value(&mut f.kind, None, any);
            for k in &core.kinds.kinds {
                ui.selectable_value(&mut f.kind, Some(k.code.clone()), tr.pick(&k.zh, &k.en));
            }
        });
        let severity_name =
            f.min_severity.map_or(any.to_owned(), |s| tr.f("filter.at_least", &[("s", names::severity(tr, s))]));
        combo(ui, tr.t("detail.severity"), severity_name, |ui| {
            ui.selectable_value(&mut f.min_severity, None, any);
            for s in [Severity::Medium, Severity::High, Severity::Critical] {
                ui.selectable_value(
                    &mut f.min_severity,
                    Some(s),
                    tr.f("filter.at_least", &[("s", names::severity(tr, s))]),
                );
            }
        });
    });
    ui.horizontal(|ui| {
        let any = tr.t("filter.any");
        let status_key = |s: StatusFilter| match s {
            StatusFilter::Any => "filter.any",
            StatusFilter::Open => "filter.open",
            StatusFilter::Closed => "status.closed",
        };
        combo(ui, tr.t("detail.status"), tr.t(status_key(f.status)), |ui| {
            for s in [StatusFilter::Any, StatusFilter::Open, StatusFilter::Closed] {
                ui.selectable_value(&mut f.status, s, tr.t(status_key(s)));
            }
        });
        combo(ui, tr.t("detail.village"), f.village.clone().unwrap_or(any.to_owned()), |ui| {
            ui.selectable_value(&mut f.village, None, any);
            for v in &core.grids.villages {
                ui.selectable_value(&mut f.village, Some(v.name.clone()), &v.name);
            }
        });
        // A county seat's incidents come from several townships: one may be picked.
        if county_wide(core) {
            combo(ui, tr.t("filter.township"), f.township.clone().unwrap_or(any.to_owned()), |ui| {
                ui.selectable_value(&mut f.township, None, any);
                for t in core.incidents.townships() {
                    ui.selectable_value(&mut f.township, Some(t.to_owned()), t);
                }
            });
        }
        let window_key = |w: TimeWindow| match w {
            TimeWindow::All => "filter.any",
            TimeWindow::LastHour => "filter.last_hour",
            TimeWindow::Last24Hours => "filter.last_24h",
            TimeWindow::Last7Days => "filter.last_7d",
        };
        combo(ui, tr.t("filter.window"), tr.t(window_key(f.window)), |ui| {
            for w in TimeWindow::ALL {
                ui.selectable_value(&mut f.window, w, tr.t(window_key(w)));
            }
        });
        if !f.is_open() && ui.button(tr.t("filter.clear")).clicked() {
            *f = IncidentFilter::default();
        }
    });
}

/// Whether the incidents come from more than one township (a county seat's; a township's seat
/// on a county's log sees its own only).
fn county_wide(core: &Core) -> bool {
    core.incidents.townships().nth(1).is_some()
}

/// One row: the incident's line and its status — all a duty officer scans for.
pub fn row_label(core: &Core, tr: &I18n, t: &TrackedIncident) -> String {
    let mut line = format!("{} · {}", names::incident_line(tr, core, t), names::status(tr, t.incident.status));
    // A county seat's rows say where.
    if let Some(township) = t.township.as_ref().filter(|_| county_wide(core)) {
        line = format!("{line} · {township}");
    }
    match core.history.notes(&t.incident.id) {
        0 => line,
        n => format!("{line} · {}", tr.f("queue.notes", &[("n", &n.to_string())])),
    }
}

/// A label, then a combo box that the label names (for screen readers and tests).
pub(crate) fn combo(
    ui: &mut egui::Ui,
    label: &str,
    selected: impl Into<egui::WidgetText>,
    content: impl FnOnce(&mut egui::Ui),
) {
    let label = ui.label(label);
    ComboBox::from_id_salt(label.id)
        .width(96.0)
        .selected_text(selected)
        .show_ui(ui, content)
        .response
        .labelled_by(label.id);
}
