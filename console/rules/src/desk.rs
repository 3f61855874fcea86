//! The unit's desk (单位工作台): what a linked unit's sub-center seat works from — the work
//! orders the center sent to this unit, most urgent first, and the unit's own steps on each.
//!
//! A unit's seat reads only what the hub routes to its unit: `order_issued` (the first send and
//! each resend of an escalation, all with the same order id) and `order_progressed` (its steps,
//! from whichever of its seats or terminals took them). [`Desk`] folds those. An order rings
//! until it is signed for (签收); each step the person takes is a `progress` command through the
//! seat's durable queue, shown as on its way until the log has it.
//!
//! Like the rest of the rules, time is a value: [`Desk::open`] sorts by the clocks at `now`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use linkage_protocol::{
    Body, ClockKind, Envelope, Incident, IncidentReport, IncidentStatus, OrderProgress, ReportSource, Step,
    WorkDetails, WorkOrder,
};

/// One order as the unit has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub order: String,
    pub incident: String,
    /// The order's text as first sent.
    pub text: String,
    pub details: Option<Box<WorkDetails>>,
    /// When the log first had it.
    pub issued: DateTime<Utc>,
    pub acknowledge_by: DateTime<Utc>,
    /// How often the center sent it again (a reminder, a missed clock).
    pub resent: u32,
    /// The unit's steps with the hub's time for each.
    pub steps: BTreeMap<Step, DateTime<Utc>>,
    /// What the unit reported back.
    pub report: Option<String>,
    /// The unit handed it back as not theirs: why.
    pub returned: Option<String>,
}

/// The longest report or reason a step carries (the protocol's limit).
pub const MAX_NOTE: usize = 4000;
/// The most photos a report carries (the protocol's limit).
pub const MAX_PHOTOS: usize = 20;

/// The steps a person takes at the desk, in order.
pub const STEPS: [Step; 4] = [Step::Acknowledged, Step::OnScene, Step::Handling, Step::ReportedBack];

impl Task {
    /// The step to take next; `None` once reported back.
    pub fn next_step(&self) -> Option<Step> {
        STEPS.into_iter().find(|s| !self.steps.contains_key(s))
    }

    /// Not yet signed for: it rings.
    pub fn rings(&self) -> bool {
        !self.steps.contains_key(&Step::Acknowledged) && self.returned.is_none()
    }

    /// Neither reported back nor handed back.
    pub fn is_open(&self) -> bool {
        !self.steps.contains_key(&Step::ReportedBack) && self.returned.is_none()
    }

    /// The clock now running: signed for by, on scene by, reported back by — the first whose
    /// step is not done and that has a deadline.
    pub fn running_clock(&self) -> Option<(ClockKind, DateTime<Utc>)> {
        let d = self.details.as_ref();
        [
            (ClockKind::Acknowledge, Some(self.acknowledge_by)),
            (ClockKind::OnScene, d.and_then(|d| d.on_scene_by)),
            (ClockKind::ReportBack, d.and_then(|d| d.report_back_by)),
        ]
        .into_iter()
        .find_map(|(kind, due)| {
            (!self.steps.contains_key(&kind.step())).then_some(due.map(|due| (kind, due))).flatten()
        })
    }

    fn merge(&mut self, work: &WorkOrder) {
        self.resent += 1;
        // A resend carries the clocks as they stand; the first text stays (a resend's is
        // prefixed 【催办】).
        if self.details.is_none() {
            self.details = work.details.clone();
        }
    }
}

/// The unit's orders as the log tells them.
#[derive(Debug, Default)]
pub struct Desk {
    /// The unit this seat works for; `None` on the center's seats (the desk stays empty).
    pub unit: Option<String>,
    pub tasks: BTreeMap<String, Task>,
    /// Steps this seat sent that the log does not have yet: (order, step).
    pub sending: BTreeSet<(String, Step)>,
}

impl Desk {
    pub fn for_unit(unit: impl Into<String>) -> Desk {
        Desk { unit: Some(unit.into()), ..Desk::default() }
    }

    fn mine(&self, unit: &str) -> bool {
        self.unit.as_deref() == Some(unit)
    }

    /// Folds one event of the log; returns the work order when it was a new order of this unit.
    pub fn on_event<'a>(&mut self, env: &'a Envelope) -> Option<&'a WorkOrder> {
        match &env.body {
            // A channel test (no incident) is no order to work.
            Body::OrderIssued(work) if self.mine(&work.unit) && !work.incident.is_empty() => {
                if let Some(task) = self.tasks.get_mut(&work.order) {
                    task.merge(work);
                    return None;
                }
                self.tasks.insert(
                    work.order.clone(),
                    Task {
                        order: work.order.clone(),
                        incident: work.incident.clone(),
                        text: work.text.clone(),
                        details: work.details.clone(),
                        issued: env.time,
                        acknowledge_by: work.acknowledge_by,
                        resent: 0,
                        steps: BTreeMap::new(),
                        report: None,
                        returned: None,
                    },
                );
                Some(work)
            }
            Body::OrderProgressed(p) if self.mine(&p.unit) => {
                self.sending.retain(|(o, s)| !(o == &p.order && *s <= p.step));
                if let Some(task) = self.tasks.get_mut(&p.order)
                    && task.returned.is_none()
                {
                    if p.step == Step::Returned {
                        // As the center's fold: a hand-back after the report back changes nothing.
                        if !task.steps.contains_key(&Step::ReportedBack) {
                            task.returned = Some(p.note.clone());
                        }
                        return None;
                    }
                    // A step implies those before it (as the center's fold has it).
                    for s in [Step::Received, Step::Acknowledged, Step::OnScene, Step::Handling, Step::ReportedBack] {
                        if s > p.step {
                            break;
                        }
                        task.steps.entry(s).or_insert(env.time);
                    }
                    if p.step == Step::ReportedBack && task.report.is_none() {
                        task.report = Some(p.note.clone());
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The open orders, most urgent first: those ringing, then by the deadline of the clock
    /// running (soonest first), then the newest.
    pub fn open(&self) -> Vec<&Task> {
        let mut open: Vec<&Task> = self.tasks.values().filter(|t| t.is_open()).collect();
        open.sort_by_key(|t| {
            let due = t.running_clock().map_or(DateTime::<Utc>::MAX_UTC, |(_, due)| due);
            (!self.rings(t), due, std::cmp::Reverse(t.issued))
        });
        open
    }

    /// Orders reported back (newest report first), then those handed back (newest order first).
    pub fn done(&self) -> Vec<&Task> {
        let mut done: Vec<&Task> = self.tasks.values().filter(|t| !t.is_open()).collect();
        done.sort_by_key(|t| std::cmp::Reverse((t.steps.get(&Step::ReportedBack).copied(), t.issued)));
        done
    }

    /// Whether `task` rings here: not signed for, and no signature of this seat on its way.
    pub fn rings(&self, task: &Task) -> bool {
        task.rings() && !self.is_sending(&task.order)
    }

    /// The orders that ring, the soonest clock first (the banner shows the first), as the
    /// desk lists them.
    pub fn ringing(&self) -> Vec<&Task> {
        self.open().into_iter().filter(|t| self.rings(t)).collect()
    }

    /// Whether a step the person took on this order is on its way from this seat (the
    /// receipt the seat sends by itself does not count).
    pub fn is_sending(&self, order: &str) -> bool {
        self.sending.iter().any(|(o, step)| o == order && *step > Step::Received)
    }

    /// The command for the unit's next step on `order`: refused (`None`) for an order this
    /// desk does not have, a step already taken or on its way, or a report back with no text.
    pub fn progress(&self, order: &str, step: Step, note: &str) -> Option<Body> {
        let unit = self.unit.clone()?;
        let task = self.tasks.get(order)?;
        if task.steps.contains_key(&step) || self.sending.contains(&(order.to_owned(), step)) {
            return None;
        }
        let note = note.trim();
        let words_needed = matches!(step, Step::ReportedBack | Step::Returned) && note.is_empty();
        if words_needed || note.chars().count() > MAX_NOTE || !task.is_open() {
            return None;
        }
        let note = note.to_owned();
        Some(Body::Progress(OrderProgress { order: order.to_owned(), unit, step, note, attachments: vec![] }))
    }

    /// A step the log will never have (the hub refused it for good): no longer on its way, so
    /// the order shows its step to take again (and rings again if it was the signature).
    pub fn settle(&mut self, key: &str) {
        let Some(unit) = &self.unit else { return };
        self.sending.retain(|(order, step)| {
            let progress = OrderProgress {
                order: order.clone(),
                unit: unit.clone(),
                step: *step,
                note: String::new(),
                attachments: vec![],
            };
            progress.command_key() != key
        });
    }

    /// The `received` steps due: orders this seat has on screen whose receipt no seat or
    /// terminal of the unit sent yet (the online channel's delivery receipt).
    pub fn receipts_due(&self) -> Vec<Body> {
        self.tasks
            .values()
            .filter(|t| t.is_open() && !t.steps.contains_key(&Step::Received))
            .filter_map(|t| self.progress(&t.order, Step::Received, ""))
            .collect()
    }

    /// A step this seat sent (now, or before a restart and still queued): on its way.
    pub fn remember_sent(&mut self, progress: &OrderProgress) {
        if self.mine(&progress.unit) {
            self.sending.insert((progress.order.clone(), progress.step));
        }
    }
}

/// The incident of a work order as a unit's seat keeps it (for its map): what the order says,
/// and no reporter.
pub fn incident_of(id: &str, d: WorkDetails) -> Incident {
    Incident {
        id: id.to_owned(),
        reported_at: d.reported_at,
        status: IncidentStatus::Dispatched,
        report: IncidentReport {
            report_id: id.to_owned(),
            kind: d.kind,
            severity: d.severity,
            location: d.location,
            grid: None,
            reporter: String::new(),
            reporter_mobile: None,
            source: ReportSource::DutyDesk,
            text: d.report,
            attachments: vec![],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::order::fixtures::at;
    use linkage_protocol::{CoordinateSystem, Location, Severity, Tier};

    fn issued(seq: u64, order: &str, minute: i64, acknowledge_in: i64) -> Envelope {
        let work = WorkOrder {
            key: format!("{order}/police/order"),
            order: order.into(),
            incident: format!("E{seq}"),
            unit: "police".into(),
            text: "东湾村有人打架，请立即前往。".into(),
            acknowledge_by: at(minute + acknowledge_in),
            details: Some(Box::new(WorkDetails {
                kind: "public_order".into(),
                kind_name: "治安".into(),
                severity: Severity::High,
                location: Location { lon: 120.0, lat: 30.1, crs: CoordinateSystem::Wgs84 },
                place: "东湾村 · 东湾-03".into(),
                reported_at: at(minute),
                report: "两人在村口争吵动手".into(),
                tier: Tier::One,
                on_scene_by: Some(at(minute + 30)),
                report_back_by: None,
            })),
        };
        Envelope { seq, time: at(minute), ..Envelope::new(seq, Body::OrderIssued(work)) }
    }

    fn progressed(seq: u64, order: &str, unit: &str, step: Step, minute: i64) -> Envelope {
        let p =
            OrderProgress {
                order: order.into(), unit: unit.into(), step, note: "已处置".into(), attachments: vec![]
            };
        Envelope { seq, time: at(minute), ..Envelope::new(seq, Body::OrderProgressed(p)) }
    }

    #[test]
    fn a_new_order_rings_until_it_is_signed_for_and_a_resend_does_not_double_it() {
        let mut desk = Desk::for_unit("police");
        assert!(desk.on_event(&issued(1, "D1", 0, 5)).is_some());
        let mut resend = issued(2, "D1", 5, 0);
        if let Body::OrderIssued(w) = &mut resend.body {
            w.key.push_str("/acknowledge");
        }
        assert!(desk.on_event(&resend).is_none(), "a resend is the same order");
        assert_eq!(desk.tasks.len(), 1);
        assert_eq!(desk.tasks["D1"].resent, 1);
        assert_eq!(desk.ringing().len(), 1);

        // On screen here: its receipt is due once, and does not silence it.
        let due = desk.receipts_due();
        let [Body::Progress(received)] = due.as_slice() else { panic!("one receipt: {due:?}") };
        let received = received.clone();
        assert_eq!(received.step, Step::Received);
        desk.remember_sent(&received);
        assert!(desk.receipts_due().is_empty());
        assert_eq!(desk.ringing().len(), 1);
        let Some(Body::Progress(sign)) = desk.progress("D1", Step::Acknowledged, "") else { panic!("no command") };
        desk.remember_sent(&sign);
        assert!(desk.ringing().is_empty(), "silent at once once signed for here");
        assert_eq!(desk.progress("D1", Step::Acknowledged, ""), None, "on its way already");

        desk.on_event(&progressed(3, "D1", "police", Step::Acknowledged, 2));
        assert!(desk.sending.is_empty(), "the log has it");
        assert_eq!(desk.tasks["D1"].next_step(), Some(Step::OnScene));
        assert_eq!(desk.tasks["D1"].running_clock(), Some((ClockKind::OnScene, at(30))));
    }

    #[test]
    fn an_order_handed_back_with_its_reason_leaves_the_open_list_and_stops_ringing() {
        let mut desk = Desk::for_unit("police");
        desk.on_event(&issued(1, "D1", 0, 5));
        assert_eq!(desk.progress("D1", Step::Returned, " "), None, "a return needs its reason");
        assert!(desk.progress("D1", Step::Returned, "非本单位职责，应由司法所调解").is_some());
        let mut back = progressed(2, "D1", "police", Step::Returned, 1);
        if let Body::OrderProgressed(p) = &mut back.body {
            p.note = "非本单位职责，应由司法所调解".into();
        }
        desk.on_event(&back);
        assert!(desk.open().is_empty() && desk.ringing().is_empty());
        assert_eq!(desk.tasks["D1"].returned.as_deref(), Some("非本单位职责，应由司法所调解"));
        assert!(desk.tasks["D1"].steps.is_empty(), "handing back is no step forward");
        assert_eq!(desk.progress("D1", Step::Acknowledged, ""), None, "nothing more on it");
        assert_eq!(desk.done().len(), 1);
    }

    #[test]
    fn a_step_the_hub_refused_for_good_is_offered_again() {
        let mut desk = Desk::for_unit("police");
        desk.on_event(&issued(1, "D1", 0, 5));
        let Some(Body::Progress(sign)) = desk.progress("D1", Step::Acknowledged, "") else { panic!("no command") };
        desk.remember_sent(&sign);
        assert!(desk.ringing().is_empty());
        desk.settle(&sign.command_key());
        assert_eq!(desk.ringing().len(), 1, "it rings again: nobody signed for it");
        assert!(desk.progress("D1", Step::Acknowledged, "").is_some());
        assert_eq!(desk.progress("D1", Step::Returned, &"字".repeat(MAX_NOTE + 1)), None, "over the protocol's limit");
    }

    #[test]
    fn another_units_orders_and_steps_are_not_on_this_desk() {
        let mut desk = Desk::for_unit("fire");
        assert!(desk.on_event(&issued(1, "D1", 0, 5)).is_none());
        desk.on_event(&progressed(2, "D1", "police", Step::Acknowledged, 1));
        assert!(desk.tasks.is_empty());
        let mut center = Desk::default();
        assert!(center.on_event(&issued(1, "D1", 0, 5)).is_none(), "a center's seat keeps no desk");
    }

    #[test]
    fn ringing_orders_come_first_then_the_soonest_clock() {
        let mut desk = Desk::for_unit("police");
        desk.on_event(&issued(1, "D1", 0, 5)); // acknowledge by 5
        desk.on_event(&issued(2, "D2", 1, 5)); // acknowledge by 6
        desk.on_event(&issued(3, "D3", 2, 60)); // acknowledge by 62
        desk.on_event(&progressed(4, "D1", "police", Step::Acknowledged, 3)); // on scene by 30
        desk.on_event(&progressed(5, "D2", "police", Step::Acknowledged, 3)); // on scene by 31
        let order: Vec<&str> = desk.open().iter().map(|t| t.order.as_str()).collect();
        assert_eq!(order, ["D3", "D1", "D2"]);
    }

    #[test]
    fn a_report_back_needs_words_and_closes_the_task_with_every_earlier_step() {
        let mut desk = Desk::for_unit("police");
        desk.on_event(&issued(1, "D1", 0, 5));
        assert_eq!(desk.progress("D1", Step::ReportedBack, "  "), None);
        assert_eq!(desk.progress("D9", Step::Acknowledged, ""), None, "no such order");
        assert!(desk.progress("D1", Step::ReportedBack, "已处置").is_some());
        desk.on_event(&progressed(2, "D1", "police", Step::ReportedBack, 40));
        let task = &desk.tasks["D1"];
        assert!(!task.is_open());
        assert_eq!(task.steps.len(), 5, "received, signed for, on scene, handling, reported back");
        assert_eq!(task.report.as_deref(), Some("已处置"));
        assert_eq!(desk.done().len(), 1);
        assert!(desk.open().is_empty());
        assert_eq!(task.running_clock(), None);
    }
}
