//! The clocks of an order, per unit: acknowledge by, on scene by, report back by — from the
//! unit's tier and the plan. Time is a value passed in (`now`), never read here, so every clock
//! and every escalation is tested without sleeping.
//!
//! A clock is *at risk* when less than a quarter of its span is left (the "orders at risk"
//! strip shows it); *missed* when its deadline passed with the step not done. A missed clock
//! escalates once: the order is resent on channels the unit has not answered on, the duty
//! officer is alerted, and the leader is told. A tier-2 or tier-3 unit gets a reminder before
//! its acknowledge clock runs out.

use chrono::{DateTime, Duration, Utc};
pub use linkage_protocol::ClockKind;

use super::order::{ChannelKind, Order, UnitOrder};
use super::unit::Tier;

/// A clock that is still running for one unit of one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub order: String,
    pub incident: String,
    pub unit: String,
    pub kind: ClockKind,
    pub due: DateTime<Utc>,
    /// Time left; negative when missed.
    pub left: Duration,
    /// Less than a quarter of the span left, or missed.
    pub at_risk: bool,
}

/// What a missed (or nearly missed) clock makes happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Escalation {
    /// Send the order again on these channels (the unit did not answer on the others).
    Resend { order: String, unit: String, channels: Vec<ChannelKind>, clock: ClockKind },
    /// A reminder before a tier-2/3 acknowledge clock runs out.
    Remind { order: String, unit: String },
}

/// How long before a tier-2/3 acknowledge deadline the reminder goes.
pub const REMINDER_BEFORE: Duration = Duration::hours(4);

fn deadlines(u: &UnitOrder) -> [(ClockKind, Option<DateTime<Utc>>); 3] {
    [
        (ClockKind::Acknowledge, Some(u.acknowledge_by)),
        (ClockKind::OnScene, u.on_scene_by),
        (ClockKind::ReportBack, u.report_back_by),
    ]
}

/// Every clock still running in `order` at `now`, soonest first.
pub fn running(order: &Order, now: DateTime<Utc>) -> Vec<Running> {
    if order.closed.is_some() {
        return vec![];
    }
    let mut out = vec![];
    // A unit that handed the order back runs no clock.
    for u in order.units.iter().filter(|u| u.is_active()) {
        for (kind, due) in deadlines(u) {
            let Some(due) = due else { continue };
            if u.steps.contains_key(&kind.step()) {
                continue;
            }
            let span = due - order.created;
            let left = due - now;
            out.push(Running {
                order: order.id.clone(),
                incident: order.incident.clone(),
                unit: u.unit.clone(),
                kind,
                due,
                left,
                at_risk: left * 4 < span,
            });
        }
    }
    out.sort_by_key(|r| r.due);
    out
}

/// Escalates each missed clock of `order` once (and sends each reminder once), recording it in
/// the unit's `escalated` list.
pub fn escalate(order: &mut Order, now: DateTime<Utc>) -> Vec<Escalation> {
    let mut out = vec![];
    if order.closed.is_some() {
        return out;
    }
    for u in order.units.iter_mut().filter(|u| u.is_active()) {
        for (kind, due) in deadlines(u) {
            let Some(due) = due else { continue };
            if u.steps.contains_key(&kind.step()) {
                continue;
            }
            let reminder = format!("remind/{}", kind.code());
            if kind == ClockKind::Acknowledge
                && u.tier != Tier::One
                && now >= due - REMINDER_BEFORE
                && now < due
                && !u.escalated.contains(&reminder)
            {
                u.escalated.push(reminder);
                out.push(Escalation::Remind { order: order.id.clone(), unit: u.unit.clone() });
            }
            if now < due || u.escalated.iter().any(|e| e == kind.code()) {
                continue;
            }
            u.escalated.push(kind.code().to_owned());
            // Resend where the unit has not been reached; if every channel was used, the radio
            // call is the one a person hears at once.
            let used: Vec<ChannelKind> = u.deliveries.iter().map(|d| d.channel).collect();
            let mut channels: Vec<ChannelKind> =
                [ChannelKind::Sms, ChannelKind::Radio].into_iter().filter(|c| !used.contains(c)).collect();
            if channels.is_empty() {
                channels.push(ChannelKind::Radio);
            }
            // The leader's SMS follows from the resend (see `Core::messages_of`).
            out.push(Escalation::Resend { order: order.id.clone(), unit: u.unit.clone(), channels, clock: kind });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::Step;
    use linkage_protocol::order::fixtures::{at, order};

    #[test]
    fn a_tier_one_acknowledge_clock_is_at_risk_in_its_last_quarter_and_stops_when_acknowledged() {
        let mut o = order(&["police"]);
        let ack = |o: &Order, now| running(o, now).into_iter().find(|r| r.kind == ClockKind::Acknowledge);
        assert!(!ack(&o, at(3)).unwrap().at_risk, "2 of 5 minutes left");
        let r = ack(&o, at(4)).unwrap();
        assert!(r.at_risk, "1 of 5 minutes left");
        assert_eq!(r.left, Duration::minutes(1));
        o.record_step("police", Step::Acknowledged, at(4), None);
        assert!(ack(&o, at(4)).is_none());
    }

    #[test]
    fn a_missed_clock_escalates_once_resending_where_the_unit_was_not_reached() {
        let mut o = order(&["police"]);
        o.units[0].deliveries.retain(|d| d.channel == ChannelKind::Order);
        assert!(escalate(&mut o, at(4)).is_empty());
        let first = escalate(&mut o, at(5));
        assert_eq!(
            first,
            [Escalation::Resend {
                order: "D1".into(),
                unit: "police".into(),
                channels: vec![ChannelKind::Sms, ChannelKind::Radio],
                clock: ClockKind::Acknowledge,
            },]
        );
        assert!(escalate(&mut o, at(6)).is_empty(), "escalates once");
        // On scene by 30 min: missed too, and with every channel already used, the radio again.
        o.units[0].deliveries = order(&["police"]).units[0].deliveries.clone();
        let later = escalate(&mut o, at(31));
        assert!(
            matches!(&later[0], Escalation::Resend { channels, clock: ClockKind::OnScene, .. } if channels == &[ChannelKind::Radio])
        );
    }

    #[test]
    fn a_tier_two_unit_is_reminded_before_its_day_runs_out() {
        let mut o = order(&["justice"]);
        o.units[0].tier = Tier::Two;
        o.units[0].acknowledge_by = at(24 * 60);
        o.units[0].on_scene_by = None;
        assert!(escalate(&mut o, at(19 * 60)).is_empty());
        assert_eq!(escalate(&mut o, at(20 * 60)), [Escalation::Remind { order: "D1".into(), unit: "justice".into() }]);
        assert!(escalate(&mut o, at(21 * 60)).is_empty());
        assert!(running(&o, at(21 * 60))[0].left > Duration::zero());
    }

    #[test]
    fn a_closed_order_runs_no_clock() {
        let mut o = order(&["police"]);
        o.record_step("police", Step::ReportedBack, at(1), None);
        o.close(5, at(2)).unwrap();
        assert!(running(&o, at(100)).is_empty());
        assert!(escalate(&mut o, at(100)).is_empty());
    }
}
