//! Who reads what of the log, by an event's route. Consoles and the center read every event;
//! a unit terminal reads the events routed to its unit (its work orders and its own steps) and
//! those routed to [`EVERY_UNIT`] (the meetings: a unit's seat joins the meetings its unit is
//! invited to as a site, see docs/meeting.md). What a reader is then given of each event is
//! `views`'s.

use linkage_protocol::meeting::{CHAIR, WATCH};

/// The route of what every unit's terminal reads. No unit is called this ([`check_unit_id`]).
pub const EVERY_UNIT: &str = "*";

/// The kinds of event routed to every unit: the meetings.
pub const FOR_EVERY_UNIT: [&str; 3] = ["meeting_chaired", "meeting_enforced", "meeting_presence"];

/// The route an event of `kind` is logged with: [`EVERY_UNIT`] for the meetings, else the unit
/// its sender addressed (`addressed`: a work order's, a step's).
pub fn route_of(kind: &str, addressed: Option<String>) -> Option<String> {
    if FOR_EVERY_UNIT.contains(&kind) { Some(EVERY_UNIT.to_owned()) } else { addressed }
}

/// Whether a terminal of `unit` reads an event routed `route`.
pub fn unit_reads(unit: &str, route: Option<&str>) -> bool {
    route == Some(unit) || route == Some(EVERY_UNIT)
}

/// Refuses a unit id that would read or send what is not its own: blank, [`EVERY_UNIT`], or
/// one of a meeting's reserved sites (the chair, the watching seats, a camera pulled in), whose
/// tokens a terminal of that id would be given.
pub fn check_unit_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty()
        || id == EVERY_UNIT
        || id == CHAIR
        || id == WATCH
        || id.starts_with(crate::meeting::CAMERA_SITE)
    {
        return Err(format!(
            "unit id {id:?} is reserved (blank, {EVERY_UNIT:?}, {CHAIR:?}, {WATCH:?} and {:?}…): name the unit",
            crate::meeting::CAMERA_SITE
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_routed_to_every_unit_are_the_meetings_events() {
        use linkage_protocol::{Body, MeetingAction, MeetingCommand, MeetingEnforcement, MeetingPresence};
        let meeting = || "M1".to_owned();
        let command =
            MeetingCommand { key: "k".into(), meeting: meeting(), action: MeetingAction::Close, by: "李".into() };
        let enforced = MeetingEnforcement {
            meeting: meeting(),
            command: 1,
            ok: true,
            detail: String::new(),
            room: None,
            sfu: None,
            joins: vec![],
        };
        let presence = MeetingPresence { meeting: meeting(), site: "a".into(), present: true };
        let kinds = [
            Body::MeetingChaired(command).kind(),
            Body::MeetingEnforced(enforced).kind(),
            Body::MeetingPresence(presence).kind(),
        ];
        assert_eq!(FOR_EVERY_UNIT, kinds);
    }

    #[test]
    fn meetings_go_to_every_unit_orders_to_theirs_and_no_unit_takes_a_reserved_name() {
        assert_eq!(route_of("meeting_enforced", None).as_deref(), Some(EVERY_UNIT));
        assert_eq!(route_of("order_issued", Some("police".into())).as_deref(), Some("police"));
        assert_eq!(route_of("incident_reported", None), None);
        assert!(unit_reads("police", Some("police")) && unit_reads("police", Some(EVERY_UNIT)));
        assert!(!unit_reads("police", Some("fire")) && !unit_reads("police", None));
        for id in ["", " ", "*", "chair", "watch", "camera:gate"] {
            assert!(check_unit_id(id).is_err(), "{id:?}");
        }
        assert!(check_unit_id("police").is_ok());
    }
}
