//! Orders (派单): one three-in-one dispatch of an incident to several linked units, and how
//! each unit and each channel is doing with it.
//!
//! An [`Order`] holds a [`UnitOrder`] per unit; each has a [`Delivery`] per channel (queued →
//! sent → delivered, or failed and retrying) and the unit's steps (received, acknowledged, on
//! scene, handling, reported back) with their times. The center closes the order with the
//! reporter's satisfaction, then archives it. Every change is a method here, so the lifecycle is
//! tested without a network or a clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use streams::feed::Step;

use super::unit::Tier;

/// The channels of the three-in-one dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// 在线派单: a work order through the hub to the unit's terminals.
    Order,
    /// 短信通知: an SMS through the SMSC.
    Sms,
    /// 对讲机呼叫: the order read out on the unit's radio talk-group.
    Radio,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Order, ChannelKind::Sms, ChannelKind::Radio];

    pub fn code(self) -> &'static str {
        match self {
            ChannelKind::Order => "order",
            ChannelKind::Sms => "sms",
            ChannelKind::Radio => "radio",
        }
    }

    pub fn from_code(code: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Where one channel's message to one unit is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// In the outbox, not yet accepted by the channel's peer.
    Queued,
    /// The peer took it (the hub logged it, the SMSC answered submit_sm, the call was played).
    Sent { receipt: String },
    /// It reached the unit (the terminal shows it, the handset's delivery receipt came).
    Delivered { receipt: String },
    /// The last attempt failed; the outbox retries.
    Failed { error: String, attempts: u32 },
}

/// One channel's message to one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: ChannelKind,
    /// The idempotency key: `order/unit/channel`. A resend carries the same key.
    pub key: String,
    pub state: DeliveryState,
    /// When each state was first reached: queued, sent, delivered.
    pub times: BTreeMap<String, DateTime<Utc>>,
}

impl Delivery {
    pub fn key_for(order: &str, unit: &str, channel: ChannelKind) -> String {
        format!("{order}/{unit}/{}", channel.code())
    }

    pub fn state_code(&self) -> &'static str {
        match self.state {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent { .. } => "sent",
            DeliveryState::Delivered { .. } => "delivered",
            DeliveryState::Failed { .. } => "failed",
        }
    }

    /// Moves to `state` at `at`. A delivery never goes back: a late "sent" after "delivered"
    /// (receipts may overtake) is ignored.
    pub fn advance(&mut self, state: DeliveryState, at: DateTime<Utc>) {
        let rank = |s: &DeliveryState| match s {
            DeliveryState::Queued | DeliveryState::Failed { .. } => 0,
            DeliveryState::Sent { .. } => 1,
            DeliveryState::Delivered { .. } => 2,
        };
        if rank(&state) < rank(&self.state) {
            return;
        }
        let code = match &state {
            DeliveryState::Failed { .. } => None,
            _ => Some(()),
        };
        self.state = state;
        if code.is_some() {
            self.times.entry(self.state_code().to_owned()).or_insert(at);
        }
    }
}

/// What one unit was asked to do and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitOrder {
    pub unit: String,
    pub tier: Tier,
    pub deliveries: Vec<Delivery>,
    /// The unit's steps with the hub's time for each.
    pub steps: BTreeMap<Step, DateTime<Utc>>,
    /// The deadlines of its tier (or the plan): acknowledge, on scene, report back.
    pub acknowledge_by: DateTime<Utc>,
    pub on_scene_by: Option<DateTime<Utc>>,
    pub report_back_by: Option<DateTime<Utc>>,
    /// The report back: text and evidence URLs.
    pub report: Option<(String, Vec<String>)>,
    /// Clocks already escalated, so each escalates once.
    pub escalated: Vec<String>,
}

impl UnitOrder {
    /// The furthest step reached, if any.
    pub fn step(&self) -> Option<Step> {
        self.steps.keys().next_back().copied()
    }

    /// Whether any channel failed on its last attempt while others went out.
    pub fn partial(&self) -> bool {
        self.deliveries.iter().any(|d| matches!(d.state, DeliveryState::Failed { .. }))
    }
}

/// Where the whole order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Sent; not every unit has acknowledged.
    Dispatched,
    /// Every unit acknowledged.
    Acknowledged,
    /// A unit is on scene.
    OnScene,
    Handling,
    /// Every unit reported back.
    ReportedBack,
    /// The center closed it with the reporter's satisfaction.
    Closed,
    Archived,
}

/// A three-in-one dispatch of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub incident: String,
    pub plan: Option<String>,
    pub created: DateTime<Utc>,
    pub units: Vec<UnitOrder>,
    /// The text per channel as sent.
    pub texts: BTreeMap<ChannelKind, String>,
    /// Satisfaction 1–5 and when it was closed.
    pub closed: Option<(u8, DateTime<Utc>)>,
    /// How often a closed order was opened again (the reporter was not satisfied).
    #[serde(default)]
    pub reopened: u32,
    /// The mobile the reporter was asked on for the satisfaction (an SMS reply closes it).
    #[serde(default)]
    pub satisfaction_asked: Option<String>,
    pub archived: Option<DateTime<Utc>>,
}

impl Order {
    /// The order's stage, from its units' steps.
    pub fn stage(&self) -> Stage {
        if self.archived.is_some() {
            return Stage::Archived;
        }
        if self.closed.is_some() {
            return Stage::Closed;
        }
        let all = |step: Step| !self.units.is_empty() && self.units.iter().all(|u| u.steps.contains_key(&step));
        let any = |step: Step| self.units.iter().any(|u| u.steps.contains_key(&step));
        if all(Step::ReportedBack) {
            Stage::ReportedBack
        } else if any(Step::Handling) {
            Stage::Handling
        } else if any(Step::OnScene) {
            Stage::OnScene
        } else if all(Step::Acknowledged) {
            Stage::Acknowledged
        } else {
            Stage::Dispatched
        }
    }

    pub fn unit_mut(&mut self, unit: &str) -> Option<&mut UnitOrder> {
        self.units.iter_mut().find(|u| u.unit == unit)
    }

    pub fn delivery_mut(&mut self, key: &str) -> Option<&mut Delivery> {
        self.units.iter_mut().flat_map(|u| u.deliveries.iter_mut()).find(|d| d.key == key)
    }

    /// Records a unit's step at the hub's time. The first time of a step counts; a step implies
    /// the steps before it (a unit that reports "on scene" has acknowledged), so they are
    /// filled in with the same time if missing.
    pub fn record_step(&mut self, unit: &str, step: Step, at: DateTime<Utc>, report: Option<(String, Vec<String>)>) {
        let Some(u) = self.unit_mut(unit) else { return };
        for earlier in [Step::Received, Step::Acknowledged, Step::OnScene, Step::Handling, Step::ReportedBack] {
            if earlier > step {
                break;
            }
            u.steps.entry(earlier).or_insert(at);
        }
        if step == Step::ReportedBack {
            u.report = report.or(u.report.take());
        }
        // The terminal showing the order is the online channel's delivery receipt.
        if let Some(d) = u.deliveries.iter_mut().find(|d| d.channel == ChannelKind::Order) {
            d.advance(DeliveryState::Delivered { receipt: format!("{step:?}") }, at);
        }
    }

    /// Closes the order with the reporter's satisfaction (1–5). Refused before every unit
    /// reported back, or twice.
    pub fn close(&mut self, satisfaction: u8, at: DateTime<Utc>) -> Result<(), &'static str> {
        if !(1..=5).contains(&satisfaction) {
            return Err("satisfaction must be 1–5");
        }
        match self.stage() {
            Stage::ReportedBack => {
                self.closed = Some((satisfaction, at));
                Ok(())
            }
            Stage::Closed | Stage::Archived => Err("already closed"),
            _ => Err("not every unit has reported back"),
        }
    }

    /// Opens a closed order again: the units' report did not settle it.
    pub fn reopen(&mut self) -> Result<(), &'static str> {
        if self.stage() != Stage::Closed {
            return Err("only a closed order is reopened");
        }
        self.closed = None;
        self.reopened += 1;
        Ok(())
    }

    pub fn archive(&mut self, at: DateTime<Utc>) -> Result<(), &'static str> {
        if self.stage() != Stage::Closed {
            return Err("only a closed order is archived");
        }
        self.archived = Some(at);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T08:00:00Z").unwrap().with_timezone(&Utc)
            + chrono::Duration::minutes(min)
    }

    pub fn order(units: &[&str]) -> Order {
        let units = units
            .iter()
            .map(|u| UnitOrder {
                unit: u.to_string(),
                tier: Tier::One,
                deliveries: ChannelKind::ALL
                    .iter()
                    .map(|&c| Delivery {
                        channel: c,
                        key: Delivery::key_for("D1", u, c),
                        state: DeliveryState::Queued,
                        times: BTreeMap::new(),
                    })
                    .collect(),
                steps: BTreeMap::new(),
                acknowledge_by: at(5),
                on_scene_by: Some(at(30)),
                report_back_by: None,
                report: None,
                escalated: vec![],
            })
            .collect();
        Order {
            id: "D1".into(),
            incident: "E1".into(),
            plan: None,
            created: at(0),
            units,
            texts: BTreeMap::new(),
            closed: None,
            reopened: 0,
            satisfaction_asked: None,
            archived: None,
        }
    }

    #[test]
    fn the_stage_follows_the_slowest_unit_for_acknowledge_and_report_back() {
        let mut o = order(&["police", "fire"]);
        o.record_step("police", Step::Acknowledged, at(1), None);
        assert_eq!(o.stage(), Stage::Dispatched);
        o.record_step("fire", Step::Acknowledged, at(2), None);
        assert_eq!(o.stage(), Stage::Acknowledged);
        o.record_step("fire", Step::OnScene, at(9), None);
        assert_eq!(o.stage(), Stage::OnScene);
        o.record_step("fire", Step::ReportedBack, at(40), Some(("done".into(), vec![])));
        assert_eq!(o.stage(), Stage::Handling, "police has not reported back");
        assert_eq!(o.close(5, at(41)), Err("not every unit has reported back"));
        o.record_step("police", Step::ReportedBack, at(50), None);
        assert_eq!(o.stage(), Stage::ReportedBack);
        assert_eq!(o.close(6, at(51)), Err("satisfaction must be 1–5"));
        o.close(4, at(51)).unwrap();
        assert_eq!(o.close(4, at(52)), Err("already closed"));
        o.archive(at(60)).unwrap();
        assert_eq!(o.stage(), Stage::Archived);
    }

    #[test]
    fn a_later_step_fills_in_the_earlier_ones_and_the_first_time_counts() {
        let mut o = order(&["police"]);
        o.record_step("police", Step::OnScene, at(7), None);
        o.record_step("police", Step::Acknowledged, at(8), None);
        let u = &o.units[0];
        assert_eq!(u.steps[&Step::Acknowledged], at(7));
        assert_eq!(u.steps[&Step::Received], at(7));
        assert_eq!(u.step(), Some(Step::OnScene));
        assert!(matches!(u.deliveries[0].state, DeliveryState::Delivered { .. }));
    }

    #[test]
    fn a_delivery_never_goes_back_and_keeps_its_first_times() {
        let mut o = order(&["police"]);
        let d = o.delivery_mut("D1/police/sms").unwrap();
        d.advance(DeliveryState::Failed { error: "down".into(), attempts: 1 }, at(0));
        d.advance(DeliveryState::Sent { receipt: "m1".into() }, at(1));
        d.advance(DeliveryState::Delivered { receipt: "m1".into() }, at(2));
        d.advance(DeliveryState::Sent { receipt: "m1".into() }, at(3));
        assert_eq!(d.state_code(), "delivered");
        assert_eq!(d.times["sent"], at(1));
        assert_eq!(d.times["delivered"], at(2));
    }
}
