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

/// The frame as `role` (a unit terminal: of `unit`) may read it: as logged, with what it may
/// not read taken out, or (what should be taken out cannot be: a frame this hub cannot read)
/// not at all — it fails closed.
pub(super) fn redacted<F: From<String> + AsRef<str>>(role: Role, unit: Option<&str>, frame: F) -> Option<F> {
    let (bridge, terminal) = (role == Role::Bridge, role == Role::UnitTerminal);
    let text = frame.as_ref();
    if !((bridge && text.contains("mobile")) || ((bridge || terminal) && text.contains("\"token\""))) {
        return Some(frame);
    }
    let Ok(mut env) = Envelope::parse(text) else {
        tracing::warn!(?role, "a frame that may hold what this reader may not read, and cannot be read: withheld");
        return None;
    };
    if terminal {
        let Body::MeetingEnforced(enforced) = &mut env.body else { return Some(frame) };
        // Its own site's token only; never a reserved site's (no unit bears such a name).
        let own = |site: &str| Some(site) == unit && super::routes::check_unit_id(site).is_ok();
        for join in enforced.joins.iter_mut().filter(|join| !own(&join.site)) {
            join.token = None;
        }
        return Some(env.to_text().into());
    }
    match &mut env.body {
        Body::IncidentReported(incident) => incident.report.reporter_mobile = None,
        Body::SatisfactionAsked(ask) => ask.mobile = String::new(),
        // The units' staff and their mobiles stay inside the center too.
        Body::RosterSet(roster) => roster.posts.iter_mut().for_each(|p| p.mobiles.clear()),
        Body::MeetingEnforced(enforced) => enforced.joins.iter_mut().for_each(|join| join.token = None),
        _ => return Some(frame),
    }
    Some(env.to_text().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::{MeetingEnforcement, SiteJoin};

    fn enforced(joins: &[(&str, &str)]) -> String {
        let joins = joins
            .iter()
            .map(|(site, token)| SiteJoin { site: (*site).into(), participant: 100, token: Some((*token).into()) })
            .collect();
        let e = MeetingEnforcement {
            meeting: "M1".into(),
            command: 1,
            ok: true,
            detail: String::new(),
            room: Some(7),
            sfu: None,
            joins,
        };
        Envelope::new(2, Body::MeetingEnforced(e)).to_text()
    }

    fn tokens(frame: Option<String>) -> Vec<Option<String>> {
        let Body::MeetingEnforced(e) = Envelope::parse(&frame.expect("not withheld")).unwrap().body else {
            panic!("not an enforcement")
        };
        e.joins.into_iter().map(|j| j.token).collect()
    }

    #[test]
    fn a_unit_reads_its_own_token_only_never_a_reserved_sites_and_an_unreadable_frame_not_at_all() {
        let frame = enforced(&[("police", "p"), ("chair", "c"), ("watch", "w")]);
        let read = |unit| tokens(redacted(Role::UnitTerminal, Some(unit), frame.clone()));
        assert_eq!(read("police"), [Some("p".into()), None, None]);
        assert_eq!(read("chair"), [None, None, None], "a unit called chair is not the chair");
        assert_eq!(read("watch"), [None, None, None]);
        assert_eq!(
            tokens(redacted(Role::Console, None, frame.clone())),
            [Some("p".into()), Some("c".into()), Some("w".into())]
        );
        assert_eq!(tokens(redacted(Role::Bridge, None, frame)), [None, None, None]);
        // A frame that may hold a token and cannot be read is withheld, not passed on whole.
        let unreadable = r#"{"v":99,"kind":"meeting_enforced","body":{"joins":[{"token":"x"}]}}"#.to_owned();
        assert_eq!(redacted(Role::UnitTerminal, Some("police"), unreadable.clone()), None);
        assert_eq!(redacted(Role::Console, None, unreadable.clone()), Some(unreadable));
        let plain = r#"{"no":"secrets"}"#.to_owned();
        assert_eq!(redacted(Role::Bridge, None, plain.clone()), Some(plain));
    }
}
