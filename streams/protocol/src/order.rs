//! Orders (派单): one three-in-one dispatch of an incident to several linked units, and how
//! each unit and each channel is doing with it — as the center's server logs them and every
//! seat rebuilds them from the log.
//!
//! An [`Order`] holds a [`UnitOrder`] per unit; each has a [`Delivery`] per channel (queued →
//! sent → delivered, or failed and retrying) and the unit's steps (received, acknowledged, on
//! scene, handling, reported back) with their times. The center closes the order with the
//! reporter's satisfaction, then archives it. Every change is a method here, so the lifecycle is
//! tested without a network or a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::work::Step;

/// How urgently a unit answers an order (联动等级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// On duty 24 hours; goes to the scene at once.
    One = 1,
    /// Replies to an order within 24 hours.
    Two = 2,
    /// A daily contact takes orders and reports back.
    Three = 3,
}

impl Tier {
    pub fn from_number(n: i64) -> Option<Tier> {
        match n {
            1 => Some(Tier::One),
            2 => Some(Tier::Two),
            3 => Some(Tier::Three),
            _ => None,
        }
    }
}

/// Which deadline of a unit's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Acknowledge,
    OnScene,
    ReportBack,
}

impl ClockKind {
    pub fn code(self) -> &'static str {
        match self {
            ClockKind::Acknowledge => "acknowledge",
            ClockKind::OnScene => "on_scene",
            ClockKind::ReportBack => "report_back",
        }
    }

    /// The step that stops this clock.
    pub fn step(self) -> Step {
        match self {
            ClockKind::Acknowledge => Step::Acknowledged,
            ClockKind::OnScene => Step::OnScene,
            ClockKind::ReportBack => Step::ReportedBack,
        }
    }
}

/// The message texts of a dispatch, one per channel (`{unit}` stands for the unit's name).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Texts {
    pub order: String,
    pub sms: String,
    pub radio: String,
}

impl Texts {
    pub fn get(&self, channel: ChannelKind) -> &str {
        match channel {
            ChannelKind::Order => &self.order,
            ChannelKind::Sms => &self.sms,
            ChannelKind::Radio => &self.radio,
        }
    }
}

/// A plan's clocks for its tier-1 units; `None` keeps the tier's default. On the wire in
/// whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanClocks {
    #[serde(default, with = "seconds", skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<Duration>,
    #[serde(default, with = "seconds", skip_serializing_if = "Option::is_none")]
    pub on_scene: Option<Duration>,
    #[serde(default, with = "seconds", skip_serializing_if = "Option::is_none")]
    pub report_back: Option<Duration>,
}

/// `Option<Duration>` as a number of seconds.
mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

/// What a duty officer sends: the plan's proposal, possibly changed. The center's server
/// turns it into an [`Order`] with an id of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchDraft {
    pub incident: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Each unit with the channels to reach it on.
    pub units: Vec<(String, Vec<ChannelKind>)>,
    pub texts: Texts,
    #[serde(default)]
    pub clocks: PlanClocks,
}

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

impl DeliveryState {
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent { .. } => "sent",
            DeliveryState::Delivered { .. } => "delivered",
            DeliveryState::Failed { .. } => "failed",
        }
    }
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
    /// An SMS to several mobiles: each number's own state. Each is its own message (key
    /// `KEY#MOBILE`), sent and retried alone, so a resend after a failure goes only to the
    /// numbers it failed for; `state` is then what all of them add up to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recipients: BTreeMap<String, DeliveryState>,
}

impl Delivery {
    pub fn key_for(order: &str, unit: &str, channel: ChannelKind) -> String {
        format!("{order}/{unit}/{}", channel.code())
    }

    /// A new delivery at `at`, to `recipients` (for an SMS: its mobiles, each tracked).
    pub fn queued(channel: ChannelKind, key: String, recipients: &[String], at: DateTime<Utc>) -> Delivery {
        Delivery {
            channel,
            key,
            state: DeliveryState::Queued,
            times: BTreeMap::from([("queued".to_owned(), at)]),
            recipients: recipients.iter().map(|m| (m.clone(), DeliveryState::Queued)).collect(),
        }
    }

    /// The key of its message to one recipient.
    pub fn recipient_key(&self, mobile: &str) -> String {
        format!("{}#{mobile}", self.key)
    }

    /// Records a message's new state: the delivery's own (`key`), or one recipient's
    /// (`KEY#MOBILE`), after which the delivery's is what all recipients add up to — delivered
    /// when all are, sent when all are at least sent, failed while one has failed (naming
    /// which), queued otherwise.
    pub fn record(&mut self, key: &str, state: DeliveryState, at: DateTime<Utc>) {
        if key == self.key {
            return self.advance(state, at);
        }
        let Some(mobile) = key.strip_prefix(self.key.as_str()).and_then(|k| k.strip_prefix('#')) else { return };
        let Some(current) = self.recipients.get_mut(mobile) else { return };
        if rank(&state) < rank(current) {
            return;
        }
        *current = state;
        let failed: Vec<(&String, &DeliveryState)> =
            self.recipients.iter().filter(|(_, s)| matches!(s, DeliveryState::Failed { .. })).collect();
        let total = self.recipients.len();
        let least = self.recipients.values().map(rank).min().unwrap_or(0);
        let sum = if let Some((_, DeliveryState::Failed { attempts, .. })) = failed.first() {
            let why: Vec<String> = failed
                .iter()
                .map(|(m, s)| match s {
                    DeliveryState::Failed { error, .. } => format!("{m}: {error}"),
                    _ => String::new(),
                })
                .collect();
            let error = format!("{} of {total}: {}", failed.len(), why.join("; "));
            DeliveryState::Failed { error, attempts: *attempts }
        } else {
            let receipts = |s: &DeliveryState| match s {
                DeliveryState::Sent { receipt } | DeliveryState::Delivered { receipt } => receipt.clone(),
                _ => String::new(),
            };
            let receipt: Vec<String> = self.recipients.iter().map(|(m, s)| format!("{m}:{}", receipts(s))).collect();
            match least {
                2 => DeliveryState::Delivered { receipt: receipt.join(",") },
                1 => DeliveryState::Sent { receipt: receipt.join(",") },
                _ => DeliveryState::Queued,
            }
        };
        // A failure after a recipient was sent is the aggregate's news even though it ranks
        // lower: the delivery shows it until the retry gets through.
        if matches!(sum, DeliveryState::Failed { .. }) {
            self.state = sum;
        } else {
            self.advance(sum, at);
        }
    }

    pub fn state_code(&self) -> &'static str {
        self.state.code()
    }

    /// Moves to `state` at `at`. A delivery never goes back: a late "sent" after "delivered"
    /// (receipts may overtake) is ignored.
    pub fn advance(&mut self, state: DeliveryState, at: DateTime<Utc>) {
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

/// How far a state is: queued and failed 0, sent 1, delivered 2.
fn rank(s: &DeliveryState) -> u8 {
    match s {
        DeliveryState::Queued | DeliveryState::Failed { .. } => 0,
        DeliveryState::Sent { .. } => 1,
        DeliveryState::Delivered { .. } => 2,
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
    /// The unit handed the order back as not theirs: why, and when. Its clocks stop, and the
    /// order goes on with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<(String, DateTime<Utc>)>,
}

impl UnitOrder {
    /// Still on the order: not handed back.
    pub fn is_active(&self) -> bool {
        self.returned.is_none()
    }

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
        // A unit that handed the order back no longer holds it up.
        let active = || self.units.iter().filter(|u| u.is_active());
        let all = |step: Step| active().next().is_some() && active().all(|u| u.steps.contains_key(&step));
        let any = |step: Step| active().any(|u| u.steps.contains_key(&step));
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

    /// The delivery a message's key belongs to (its own, or one recipient's `KEY#MOBILE`).
    pub fn delivery_mut(&mut self, key: &str) -> Option<&mut Delivery> {
        let own = key.split_once('#').map_or(key, |(own, _)| own);
        self.units.iter_mut().flat_map(|u| u.deliveries.iter_mut()).find(|d| d.key == own)
    }

    /// The state a message's key has in the order (a recipient's, for `KEY#MOBILE`).
    pub fn message_state(&self, key: &str) -> Option<&DeliveryState> {
        let (own, mobile) = key.split_once('#').map_or((key, None), |(own, m)| (own, Some(m)));
        let d = self.units.iter().flat_map(|u| &u.deliveries).find(|d| d.key == own)?;
        match mobile {
            None => Some(&d.state),
            Some(m) => d.recipients.get(m),
        }
    }

    /// Records a unit's step at the hub's time. The first time of a step counts; a step implies
    /// the steps before it (a unit that reports "on scene" has acknowledged), so they are
    /// filled in with the same time if missing.
    /// A unit hands the order back (`Returned`, `report` holding why) once, and before it
    /// reported back; a unit that handed it back takes no further step.
    pub fn record_step(&mut self, unit: &str, step: Step, at: DateTime<Utc>, report: Option<(String, Vec<String>)>) {
        let Some(u) = self.unit_mut(unit) else { return };
        if !u.is_active() {
            return;
        }
        if step == Step::Returned {
            if !u.steps.contains_key(&Step::ReportedBack) {
                u.returned = Some((report.map(|(why, _)| why).unwrap_or_default(), at));
            }
            return;
        }
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

/// A seat's dispatch as it travels to the center's server: the draft, the seat's key (a
/// resend is logged once per sender and key), and who sent it (filled in by the hub).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRequest {
    pub key: String,
    #[serde(flatten)]
    pub draft: DispatchDraft,
    #[serde(default)]
    pub by: String,
}

/// A message's new state, as the center's outbox recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryUpdate {
    pub order: String,
    /// The message's idempotency key (`order/unit/channel`).
    pub key: String,
    #[serde(flatten)]
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
}

/// A clock the center escalated for one unit: the order sent again on `deliveries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEscalation {
    pub order: String,
    pub unit: String,
    /// What escalated, once per unit: a clock's code (`acknowledge`, `on_scene`,
    /// `report_back`) or a reminder (`remind/acknowledge`).
    pub what: String,
    /// The missed clock (none for a reminder, which is not a miss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockKind>,
    /// The resent messages, queued.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    /// Whom they went to, where that is a person of the unit's roster (its B post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The reporter of an order was asked by SMS for the satisfaction; the answer closes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionAsk {
    pub order: String,
    pub mobile: String,
}

/// What a seat (or the reporter's SMS) does to a whole order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Closed with the reporter's satisfaction (1–5).
    Close {
        satisfaction: u8,
    },
    /// Opened again: the reporter is not satisfied.
    Reopen,
    Archive,
}

/// A change of an order, with the sender's key and (filled in by the hub) who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderChange {
    pub key: String,
    pub order: String,
    pub change: Change,
    #[serde(default)]
    pub by: String,
    /// Where the order's last change was logged when the sender decided on this one (its
    /// place, [`crate::Envelope::numbered_at`]; 0: it had seen none): a change made on an order as
    /// it no longer is loses. The log refuses it (`ErrorCode::Conflict`) when another change
    /// came in between, and what a log took anyway (two changes in flight at once) every
    /// reader refuses alike in its fold. `None` (a reporter's answer by SMS, an older seat):
    /// the order's stage alone decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u64>,
}

impl Order {
    /// Applies an escalation from the log: the unit's clock counts as escalated and the resent
    /// messages join its deliveries (each key once).
    pub fn apply_escalation(&mut self, e: &OrderEscalation) {
        let Some(u) = self.unit_mut(&e.unit) else { return };
        if !u.escalated.contains(&e.what) {
            u.escalated.push(e.what.clone());
        }
        for d in &e.deliveries {
            if !u.deliveries.iter().any(|have| have.key == d.key) {
                u.deliveries.push(d.clone());
            }
        }
    }

    /// Applies a change from the log; refused (with the reason) where the order's stage does
    /// not allow it — every seat and the server refuse the same, since they read the same log.
    pub fn apply_change(&mut self, change: Change, at: DateTime<Utc>) -> Result<(), &'static str> {
        match change {
            Change::Close { satisfaction } => self.close(satisfaction, at),
            Change::Reopen => self.reopen(),
            Change::Archive => self.archive(at),
        }
    }
}

/// Samples for the rules' tests: an order of tier-1 units on every channel, created 2026-11-28
/// 08:00 UTC, acknowledge by 08:05 and on scene by 08:30; an incident.
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures {
    use super::*;

    /// 2026-11-28 08:00 UTC plus `min` minutes.
    pub fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T08:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
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
                        recipients: BTreeMap::new(),
                    })
                    .collect(),
                steps: BTreeMap::new(),
                acknowledge_by: at(5),
                on_scene_by: Some(at(30)),
                report_back_by: None,
                report: None,
                escalated: vec![],
                returned: None,
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

    /// A low dispute in 青溪镇 reported at 08:`minute` UTC on 2026-11-28.
    pub fn incident(id: &str, severity: crate::Severity, minute: u32) -> crate::Incident {
        use crate::{CoordinateSystem, IncidentReport, IncidentStatus, Location, ReportSource};
        crate::Incident {
            id: id.into(),
            reported_at: at(i64::from(minute)),
            status: IncidentStatus::New,
            report: IncidentReport {
                report_id: id.into(),
                kind: "dispute".into(),
                severity,
                location: Location { lon: 120.00262, lat: 30.13669, crs: CoordinateSystem::Wgs84 },
                grid: None,
                reporter: "王芳".into(),
                reporter_mobile: None,
                source: ReportSource::Field,
                text: "测试".into(),
                attachments: vec![],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, order};
    use super::*;

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
    fn a_unit_that_hands_the_order_back_no_longer_holds_it_up_and_takes_no_further_step() {
        let mut o = order(&["police", "justice"]);
        o.record_step("justice", Step::Acknowledged, at(1), None);
        o.record_step("justice", Step::Returned, at(2), Some(("非本单位职责".into(), vec![])));
        assert_eq!(o.units[1].returned, Some(("非本单位职责".to_owned(), at(2))));
        o.record_step("justice", Step::OnScene, at(3), None);
        assert!(!o.units[1].steps.contains_key(&Step::OnScene), "returned: no further step");
        o.record_step("police", Step::ReportedBack, at(40), None);
        assert_eq!(o.stage(), Stage::ReportedBack, "the order goes on with the police alone");
        let mut all_back = order(&["police"]);
        all_back.record_step("police", Step::Returned, at(1), Some(("不归我们管".into(), vec![])));
        assert_eq!(all_back.stage(), Stage::Dispatched, "nobody holds it: for the center to send again");
        assert_eq!(all_back.close(5, at(2)), Err("not every unit has reported back"));
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

    #[test]
    fn an_sms_to_two_numbers_adds_up_what_each_got() {
        let at = Utc::now();
        let mut d = Delivery::queued(ChannelKind::Sms, "D1/police/sms".into(), &["a".into(), "b".into()], at);
        let sent = |r: &str| DeliveryState::Sent { receipt: r.into() };
        d.record("D1/police/sms#a", sent("1"), at);
        assert_eq!(d.state, DeliveryState::Queued, "b not yet");
        d.record("D1/police/sms#b", DeliveryState::Failed { error: "refused".into(), attempts: 1 }, at);
        assert_eq!(d.state, DeliveryState::Failed { error: "1 of 2: b: refused".into(), attempts: 1 });
        d.record("D1/police/sms#b", sent("2"), at);
        assert_eq!(d.state, sent("a:1,b:2"));
        d.record("D1/police/sms#a", DeliveryState::Delivered { receipt: "1".into() }, at);
        d.record("D1/police/sms#a", sent("1"), at);
        assert_eq!(d.recipients["a"], DeliveryState::Delivered { receipt: "1".into() }, "never back");
        assert_eq!(d.state, sent("a:1,b:2"), "b is only sent");
        d.record("D1/police/sms#b", DeliveryState::Delivered { receipt: "2".into() }, at);
        assert_eq!(d.state, DeliveryState::Delivered { receipt: "a:1,b:2".into() });
        d.record("D1/police/sms#c", sent("3"), at);
        d.record("D1/fire/sms#a", sent("3"), at);
        assert_eq!(d.recipients.len(), 2, "not its numbers");
        assert!(d.times.contains_key("sent") && d.times.contains_key("delivered"));
    }
}
