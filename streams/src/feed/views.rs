//! What each role reads of the log. Consoles and the center read every event as it was logged;
//! a unit terminal reads only the work orders and steps routed to its unit (the log's `route`)
//! and the meetings (routed to every unit), with only its own site's token; a bridge (the 110
//! center, a hotline platform) reads incidents and orders but never a reporter's or a unit's
//! staff's mobile number, which stay inside the governance center (nor, see the hub, where the
//! units are), nor a meeting's tokens (what lets a site join the room and receive it).
//!
//! The center's seats all read the tokens: a seat's journal is its machine's, shared by
//! whoever logs in there, so tokens kept from one person at a seat would be missing for the
//! next (a chair's among them) and still on the disk for a person they were kept from. A unit's
//! seat is its unit's, whoever is at it.

use linkage_protocol::{Body, Envelope, Role};

/// The frame as `role` (a unit terminal: of `unit`) may read it, where that differs from the
/// frame as logged.
pub(super) fn redacted(role: Role, unit: Option<&str>, frame: &str) -> Option<String> {
    let (bridge, terminal) = (role == Role::Bridge, role == Role::UnitTerminal);
    if !((bridge && frame.contains("mobile")) || ((bridge || terminal) && frame.contains("\"token\""))) {
        return None;
    }
    let mut env = Envelope::parse(frame).ok()?;
    if terminal {
        let Body::MeetingEnforced(enforced) = &mut env.body else { return None };
        for join in enforced.joins.iter_mut().filter(|join| Some(join.site.as_str()) != unit) {
            join.token = None;
        }
        return Some(env.to_text());
    }
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
