//! The meeting panel (视频会商), beside the map: a leader or a duty officer opens a video
//! linkage meeting (for the incident selected, its units invited) and chairs it — mute all,
//! roll-call, hands raised, spotlight, layout, lock, invite, call back, remove, end. Each site
//! shows whether it is in, away or never came, and whether it is heard; the record lists every
//! action with who did it and whether the SFU carried it out.
//!
//! What it shows is the log's fold ([`crate::core::meeting`]); the server enforces the same
//! fold at the SFU, so "heard" here is what the sites hear.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use egui::RichText;
use streams::feed::{Layout, MeetingAction, SeatRole, Site};

use crate::core::meeting::{Meeting, Record, SiteState};
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::{names, theme, yuv};

/// What the seat receives and sends in the open meeting, this frame.
#[derive(Default)]
pub struct MeetingFrame {
    /// The newest picture of each participant shown.
    pub pictures: HashMap<u64, Arc<streams::video::Frame>>,
    /// Why a participant's picture does not come, where it failed.
    pub troubles: HashMap<u64, String>,
    /// The participants shown that are talking now.
    pub talking: std::collections::HashSet<u64>,
    /// The seat's own picture and voice: in the room, or why not (`None`: not in, yet).
    pub sending: Option<Result<(), String>>,
}

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
    /// The chair sends the seat's own picture and voice into the room (of this meeting only).
    pub sending: bool,
    sending_for: Option<String>,
    yuv: yuv::YuvPainter,
    /// The pictures on the GPU, by participant.
    pictures: HashMap<u64, yuv::Picture>,
    draft: Option<Draft>,
    /// Whether a mute-all lets sites unmute themselves.
    self_unmute: bool,
    /// The chair pressed 结束会议 once: asked to confirm.
    confirm_close: bool,
}

/// Whether this seat may chair: a seat of the center of a leader, a duty officer, an admin
/// (or a machine's token).
pub fn may_chair(core: &Core) -> bool {
    core.desk.unit.is_none()
        && matches!(core.hub.seat(), None | Some(SeatRole::DutyOfficer | SeatRole::Leader | SeatRole::Admin))
}

/// The surveillance cameras a chair can pull into the meeting: those near its incident, then
/// those on the wall. Each becomes a site `camera:ID`, its picture passed on from its stream by
/// the seat that sends (see [`crate::meeting_media`]).
fn pullable_cameras(core: &Core, meeting: &Meeting) -> Vec<Site> {
    let near = meeting.incident.as_deref().and_then(|id| core.incidents.get(id)).map(|t| {
        let at = t.incident.report.location;
        crate::core::camera::nearest(&core.cameras, at.lon, at.lat, crate::core::NEAREST_CAMERA_RADIUS_M)
    });
    let near = near.into_iter().flatten().filter_map(|n| core.cameras.get(n.camera));
    let on_wall = core.wall.tiles.iter().flatten().filter_map(|id| core.camera(id));
    let mut sites: Vec<Site> = vec![];
    for camera in near.chain(on_wall) {
        let id = format!("{}{}", streams::meeting::CAMERA_SITE, camera.id);
        if !sites.iter().any(|s| s.id == id) && id.len() <= 128 {
            sites.push(Site { id, name: camera.name.clone() });
        }
    }
    sites
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
    /// Tells the panel how the window renders (see [`yuv`]), as the wall is told.
    pub fn renderer(&mut self, renderer: yuv::Renderer) {
        self.yuv.renderer(renderer);
    }

    /// Keeps the seat's sending to its meeting: the seat's camera goes into a meeting only
    /// when asked in that meeting. The app calls it every frame, before the media follow the
    /// meeting (so they never send into a meeting that just took the place of the one asked).
    pub fn keep_to(&mut self, core: &Core) {
        let meeting = core.meeting().map(|m| m.id.clone());
        if meeting != self.sending_for {
            self.sending = false;
            self.sending_for = meeting;
        }
    }

    /// The panel's contents; returns the commands asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, media: &MeetingFrame) -> Vec<Command> {
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
        let own_site = core.desk.unit.as_deref();
        egui::ScrollArea::vertical().show(ui, |ui| match core.meeting() {
            Some(meeting) => {
                self.panes(ui, tr, core, meeting, media);
                if chair || own_site.is_some() {
                    self.own_picture(ui, tr, core, meeting, media);
                }
                if let Some(action) = own_site.and_then(|site| site_controls(ui, tr, meeting, site)) {
                    commands.push(Command::ChairMeeting { meeting: meeting.id.clone(), action });
                }
                self.meeting(ui, core, tr, meeting, chair, &mut commands);
            }
            None if chair => self.start(ui, core, tr, &mut commands),
            None => {
                ui.label(RichText::new(tr.t("meeting.none")).color(theme::MUTED));
            }
        });
        commands
    }

    /// The pictures this seat shows ([`Meeting::panes`]), each with its site's name and whether
    /// it is heard.
    fn panes(&mut self, ui: &mut egui::Ui, tr: &I18n, core: &Core, meeting: &Meeting, media: &MeetingFrame) {
        let shown = meeting.panes(core.viewer(self.sending));
        self.pictures.retain(|p, _| shown.iter().any(|s| s.join.as_ref().is_some_and(|j| j.participant == *p)));
        // Why a pane shows no picture before anything is tried: a seat of the center receives
        // with the watch token; a unit's seat receives as its site, once it joined.
        let blank = match &core.desk.unit {
            None if meeting.watch_join.as_ref().is_none_or(|j| j.token.is_none()) => Some("meeting.not_received"),
            Some(_) if media.sending != Some(Ok(())) => Some("meeting.join_first"),
            _ => None,
        };
        if shown.is_empty() {
            let none = if core.desk.unit.is_some() { "meeting.no_others" } else { "meeting.no_pictures" };
            ui.label(RichText::new(tr.t(none)).color(theme::MUTED));
            ui.separator();
            return;
        }
        let width = ui.available_width();
        let columns = match meeting.layout {
            Layout::One => 1,
            Layout::Four => 2,
            Layout::Six | Layout::Nine | Layout::OnePlusFive => 3,
        };
        let mut rows: Vec<Vec<&SiteState>> = vec![];
        let mut rest = shown.as_slice();
        if meeting.layout == Layout::OnePlusFive
            && let Some((first, others)) = rest.split_first()
        {
            rows.push(vec![first]);
            rest = others;
        }
        rows.extend(rest.chunks(columns).map(|row| row.iter().collect()));
        for row in rows {
            let pane_width = if row.len() == 1 && meeting.layout != Layout::Nine && meeting.layout != Layout::Six {
                width
            } else {
                width / columns as f32
            };
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                for s in row {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(pane_width, pane_width * 9.0 / 16.0), egui::Sense::hover());
                    self.pane(ui, tr, rect.shrink(1.0), (meeting, s), media, blank);
                }
            });
        }
        ui.separator();
    }

    fn pane(
        &mut self,
        ui: &egui::Ui,
        tr: &I18n,
        rect: egui::Rect,
        (meeting, s): (&Meeting, &SiteState),
        media: &MeetingFrame,
        blank: Option<&str>,
    ) {
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, theme::TILE_BACKGROUND);
        let participant = s.join.as_ref().map(|j| j.participant);
        let picture = participant.and_then(|p| media.pictures.get(&p));
        match (participant, picture) {
            (Some(p), Some(frame)) => {
                let area = super::wall::fit(rect, frame.display_aspect());
                let picture = self.pictures.entry(p).or_insert_with(|| self.yuv.picture());
                self.yuv.paint(&painter, area, picture, frame);
            }
            _ => {
                let why = participant.and_then(|p| media.troubles.get(&p));
                let text = match (blank, why) {
                    (Some(blank), _) => tr.t(blank).to_owned(),
                    (None, Some(why)) => tr.f("meeting.no_picture", &[("why", why)]),
                    (None, None) => tr.t("meeting.connecting").to_owned(),
                };
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    text,
                    egui::FontId::proportional(12.0),
                    theme::MUTED,
                );
            }
        }
        // Talking now: a green frame round the picture, and said beside the name.
        let talking = participant.is_some_and(|p| media.talking.contains(&p));
        if talking {
            painter.rect_stroke(rect, 0.0, egui::Stroke::new(3.0, theme::OK), egui::StrokeKind::Inside);
        }
        let heard = meeting.audible(&s.site.id);
        let mark = if talking {
            tr.t("meeting.talking")
        } else if s.site.id.starts_with(streams::meeting::CAMERA_SITE) {
            tr.t("meeting.camera")
        } else if heard {
            tr.t("meeting.heard")
        } else {
            tr.t("meeting.muted")
        };
        let label = format!("{} · {mark}", s.site.name);
        let at = rect.left_bottom() + egui::vec2(4.0, -4.0);
        let font = egui::FontId::proportional(13.0);
        let galley = painter.layout_no_wrap(label, font, if heard { theme::OK } else { theme::TILE_TEXT });
        let back =
            egui::Rect::from_min_size(at - egui::vec2(2.0, galley.size().y), galley.size() + egui::vec2(4.0, 0.0));
        painter.rect_filled(back, 2.0, theme::TILE_SHADE);
        painter.galley(at - egui::vec2(0.0, galley.size().y), galley, theme::TILE_TEXT);
    }

    /// The seat's own picture and voice — the chair's, or a unit's seat's as its site — into the
    /// room, or out of it.
    fn own_picture(&mut self, ui: &mut egui::Ui, tr: &I18n, core: &Core, meeting: &Meeting, media: &MeetingFrame) {
        if core.own_join(meeting).is_none() {
            return;
        }
        ui.horizontal(|ui| {
            let key = match (self.sending, core.desk.unit.is_some()) {
                (false, false) => "meeting.send_own",
                (true, false) => "meeting.leave_own",
                (false, true) => "meeting.site_join",
                (true, true) => "meeting.site_leave",
            };
            let may = self.sending || core.desk.unit.is_none() || site_may_join(core, meeting);
            if ui.add_enabled(may, egui::Button::new(tr.t(key))).clicked() {
                self.sending = !self.sending;
            }
            if !self.sending && unit_in_room(core, meeting) {
                ui.label(RichText::new(tr.t("meeting.in_elsewhere")).color(theme::WARN));
            }
            if self.sending {
                match &media.sending {
                    Some(Ok(())) => ui.label(RichText::new(tr.t("meeting.own_in")).color(theme::OK)),
                    None => ui.label(RichText::new(tr.t("meeting.connecting")).color(theme::MUTED)),
                    Some(Err(why)) => {
                        ui.label(RichText::new(tr.f("meeting.own_failed", &[("why", why)])).color(theme::BAD))
                    }
                };
            }
        });
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
                if s.site.id.starts_with(streams::meeting::CAMERA_SITE) {
                    ui.label(RichText::new(tr.t("meeting.camera")).color(theme::CAMERA));
                } else if s.present {
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
            let cameras: Vec<Site> =
                pullable_cameras(core, meeting).into_iter().filter(|s| !invited.contains(s.id.as_str())).collect();
            if !cameras.is_empty() {
                ui.menu_button(tr.t("meeting.pull_camera"), |ui| {
                    for camera in cameras {
                        if ui.button(&camera.name).clicked() {
                            act(MeetingAction::Invite { sites: vec![camera] });
                            ui.close();
                        }
                    }
                });
            }
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

/// Whether a unit's seat may join `meeting` as its site now: it has its site's token, the room
/// lets the site in (not removed, not locked out), and the site is not in from another seat
/// (which holds its participant id).
pub fn site_may_join(core: &Core, meeting: &Meeting) -> bool {
    let Some(unit) = core.desk.unit.as_deref() else { return false };
    core.own_join(meeting).is_some_and(|j| j.token.is_some()) && meeting.allowed(unit) && !unit_in_room(core, meeting)
}

/// Whether this unit's site is in the room, as the server last logged it: from another of its
/// seats while this one does not send (or for the few seconds after this one left, until the
/// server sees it go).
fn unit_in_room(core: &Core, meeting: &Meeting) -> bool {
    core.desk.unit.as_deref().and_then(|u| meeting.site(u)).is_some_and(|s| s.present)
}

/// A unit's seat in its meeting: whether it is heard, its hand, and unmuting itself where the
/// chair's mute-all allowed it; returns the action chosen.
fn site_controls(ui: &mut egui::Ui, tr: &I18n, meeting: &Meeting, site: &str) -> Option<MeetingAction> {
    let s = meeting.site(site)?;
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        let (state, colour) = if meeting.floor.as_deref() == Some(site) {
            ("meeting.you_have_floor", theme::OK)
        } else if meeting.audible(site) {
            ("meeting.you_heard", theme::OK)
        } else if s.held {
            ("meeting.you_held", theme::WARN)
        } else {
            ("meeting.you_muted", theme::WARN)
        };
        ui.label(RichText::new(tr.t(state)).strong().color(colour));
        if meeting.may_unmute_self(site) && ui.button(tr.t("meeting.unmute_self")).clicked() {
            action = Some(MeetingAction::UnmuteSelf { site: site.to_owned() });
        }
        if s.hand.is_none() {
            if ui.button(tr.t("meeting.raise_hand")).clicked() {
                action = Some(MeetingAction::RaiseHand { site: site.to_owned() });
            }
        } else {
            ui.label(RichText::new(tr.t("meeting.hand_up")).color(theme::WARN));
            if ui.small_button(tr.t("meeting.lower_hand")).clicked() {
                action = Some(MeetingAction::LowerHand { site: site.to_owned() });
            }
        }
    });
    ui.separator();
    action
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
    // Only a site that may be in the room can have the floor or the spotlight.
    let may_be_in = meeting.allowed(&s.site.id);
    if may_be_in && meeting.floor.as_deref() != Some(s.site.id.as_str()) {
        offer(ui, "meeting.call_on", MeetingAction::Floor { site: Some(id()) });
    }
    if s.voice {
        offer(ui, "meeting.mute", MeetingAction::Mute { site: id() });
    } else {
        offer(ui, "meeting.unmute", MeetingAction::Unmute { site: id() });
    }
    if may_be_in && meeting.spotlight.as_deref() != Some(s.site.id.as_str()) {
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
