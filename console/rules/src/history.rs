//! Each incident's audit trail: every change to it — reported, alarm acknowledged, notes and
//! status set by hand, orders issued, each unit's steps — with who made it and when, in the
//! order the hub logged them.
//!
//! It is built from the hub's events alone, so every console shows the same trail, and a
//! console that restarts rebuilds it from its journal.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use linkage_protocol::{Body, Envelope, IncidentStatus, ReportSource, Step};

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Reported {
        source: ReportSource,
    },
    AlarmAcknowledged,
    /// No seat acknowledged in time: the person was paged by SMS (and radio).
    Paged {
        to: String,
    },
    /// A status set by hand (the officer closed it, or opened it again).
    Status(IncidentStatus),
    Note(String),
    OrderIssued {
        order: String,
        unit: String,
    },
    Step {
        unit: String,
        step: Step,
    },
    /// Handed over to another system (转办), or back to the one it came from (退回).
    Transferred {
        to: String,
        reason: String,
    },
    /// What that system said of it.
    TransferState {
        to: String,
        state: linkage_protocol::HandoverState,
        text: String,
    },
    /// The unit's A post did not sign for in time: the order went to its B post.
    HandedOver {
        unit: String,
        to: String,
    },
    /// An evidence clip of a camera was kept for it: the file at the seat that kept it, and
    /// the file's SHA-256.
    Clip {
        camera: String,
        file: String,
        sha256: String,
        seconds: f64,
        /// Why it ended early, when it did.
        cut: Option<String>,
    },
}

/// One line of the trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub time: DateTime<Utc>,
    /// Who: the reporter, the console's name, or the unit.
    pub by: String,
    pub entry: Entry,
}

#[derive(Debug, Default)]
pub struct History {
    lines: HashMap<String, Vec<Line>>,
    /// Order id → incident, from the orders issued (a unit's step names only its order).
    incident_of_order: HashMap<String, String>,
    /// Hand-over id → the system it went to.
    handed_to: HashMap<String, String>,
}

impl History {
    /// Adds what this event changed, if it concerns an incident.
    pub fn record(&mut self, event: &Envelope) {
        let time = event.time;
        let (incident, by, entry) = match &event.body {
            Body::IncidentReported(i) => {
                (i.id.clone(), i.report.reporter.clone(), Entry::Reported { source: i.report.source })
            }
            Body::AlarmAcknowledged { incident, by } => (incident.clone(), by.clone(), Entry::AlarmAcknowledged),
            Body::AlarmPaged(p) => (p.incident.clone(), String::new(), Entry::Paged { to: p.to.clone() }),
            Body::IncidentUpdated(u) => {
                if let Some(status) = u.status {
                    self.push(&u.incident, Line { time, by: u.by.clone(), entry: Entry::Status(status) });
                }
                let Some(note) = &u.note else { return };
                (u.incident.clone(), u.by.clone(), Entry::Note(note.clone()))
            }
            Body::OrderIssued(o) => {
                self.incident_of_order.insert(o.order.clone(), o.incident.clone());
                let entry = Entry::OrderIssued { order: o.order.clone(), unit: o.unit.clone() };
                (o.incident.clone(), o.unit.clone(), entry)
            }
            Body::OrderEscalated(e) if e.what == super::roster::HAND_OVER => {
                let Some(incident) = self.incident_of_order.get(&e.order) else { return };
                let to = e.to.clone().unwrap_or_default();
                (incident.clone(), e.unit.clone(), Entry::HandedOver { unit: e.unit.clone(), to })
            }
            Body::HandedOver(h) => {
                self.handed_to.insert(linkage_protocol::handover_id(event), h.to.clone());
                (h.incident.clone(), h.by.clone(), Entry::Transferred { to: h.to.clone(), reason: h.reason.clone() })
            }
            Body::HandoverProgressed(p) => {
                let to = self.handed_to.get(&p.handover).cloned().unwrap_or_default();
                (p.incident.clone(), to.clone(), Entry::TransferState { to, state: p.state, text: p.text.clone() })
            }
            Body::CameraUsed(used) => {
                let (Some(incident), linkage_protocol::CameraAction::Clip { file, sha256, seconds, cut, .. }) =
                    (&used.incident, &used.action)
                else {
                    return;
                };
                let entry = Entry::Clip {
                    camera: used.camera_name.clone(),
                    file: file.clone(),
                    sha256: sha256.clone(),
                    seconds: *seconds,
                    cut: cut.clone(),
                };
                (incident.clone(), used.by.clone(), entry)
            }
            Body::OrderProgressed(p) => {
                let Some(incident) = self.incident_of_order.get(&p.order) else { return };
                (incident.clone(), p.unit.clone(), Entry::Step { unit: p.unit.clone(), step: p.step })
            }
            _ => return,
        };
        self.push(&incident, Line { time, by, entry });
    }

    fn push(&mut self, incident: &str, line: Line) {
        self.lines.entry(incident.to_owned()).or_default().push(line);
    }

    /// The trail of an incident, oldest first.
    pub fn of(&self, incident: &str) -> &[Line] {
        self.lines.get(incident).map_or(&[], Vec::as_slice)
    }

    /// How many notes an incident has.
    pub fn notes(&self, incident: &str) -> usize {
        self.of(incident).iter().filter(|l| matches!(l.entry, Entry::Note(_))).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::{IncidentUpdate, OrderProgress, WorkOrder};

    fn event(seq: u64, body: Body) -> Envelope {
        Envelope { seq, ..Envelope::new(seq, body) }
    }

    #[test]
    fn a_units_step_lands_on_the_incident_of_its_order_and_a_hand_update_gives_two_lines() {
        let mut h = History::default();
        let order = WorkOrder {
            key: "O1/fire/order".into(),
            order: "O1".into(),
            incident: "E1".into(),
            unit: "fire".into(),
            text: "出警".into(),
            acknowledge_by: Utc::now(),
            details: None,
        };
        h.record(&event(1, Body::OrderIssued(order)));
        let step = OrderProgress {
            order: "O1".into(),
            unit: "fire".into(),
            step: Step::OnScene,
            note: String::new(),
            attachments: vec![],
        };
        h.record(&event(2, Body::OrderProgressed(step.clone())));
        // A step of an order this console never saw issued belongs to no incident it knows.
        h.record(&event(3, Body::OrderProgressed(OrderProgress { order: "O9".into(), ..step })));
        let update = IncidentUpdate {
            key: "k".into(),
            incident: "E1".into(),
            status: Some(IncidentStatus::Closed),
            note: Some("已处理".into()),
            by: "值班台".into(),
        };
        h.record(&event(4, Body::IncidentUpdated(update)));
        let entries: Vec<&Entry> = h.of("E1").iter().map(|l| &l.entry).collect();
        assert_eq!(
            entries,
            [
                &Entry::OrderIssued { order: "O1".into(), unit: "fire".into() },
                &Entry::Step { unit: "fire".into(), step: Step::OnScene },
                &Entry::Status(IncidentStatus::Closed),
                &Entry::Note("已处理".into()),
            ]
        );
        assert_eq!(h.notes("E1"), 1);
        assert!(h.of("E9").is_empty());
    }
}
