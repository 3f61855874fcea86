//! Video linkage meetings as the log tells them: each meeting's sites, who is heard, who may
//! join, the floor, the hands raised, the spotlight and the layout — and its record (who did
//! what, when).
//!
//! One fold for everyone: the chair's seat draws it, and the center's meeting service enforces
//! exactly what [`Meeting::audible`] and [`Meeting::allowed`] say at the SFU, so what the chair
//! sees is what the sites hear.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use linkage_protocol::{Body, Envelope, Layout, MeetingAction, MeetingCommand, MeetingEnforcement, Site, SiteJoin};

pub use linkage_protocol::meeting::{CHAIR, WATCH};

/// Every meeting of the log, by id.
#[derive(Debug, Default)]
pub struct Meetings {
    pub list: BTreeMap<String, Meeting>,
}

/// One meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: String,
    pub title: String,
    pub incident: Option<String>,
    /// Who opened it.
    pub chair: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The sites, in the order they were invited.
    pub sites: Vec<SiteState>,
    /// Roll-call: only this site is heard.
    pub floor: Option<String>,
    /// Whether sites may unmute themselves: the mute-all in force said so.
    pub self_unmute: bool,
    /// Whether a site invited now starts muted (after a mute-all, until an unmute-all).
    pub newcomers_muted: bool,
    pub locked: bool,
    pub spotlight: Option<String>,
    pub layout: Layout,
    /// The room at the SFU, and its address as the sites reach it (once the server opened it).
    pub room: Option<u64>,
    pub sfu: Option<String>,
    /// The last thing the SFU refused (cleared when a later command went through).
    pub trouble: Option<String>,
    /// How the chair's seat joins the room, to send its own picture and voice.
    pub chair_join: Option<SiteJoin>,
    /// The chair's seat sends into the room now, as the server last logged it.
    pub chair_present: bool,
    /// How the center's seats join the room to receive it (the token without a participant).
    pub watch_join: Option<SiteJoin>,
    /// The record: every command, in log order.
    pub record: Vec<Record>,
}

/// Who looks at a meeting ([`Meeting::panes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Viewer<'a> {
    /// A unit's seat, as its unit's site: it is never shown itself.
    Site(&'a str),
    /// A seat of the center; `chairing` when it sends as the chair (it does not receive itself).
    Center { chairing: bool },
}

/// One site of a meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteState {
    pub site: Site,
    /// Put out by the chair: kicked and no longer allowed in.
    pub removed: bool,
    /// In the room now (publishing), as the server last logged it.
    pub present: bool,
    /// Seen in the room at least once.
    pub joined_once: bool,
    /// Its own voice, apart from a roll-call: on unless muted.
    pub voice: bool,
    /// Muted by the chair by name (not by a mute-all): the site may not unmute itself.
    pub held: bool,
    /// In the room when the meeting was locked: may come back while it stays locked.
    pub in_at_lock: bool,
    /// When it raised its hand (`None`: it did not, or it was lowered).
    pub hand: Option<DateTime<Utc>>,
    /// When it was last invited (a call back invites again).
    pub invited_at: DateTime<Utc>,
    /// How it joins the room (from the server).
    pub join: Option<SiteJoin>,
}

/// One command of the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The command's place in the log that numbered it ([`linkage_protocol::Envelope::numbered_at`]).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub action: MeetingAction,
    /// What the server made of it at the SFU: `None` until it said, then `Ok` or why not.
    pub enforced: Option<Result<(), String>>,
}

impl Meeting {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    pub fn site(&self, id: &str) -> Option<&SiteState> {
        self.sites.iter().find(|s| s.site.id == id)
    }

    fn site_mut(&mut self, id: &str) -> Option<&mut SiteState> {
        self.sites.iter_mut().find(|s| s.site.id == id)
    }

    /// Whether the SFU lets `site` join the room (its token is on the allowed list).
    pub fn allowed(&self, site: &str) -> bool {
        self.is_open() && self.site(site).is_some_and(|s| !s.removed && (!self.locked || s.in_at_lock))
    }

    /// Whether `site` is heard: its own voice, unless a roll-call gives the floor to another.
    /// The chair is always heard.
    pub fn audible(&self, site: &str) -> bool {
        if site == CHAIR {
            return true;
        }
        let Some(s) = self.site(site) else { return false };
        if s.removed {
            return false;
        }
        match &self.floor {
            Some(floor) => floor == site,
            None => s.voice,
        }
    }

    /// Whether `site` may unmute itself now: muted by a mute-all that allowed it, and not by
    /// the chair by name.
    pub fn may_unmute_self(&self, site: &str) -> bool {
        self.newcomers_muted && self.self_unmute && self.site(site).is_some_and(|s| !s.held && !s.voice && !s.removed)
    }

    /// The sites that raised their hands, first come first.
    pub fn hands(&self) -> Vec<&SiteState> {
        let mut hands: Vec<&SiteState> = self.sites.iter().filter(|s| s.hand.is_some() && !s.removed).collect();
        hands.sort_by_key(|s| s.hand);
        hands
    }

    /// The sites whose pictures the layout shows, in order: the spotlight's, the one with the
    /// floor, the sites with their hands up, then the others in the room — as many as the
    /// layout has panes. What a seat receives is its [`Self::panes`], built on the same order.
    pub fn shown(&self) -> Vec<&SiteState> {
        let mut shown = self.in_order();
        shown.truncate(self.layout.panes());
        shown
    }

    /// Every site in the room, in the order the layout shows them ([`Self::shown`]).
    fn in_order(&self) -> Vec<&SiteState> {
        let here = |id: &str| self.site(id).filter(|s| s.present && !s.removed);
        let mut shown: Vec<&SiteState> = vec![];
        let first = [self.spotlight.as_deref(), self.floor.as_deref()];
        let hands = self.hands().into_iter().map(|s| s.site.id.as_str());
        let rest = self.sites.iter().map(|s| s.site.id.as_str());
        for id in first.into_iter().flatten().chain(hands).chain(rest) {
            if let Some(s) = here(id)
                && !shown.iter().any(|t| t.site.id == s.site.id)
            {
                shown.push(s);
            }
        }
        shown
    }

    /// What `viewer` shows of the meeting: the layout's sites ([`Self::shown`]) but its own,
    /// with the chair's picture (while the chair's seat sends) after the spotlight's and the
    /// floor's, before the rest — except at the seat that sends as the chair.
    pub fn panes(&self, viewer: Viewer<'_>) -> Vec<SiteState> {
        let own = match viewer {
            Viewer::Site(site) => Some(site),
            Viewer::Center { .. } => None,
        };
        let mut panes: Vec<SiteState> =
            self.in_order().into_iter().filter(|s| Some(s.site.id.as_str()) != own).cloned().collect();
        if !matches!(viewer, Viewer::Center { chairing: true })
            && let Some(chair) = self.chair_pane()
        {
            let first = [self.spotlight.as_deref(), self.floor.as_deref()];
            let leading = panes.iter().take_while(|s| first.contains(&Some(s.site.id.as_str()))).count();
            panes.insert(leading, chair);
        }
        panes.truncate(self.layout.panes());
        panes
    }

    /// The chair as a pane, under its name, while its seat sends.
    fn chair_pane(&self) -> Option<SiteState> {
        let join = self.chair_join.clone().filter(|_| self.chair_present)?;
        Some(SiteState {
            site: Site { id: CHAIR.to_owned(), name: self.chair.clone() },
            removed: false,
            present: true,
            joined_once: true,
            voice: true,
            held: false,
            in_at_lock: true,
            hand: None,
            invited_at: self.opened_at,
            join: Some(join),
        })
    }

    /// The sites taking part (invited and not removed).
    pub fn taking_part(&self) -> impl Iterator<Item = &SiteState> {
        self.sites.iter().filter(|s| !s.removed)
    }

    fn invite(&mut self, sites: &[Site], at: DateTime<Utc>) {
        for site in sites {
            // No more sites than the room takes publishers.
            let joining = self.site(&site.id).is_none_or(|s| s.removed);
            if joining && self.taking_part().count() >= linkage_protocol::meeting::MAX_SITES {
                continue;
            }
            match self.site_mut(&site.id) {
                // Called back: invited again (a removed site is back only by a new invitation).
                Some(s) => {
                    s.invited_at = at;
                    s.removed = false;
                }
                None => {
                    let voice = !self.newcomers_muted;
                    self.sites.push(SiteState {
                        site: site.clone(),
                        removed: false,
                        present: false,
                        joined_once: false,
                        voice,
                        held: false,
                        in_at_lock: false,
                        hand: None,
                        invited_at: at,
                        join: None,
                    });
                }
            }
        }
    }

    /// Applies one command (the rules the server enforces and every seat shows).
    fn apply(&mut self, action: &MeetingAction, at: DateTime<Utc>) {
        match action {
            MeetingAction::Open { .. } => {}
            MeetingAction::Invite { sites } => self.invite(sites, at),
            MeetingAction::Remove { site } => {
                if let Some(s) = self.site_mut(site) {
                    s.removed = true;
                    s.hand = None;
                    s.in_at_lock = false;
                }
                if self.floor.as_deref() == Some(site.as_str()) {
                    self.floor = None;
                }
                if self.spotlight.as_deref() == Some(site.as_str()) {
                    self.spotlight = None;
                }
            }
            MeetingAction::MuteAll { self_unmute } => {
                self.self_unmute = *self_unmute;
                self.newcomers_muted = true;
                self.sites.iter_mut().for_each(|s| (s.voice, s.held) = (false, false));
            }
            MeetingAction::UnmuteAll => {
                self.self_unmute = false;
                self.newcomers_muted = false;
                self.sites.iter_mut().for_each(|s| (s.voice, s.held) = (true, false));
            }
            MeetingAction::Mute { site } => self.set_voice(site, false),
            MeetingAction::Unmute { site } => self.set_voice(site, true),
            // Only out of a mute-all that allowed it, never out of the chair's own mute.
            MeetingAction::UnmuteSelf { site } => {
                if self.may_unmute_self(site)
                    && let Some(s) = self.site_mut(site)
                {
                    s.voice = true;
                }
            }
            // A roll-call or a spotlight for a site that may not be in keeps the one there is.
            MeetingAction::Floor { site: Some(site) } if !self.allowed(site) => {}
            MeetingAction::Spotlight { site: Some(site) } if !self.allowed(site) => {}
            MeetingAction::Floor { site } => self.floor = site.clone(),
            MeetingAction::RaiseHand { site } => {
                if let Some(s) = self.site_mut(site).filter(|s| !s.removed && s.hand.is_none()) {
                    s.hand = Some(at);
                }
            }
            MeetingAction::Grant { site } => {
                if self.allowed(site) {
                    self.floor = Some(site.clone());
                }
                if let Some(s) = self.site_mut(site) {
                    s.hand = None;
                }
            }
            MeetingAction::LowerHand { site } => {
                if let Some(s) = self.site_mut(site) {
                    s.hand = None;
                }
            }
            MeetingAction::Spotlight { site } => self.spotlight = site.clone(),
            MeetingAction::Layout { layout } => self.layout = *layout,
            // Locked again while locked: who was in at the first lock stays let in.
            MeetingAction::Lock { locked } => {
                for s in &mut self.sites {
                    s.in_at_lock = *locked && (s.present || (self.locked && s.in_at_lock));
                }
                self.locked = *locked;
                // A roll-call or spotlight on a site the lock now keeps out would leave nobody heard.
                if self.floor.as_deref().is_some_and(|f| !self.allowed(f)) {
                    self.floor = None;
                }
                if self.spotlight.as_deref().is_some_and(|f| !self.allowed(f)) {
                    self.spotlight = None;
                }
            }
            MeetingAction::Close => self.closed_at = Some(at),
        }
    }

    /// The chair mutes (holds) or unmutes a site by name.
    fn set_voice(&mut self, site: &str, voice: bool) {
        if let Some(s) = self.site_mut(site) {
            (s.voice, s.held) = (voice, !voice);
        }
    }
}

impl Meetings {
    /// Folds one event of the log.
    pub fn on_event(&mut self, env: &Envelope) {
        match &env.body {
            Body::MeetingChaired(command) => self.chaired(env.numbered_at(), env.time, command),
            Body::MeetingEnforced(enforced) => self.enforced(enforced),
            Body::MeetingPresence(p) => {
                let Some(meeting) = self.list.get_mut(&p.meeting) else { return };
                if p.site == CHAIR {
                    meeting.chair_present = p.present;
                } else if let Some(s) = meeting.site_mut(&p.site) {
                    s.present = p.present;
                    s.joined_once |= p.present;
                }
            }
            _ => {}
        }
    }

    fn chaired(&mut self, seq: u64, at: DateTime<Utc>, command: &MeetingCommand) {
        if let MeetingAction::Open { title, incident, sites } = &command.action {
            let mut meeting = Meeting {
                id: command.meeting.clone(),
                title: title.clone(),
                incident: incident.clone(),
                chair: command.by.clone(),
                opened_at: at,
                closed_at: None,
                sites: vec![],
                floor: None,
                self_unmute: false,
                newcomers_muted: false,
                locked: false,
                spotlight: None,
                layout: Layout::default(),
                room: None,
                sfu: None,
                trouble: None,
                chair_join: None,
                chair_present: false,
                watch_join: None,
                record: vec![],
            };
            meeting.invite(sites, at);
            self.list.entry(command.meeting.clone()).or_insert(meeting);
        }
        // Nothing changes a closed meeting.
        let Some(meeting) = self.list.get_mut(&command.meeting).filter(|m| m.is_open()) else { return };
        meeting.apply(&command.action, at);
        meeting.record.push(Record { seq, at, by: command.by.clone(), action: command.action.clone(), enforced: None });
    }

    fn enforced(&mut self, enforced: &MeetingEnforcement) {
        let Some(meeting) = self.list.get_mut(&enforced.meeting) else { return };
        if enforced.room.is_some() {
            meeting.room = enforced.room;
        }
        if enforced.sfu.is_some() {
            meeting.sfu.clone_from(&enforced.sfu);
        }
        for join in &enforced.joins {
            if join.site == CHAIR {
                meeting.chair_join = Some(join.clone());
            } else if join.site == WATCH {
                meeting.watch_join = Some(join.clone());
            } else if let Some(s) = meeting.site_mut(&join.site) {
                s.join = Some(join.clone());
            }
        }
        let outcome = if enforced.ok { Ok(()) } else { Err(enforced.detail.clone()) };
        meeting.trouble = outcome.clone().err();
        if let Some(record) = meeting.record.iter_mut().find(|r| r.seq == enforced.command) {
            record.enforced = Some(outcome);
        }
    }

    /// The open meetings, newest first.
    pub fn open(&self) -> impl Iterator<Item = &Meeting> {
        self.list.values().rev().filter(|m| m.is_open())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str) -> Site {
        Site { id: id.into(), name: format!("{id}站") }
    }

    fn chair(meetings: &mut Meetings, seq: u64, action: MeetingAction) {
        let command = MeetingCommand { key: format!("k{seq}"), meeting: "M1".into(), action, by: "李主任".into() };
        let env = Envelope::new(seq, Body::MeetingChaired(command));
        meetings.on_event(&env);
    }

    fn present(meetings: &mut Meetings, site: &str, present: bool) {
        let p = linkage_protocol::MeetingPresence { meeting: "M1".into(), site: site.into(), present };
        meetings.on_event(&Envelope::new(0, Body::MeetingPresence(p)));
    }

    /// The server's answer to the opening (command 1): room 7, carried out unless `detail`.
    fn enforced(meetings: &mut Meetings, detail: &str, joins: Vec<SiteJoin>) {
        let enforced = MeetingEnforcement {
            meeting: "M1".into(),
            command: 1,
            ok: detail.is_empty(),
            detail: detail.into(),
            room: Some(7),
            sfu: Some("http://sfu".into()),
            joins,
        };
        meetings.on_event(&Envelope::new(2, Body::MeetingEnforced(enforced)));
    }

    fn opened() -> Meetings {
        let mut meetings = Meetings::default();
        let sites = vec![site("a"), site("b"), site("c")];
        chair(&mut meetings, 1, MeetingAction::Open { title: "会商".into(), incident: None, sites });
        meetings
    }

    fn heard(meetings: &Meetings) -> Vec<&str> {
        let m = &meetings.list["M1"];
        m.sites.iter().filter(|s| m.audible(&s.site.id)).map(|s| s.site.id.as_str()).collect()
    }

    #[test]
    fn mute_all_then_a_roll_call_leaves_only_the_called_site_heard_and_ending_it_restores_voices() {
        let mut m = opened();
        assert_eq!(heard(&m), ["a", "b", "c"]);
        chair(&mut m, 2, MeetingAction::Mute { site: "c".into() });
        chair(&mut m, 3, MeetingAction::Floor { site: Some("b".into()) });
        assert_eq!(heard(&m), ["b"]);
        chair(&mut m, 4, MeetingAction::Floor { site: None });
        assert_eq!(heard(&m), ["a", "b"], "voices as they were before the roll-call");
        chair(&mut m, 5, MeetingAction::MuteAll { self_unmute: false });
        assert!(heard(&m).is_empty());
        chair(&mut m, 6, MeetingAction::UnmuteSelf { site: "a".into() });
        assert!(heard(&m).is_empty(), "the chair did not let sites unmute themselves");
        chair(&mut m, 7, MeetingAction::MuteAll { self_unmute: true });
        chair(&mut m, 8, MeetingAction::UnmuteSelf { site: "a".into() });
        assert_eq!(heard(&m), ["a"]);
        chair(&mut m, 9, MeetingAction::Invite { sites: vec![site("d")] });
        assert_eq!(heard(&m), ["a"], "a site invited after a mute-all comes in muted");
        chair(&mut m, 10, MeetingAction::UnmuteAll);
        assert_eq!(heard(&m), ["a", "b", "c", "d"]);
        // The chair's own mute of a site holds against the site, with or without a mute-all.
        chair(&mut m, 11, MeetingAction::Mute { site: "b".into() });
        chair(&mut m, 12, MeetingAction::UnmuteSelf { site: "b".into() });
        assert_eq!(heard(&m), ["a", "c", "d"], "no mute-all allowed it");
        chair(&mut m, 13, MeetingAction::MuteAll { self_unmute: true });
        chair(&mut m, 14, MeetingAction::Mute { site: "b".into() });
        chair(&mut m, 15, MeetingAction::UnmuteSelf { site: "b".into() });
        chair(&mut m, 16, MeetingAction::UnmuteSelf { site: "c".into() });
        assert_eq!(heard(&m), ["c"], "the mute-all allowed it, the chair's own mute of b did not");
        // A roll-call for a site that may not be in keeps the one there is.
        chair(&mut m, 17, MeetingAction::Floor { site: Some("c".into()) });
        chair(&mut m, 18, MeetingAction::Floor { site: Some("nobody".into()) });
        assert_eq!(heard(&m), ["c"]);
    }

    #[test]
    fn hands_are_granted_in_order_and_a_grant_is_the_floor() {
        let mut m = opened();
        chair(&mut m, 2, MeetingAction::RaiseHand { site: "c".into() });
        chair(&mut m, 3, MeetingAction::RaiseHand { site: "a".into() });
        let hands: Vec<&str> = m.list["M1"].hands().iter().map(|s| s.site.id.as_str()).collect();
        assert_eq!(hands, ["c", "a"]);
        chair(&mut m, 4, MeetingAction::Grant { site: "c".into() });
        assert_eq!(heard(&m), ["c"]);
        chair(&mut m, 5, MeetingAction::LowerHand { site: "a".into() });
        assert!(m.list["M1"].hands().is_empty());
    }

    #[test]
    fn a_removed_site_is_neither_heard_nor_allowed_and_a_lock_keeps_out_who_is_not_in() {
        let mut m = opened();
        present(&mut m, "a", true);
        present(&mut m, "b", true);
        chair(&mut m, 2, MeetingAction::Remove { site: "b".into() });
        let meeting = &m.list["M1"];
        assert!(!meeting.allowed("b") && !meeting.audible("b"));
        chair(&mut m, 3, MeetingAction::Lock { locked: true });
        let meeting = &m.list["M1"];
        assert!(meeting.allowed("a"), "in the room when locked");
        assert!(!meeting.allowed("c"), "invited but not in: kept out while locked");
        present(&mut m, "a", false);
        assert!(m.list["M1"].allowed("a"), "a site that was in may come back while locked");
        chair(&mut m, 3, MeetingAction::Lock { locked: true });
        assert!(m.list["M1"].allowed("a"), "locked again: who was in at the first lock stays let in");
        chair(&mut m, 4, MeetingAction::Lock { locked: false });
        assert!(m.list["M1"].allowed("c"));
        chair(&mut m, 5, MeetingAction::Close);
        assert!(!m.list["M1"].allowed("a"));
        chair(&mut m, 6, MeetingAction::UnmuteAll);
        assert_eq!(m.list["M1"].record.len(), 6, "nothing is recorded after the close");
    }

    #[test]
    fn the_layout_shows_the_spotlight_the_floor_and_the_hands_first_and_only_sites_in_the_room() {
        let mut m = opened();
        chair(&mut m, 2, MeetingAction::Invite { sites: vec![site("d"), site("e")] });
        for id in ["a", "b", "c", "d", "e"] {
            present(&mut m, id, true);
        }
        present(&mut m, "b", false);
        chair(&mut m, 3, MeetingAction::RaiseHand { site: "e".into() });
        chair(&mut m, 4, MeetingAction::Floor { site: Some("d".into()) });
        let shown = |m: &Meetings| m.list["M1"].shown().iter().map(|s| s.site.id.clone()).collect::<Vec<_>>();
        assert_eq!(shown(&m), ["d", "e", "a", "c"], "four panes: the floor, the hand, the rest in the room");
        chair(&mut m, 5, MeetingAction::Spotlight { site: Some("c".into()) });
        chair(&mut m, 6, MeetingAction::Layout { layout: Layout::One });
        assert_eq!(shown(&m), ["c"]);
    }

    #[test]
    fn a_lock_that_keeps_out_the_site_with_the_floor_ends_the_roll_call_and_no_more_than_24_take_part() {
        let mut m = opened();
        present(&mut m, "a", true);
        chair(&mut m, 2, MeetingAction::Floor { site: Some("b".into()) });
        chair(&mut m, 3, MeetingAction::Lock { locked: true });
        assert_eq!(m.list["M1"].floor, None, "b, not in, may not come in: the roll-call on it ended");
        assert_eq!(heard(&m), ["a", "b", "c"], "the voices as they were");
        let mut m = opened();
        let crowd: Vec<Site> = (0..30).map(|n| site(&format!("s{n}"))).collect();
        chair(&mut m, 2, MeetingAction::Invite { sites: crowd });
        assert_eq!(m.list["M1"].taking_part().count(), linkage_protocol::meeting::MAX_SITES);
        chair(&mut m, 3, MeetingAction::Remove { site: "a".into() });
        chair(&mut m, 4, MeetingAction::Invite { sites: vec![site("s29")] });
        chair(&mut m, 5, MeetingAction::Invite { sites: vec![site("a")] });
        assert_eq!(m.list["M1"].taking_part().count(), linkage_protocol::meeting::MAX_SITES, "a call back counts too");
    }

    #[test]
    fn the_servers_word_is_kept_on_the_record() {
        let mut m = opened();
        let join = SiteJoin { site: "a".into(), participant: 100, token: Some("t".into()) };
        let chair_join = SiteJoin { site: CHAIR.into(), participant: 2, token: Some("c".into()) };
        enforced(&mut m, "433 Unauthorized", vec![join.clone(), chair_join]);
        let meeting = &m.list["M1"];
        assert_eq!(meeting.room, Some(7));
        assert_eq!(meeting.site("a").unwrap().join, Some(join));
        assert_eq!(meeting.chair_join.as_ref().map(|j| j.participant), Some(2), "the chair is not a site");
        assert!(meeting.site(CHAIR).is_none());
        assert_eq!(meeting.record[0].enforced, Some(Err("433 Unauthorized".into())));
        assert_eq!(meeting.trouble.as_deref(), Some("433 Unauthorized"));
    }

    #[test]
    fn a_sites_seat_sees_the_chair_while_it_sends_after_the_spotlight_and_never_itself() {
        let mut m = opened();
        for id in ["a", "b", "c"] {
            present(&mut m, id, true);
        }
        enforced(&mut m, "", vec![SiteJoin { site: CHAIR.into(), participant: 2, token: None }]);
        let ids = |m: &Meetings, viewer| m.list["M1"].panes(viewer).into_iter().map(|s| s.site.id).collect::<Vec<_>>();
        let (site_b, watching, chairing) =
            (Viewer::Site("b"), Viewer::Center { chairing: false }, Viewer::Center { chairing: true });
        assert_eq!(ids(&m, watching), ["a", "b", "c"], "the center's seats: the sites");
        assert_eq!(ids(&m, site_b), ["a", "c"], "the chair not sending: not shown");
        present(&mut m, CHAIR, true);
        assert_eq!(ids(&m, site_b), [CHAIR, "a", "c"]);
        assert_eq!(ids(&m, watching), [CHAIR, "a", "b", "c"], "a seat of the center that does not chair");
        assert_eq!(ids(&m, chairing), ["a", "b", "c"], "the chair's own seat does not receive itself");
        assert!(m.list["M1"].audible(CHAIR), "the chair is heard");
        // The spotlight's and the floor's before the chair.
        chair(&mut m, 3, MeetingAction::Spotlight { site: Some("c".into()) });
        assert_eq!(ids(&m, site_b), ["c", CHAIR, "a"]);
        chair(&mut m, 4, MeetingAction::Layout { layout: Layout::One });
        assert_eq!(ids(&m, site_b), ["c"]);
        chair(&mut m, 5, MeetingAction::Spotlight { site: None });
        assert_eq!(ids(&m, site_b), [CHAIR]);
        present(&mut m, CHAIR, false);
        assert_eq!(ids(&m, site_b), ["a"]);
        // Its own site spotlit: the one pane goes to the next, not left empty.
        chair(&mut m, 6, MeetingAction::Spotlight { site: Some("b".into()) });
        assert_eq!(ids(&m, site_b), ["a"]);
    }
}
