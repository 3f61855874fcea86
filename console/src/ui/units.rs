//! The linked units at a glance (联动单位): each unit's tier, what it is doing, and whether each
//! of its channels worked at its last test — green, red (with why), grey when never tested —
//! with the test's time; a button tests one unit's channels, another every unit's, now.

use chrono::{DateTime, Utc};
use egui::RichText;

use crate::core::order::ChannelKind;
use crate::core::whereabouts::Activity;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

#[derive(Default)]
pub struct UnitsView {
    pub open: bool,
}

fn channel_name(tr: &I18n, c: ChannelKind) -> &str {
    tr.t(match c {
        ChannelKind::Order => "channel.order",
        ChannelKind::Sms => "channel.sms",
        ChannelKind::Radio => "channel.radio",
    })
}

impl UnitsView {
    pub fn ui(&mut self, ctx: &egui::Context, core: &Core, tr: &I18n, now: DateTime<Utc>) -> Vec<Command> {
        let mut commands = vec![];
        let mut open = self.open;
        egui::Window::new(tr.t("units.title")).open(&mut open).default_width(720.0).show(ctx, |ui| {
            ui.horizontal(|ui| {
                if ui.button(tr.t("units.test_all")).clicked() {
                    commands.push(Command::TestChannels(None));
                }
                let last = core.channel_health.runs.values().map(|(_, at)| *at).max();
                let last = last.map_or_else(|| tr.t("units.never").to_owned(), names::date_time);
                ui.label(RichText::new(tr.f("units.last_test", &[("at", &last)])).color(theme::MUTED));
            });
            ui.separator();
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("units").num_columns(6).spacing([12.0, 6.0]).striped(true).show(ui, |ui| {
                    for key in ["units.unit", "units.doing", "channel.order", "channel.sms", "channel.radio", ""] {
                        ui.label(RichText::new(tr.t(key)).color(theme::MUTED));
                    }
                    ui.end_row();
                    for unit in &core.units {
                        let tier = tr.f("dispatch.tier", &[("tier", &(unit.tier as u8).to_string())]);
                        ui.label(format!("{} · {tier}", unit.name));
                        let doing = match core.whereabouts.activity(&unit.id) {
                            Activity::Free => "unit.free",
                            Activity::OnOrder => "unit.on_order",
                            Activity::OnScene => "unit.on_scene",
                        };
                        ui.label(tr.t(doing));
                        for channel in ChannelKind::ALL {
                            let reachable = core.contact(&unit.id, channel, now).is_some();
                            let (text, colour, why) = match core.channel_health.of(&unit.id, channel) {
                                _ if !reachable => (tr.t("units.none").to_owned(), theme::MUTED, None),
                                None => (tr.t("units.untested").to_owned(), theme::MUTED, None),
                                Some(t) if t.ok => {
                                    (tr.f("units.ok", &[("at", &names::clock(t.at))]), theme::OK, Some(&t.detail))
                                }
                                Some(t) => {
                                    (tr.f("units.failed", &[("at", &names::clock(t.at))]), theme::BAD, Some(&t.detail))
                                }
                            };
                            let label = ui.label(RichText::new(text).color(colour));
                            if let Some(why) = why.filter(|w| !w.is_empty()) {
                                label.on_hover_text(format!("{}: {why}", channel_name(tr, channel)));
                            }
                        }
                        if ui.small_button(tr.f("units.test", &[("unit", &unit.name)])).clicked() {
                            commands.push(Command::TestChannels(Some(unit.id.clone())));
                        }
                        ui.end_row();
                    }
                });
            });
        });
        self.open = open;
        commands
    }
}
