//! The dispatch panel (三合一派单): the plan's proposal filled in, every unit and channel and
//! text open to change, a preview of exactly what goes to whom ("simulate"), and one button that
//! sends all of it. Below the incident's detail, each order it has with every unit's steps and
//! every channel's state, each with its time; a reported-back order is closed here with the
//! reporter's satisfaction.

use chrono::{DateTime, Utc};
use egui::{Color32, RichText};

use crate::core::dispatch::{Address, Applied, DispatchDraft, Refusal, Refused};
use crate::core::order::{Change, ChannelKind, DeliveryState, Order, Stage};
use crate::core::plan::{PlanClocks, Texts};
use crate::core::roster::PostKind;
use crate::core::unit::name_of;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::photos::Photos;
use crate::ui::photos::{PhotoViewer, thumbnails};
use crate::ui::{names, theme};

/// The draft being edited, while the panel is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub incident: String,
    pub plan: Option<String>,
    pub plan_name: String,
    /// Unit id and whether each channel (order, SMS, radio) is ticked.
    pub units: Vec<(String, [bool; 3])>,
    pub texts: Texts,
    pub clocks: PlanClocks,
    pub preview: bool,
}

#[derive(Default)]
pub struct DispatchView {
    pub draft: Option<Draft>,
}

impl DispatchView {
    /// Opens the panel on the plan's proposal for `incident` (an empty draft when no plan fits).
    pub fn open(&mut self, core: &Core, incident: &str) {
        let proposal = core.proposal(incident);
        let (plan, plan_name, units, texts, clocks) = match proposal {
            Some(p) => {
                let units =
                    p.units.into_iter().map(|(u, chans)| (u, ChannelKind::ALL.map(|c| chans.contains(&c)))).collect();
                (Some(p.plan), p.plan_name, units, p.texts, p.clocks)
            }
            None => (None, String::new(), vec![], Texts::default(), PlanClocks::default()),
        };
        self.draft =
            Some(Draft { incident: incident.to_owned(), plan, plan_name, units, texts, clocks, preview: false });
    }

    /// Draws the panel window if open; returns the dispatch when sent.
    /// The dispatch window; `now` is when it would go out (whose posts are on duty).
    pub fn ui(&mut self, ctx: &egui::Context, core: &Core, tr: &I18n, now: DateTime<Utc>) -> Vec<Command> {
        let Some(draft) = &mut self.draft else { return vec![] };
        let mut open = true;
        let mut send = false;
        egui::Window::new(tr.t("dispatch.title")).open(&mut open).default_width(560.0).collapsible(false).show(
            ctx,
            |ui| {
                send = edit(ui, core, tr, draft, now);
            },
        );
        if send && let Some(d) = self.draft.take() {
            let units = d
                .units
                .into_iter()
                .map(|(u, ticks)| {
                    (u, ChannelKind::ALL.into_iter().zip(ticks).filter(|(_, t)| *t).map(|(c, _)| c).collect::<Vec<_>>())
                })
                .filter(|(_, chans)| !chans.is_empty())
                .collect();
            let draft = DispatchDraft { incident: d.incident, plan: d.plan, units, texts: d.texts, clocks: d.clocks };
            return vec![Command::Dispatch(draft)];
        }
        if !open {
            self.draft = None;
        }
        vec![]
    }
}

fn channel_name(tr: &I18n, c: ChannelKind) -> &str {
    match c {
        ChannelKind::Order => tr.t("channel.order"),
        ChannelKind::Sms => tr.t("channel.sms"),
        ChannelKind::Radio => tr.t("channel.radio"),
    }
}

/// The editing form; true when the officer pressed send.
fn edit(ui: &mut egui::Ui, core: &Core, tr: &I18n, d: &mut Draft, now: DateTime<Utc>) -> bool {
    let plan = if d.plan.is_some() { d.plan_name.clone() } else { tr.t("dispatch.no_plan").to_owned() };
    ui.label(RichText::new(tr.f("dispatch.plan", &[("plan", &plan)])).strong());
    if let Some(trouble) = &core.plans_trouble {
        ui.label(RichText::new(tr.f("dispatch.plans_refused", &[("reason", trouble)])).color(theme::WARN));
    }
    ui.separator();
    egui::Grid::new("dispatch units").num_columns(5).striped(true).show(ui, |ui| {
        ui.label(RichText::new(tr.t("dispatch.unit")).color(theme::MUTED));
        for c in ChannelKind::ALL {
            ui.label(RichText::new(channel_name(tr, c)).color(theme::MUTED));
        }
        ui.label("");
        ui.end_row();
        let mut remove = None;
        let spot = core.incidents.get(&d.incident).map(|t| t.incident.report.location);
        for (i, (id, ticks)) in d.units.iter_mut().enumerate() {
            let unit = core.units.iter().find(|u| &u.id == id);
            let tier = unit.map_or(0, |u| u.tier as u8);
            // How far it is: from its terminal's last position, else its base.
            let far = unit.zip(spot).and_then(|(u, at)| core.whereabouts.distance_to(u, at.lon, at.lat));
            let far =
                far.map(|m| format!(" · {}", tr.f("dispatch.distance", &[("km", &format!("{:.1}", m / 1000.0))])));
            // A channel whose last test failed is not to be relied on: said beside the unit.
            let failing: Vec<&str> = ChannelKind::ALL
                .into_iter()
                .filter(|&c| core.channel_health.of(id, c).is_some_and(|t| !t.ok))
                .map(|c| channel_name(tr, c))
                .collect();
            ui.horizontal(|ui| {
                ui.label(format!(
                    "{} · {}{}",
                    name_of(&core.units, id),
                    tr.f("dispatch.tier", &[("tier", &tier.to_string())]),
                    far.unwrap_or_default()
                ));
                if !failing.is_empty() {
                    let warning = tr.f("dispatch.channel_failing", &[("channels", &failing.join("、"))]);
                    ui.label(RichText::new(warning).color(theme::BAD));
                }
            });
            for (c, tick) in ChannelKind::ALL.into_iter().zip(ticks.iter_mut()) {
                let reachable = core.contact(id, c, now).is_some();
                if !reachable {
                    *tick = false;
                }
                let label = format!("{} {}", channel_name(tr, c), name_of(&core.units, id));
                ui.add_enabled(reachable, egui::Checkbox::without_text(tick))
                    .widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, reachable, *tick, &label));
            }
            if ui.small_button(tr.t("dispatch.remove")).clicked() {
                remove = Some(i);
            }
            ui.end_row();
        }
        if let Some(i) = remove {
            d.units.remove(i);
        }
    });
    let mut add = None;
    ui.horizontal(|ui| {
        super::queue::combo(ui, tr.t("dispatch.add_unit"), "—", |ui| {
            for u in core.units.iter().filter(|u| !d.units.iter().any(|(id, _)| id == &u.id)) {
                if ui.selectable_label(false, &u.name).clicked() {
                    add = Some(u.id.clone());
                }
            }
        });
    });
    if let Some(id) = add {
        d.units.push((id, [true, false, false]));
    }
    ui.separator();
    for (c, text) in [
        (ChannelKind::Order, &mut d.texts.order),
        (ChannelKind::Sms, &mut d.texts.sms),
        (ChannelKind::Radio, &mut d.texts.radio),
    ] {
        let label = tr.f("dispatch.text_of", &[("channel", channel_name(tr, c))]);
        let id = ui.label(RichText::new(&label).color(theme::MUTED)).id;
        ui.add(egui::TextEdit::multiline(text).desired_rows(2).desired_width(f32::INFINITY)).labelled_by(id);
    }
    ui.separator();
    let sendable = d.units.iter().any(|(_, t)| t.iter().any(|x| *x));
    let mut send = false;
    ui.horizontal(|ui| {
        ui.toggle_value(&mut d.preview, tr.t("dispatch.simulate"));
        if ui.add_enabled(sendable, egui::Button::new(RichText::new(tr.t("dispatch.send")).strong())).clicked() {
            send = true;
        }
    });
    if d.preview {
        // Exactly what would go out, to whom, by which channel — nothing is sent.
        for (id, ticks) in &d.units {
            let Some(u) = core.units.iter().find(|u| &u.id == id) else { continue };
            // The A post on duty now, where the unit keeps a roster.
            let post = u.on_duty(PostKind::A, now).map(|p| tr.f("dispatch.post_a", &[("name", &p.name)]));
            for (c, _) in ChannelKind::ALL.into_iter().zip(ticks).filter(|(_, t)| **t) {
                let to = match core.contact(id, c, now) {
                    Some(Address::Terminal(_)) | None => tr.t("dispatch.to_terminal").to_owned(),
                    Some(Address::Mobiles(m)) => m.join(", "),
                    Some(Address::Radio(a)) => a.to_string(),
                };
                let to = match (&post, c) {
                    (Some(post), ChannelKind::Sms | ChannelKind::Radio) => format!("{post} {to}"),
                    _ => to,
                };
                let text = d.texts.get(c).replace("{unit}", &u.name);
                ui.label(RichText::new(format!("{} · {} → {to}", channel_name(tr, c), u.name)).strong());
                ui.label(RichText::new(text).color(theme::MUTED));
            }
        }
    }
    send
}

fn state_color(state: &DeliveryState) -> Color32 {
    match state {
        DeliveryState::Queued => theme::MUTED,
        DeliveryState::Sent { .. } => theme::CAMERA,
        DeliveryState::Delivered { .. } => theme::OK,
        DeliveryState::Failed { .. } => theme::WARN,
    }
}

fn stage_name(tr: &I18n, stage: Stage) -> &str {
    tr.t(match stage {
        Stage::Dispatched => "stage.dispatched",
        Stage::Acknowledged => "stage.acknowledged",
        Stage::OnScene => "stage.on_scene",
        Stage::Handling => "stage.handling",
        Stage::ReportedBack => "stage.reported_back",
        Stage::Closed => "stage.closed",
        Stage::Archived => "stage.archived",
    })
}

/// The orders of an incident, each unit's steps and each channel's state with times.
pub fn orders(
    ui: &mut egui::Ui,
    core: &Core,
    tr: &I18n,
    incident: &str,
    (photos, viewer): (&Photos, &mut PhotoViewer),
) -> Vec<Command> {
    let mut commands = vec![];
    // Sent, and the center's server has not built the order yet (or the hub is away).
    if core.orders.pending_for(incident) {
        ui.label(RichText::new(tr.t("dispatch.pending")).color(theme::WARN));
    }
    for order in core.orders.of_incident(incident) {
        commands.extend(order_card(ui, core, tr, order, (photos, viewer)));
    }
    commands
}

fn order_card(
    ui: &mut egui::Ui,
    core: &Core,
    tr: &I18n,
    order: &Order,
    (photos, viewer): (&Photos, &mut PhotoViewer),
) -> Vec<Command> {
    let mut commands = vec![];
    let stage = order.stage();
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new(&order.id).strong());
            ui.label(RichText::new(stage_name(tr, stage)).color(theme::CAMERA));
            if order.units.iter().any(|u| u.partial()) {
                ui.label(RichText::new(tr.t("dispatch.partial")).color(theme::WARN));
            }
        });
        // This seat's last change did not take effect: who changed the order first, and how.
        if let Some(refused) = core.orders.refused.as_ref().filter(|r| r.order == order.id) {
            ui.label(RichText::new(refusal(core, tr, refused)).color(theme::WARN).strong());
        }
        for u in &order.units {
            let step = u.step().map_or(tr.t("step.none"), |s| names::step(tr, s));
            let since = u.step().and_then(|s| u.steps.get(&s)).map(|t| names::clock(*t)).unwrap_or_default();
            ui.label(format!("{} · {step} {since}", name_of(&core.units, &u.unit)));
            if let Some((why, at)) = &u.returned {
                let said = tr.f("dispatch.returned", &[("unit", name_of(&core.units, &u.unit)), ("why", why)]);
                ui.label(RichText::new(format!("{said} {}", names::clock(*at))).color(theme::WARN).strong());
            }
            ui.horizontal_wrapped(|ui| {
                for d in &u.deliveries {
                    let state = state_name(tr, &d.state);
                    let at = d.times.values().max().map(|t| names::clock(*t)).unwrap_or_default();
                    let chip = ui.label(
                        RichText::new(format!("{} {state} {at}", channel_name(tr, d.channel)))
                            .color(state_color(&d.state)),
                    );
                    if let DeliveryState::Failed { error, attempts } = &d.state {
                        chip.on_hover_text(
                            tr.f("delivery.retrying", &[("error", error), ("attempts", &attempts.to_string())]),
                        );
                    }
                    // An SMS to several numbers: which number got what.
                    if d.recipients.len() > 1 {
                        for (mobile, state) in &d.recipients {
                            let text = format!("{mobile} {}", state_name(tr, state));
                            ui.label(RichText::new(text).size(12.0).color(state_color(state)));
                        }
                    }
                }
            });
            if let Some((text, evidence)) = &u.report {
                ui.label(RichText::new(format!("{} {}", tr.t("dispatch.report"), text)).color(theme::MUTED));
                thumbnails(ui, photos, tr, evidence, viewer);
            }
        }
        if stage == Stage::ReportedBack {
            ui.horizontal(|ui| {
                ui.label(tr.t("dispatch.satisfaction"));
                for s in 1..=5u8 {
                    if ui.button(s.to_string()).on_hover_text(tr.t("dispatch.close_with")).clicked() {
                        commands.push(Command::CloseOrder { order: order.id.clone(), satisfaction: s });
                    }
                }
            });
        }
        if stage == Stage::Closed {
            if let Some((s, _)) = order.closed {
                ui.label(tr.f("dispatch.closed_with", &[("satisfaction", &s.to_string())]));
            }
            ui.horizontal(|ui| {
                if ui.button(tr.t("dispatch.archive")).clicked() {
                    commands.push(Command::ArchiveOrder(order.id.clone()));
                }
                if ui.button(tr.t("dispatch.reopen")).clicked() {
                    commands.push(Command::ReopenOrder(order.id.clone()));
                }
            });
        }
    });
    commands
}

/// Why this seat's change of an order did not take effect, in the officer's words: made on
/// the order as it no longer is, who changed it first and how (once the log has brought that
/// change); else that the order's stage did not allow it.
fn refusal(core: &Core, tr: &I18n, refused: &Refused) -> String {
    let Refusal::Late(seen) = refused.why else { return tr.t("dispatch.change_not_allowed").to_owned() };
    let first = core.orders.changes.get(&refused.order).and_then(|c| c.first_after(seen));
    match first {
        Some(Applied { by, change, time, .. }) => {
            let what = match change {
                Change::Close { satisfaction } => {
                    tr.f("dispatch.changed_close", &[("satisfaction", &satisfaction.to_string())])
                }
                Change::Reopen => tr.t("dispatch.changed_reopen").to_owned(),
                Change::Archive => tr.t("dispatch.changed_archive").to_owned(),
            };
            tr.f("dispatch.change_lost", &[("by", by), ("what", &what), ("at", &names::clock(*time))])
        }
        None => tr.t("dispatch.change_refused").to_owned(),
    }
}

/// A delivery state's name.
fn state_name<'a>(tr: &'a I18n, state: &DeliveryState) -> &'a str {
    tr.t(match state {
        DeliveryState::Queued => "delivery.queued",
        DeliveryState::Sent { .. } => "delivery.sent",
        DeliveryState::Delivered { .. } => "delivery.delivered",
        DeliveryState::Failed { .. } => "delivery.failed",
    })
}
