//! The meeting panel (视频会商), beside the map: a leader or a duty officer opens a video
//! linkage meeting (for the incident selected, its units invited) and chairs it — mute all,
//! roll-call, hands raised, spotlight, layout, lock, invite, call back, remove, end. Each site
//! shows whether it is in, away or never came, and whether it is heard; the record lists every
//! action with who did it and whether the SFU carried it out.
//!
//! What it shows is the log's fold ([`crate::core::meeting`]); the server enforces the same
//! fold at the SFU, so "heard" here is what the sites hear.

use std::collections::BTreeSet;

use egui::RichText;
use streams::feed::{Layout, MeetingAction, SeatRole, Site};

use crate::core::meeting::{Meeting, Record, SiteState};
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// A meeting being set up, before it opens.
#[derive(Default)]
struct Draft {
    title: String,
    incident: Option<String>,
    /// The ids of the sites picked.
    picked: BTreeSet<String>,
}

#[derive(Default)]
pub struct MeetingView {
    pub open: bool,
    draft: Option<Draft>,
    /// Whether a mute-all lets sites unmute themselves.
    self_unmute: bool,
    /// The chair pressed 结束会议 once: asked to confirm.
    confirm_close: bool,
}

/// Whether this seat may chair: a leader, a duty officer, an admin (or a machine's token).
pub fn may_chair(core: &Core) -> bool {
    matches!(core.hub.seat(), None | Some(SeatRole::DutyOfficer | SeatRole::Leader | SeatRole::Admin))
}

/// The sites a meeting can invite: the linked units (the villages' committees among them).
fn candidates(core: &Core) -> Vec<Site> {
    core.units.iter().map(|u| Site { id: u.id.clone(), name: u.name.clone() }).collect()
}

fn layout_name(tr: &I18n, layout: Layout) -> &str {
    tr.t(match layout {
        Layout::One => "meeting.layout_1",
        Layout::Four => "meeting.layout_4",
        Layout::Six => "meeting.layout_6",
        Layout::Nine => "meeting.layout_9",
        Layout::OnePlusFive => "meeting.layout_1_5",
    })
}

/// A site's name in a meeting (its id if it is not one of the meeting's).
fn site_name<'a>(meeting: &'a Meeting, site: &'a str) -> &'a str {
    meeting.site(site).map_or(site, |s| s.site.name.as_str())
}

/// What a record's action was, in words.
fn action_text(tr: &I18n, meeting: &Meeting, action: &MeetingAction) -> String {
    let site = |s: &str| site_name(meeting, s).to_owned();
    match action {
        MeetingAction::Open { title, .. } => tr.f("meeting.did_open", &[("title", title)]),
        MeetingAction::Invite { sites } => {
            let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
            tr.f("meeting.did_invite", &[("sites", &names.join("、"))])
        }
        MeetingAction::Remove { site: s } => tr.f("meeting.did_remove", &[("site", &site(s))]),
        MeetingAction::MuteAll { self_unmute: true } => tr.t("meeting.did_mute_all_self").to_owned(),
        MeetingAction::MuteAll { self_unmute: false } => tr.t("meeting.did_mute_all").to_owned(),
        MeetingAction::UnmuteAll => tr.t("meeting.did_unmute_all").to_owned(),
        MeetingAction::Mute { site: s } => tr.f("meeting.did_mute", &[("site", &site(s))]),
        MeetingAction::Unmute { site: s } => tr.f("meeting.did_unmute", &[("site", &site(s))]),
        MeetingAction::Floor { site: Some(s) } => tr.f("meeting.did_floor", &[("site", &site(s))]),
        MeetingAction::Floor { site: None } => tr.t("meeting.did_end_floor").to_owned(),
        MeetingAction::RaiseHand { site: s } => tr.f("meeting.did_raise", &[("site", &site(s))]),
        MeetingAction::Grant { site: s } => tr.f("meeting.did_grant", &[("site", &site(s))]),
        MeetingAction::LowerHand { site: s } => tr.f("meeting.did_lower", &[("site", &site(s))]),
        MeetingAction::UnmuteSelf { site: s } => tr.f("meeting.did_unmute_self", &[("site", &site(s))]),
        MeetingAction::Spotlight { site: Some(s) } => tr.f("meeting.did_spotlight", &[("site", &site(s))]),
        MeetingAction::Spotlight { site: None } => tr.t("meeting.did_end_spotlight").to_owned(),
        MeetingAction::Layout { layout } => tr.f("meeting.did_layout", &[("layout", layout_name(tr, *layout))]),
        MeetingAction::Lock { locked: true } => tr.t("meeting.did_lock").to_owned(),
        MeetingAction::Lock { locked: false } => tr.t("meeting.did_unlock").to_owned(),
        MeetingAction::Close => tr.t("meeting.did_close").to_owned(),
    }
}

impl MeetingView {
    /// The panel's contents; returns the commands asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n) -> Vec<Command> {
        let mut commands = vec![];
        ui.horizontal(|ui| {
            ui.heading(tr.t("meeting.title"));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(tr.t("meeting.hide")).clicked() {
                    self.open = false;
                }
            });
        });
        ui.separator();
        let chair = may_chair(core);
        egui::ScrollArea::vertical().show(ui, |ui| match core.meetings.open().next() {
            Some(meeting) => self.meeting(ui, core, tr, meeting, chair, &mut commands),
            None if chair => self.start(ui, core, tr, &mut commands),
            None => {
                ui.label(RichText::new(tr.t("meeting.none")).color(theme::MUTED));
            }
        });
        commands
    }

    /// No meeting open: set one up and open it.
    fn start(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, commands: &mut Vec<Command>) {
        let draft = self.draft.get_or_insert_with(|| {
            // For the incident selected: its title, and the units of its orders invited.
            let incident = core.selected.clone().filter(|id| core.incidents.get(id).is_some());
            let picked = incident
                .iter()
                .flat_map(|id| core.orders.of_incident(id))
                .flat_map(|o| o.units.iter().map(|u| u.unit.clone()))
                .collect();
            let title = match &incident {
                Some(id) => tr.f("meeting.title_for", &[("incident", id)]),
                None => tr.t("meeting.title_default").to_owned(),
            };
            Draft { title, incident, picked }
        });
        let topic = ui.label(tr.t("meeting.topic"));
        ui.text_edit_singleline(&mut draft.title).labelled_by(topic.id);
        if let Some(incident) = &draft.incident {
            ui.label(RichText::new(tr.f("meeting.for_incident", &[("incident", incident)])).color(theme::MUTED));
        }
        ui.add_space(6.0);
        ui.label(tr.t("meeting.invite_sites"));
        let sites = candidates(core);
        for site in &sites {
            let mut on = draft.picked.contains(&site.id);
            if ui.checkbox(&mut on, &site.name).changed() {
                if on {
                    draft.picked.insert(site.id.clone());
                } else {
                    draft.picked.remove(&site.id);
                }
            }
        }
        ui.add_space(6.0);
        let ready = !draft.title.trim().is_empty() && !draft.picked.is_empty();
        if ui.add_enabled(ready, egui::Button::new(tr.t("meeting.open"))).clicked() {
            let sites = sites.into_iter().filter(|s| draft.picked.contains(&s.id)).collect();
            let action =
                MeetingAction::Open { title: draft.title.trim().to_owned(), incident: draft.incident.clone(), sites };
            commands.push(Command::ChairMeeting { meeting: String::new(), action });
            self.draft = None;
        }
    }

    fn meeting(
        &mut self,
        ui: &mut egui::Ui,
        core: &Core,
        tr: &I18n,
        meeting: &Meeting,
        chair: bool,
        commands: &mut Vec<Command>,
    ) {
        let mut act = |action| commands.push(Command::ChairMeeting { meeting: meeting.id.clone(), action });
        ui.label(RichText::new(&meeting.title).strong().size(16.0));
        let since = names::clock(meeting.opened_at);
        ui.label(
            RichText::new(tr.f("meeting.chaired_by", &[("chair", &meeting.chair), ("since", &since)]))
                .color(theme::MUTED),
        );
        if meeting.room.is_none() {
            ui.label(RichText::new(tr.t("meeting.opening")).color(theme::MUTED));
        }
        if let Some(trouble) = &meeting.trouble {
            ui.label(RichText::new(tr.f("meeting.trouble", &[("why", trouble)])).color(theme::BAD));
        }
        if meeting.locked {
            ui.label(RichText::new(tr.t("meeting.locked")).color(theme::WARN));
        }
        if let Some(floor) = &meeting.floor {
            ui.horizontal(|ui| {
                ui.label(RichText::new(tr.f("meeting.floor_to", &[("site", site_name(meeting, floor))])).strong());
                if chair && ui.small_button(tr.t("meeting.end_floor")).clicked() {
                    act(MeetingAction::Floor { site: None });
                }
            });
        }
        if let Some(spot) = &meeting.spotlight {
            ui.horizontal(|ui| {
                ui.label(tr.f("meeting.spotlight_on", &[("site", site_name(meeting, spot))]));
                if chair && ui.small_button(tr.t("meeting.end_spotlight")).clicked() {
                    act(MeetingAction::Spotlight { site: None });
                }
            });
        }
        if chair {
            ui.add_space(4.0);
            ui.horizontal_wrapped(|ui| {
                if ui.button(tr.t("meeting.mute_all")).clicked() {
                    act(MeetingAction::MuteAll { self_unmute: self.self_unmute });
                }
                ui.checkbox(&mut self.self_unmute, tr.t("meeting.self_unmute"));
                if ui.button(tr.t("meeting.unmute_all")).clicked() {
                    act(MeetingAction::UnmuteAll);
                }
                let lock = if meeting.locked { "meeting.unlock" } else { "meeting.lock" };
                if ui.button(tr.t(lock)).clicked() {
                    act(MeetingAction::Lock { locked: !meeting.locked });
                }
                egui::ComboBox::from_label(tr.t("meeting.layout"))
                    .selected_text(layout_name(tr, meeting.layout))
                    .show_ui(ui, |ui| {
                        for layout in Layout::ALL {
                            if ui.selectable_label(meeting.layout == layout, layout_name(tr, layout)).clicked() {
                                act(MeetingAction::Layout { layout });
                            }
                        }
                    });
            });
        }
        let hands = meeting.hands();
        if !hands.is_empty() {
            ui.add_space(4.0);
            ui.label(RichText::new(tr.f("meeting.hands", &[("count", &hands.len().to_string())])).strong());
            for s in hands {
                ui.horizontal(|ui| {
                    let at = s.hand.map(names::clock).unwrap_or_default();
                    ui.label(format!("{} · {at}", s.site.name));
                    if chair && ui.small_button(tr.t("meeting.grant")).clicked() {
                        act(MeetingAction::Grant { site: s.site.id.clone() });
                    }
                    if chair && ui.small_button(tr.t("meeting.refuse")).clicked() {
                        act(MeetingAction::LowerHand { site: s.site.id.clone() });
                    }
                });
            }
        }
        ui.add_space(4.0);
        ui.label(RichText::new(tr.t("meeting.sites")).strong());
        egui::Grid::new("meeting sites").num_columns(3).spacing([10.0, 4.0]).striped(true).show(ui, |ui| {
            for s in meeting.sites.iter().filter(|s| !s.removed) {
                let (state, colour) = site_state(tr, s);
                ui.label(RichText::new(state).color(colour));
                // A chair acts on a site from its name's menu.
                if chair {
                    ui.menu_button(&s.site.name, |ui| {
                        if let Some(action) = site_menu(ui, tr, meeting, s) {
                            act(action);
                            ui.close();
                        }
                    });
                } else {
                    ui.label(&s.site.name);
                }
                if s.present {
                    let heard = meeting.audible(&s.site.id);
                    let voice = if heard { "meeting.heard" } else { "meeting.muted" };
                    ui.label(RichText::new(tr.t(voice)).color(if heard { theme::OK } else { theme::MUTED }));
                } else {
                    ui.label("");
                }
                ui.end_row();
            }
        });
        if chair {
            let invited: BTreeSet<&str> = meeting.taking_part().map(|s| s.site.id.as_str()).collect();
            let others: Vec<Site> = candidates(core).into_iter().filter(|s| !invited.contains(s.id.as_str())).collect();
            if !others.is_empty() {
                ui.menu_button(tr.t("meeting.invite"), |ui| {
                    for site in others {
                        if ui.button(&site.name).clicked() {
                            act(MeetingAction::Invite { sites: vec![site] });
                            ui.close();
                        }
                    }
                });
            }
            ui.add_space(4.0);
            if self.confirm_close {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(tr.t("meeting.close_confirm")).color(theme::BAD));
                    if ui.button(tr.t("meeting.close_yes")).clicked() {
                        act(MeetingAction::Close);
                        self.confirm_close = false;
                    }
                    if ui.button(tr.t("meeting.close_no")).clicked() {
                        self.confirm_close = false;
                    }
                });
            } else if ui.button(tr.t("meeting.close")).clicked() {
                self.confirm_close = true;
            }
        }
        ui.add_space(6.0);
        egui::CollapsingHeader::new(tr.t("meeting.record")).default_open(false).show(ui, |ui| {
            for record in meeting.record.iter().rev() {
                ui.label(record_line(tr, meeting, record));
            }
        });
    }
}

/// What a chair may do with one site; returns the action chosen.
fn site_menu(ui: &mut egui::Ui, tr: &I18n, meeting: &Meeting, s: &SiteState) -> Option<MeetingAction> {
    let id = || s.site.id.clone();
    let mut chosen = None;
    let mut offer = |ui: &mut egui::Ui, key: &str, action: MeetingAction| {
        if ui.button(tr.t(key)).clicked() {
            chosen = Some(action);
        }
    };
    if meeting.floor.as_deref() != Some(s.site.id.as_str()) {
        offer(ui, "meeting.call_on", MeetingAction::Floor { site: Some(id()) });
    }
    if s.voice {
        offer(ui, "meeting.mute", MeetingAction::Mute { site: id() });
    } else {
        offer(ui, "meeting.unmute", MeetingAction::Unmute { site: id() });
    }
    if meeting.spotlight.as_deref() != Some(s.site.id.as_str()) {
        offer(ui, "meeting.spotlight", MeetingAction::Spotlight { site: Some(id()) });
    }
    if !s.present {
        offer(ui, "meeting.call_back", MeetingAction::Invite { sites: vec![s.site.clone()] });
    }
    offer(ui, "meeting.remove", MeetingAction::Remove { site: id() });
    chosen
}

/// Where a site is: in the meeting, away (it was in), or not come (yet).
fn site_state<'a>(tr: &'a I18n, s: &SiteState) -> (&'a str, egui::Color32) {
    match (s.present, s.joined_once) {
        (true, _) => (tr.t("meeting.present"), theme::OK),
        (false, true) => (tr.t("meeting.away"), theme::WARN),
        (false, false) => (tr.t("meeting.not_in"), theme::MUTED),
    }
}

/// One line of the record: when, who, what, and whether the SFU carried it out.
fn record_line(tr: &I18n, meeting: &Meeting, record: &Record) -> RichText {
    let what = action_text(tr, meeting, &record.action);
    let line = format!("{} {} {what}", names::clock(record.at), record.by);
    match &record.enforced {
        None => RichText::new(tr.f("meeting.pending", &[("line", &line)])).color(theme::MUTED),
        Some(Ok(())) => RichText::new(line),
        Some(Err(why)) => RichText::new(tr.f("meeting.failed", &[("line", &line), ("why", why)])).color(theme::BAD),
    }
}
