//! The detail panel: everything known about the selected incident.

use egui::RichText;

use crate::core::incident::TrackedIncident;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::photos::Photos;
use crate::ui::dispatch::{self, DispatchView};
use crate::ui::photos::{PhotoViewer, thumbnails};
use crate::ui::trail::TrailView;
use crate::ui::{names, theme};

#[derive(Default)]
pub struct DetailView {
    trail: TrailView,
}

impl DetailView {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        core: &Core,
        tr: &I18n,
        dispatch: &mut DispatchView,
        (photos, viewer): (&Photos, &mut PhotoViewer),
    ) -> Vec<Command> {
        ui.heading(tr.t("region.detail"));
        ui.separator();
        let Some(t) = core.selected_incident() else {
            ui.label(RichText::new(tr.t("detail.none")).color(theme::MUTED));
            return vec![];
        };
        let r = &t.incident.report;
        let grid = t.grid.map(|g| &core.grids.grids[g]);
        ui.label(RichText::new(format!("{} · {}", t.incident.id, names::kind(tr, core, &r.kind))).size(20.0).strong());
        ui.add_space(6.0);
        egui::Grid::new("incident detail").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let mut row = |key: &str, value: RichText| {
                ui.label(RichText::new(tr.t(key)).color(theme::MUTED));
                ui.label(value);
                ui.end_row();
            };
            row(
                "detail.severity",
                RichText::new(names::severity(tr, r.severity)).color(theme::severity(r.severity)).strong(),
            );
            row(
                "detail.status",
                RichText::new(names::status(tr, t.incident.status)).color(theme::status(t.incident.status)),
            );
            row("detail.time", RichText::new(names::date_time(t.incident.reported_at)));
            let place = match grid {
                Some(g) => format!("{} {}", g.code, g.name),
                None => tr.t("detail.outside_grids").to_owned(),
            };
            row("detail.grid", RichText::new(place));
            row("detail.village", RichText::new(grid.map_or("—", |g| g.village.as_str())));
            row("detail.grid_worker", RichText::new(grid.map_or("—", |g| g.worker.as_str())));
            row("detail.reporter", RichText::new(&r.reporter));
            row("detail.source", RichText::new(names::source(tr, r.source)));
            row("detail.location", RichText::new(format!("{:.5}, {:.5}", r.location.lon, r.location.lat)));
        });
        if let (Some(claimed), Some(g)) = (&r.grid, grid)
            && claimed != &g.code
        {
            ui.label(RichText::new(tr.f("detail.grid_mismatch", &[("grid", claimed)])).color(theme::WARN));
        }
        ui.add_space(8.0);
        ui.label(RichText::new(tr.t("detail.text")).color(theme::MUTED));
        ui.label(RichText::new(&r.text).size(16.0));
        if !r.attachments.is_empty() {
            thumbnails(ui, photos, tr, &r.attachments, viewer);
        }
        ui.add_space(8.0);
        if ui.button(RichText::new(tr.t("dispatch.open")).strong()).clicked() {
            dispatch.open(core, &t.incident.id);
        }
        let mut commands = egui::ScrollArea::vertical()
            .id_salt("orders")
            .max_height(ui.available_height() * 0.4)
            .show(ui, |ui| dispatch::orders(ui, core, tr, &t.incident.id, (photos, viewer)))
            .inner;
        ui.add_space(12.0);
        commands.extend(nearest_cameras(ui, core, tr, t));
        ui.add_space(12.0);
        commands
            .extend(egui::ScrollArea::vertical().id_salt("trail").show(ui, |ui| self.trail.ui(ui, core, tr, t)).inner);
        commands
    }
}

/// The cameras near the incident, those looking at it first; one click puts them on the wall.
fn nearest_cameras(ui: &mut egui::Ui, core: &Core, tr: &I18n, t: &TrackedIncident) -> Vec<Command> {
    let mut commands = vec![];
    let near = core.cameras_near(t);
    ui.horizontal(|ui| {
        ui.label(RichText::new(tr.t("detail.nearest_cameras")).color(theme::MUTED));
        if !near.is_empty() && ui.button(tr.t("detail.all_on_wall")).clicked() {
            let ids = near.iter().map(|n| core.cameras[n.camera].id.clone()).collect();
            commands.push(Command::ShowOnWall(ids));
        }
    });
    if near.is_empty() {
        ui.label(RichText::new(tr.t("detail.no_cameras_near")).color(theme::MUTED));
    }
    for n in &near {
        let camera = &core.cameras[n.camera];
        let covers = if n.covers { tr.t("detail.covers") } else { tr.t("detail.not_facing") };
        let label = format!("{} · {:.0} m · {covers}", camera.name, n.distance_m);
        if ui.button(label).on_hover_text(tr.t("detail.one_on_wall")).clicked() {
            commands.push(Command::ShowOnWall(vec![camera.id.clone()]));
        }
    }
    // A dome with a preset marked near the incident: one click turns it there and shows it.
    for t in core.turn_to(t) {
        let camera = &core.cameras[t.camera];
        let label = tr.f(
            "detail.turn_to",
            &[("camera", &camera.name), ("n", &t.preset.to_string()), ("m", &format!("{:.0}", t.distance_m))],
        );
        if ui.button(label).clicked() {
            commands.push(Command::TurnTo { camera: camera.id.clone(), number: t.preset });
        }
    }
    commands
}
