//! Video linkage meetings (视频联动会议): the chair's commands and what the center's server
//! made of them at the SFU.
//!
//! A seat sends `chair_meeting`; the hub logs it as `meeting_chaired` with `by` (the meeting's
//! record: who did what, when). The center's meeting service folds the log into every
//! meeting's state and enforces it at the SFU (Janus VideoRoom): who may join (the allowed
//! list, closed to newcomers while the meeting is locked), who is heard (server-side
//! moderation), who is out (kicked and no longer allowed). It logs `meeting_enforced` for each
//! command (what the SFU said, and for an opening or invitation how each site joins) and
//! `meeting_presence` when a site comes or goes. See docs/meeting.md.

use serde::{Deserialize, Serialize};

use crate::message::{ParseError, check_key};

/// At most this many sites in one meeting (the SFU's publishers per room).
pub const MAX_SITES: usize = 24;

/// The chair's seat in the room: not a site (never muted, never put out); its join comes with
/// the opening's, under this name, which no site may take.
pub const CHAIR: &str = "chair";

/// The center's seats receiving the meeting: the room lets only its participants receive, so
/// each receiver joins as a participant of its own (sending nothing; participant 0 in this
/// join: Janus picks an id for each) with the token of this join, which comes with the
/// opening's under this name, which no site may take.
pub const WATCH: &str = "watch";

/// One command of a meeting's chair, or of a site about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingCommand {
    /// The seat's idempotency key.
    pub key: String,
    /// The meeting; empty when opening one (the hub names it `M` + the sequence number).
    #[serde(default)]
    pub meeting: String,
    pub action: MeetingAction,
    /// Who: filled in by the hub.
    #[serde(default)]
    pub by: String,
}

/// A site of a meeting: a village, a linked unit's sub-center, another seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The unit's or village's id.
    pub id: String,
    pub name: String,
}

/// How the meeting's pictures are laid out on every seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One picture (the spotlight's, else the one speaking).
    One,
    /// 2 × 2.
    #[default]
    Four,
    /// 3 × 2.
    Six,
    /// 3 × 3.
    Nine,
    /// One large picture and five small ones (1+5).
    OnePlusFive,
}

impl Layout {
    pub const ALL: [Layout; 5] = [Layout::One, Layout::Four, Layout::Six, Layout::Nine, Layout::OnePlusFive];

    /// How many pictures the layout shows.
    pub fn panes(self) -> usize {
        match self {
            Layout::One => 1,
            Layout::Four => 4,
            Layout::Six | Layout::OnePlusFive => 6,
            Layout::Nine => 9,
        }
    }
}

/// What is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum MeetingAction {
    /// Open a meeting (for an incident, when one is named) with these sites invited.
    Open {
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<String>,
        sites: Vec<Site>,
    },
    /// Invite sites, or call one back that did not answer (invited again: its seat rings).
    Invite {
        sites: Vec<Site>,
    },
    /// Put a site out: kicked at the SFU and no longer allowed in.
    Remove {
        site: String,
    },
    /// Mute every site; `self_unmute`: whether a site may then unmute itself.
    MuteAll {
        self_unmute: bool,
    },
    UnmuteAll,
    Mute {
        site: String,
    },
    Unmute {
        site: String,
    },
    /// Roll-call (点名发言): only `site` is heard; `None` ends it and the voices come back as
    /// they were.
    Floor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
    /// A site asks to speak (举手).
    RaiseHand {
        site: String,
    },
    /// The chair gives the floor to a site that asked.
    Grant {
        site: String,
    },
    /// The chair refuses, or the site withdraws its hand.
    LowerHand {
        site: String,
    },
    /// A site unmutes itself (only where the chair's mute-all allowed it).
    UnmuteSelf {
        site: String,
    },
    /// One site is shown to everyone (`None`: nobody is).
    Spotlight {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
    Layout {
        layout: Layout,
    },
    /// Lock: nobody who is not in the meeting now may join (also not invited sites).
    Lock {
        locked: bool,
    },
    /// End the meeting: the room is destroyed.
    Close,
}

impl MeetingAction {
    /// The site a site's own action is about (raising or lowering its hand, unmuting itself):
    /// such an action may come from that site's seat, not only from a chair.
    pub fn own_site(&self) -> Option<&str> {
        match self {
            MeetingAction::RaiseHand { site }
            | MeetingAction::LowerHand { site }
            | MeetingAction::UnmuteSelf { site } => Some(site),
            _ => None,
        }
    }

    /// The wire name of the action, as the log and the record show it.
    pub fn code(&self) -> &'static str {
        match self {
            MeetingAction::Open { .. } => "open",
            MeetingAction::Invite { .. } => "invite",
            MeetingAction::Remove { .. } => "remove",
            MeetingAction::MuteAll { .. } => "mute_all",
            MeetingAction::UnmuteAll => "unmute_all",
            MeetingAction::Mute { .. } => "mute",
            MeetingAction::Unmute { .. } => "unmute",
            MeetingAction::Floor { .. } => "floor",
            MeetingAction::RaiseHand { .. } => "raise_hand",
            MeetingAction::Grant { .. } => "grant",
            MeetingAction::LowerHand { .. } => "lower_hand",
            MeetingAction::UnmuteSelf { .. } => "unmute_self",
            MeetingAction::Spotlight { .. } => "spotlight",
            MeetingAction::Layout { .. } => "layout",
            MeetingAction::Lock { .. } => "lock",
            MeetingAction::Close => "close",
        }
    }
}

fn check_sites(sites: &[Site]) -> Result<(), ParseError> {
    if sites.len() > MAX_SITES {
        return Err(ParseError::Invalid(format!("a meeting has at most {MAX_SITES} sites")));
    }
    for site in sites {
        check_key("site id", &site.id)?;
        if site.id == CHAIR || site.id == WATCH {
            return Err(ParseError::Invalid(format!(
                "a site may not be called {:?}: that is the center's seats'",
                site.id
            )));
        }
        check_key("site name", &site.name)?;
    }
    Ok(())
}

impl MeetingCommand {
    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        match &self.action {
            MeetingAction::Open { title, incident, sites } => {
                if !self.meeting.is_empty() && self.meeting.len() > 128 {
                    return Err(ParseError::Invalid("meeting must be at most 128 characters".into()));
                }
                check_key("title", title)?;
                if let Some(incident) = incident {
                    check_key("incident", incident)?;
                }
                return check_sites(sites);
            }
            MeetingAction::Invite { sites } => {
                if sites.is_empty() {
                    return Err(ParseError::Invalid("an invitation names at least one site".into()));
                }
                check_sites(sites)?;
            }
            MeetingAction::Remove { site }
            | MeetingAction::Mute { site }
            | MeetingAction::Unmute { site }
            | MeetingAction::RaiseHand { site }
            | MeetingAction::Grant { site }
            | MeetingAction::LowerHand { site }
            | MeetingAction::UnmuteSelf { site }
            | MeetingAction::Floor { site: Some(site) }
            | MeetingAction::Spotlight { site: Some(site) } => check_key("site", site)?,
            _ => {}
        }
        check_key("meeting", &self.meeting)
    }
}

/// How one site joins the room at the SFU: its participant id and its token (the room's
/// allowed list holds it while the site may be in the meeting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteJoin {
    pub site: String,
    /// The site's feed in the room: what a receiver subscribes to.
    pub participant: u64,
    /// What lets the site join the room (to send, and to receive as itself). The hub gives it
    /// to the center's seats and services; a bridge gets the join without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What the center's server did at the SFU for one `meeting_chaired` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingEnforcement {
    pub meeting: String,
    /// The sequence number of the `meeting_chaired` event enforced (in its township's own log
    /// for a township on its own node: [`crate::Envelope::numbered_at`]).
    pub command: u64,
    pub ok: bool,
    /// What the SFU refused, and why (empty when it did everything).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// For an opening or an invitation: the VideoRoom's room number, the SFU's address as the
    /// sites reach it, and how each site invited joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfu: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<SiteJoin>,
}

impl MeetingEnforcement {
    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_key("meeting", &self.meeting)?;
        // Every site's join, the chair's and the watching seats'.
        if self.detail.chars().count() > 1000 || self.joins.len() > MAX_SITES + 2 {
            return Err(ParseError::Invalid("an enforcement's detail or joins are too long".into()));
        }
        for join in &self.joins {
            check_key("site", &join.site)?;
            if let Some(token) = &join.token {
                check_key("token", token)?;
            }
        }
        Ok(())
    }
}

/// A site came into the room (publishing) or went away, as the SFU told the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingPresence {
    pub meeting: String,
    pub site: String,
    pub present: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_reads_as_the_docs_write_it() {
        let text = r#"{"key":"k1","meeting":"M000012","action":{"what":"mute_all","self_unmute":true}}"#;
        let command: MeetingCommand = serde_json::from_str(text).unwrap();
        assert_eq!(command.action, MeetingAction::MuteAll { self_unmute: true });
        assert!(command.check().is_ok());
        let open = r#"{"key":"k2","action":{"what":"open","title":"防汛会商","sites":[{"id":"u1","name":"派出所"}]}}"#;
        let command: MeetingCommand = serde_json::from_str(open).unwrap();
        assert!(command.check().is_ok(), "an opening names no meeting yet");
    }

    #[test]
    fn a_command_without_its_meeting_or_with_too_many_sites_is_refused() {
        let no_meeting =
            MeetingCommand { key: "k".into(), meeting: String::new(), action: MeetingAction::Close, by: String::new() };
        assert!(no_meeting.check().is_err());
        let site = Site { id: "v".into(), name: "村".into() };
        let crowd = MeetingAction::Invite { sites: vec![site; MAX_SITES + 1] };
        let too_many = MeetingCommand { key: "k".into(), meeting: "M1".into(), action: crowd, by: String::new() };
        assert!(too_many.check().is_err());
    }
}
