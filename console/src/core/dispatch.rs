//! The three-in-one dispatch in Core: from the officer's draft to an [`Order`] and the
//! [`Outgoing`] messages the outbox must send, then the receipts and the units' steps coming
//! back, and the clocks escalating. No I/O here: the app hands the effects to the outbox task
//! and feeds its reports back through [`Core::on_delivery`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use streams::feed::{IncidentStatus, OrderProgress, Step};

use super::clock::{self, ClockKind, Escalation};
use super::order::{ChannelKind, Delivery, DeliveryState, Order, Stage, UnitOrder};
use super::plan::{self, PlanClocks, Texts};
use super::{Core, Effect};

/// What the officer sends: the plan's proposal, possibly changed.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchDraft {
    pub incident: String,
    pub plan: Option<String>,
    pub units: Vec<(String, Vec<ChannelKind>)>,
    pub texts: Texts,
    pub clocks: PlanClocks,
}

/// Where a message goes, per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Address {
    /// The unit's terminals on the hub.
    Terminal(String),
    /// Mobile numbers.
    Mobiles(Vec<String>),
    /// A radio-over-IP gateway (its talk-group).
    Radio(SocketAddr),
}

/// One message for one channel to one recipient, as the outbox stores and sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The idempotency key: every attempt of this message carries it.
    pub key: String,
    pub order: String,
    pub incident: String,
    pub unit: String,
    pub channel: ChannelKind,
    pub address: Address,
    pub text: String,
    pub acknowledge_by: DateTime<Utc>,
}

/// What the outbox task tells Core.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryReport {
    /// At start: the orders in the store.
    Restored(Vec<Order>),
    /// A message's new state.
    State { order: String, key: String, state: DeliveryState, at: DateTime<Utc> },
    /// The store or a channel could not be opened; the text says what and where.
    Trouble(String),
    /// An SMS from a handset: a reporter answering the satisfaction request.
    Reply { from: String, text: String, at: DateTime<Utc> },
}

/// The orders Core follows, and steps that arrived before their order was known (the hub's
/// replay can overtake the store's restore).
#[derive(Debug, Default)]
pub struct Orders {
    pub list: BTreeMap<String, Order>,
    early: HashMap<String, Vec<(OrderProgress, DateTime<Utc>)>>,
    /// Missed clocks the officer has not dismissed: (order, unit, clock).
    pub alerts: Vec<(String, String, ClockKind)>,
    /// The last trouble the outbox reported.
    pub trouble: Option<String>,
    /// The store's orders are in (until then an incident's orders may be unknown).
    pub restored: bool,
}

impl Orders {
    /// The orders of one incident, newest first.
    pub fn of_incident<'a>(&'a self, incident: &'a str) -> impl Iterator<Item = &'a Order> + 'a {
        self.list.values().rev().filter(move |o| o.incident == incident)
    }
}

impl Core {
    /// What the plan library proposes for an incident.
    pub fn proposal(&self, incident: &str) -> Option<plan::Proposal> {
        let tracked = self.incidents.get(incident)?;
        let facts =
            plan::Facts::gather(&self.center, &tracked.incident, tracked.grid, &self.grids, &self.kinds, &self.units);
        self.plans.propose(&facts)
    }

    /// Turns a draft into an order and its messages. Channels a unit has no contact for are
    /// left out (the panel does not offer them).
    pub(super) fn dispatch(&mut self, draft: DispatchDraft, now: DateTime<Utc>) -> Vec<Effect> {
        let id = format!("D{}{:03X}", now.with_timezone(&super::ZONE).format("%y%m%d%H%M%S"), fastrand::u16(..4096));
        let mut units = vec![];
        let mut outgoing = vec![];
        for (unit_id, channels) in &draft.units {
            let Some(unit) = self.units.iter().find(|u| &u.id == unit_id) else { continue };
            let tier = plan::tier_clocks(unit.tier);
            // A plan's clocks are for its tier-1 units; tiers 2 and 3 keep their own.
            let own = if unit.tier == super::unit::Tier::One { draft.clocks } else { PlanClocks::default() };
            let acknowledge_by = plan::deadline(own.acknowledge, tier.acknowledge, now).unwrap_or(now);
            let mut deliveries = vec![];
            for &channel in channels {
                let Some(address) = self.address(unit_id, channel) else { continue };
                let key = Delivery::key_for(&id, unit_id, channel);
                outgoing.push(Outgoing {
                    key: key.clone(),
                    order: id.clone(),
                    incident: draft.incident.clone(),
                    unit: unit_id.clone(),
                    channel,
                    address,
                    text: draft.texts.get(channel).replace("{unit}", &unit.name),
                    acknowledge_by,
                });
                deliveries.push(Delivery {
                    channel,
                    key,
                    state: DeliveryState::Queued,
                    times: BTreeMap::from([("queued".to_owned(), now)]),
                });
            }
            units.push(UnitOrder {
                unit: unit_id.clone(),
                tier: unit.tier,
                deliveries,
                steps: BTreeMap::new(),
                acknowledge_by,
                on_scene_by: plan::deadline(own.on_scene, tier.on_scene, now),
                report_back_by: plan::deadline(own.report_back, tier.report_back, now),
                report: None,
                escalated: vec![],
            });
        }
        if outgoing.is_empty() {
            return vec![];
        }
        let texts = ChannelKind::ALL.iter().map(|&c| (c, draft.texts.get(c).to_owned())).collect();
        let order = Order {
            id: id.clone(),
            incident: draft.incident,
            plan: draft.plan,
            created: now,
            units,
            texts,
            closed: None,
            reopened: 0,
            satisfaction_asked: None,
            archived: None,
        };
        self.incidents.set_status(&order.incident, IncidentStatus::Dispatched);
        self.orders.list.insert(id.clone(), order.clone());
        self.apply_early_steps(&id);
        vec![Effect::Dispatch { order, outgoing }]
    }

    /// A unit's contact for a channel.
    fn address(&self, unit: &str, channel: ChannelKind) -> Option<Address> {
        let u = self.units.iter().find(|u| u.id == unit)?;
        match channel {
            ChannelKind::Order => Some(Address::Terminal(u.id.clone())),
            ChannelKind::Sms => (!u.sms.is_empty()).then(|| Address::Mobiles(u.sms.clone())),
            ChannelKind::Radio => u.radio.map(Address::Radio),
        }
    }

    /// Applies a report from the outbox task; a reporter's answer closes its order.
    pub fn on_delivery(&mut self, report: DeliveryReport) -> Vec<Effect> {
        match report {
            DeliveryReport::Restored(orders) => {
                self.orders.restored = true;
                for order in orders {
                    let (id, incident) = (order.id.clone(), order.incident.clone());
                    self.orders.list.entry(id.clone()).or_insert(order);
                    self.apply_early_steps(&id);
                    self.follow_orders(&incident);
                }
            }
            DeliveryReport::State { order, key, state, at } => {
                if let Some(d) = self.orders.list.get_mut(&order).and_then(|o| o.delivery_mut(&key)) {
                    d.advance(state, at);
                }
            }
            DeliveryReport::Trouble(text) => self.orders.trouble = Some(text),
            DeliveryReport::Reply { from, text, at } => return self.on_reply(&from, &text, at),
        }
        vec![]
    }

    /// A reporter's SMS: the first digit 1–5 is the satisfaction with the order the center
    /// asked them about (the newest such order still waiting for it).
    fn on_reply(&mut self, from: &str, text: &str, at: DateTime<Utc>) -> Vec<Effect> {
        let Some(stars) = text.chars().find_map(|c| c.to_digit(10)).filter(|d| (1..=5).contains(d)) else {
            tracing::info!(%from, "an SMS that is not a satisfaction (1–5)");
            return vec![];
        };
        let waiting = self
            .orders
            .list
            .values_mut()
            .rev()
            .find(|o| o.satisfaction_asked.as_deref() == Some(from) && o.stage() == Stage::ReportedBack);
        let Some(order) = waiting else {
            tracing::info!(%from, "a satisfaction for no order waiting for one");
            return vec![];
        };
        if order.close(stars as u8, at).is_err() {
            return vec![];
        }
        let (record, incident) = (Effect::Record(order.clone()), order.incident.clone());
        self.incidents.set_status(&incident, IncidentStatus::Closed);
        vec![record]
    }

    /// Asks the reporter of each reported-back order for the satisfaction, once, by SMS.
    fn ask_satisfaction(&mut self) -> Vec<Effect> {
        let mut effects = vec![];
        for order in self.orders.list.values_mut() {
            if order.satisfaction_asked.is_some() || order.stage() != Stage::ReportedBack {
                continue;
            }
            let Some(incident) = self.incidents.get(&order.incident) else { continue };
            let Some(mobile) = incident.incident.report.reporter_mobile.clone() else { continue };
            order.satisfaction_asked = Some(mobile.clone());
            let text = format!(
                "【{}】您反映的事件（{}）已处置完毕。请回复数字 1–5 评价满意度（5 为非常满意）。",
                self.center, order.incident
            );
            effects.push(Effect::Notify(Outgoing {
                key: format!("{}/reporter/satisfaction", order.id),
                order: order.id.clone(),
                incident: order.incident.clone(),
                unit: "reporter".into(),
                channel: ChannelKind::Sms,
                address: Address::Mobiles(vec![mobile]),
                text,
                acknowledge_by: order.created,
            }));
        }
        effects
    }

    /// A unit's step from the hub's log.
    pub(super) fn on_progress(&mut self, progress: OrderProgress, at: DateTime<Utc>) {
        match self.orders.list.get_mut(&progress.order) {
            Some(order) => {
                let report = (progress.step == Step::ReportedBack).then_some((progress.note, progress.attachments));
                order.record_step(&progress.unit, progress.step, at, report);
                if progress.step >= Step::OnScene {
                    let incident = order.incident.clone();
                    self.incidents.set_status(&incident, IncidentStatus::Handling);
                }
            }
            None => self.orders.early.entry(progress.order.clone()).or_default().push((progress, at)),
        }
    }

    /// Sets an incident's status from its newest order's stage.
    pub(super) fn follow_orders(&mut self, incident: &str) {
        let Some(stage) = self.orders.of_incident(incident).next().map(Order::stage) else { return };
        let status = match stage {
            Stage::Dispatched | Stage::Acknowledged => IncidentStatus::Dispatched,
            Stage::OnScene | Stage::Handling | Stage::ReportedBack => IncidentStatus::Handling,
            Stage::Closed | Stage::Archived => IncidentStatus::Closed,
        };
        self.incidents.set_status(incident, status);
    }

    fn apply_early_steps(&mut self, order: &str) {
        for (progress, at) in self.orders.early.remove(order).unwrap_or_default() {
            self.on_progress(progress, at);
        }
    }

    /// Runs the clocks at `now`: escalations become resends, a leader notice and an alert.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = self.ask_satisfaction();
        let mut escalations = vec![];
        for order in self.orders.list.values_mut() {
            escalations.extend(clock::escalate(order, now));
        }
        for e in escalations {
            match e {
                Escalation::Resend { order, unit, channels, clock } => {
                    self.orders.alerts.push((order.clone(), unit.clone(), clock));
                    effects.extend(self.resend(&order, &unit, &channels, clock.code(), now));
                }
                Escalation::Remind { order, unit } => {
                    effects.extend(self.resend(&order, &unit, &[ChannelKind::Sms], "remind", now));
                }
                Escalation::RaiseToLeader { order, unit, clock } => {
                    if self.leader_sms.is_empty() {
                        continue;
                    }
                    let Some(o) = self.orders.list.get(&order) else { continue };
                    let name = super::unit::name_of(&self.units, &unit);
                    let text = format!(
                        "【{}】{} 未按时{}：派单 {}，事件 {}。",
                        self.center,
                        name,
                        clock_zh(clock),
                        order,
                        o.incident
                    );
                    effects.push(Effect::Notify(Outgoing {
                        key: format!("{order}/{unit}/leader/{}", clock.code()),
                        order: order.clone(),
                        incident: o.incident.clone(),
                        unit: "leader".into(),
                        channel: ChannelKind::Sms,
                        address: Address::Mobiles(self.leader_sms.clone()),
                        text,
                        acknowledge_by: now,
                    }));
                }
            }
        }
        effects
    }

    /// The order again, on `channels`, with keys of their own (`…/radio/acknowledge`), as new
    /// deliveries of the unit.
    fn resend(
        &mut self,
        order: &str,
        unit: &str,
        channels: &[ChannelKind],
        why: &str,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let addresses: Vec<(ChannelKind, Address)> =
            channels.iter().filter_map(|&c| self.address(unit, c).map(|a| (c, a))).collect();
        let Some(o) = self.orders.list.get_mut(order) else { return vec![] };
        let Some(u) = o.units.iter_mut().find(|u| u.unit == unit) else { return vec![] };
        let mut outgoing = vec![];
        for (channel, address) in addresses {
            let key = format!("{}/{why}", Delivery::key_for(order, unit, channel));
            let text = format!("【催办】{}", o.texts.get(&channel).cloned().unwrap_or_default());
            u.deliveries.push(Delivery {
                channel,
                key: key.clone(),
                state: DeliveryState::Queued,
                times: BTreeMap::from([("queued".to_owned(), now)]),
            });
            outgoing.push(Outgoing {
                key,
                order: order.to_owned(),
                incident: o.incident.clone(),
                unit: unit.to_owned(),
                channel,
                address,
                text,
                acknowledge_by: u.acknowledge_by,
            });
        }
        if outgoing.is_empty() {
            return vec![];
        }
        vec![Effect::Dispatch { order: o.clone(), outgoing }]
    }

    /// Every clock still running, soonest first: the "orders at risk" strip shows the risky ones.
    pub fn running_clocks(&self, now: DateTime<Utc>) -> Vec<clock::Running> {
        let mut all: Vec<clock::Running> = self.orders.list.values().flat_map(|o| clock::running(o, now)).collect();
        all.sort_by_key(|r| r.due);
        all
    }
}

/// The words for a clock in the leader's SMS.
fn clock_zh(clock: ClockKind) -> &'static str {
    match clock {
        ClockKind::Acknowledge => "签收",
        ClockKind::OnScene => "到场",
        ClockKind::ReportBack => "反馈",
    }
}
