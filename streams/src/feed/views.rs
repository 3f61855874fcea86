//! What each role reads of the log. Consoles and the center read every event as it was logged;
//! a unit terminal reads only the work orders and steps routed to its unit (the log's `route`)
//! and the meetings (routed to every unit), with only its own site's token; a bridge (the 110
//! center, a hotline platform) reads incidents and orders but never a reporter's or a unit's
//! staff's mobile number, which stay inside the governance center (nor, see the hub, where the
//! units are), nor a meeting's tokens (what lets a site join the room and receive it), nor the
//! center's own business that names its people's numbers (deliveries' receipts, paging,
//! channel tests).
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
    match role {
        Role::Bridge => for_bridge(frame),
        // Only a meeting's joins hold what a unit may not read.
        Role::UnitTerminal if frame.as_ref().contains("\"token\"") => {
            let mut env = read(role, frame.as_ref())?;
            let Body::MeetingEnforced(enforced) = &mut env.body else { return Some(frame) };
            // Its own site's token only; never a reserved site's (no unit bears such a name).
            let own = |site: &str| Some(site) == unit && super::routes::check_unit_id(site).is_ok();
            for join in enforced.joins.iter_mut().filter(|join| !own(&join.site)) {
                join.token = None;
            }
            Some(env.to_text().into())
        }
        _ => Some(frame),
    }
}

/// A frame as a bridge may read it: every frame is read (a number can be in many places), the
/// center's own business — its deliveries' receipts, its paging, its channel tests — withheld,
/// and the mobiles and tokens left in the rest taken out.
fn for_bridge<F: From<String> + AsRef<str>>(frame: F) -> Option<F> {
    let mut env = read(Role::Bridge, frame.as_ref())?;
    let numbered_at = env.numbered_at();
    match &mut env.body {
        Body::DeliveryUpdated(_) | Body::AlarmPaged(_) | Body::ChannelTested(_) => return None,
        // That the alarm was acknowledged the bridge's peer is told (signed for); by whom, not
        // how: an answer by SMS names the number it came from ("王强（短信 138…）").
        Body::AlarmAcknowledged { by, .. } => {
            let name = by.split(['（', '(']).next().unwrap_or_default().trim().to_owned();
            *by = name;
        }
        // A reporter's satisfaction by SMS is keyed by the number it came from.
        Body::OrderChanged(change) => change.key = format!("change/{numbered_at}"),
        Body::IncidentReported(incident) => incident.report.reporter_mobile = None,
        Body::SatisfactionAsked(ask) => ask.mobile = String::new(),
        // The units' staff and their mobiles stay inside the center too.
        Body::RosterSet(roster) => roster.posts.iter_mut().for_each(|p| p.mobiles.clear()),
        Body::OrderCreated(order) => {
            order.units.iter_mut().flat_map(|u| &mut u.deliveries).for_each(|d| d.recipients.clear())
        }
        Body::OrderEscalated(escalated) => escalated.deliveries.iter_mut().for_each(|d| d.recipients.clear()),
        Body::MeetingEnforced(enforced) => enforced.joins.iter_mut().for_each(|join| join.token = None),
        _ => return Some(frame),
    }
    Some(env.to_text().into())
}

/// A logged frame read back (as logged: not checked again as a client's message would be, so
/// an old event of an earlier version reads too); `None`, said, when it cannot be.
fn read(role: Role, frame: &str) -> Option<Envelope> {
    let read = serde_json::from_str::<Envelope>(frame);
    if let Err(e) = &read {
        tracing::warn!(?role, error = %e, "a logged frame this hub cannot read: withheld from this reader");
    }
    read.ok()
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
        let unreadable = r#"{"kind":"meeting_enforced","body":{"joins":[{"token":"x"}]}}"#.to_owned();
        assert_eq!(redacted(Role::UnitTerminal, Some("police"), unreadable.clone()), None);
        assert_eq!(redacted(Role::Bridge, None, unreadable.clone()), None);
        assert_eq!(redacted(Role::Console, None, unreadable.clone()), Some(unreadable));
    }

    #[test]
    fn a_bridge_reads_no_mobile_number_of_the_center_wherever_it_is() {
        use linkage_protocol::Page;
        let page = Page {
            incident: "E000001".into(),
            level: linkage_protocol::PageLevel::OnCall,
            to: "王强".into(),
            mobiles: vec!["13800000001".into()],
            radio: None,
        };
        let paged = Envelope::new(3, Body::AlarmPaged(page)).to_text();
        assert_eq!(redacted(Role::Bridge, None, paged.clone()), None, "the center's paging");
        assert_eq!(redacted(Role::Console, None, paged.clone()), Some(paged));
        // That it was acknowledged, and by whom — not the number the answer came from.
        let by = "王强（短信 13800000001）".to_owned();
        let acknowledged = Envelope::new(4, Body::AlarmAcknowledged { incident: "E000001".into(), by }).to_text();
        let read = redacted(Role::Bridge, None, acknowledged.clone()).expect("the acknowledgement");
        assert!(read.contains("\"王强\"") && !read.contains("138"), "{read}");
        assert_eq!(redacted(Role::Console, None, acknowledged.clone()), Some(acknowledged));
        // A reporter's satisfaction by SMS, keyed by the number it came from.
        let change = linkage_protocol::OrderChange {
            key: "sms/13900000002/1765000000000".into(),
            order: "D000002".into(),
            change: linkage_protocol::Change::Close { satisfaction: 5 },
            by: String::new(),
            seen: None,
        };
        let changed = Envelope::new(5, Body::OrderChanged(change)).to_text();
        let read = redacted(Role::Bridge, None, changed).expect("the change");
        assert!(!read.contains("139"), "{read}");
        assert!(Envelope::parse(&read).is_ok(), "still a frame a client takes: {read}");
    }
}
