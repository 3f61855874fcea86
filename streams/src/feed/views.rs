//! What each role reads of the log. Consoles and the center read every event as it was logged;
//! a unit terminal reads only the work orders and steps routed to its unit (the log's `route`); a bridge
//! (the 110 center, a hotline platform) reads incidents and orders but never a reporter's or a
//! unit's staff's mobile number, which stay inside the governance center (nor, see the hub,
//! where the units are), nor a meeting's tokens (what lets a site join the room and receive it).
//!
//! The center's seats all read the tokens: a seat's journal is its machine's, shared by
//! whoever logs in there, so tokens kept from one person at a seat would be missing for the
//! next (a chair's among them) and still on the disk for a person they were kept from.

use linkage_protocol::{Body, Envelope, Role};

/// The frame as `role` may read it, where that differs from the frame as logged.
pub(super) fn redacted(role: Role, frame: &str) -> Option<String> {
    if role != Role::Bridge || !(frame.contains("mobile") || frame.contains("\"token\"")) {
        return None;
    }
    let mut env = Envelope::parse(frame).ok()?;
    match &mut env.body {
        Body::IncidentReported(incident) => incident.report.reporter_mobile = None,
        Body::SatisfactionAsked(ask) => ask.mobile = String::new(),
        // The units' staff and their mobiles stay inside the center too.
        Body::RosterSet(roster) => roster.posts.iter_mut().for_each(|p| p.mobiles.clear()),
        Body::MeetingEnforced(enforced) => enforced.joins.iter_mut().for_each(|join| join.token = None),
        _ => return None,
    }
    Some(env.to_text())
}
