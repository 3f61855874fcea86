//! Hand-overs from the log (转办 to another platform, 退回 to the 110 center an incident came
//! from), and what a bridged peer is told of an incident it pushed: the statuses it has
//! reached, in the order docs/bridge.md fixes.
//!
//! A hand-over takes the incident off the center's queue at once (it is closed here: another
//! system owns it now); a peer that refuses it gives it back (new again). Both are folded the
//! same on every seat and on the center's bridge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use linkage_protocol::{Handover, HandoverProgress, HandoverState, IncidentStatus, Stage, Step};

use crate::Core;

/// One hand-over as the log tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedHandover {
    /// `H` + the sequence number of its `handed_over`.
    pub id: String,
    pub handover: Handover,
    pub at: DateTime<Utc>,
    /// What the peer said, in the order it was logged.
    pub progress: Vec<(HandoverState, String, DateTime<Utc>)>,
}

impl TrackedHandover {
    /// The peer's last word on it (`None`: not yet received).
    pub fn state(&self) -> Option<HandoverState> {
        self.progress.last().map(|(s, _, _)| *s)
    }
}

/// Every hand-over of the log.
#[derive(Debug, Default)]
pub struct Handovers {
    /// By id.
    pub list: BTreeMap<String, TrackedHandover>,
    /// Asked for by this seat and not yet logged: (command key, incident).
    pub sending: Vec<(String, String)>,
}

impl Handovers {
    /// The hand-overs of one incident, oldest first.
    pub fn of<'a>(&'a self, incident: &'a str) -> impl Iterator<Item = &'a TrackedHandover> + 'a {
        self.list.values().filter(move |h| h.handover.incident == incident)
    }
}

/// What a bridged peer is told of an incident it pushed, in this order (a later status never
/// comes before an earlier one; one that does not apply is skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerStatus {
    /// The center's log has it.
    Received,
    /// A duty officer took it on: acknowledged its alarm, wrote on it, dispatched it or handed it
    /// over.
    SignedFor,
    /// An order went out to the linked units.
    Dispatched,
    /// The first unit is on scene.
    OnScene,
    /// Every unit of the order reported back (or handed it back).
    ReportedBack,
    /// The order (or the incident) is closed.
    Closed,
    /// The reporter's follow-up visit (回访): the satisfaction, 1–5.
    Visited,
    /// The center returned it to the peer, with a reason. Nothing follows.
    Returned,
}

impl PeerStatus {
    pub fn code(self) -> &'static str {
        match self {
            PeerStatus::Received => "received",
            PeerStatus::SignedFor => "signed_for",
            PeerStatus::Dispatched => "dispatched",
            PeerStatus::OnScene => "on_scene",
            PeerStatus::ReportedBack => "reported_back",
            PeerStatus::Closed => "closed",
            PeerStatus::Visited => "visited",
            PeerStatus::Returned => "returned",
        }
    }
}

/// A status reached, with what the peer is told beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    pub status: PeerStatus,
    /// When, by the log's times.
    pub at: DateTime<Utc>,
    /// The units (dispatched, on scene), the reason (returned), the satisfaction (visited), the
    /// report back's words.
    pub detail: String,
}

impl Core {
    /// Folds a logged hand-over, `id` after its place ([`linkage_protocol::handover_id`]).
    pub(crate) fn handed_over(&mut self, id: String, handover: &Handover, at: DateTime<Utc>) {
        self.handovers.sending.retain(|(_, incident)| *incident != handover.incident);
        let tracked = TrackedHandover { id: id.clone(), handover: handover.clone(), at, progress: vec![] };
        self.handovers.list.insert(id, tracked);
        self.incidents.set_status_by_hand(&handover.incident, IncidentStatus::Closed);
        self.alarms.retain(|a| *a != handover.incident);
    }

    /// Folds what a peer said of a hand-over.
    pub(crate) fn handover_progressed(&mut self, progress: &HandoverProgress, at: DateTime<Utc>) {
        let Some(h) = self.handovers.list.get_mut(&progress.handover) else { return };
        if h.progress.iter().any(|(s, _, _)| *s == progress.state) {
            return;
        }
        h.progress.push((progress.state, progress.text.clone(), at));
        if progress.state == HandoverState::Refused {
            self.incidents.set_status_by_hand(&progress.incident, IncidentStatus::New);
        }
    }

    /// The peer an incident came from, by its report id (`PEER:NUMBER`, as the bridge writes
    /// it), with the number the peer knows it by.
    pub fn bridged_from(&self, incident: &str) -> Option<(&str, &str)> {
        let report = &self.incidents.get(incident)?.incident.report;
        report.report_id.split_once(':')
    }

    /// What the peer an incident came from should have been told by now, in order, each with
    /// when it was reached.
    pub fn peer_statuses(&self, incident: &str) -> Vec<Reached> {
        use crate::history::Entry;
        let Some(tracked) = self.incidents.get(incident) else { return vec![] };
        let reach = |status: PeerStatus, at: DateTime<Utc>, detail: String| Reached { status, at, detail };
        let mut out = vec![reach(PeerStatus::Received, tracked.incident.reported_at, String::new())];
        let from = self.bridged_from(incident).map(|(peer, _)| peer);
        let returned = self.handovers.of(incident).find(|h| Some(h.handover.to.as_str()) == from);
        let orders: Vec<_> = self.orders.of_incident(incident).collect();
        let trail = self.history.of(incident);
        let taken_on = trail
            .iter()
            .filter(|l| matches!(l.entry, Entry::AlarmAcknowledged | Entry::Note(_) | Entry::Status(_)))
            .map(|l| l.time);
        let signed_at =
            taken_on.chain(self.handovers.of(incident).map(|h| h.at)).chain(orders.iter().map(|o| o.created)).min();
        if let Some(at) = signed_at {
            out.push(reach(PeerStatus::SignedFor, at, String::new()));
        }
        if let Some(h) = returned {
            out.push(reach(PeerStatus::Returned, h.at, h.handover.reason.clone()));
            return out;
        }
        // The newest order speaks for the incident (a reopened incident's second dispatch).
        let Some(order) = orders.first() else {
            if tracked.incident.status == IncidentStatus::Closed {
                // Closed by hand, or by a transfer to another system: the last of those.
                let by_hand = trail.iter().filter(|l| l.entry == Entry::Status(IncidentStatus::Closed)).map(|l| l.time);
                let at = by_hand.chain(self.handovers.of(incident).map(|h| h.at)).max();
                out.push(reach(PeerStatus::Closed, at.unwrap_or(tracked.incident.reported_at), String::new()));
            }
            return out;
        };
        let name = |unit: &str| self.units.iter().find(|u| u.id == unit).map_or(unit, |u| u.name.as_str()).to_owned();
        let names = |units: Vec<String>| units.join("、");
        let dispatched = names(order.units.iter().map(|u| name(&u.unit)).collect());
        out.push(reach(PeerStatus::Dispatched, order.created, dispatched));
        let on_scene: Vec<_> =
            order.units.iter().filter_map(|u| Some((u.steps.get(&Step::OnScene)?, &u.unit))).collect();
        if let Some(first) = on_scene.iter().map(|(at, _)| **at).min() {
            out.push(reach(PeerStatus::OnScene, first, names(on_scene.iter().map(|(_, u)| name(u)).collect())));
        }
        if order.stage() >= Stage::ReportedBack {
            let words: Vec<String> = order
                .units
                .iter()
                .filter_map(|u| u.report.as_ref().map(|(text, _)| format!("{}：{text}", name(&u.unit))))
                .collect();
            let last = order.units.iter().filter_map(|u| u.steps.get(&Step::ReportedBack)).max().copied();
            out.push(reach(PeerStatus::ReportedBack, last.unwrap_or(order.created), words.join("；")));
        }
        if let Some((satisfaction, at)) = order.closed {
            out.push(reach(PeerStatus::Closed, at, String::new()));
            out.push(reach(PeerStatus::Visited, at, satisfaction.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use linkage_protocol::{Body, Envelope, FeedUpdate, Severity};

    use super::*;
    use crate::tests::{event, incident};

    fn log(core: &mut Core, seq: u64, body: Body) {
        core.on_feed(FeedUpdate::Event(Envelope { seq, ..Envelope::new(seq, body) }));
    }

    fn bridged(core: &mut Core) {
        let mut i = incident("E1", Severity::High, 1);
        i.report.report_id = "110:N-7".into();
        core.on_feed(event(1, i));
    }

    fn statuses(core: &Core) -> Vec<PeerStatus> {
        core.peer_statuses("E1").into_iter().map(|r| r.status).collect()
    }

    fn handover(to: &str) -> Body {
        let h = Handover {
            key: "k".into(),
            incident: "E1".into(),
            to: to.into(),
            reason: "不属本中心".into(),
            by: "值班员".into(),
        };
        Body::HandedOver(h)
    }

    #[test]
    fn a_transfer_the_peer_refuses_brings_the_incident_back() {
        let mut core = Core::default();
        bridged(&mut core);
        assert_eq!(core.bridged_from("E1"), Some(("110", "N-7")));
        assert_eq!(statuses(&core), [PeerStatus::Received]);
        log(&mut core, 2, handover("12345"));
        assert!(!core.incidents.get("E1").unwrap().is_open(), "handed over: off the queue");
        assert_eq!(statuses(&core), [PeerStatus::Received, PeerStatus::SignedFor, PeerStatus::Closed]);
        let refused = |state| HandoverProgress {
            handover: "H000002".into(),
            incident: "E1".into(),
            state,
            text: "非本平台受理范围".into(),
        };
        log(&mut core, 3, Body::HandoverProgressed(refused(HandoverState::Received)));
        log(&mut core, 4, Body::HandoverProgressed(refused(HandoverState::Refused)));
        log(&mut core, 5, Body::HandoverProgressed(refused(HandoverState::Refused)));
        let h = &core.handovers.list["H000002"];
        assert_eq!(h.state(), Some(HandoverState::Refused));
        assert_eq!(h.progress.len(), 2, "a state once");
        assert!(core.incidents.get("E1").unwrap().is_open(), "refused: the center's again");
    }

    #[test]
    fn a_return_to_the_peer_it_came_from_ends_what_the_peer_is_told() {
        let mut core = Core::default();
        bridged(&mut core);
        log(&mut core, 2, handover("110"));
        let reached = core.peer_statuses("E1");
        let last = reached.last().unwrap();
        assert_eq!((last.status, last.detail.as_str()), (PeerStatus::Returned, "不属本中心"));
        assert_eq!(reached.len(), 3);
        let handed_at = core.handovers.list["H000002"].at;
        assert_eq!((reached[1].at, last.at), (handed_at, handed_at), "signed for and returned when handed over");
        assert_eq!(reached[0].at, core.incidents.get("E1").unwrap().incident.reported_at);
    }
}
