//! What each reader may read of the log. Consoles and the center read every event as it was
//! logged, with these exceptions:
//! - a unit terminal reads only the work orders and steps routed to its unit (the log's
//!   `route`);
//! - a bridge (the 110 center, a hotline platform) reads incidents and orders but never a
//!   reporter's or a unit's staff's mobile number, which stay inside the governance center
//!   (nor, see the hub, where the units are);
//! - a meeting's tokens (what lets a site join the room) go only to the seats that may chair
//!   and to the center's services: an on-call seat or a bridge that had them could join as any
//!   site or as the chair. Every seat of the center keeps the `watch` token, which lets it
//!   receive the meeting; a bridge gets none.

use linkage_protocol::meeting::WATCH;
use linkage_protocol::{Body, Envelope, Role};

use super::grant::Grant;

/// The frame as `reader` may read it, where that differs from the frame as logged.
pub(super) fn redacted(reader: &Grant, frame: &str) -> Option<String> {
    let bridge = reader.role == Role::Bridge && frame.contains("mobile");
    let tokens = reader.role != Role::Center && !reader.may_chair() && frame.contains("\"token\"");
    if !bridge && !tokens {
        return None;
    }
    let mut env = Envelope::parse(frame).ok()?;
    match &mut env.body {
        Body::IncidentReported(incident) if bridge => incident.report.reporter_mobile = None,
        Body::SatisfactionAsked(ask) if bridge => ask.mobile = String::new(),
        // The units' staff and their mobiles stay inside the center too.
        Body::RosterSet(roster) if bridge => roster.posts.iter_mut().for_each(|p| p.mobiles.clear()),
        Body::MeetingEnforced(enforced) if tokens => {
            let watches = reader.role == Role::Console;
            enforced
                .joins
                .iter_mut()
                .filter(|join| !(watches && join.site == WATCH))
                .for_each(|join| join.token = None);
        }
        _ => return None,
    }
    Some(env.to_text())
}
