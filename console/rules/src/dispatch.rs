//! The three-in-one dispatch in Core, as every seat and the center's server share it.
//!
//! Orders live in the hub's log: a seat asks (`dispatch_requested`), the center's server
//! builds the order and logs it (`order_created`), then logs what its outbox achieves
//! (`delivery_updated`), the clocks it escalates (`order_escalated`), the satisfaction it asks
//! for (`satisfaction_asked`); units log their steps (`order_progressed`) and seats their
//! closes (`order_changed`). [`Core::on_order_event`] folds those events into [`Orders`], the
//! same on every seat and on the server because they read the same log in the same order.
//!
//! What only the server does — build an order from a request, list an order's messages, find
//! the clocks to escalate and the reporters to ask — are pure functions here too
//! ([`Core::build_order`], [`Core::messages_of`], [`Core::escalations_due`],
//! [`Core::satisfaction_due`]): given the log and the time, they say what to send; the server's
//! dispatch service (`crate::center`) does the sending.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use linkage_protocol::{
    Body, Change, DispatchRequest, Envelope, IncidentStatus, OrderEscalation, OrderProgress, SatisfactionAsk, Step,
    WorkDetails,
};
use serde::{Deserialize, Serialize};

use super::Core;
use super::clock::{self, ClockKind, Escalation};
use super::order::{ChannelKind, Delivery, Order, Stage, UnitOrder};
use super::plan::{self, PlanClocks};
use super::roster::{HAND_OVER, HAND_OVER_AT, Post, PostKind};
use super::unit::{LinkedUnit, Tier};

pub use linkage_protocol::DispatchDraft;

/// Where a message goes, per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Address {
    /// The unit's terminals on the hub.
    Terminal(String),
    /// Mobile numbers.
    Mobiles(Vec<String>),
    /// A radio talk-group: an RTP gateway or a SIP dispatch gateway.
    Radio(crate::radio_target::RadioTarget),
}

/// One message for one channel to one recipient, as the outbox stores and sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// For an online order: the incident and the unit's clocks, for the unit's seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<WorkDetails>>,
}

/// The orders as the log tells them.
#[derive(Debug, Default)]
pub struct Orders {
    pub list: BTreeMap<String, Order>,
    /// On a county's log: the township each order belongs to (by order id).
    pub townships: HashMap<String, String>,
    /// Missed clocks this seat has not dismissed: (order, unit, clock). A clock leaves the list
    /// when its step is done or its order is closed.
    pub alerts: Vec<(String, String, ClockKind)>,
    /// Dispatches asked for and not yet answered by an order: the id its order gets
    /// ([`order_id`]) → the request (the server builds these; a seat shows "with the center").
    pub requested: BTreeMap<String, (DispatchRequest, DateTime<Utc>)>,
    /// Dispatches this seat sent that the log does not have yet: (command key, incident).
    pub sending: BTreeSet<(String, String)>,
    /// Order changes this seat sent that the log does not have yet: (command key, order,
    /// where the order's last change was when it was sent).
    pub changing: BTreeSet<(String, String, u64)>,
    /// The last change of this seat's that did not take effect (until the seat changes that
    /// order again).
    pub refused: Option<Refused>,
    /// Per order: its changes as the log has them (see [`Changes`]).
    pub changes: HashMap<String, Changes>,
}

/// An order's changes as the log has them.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// Where its last change was logged ([`Envelope::numbered_at`]; 0: none), taken effect
    /// or not: what a change sent now says its sender saw ([`linkage_protocol::OrderChange::seen`]).
    pub last: u64,
    /// The changes that took effect, oldest first.
    pub applied: Vec<Applied>,
}

/// A change of an order that took effect: where it was logged, who made it, what, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub at: u64,
    pub by: String,
    pub change: Change,
    pub time: DateTime<Utc>,
}

impl Changes {
    /// The change that took effect first after `seen`: the one that beat a change made where
    /// the order's last change was at `seen` (`None` while the log has not brought it).
    pub fn first_after(&self, seen: u64) -> Option<&Applied> {
        self.applied.iter().find(|a| a.at > seen)
    }
}

/// A change of this seat's that did not take effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub order: String,
    pub why: Refusal,
}

/// Why a change did not take effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Made where the order's last change was at this place, another came first (see
    /// [`Changes::first_after`]).
    Late(u64),
    /// The order's stage did not allow it (a close before every unit reported back).
    Stage(&'static str),
}

impl Orders {
    /// The orders of one incident, newest first.
    pub fn of_incident<'a>(&'a self, incident: &'a str) -> impl Iterator<Item = &'a Order> + 'a {
        self.list.values().rev().filter(move |o| o.incident == incident)
    }

    /// Whether a dispatch of this incident is on its way (sent, or asked and not yet built).
    pub fn pending_for(&self, incident: &str) -> bool {
        self.sending.iter().any(|(_, i)| i == incident)
            || self.requested.values().any(|(r, _)| r.draft.incident == incident)
    }

    /// Whether a change of this order is on its way from this seat.
    pub fn changing(&self, order: &str) -> bool {
        self.changing.iter().any(|(_, o, _)| o == order)
    }

    /// This seat's change sent as `key`, on its way: its order and where it saw the order's
    /// last change.
    pub(crate) fn sent(&self, key: &str) -> Option<(&str, u64)> {
        self.changing.iter().find(|(k, ..)| k == key).map(|(_, order, seen)| (order.as_str(), *seen))
    }

    /// The log has the command `key`: it is no longer on its way.
    pub(crate) fn settle(&mut self, key: &str) {
        self.sending.retain(|(k, _)| k != key);
        self.changing.retain(|(k, ..)| k != key);
    }
}

/// The order an event of the log changes, if it changes one.
fn order_of(body: &Body) -> Option<&str> {
    match body {
        Body::OrderCreated(o) => Some(&o.id),
        Body::DeliveryUpdated(u) => Some(&u.order),
        Body::OrderEscalated(e) => Some(&e.order),
        Body::SatisfactionAsked(a) => Some(&a.order),
        Body::OrderChanged(c) => Some(&c.order),
        Body::OrderProgressed(p) => Some(&p.order),
        _ => None,
    }
}

/// The id the server gives the order it builds for the request `requested`: `D` + the
/// request's place in the log (in its township's own log, named after it: `t1/D000042`,
/// [`Envelope::name`]).
pub fn order_id(requested: &Envelope) -> String {
    requested.name('D')
}

impl Core {
    /// What the plan library proposes for an incident.
    pub fn proposal(&self, incident: &str) -> Option<plan::Proposal> {
        let tracked = self.incidents.get(incident)?;
        let facts = plan::Facts::gather(
            &self.center,
            &tracked.incident,
            tracked.grid,
            (&self.grids, &self.kinds),
            &self.units,
            &self.whereabouts,
        );
        self.plans.propose(&facts)
    }

    /// Folds one order event of the log into the orders and what the units are doing; returns
    /// whether it was one.
    pub(super) fn on_order_event(&mut self, env: &Envelope) -> bool {
        let folded = self.fold_order_event(env);
        if let Some(order) = order_of(&env.body).and_then(|id| self.orders.list.get(id)) {
            self.whereabouts.follow(order);
        }
        folded
    }

    fn fold_order_event(&mut self, env: &Envelope) -> bool {
        // Whether this seat sent it (it is on its way until now).
        let mine = env.body.settles().is_some_and(|key| self.orders.sent(&key).is_some());
        if let Some(key) = env.body.settles() {
            self.orders.settle(&key);
        }
        match &env.body {
            Body::DispatchRequested(request) => {
                self.orders.requested.insert(order_id(env), (request.clone(), env.time));
            }
            Body::OrderCreated(order) => {
                self.orders.requested.remove(&order.id);
                self.incidents.set_status(&order.incident, IncidentStatus::Dispatched);
                self.orders.list.entry(order.id.clone()).or_insert_with(|| order.clone());
                if let Some(township) = &env.township {
                    self.orders.townships.insert(order.id.clone(), township.clone());
                }
                self.follow_orders(&order.incident);
            }
            Body::DeliveryUpdated(u) => {
                if let Some(d) = self.orders.list.get_mut(&u.order).and_then(|o| o.delivery_mut(&u.key)) {
                    d.record(&u.key, u.state.clone(), u.at);
                }
            }
            Body::OrderEscalated(e) => {
                if let Some(o) = self.orders.list.get_mut(&e.order) {
                    o.apply_escalation(e);
                    if let Some(clock) = e.clock
                        && !self.orders.alerts.iter().any(|a| (&a.0, &a.1, a.2) == (&e.order, &e.unit, clock))
                    {
                        self.orders.alerts.push((e.order.clone(), e.unit.clone(), clock));
                    }
                }
            }
            Body::SatisfactionAsked(SatisfactionAsk { order, mobile }) => {
                if let Some(o) = self.orders.list.get_mut(order) {
                    o.satisfaction_asked = Some(mobile.clone());
                }
            }
            Body::OrderChanged(change) => {
                // Every change the log has counts as the order's last, taken effect or not: a
                // log checks a change against the same ([`Body::seen_change`]). One made on the
                // order as it no longer is (two sent at once, both logged) loses here, alike
                // on every reader.
                let changes = self.orders.changes.entry(change.order.clone()).or_default();
                let before = std::mem::replace(&mut changes.last, env.numbered_at());
                let Some(o) = self.orders.list.get_mut(&change.order) else { return true };
                let taken = match change.seen {
                    Some(seen) if seen != before => Err(Refusal::Late(seen)),
                    _ => o.apply_change(change.change, env.time).map_err(Refusal::Stage),
                };
                match taken {
                    Ok(()) => {
                        let at = env.numbered_at();
                        let applied = Applied { at, by: change.by.clone(), change: change.change, time: env.time };
                        changes.applied.push(applied);
                        let incident = o.incident.clone();
                        self.orders.alerts.retain(|a| a.0 != change.order);
                        self.follow_orders(&incident);
                    }
                    Err(why) => {
                        tracing::info!(order = %change.order, by = %change.by, ?why, "order change refused");
                        if mine {
                            self.orders.refused = Some(Refused { order: change.order.clone(), why });
                        }
                    }
                }
            }
            Body::OrderProgressed(progress) => self.on_progress(progress, env.time),
            _ => return false,
        }
        true
    }

    /// A unit's step from the hub's log.
    fn on_progress(&mut self, progress: &OrderProgress, at: DateTime<Utc>) {
        let Some(order) = self.orders.list.get_mut(&progress.order) else {
            tracing::debug!(order = %progress.order, "a step on an order this log never created");
            return;
        };
        // A report back's words and photos; a return's reason.
        let report = matches!(progress.step, Step::ReportedBack | Step::Returned)
            .then(|| (progress.note.clone(), progress.attachments.clone()));
        order.record_step(&progress.unit, progress.step, at, report);
        // A step done ends the alerts of its clocks; handing the order back (the last step in
        // the order of steps) ends them all.
        self.orders
            .alerts
            .retain(|(o, u, clock)| !(o == &progress.order && u == &progress.unit && clock.step() <= progress.step));
        let incident = order.incident.clone();
        self.follow_orders(&incident);
    }

    /// Sets an incident's status from its newest order's stage.
    pub(super) fn follow_orders(&mut self, incident: &str) {
        let Some(order) = self.orders.of_incident(incident).next() else { return };
        // Every unit handed it back: it waits for a dispatch again.
        if !order.units.is_empty() && order.units.iter().all(|u| !u.is_active()) {
            self.incidents.handed_back(incident);
            return;
        }
        let status = match order.stage() {
            Stage::Dispatched | Stage::Acknowledged => IncidentStatus::Dispatched,
            Stage::OnScene | Stage::Handling | Stage::ReportedBack => IncidentStatus::Handling,
            Stage::Closed | Stage::Archived => IncidentStatus::Closed,
        };
        self.incidents.set_status(incident, status);
    }

    /// The order `id` ([`order_id`]) the server builds for a request, created at the
    /// request's log time — so the same request always gives the same order, also when a
    /// restarted server builds it again. Units this center does not know and channels a unit
    /// has no contact for are left out; `None` if nothing is left.
    pub fn build_order(&self, id: String, at: DateTime<Utc>, draft: &DispatchDraft) -> Option<Order> {
        let mut units = vec![];
        for (unit_id, channels) in &draft.units {
            let Some(unit) = self.units.iter().find(|u| &u.id == unit_id) else { continue };
            let tier = plan::tier_clocks(unit.tier);
            // A plan's clocks are for its tier-1 units; tiers 2 and 3 keep their own.
            let own = if unit.tier == Tier::One { draft.clocks } else { PlanClocks::default() };
            let post = unit.on_duty(PostKind::A, at);
            let deliveries: Vec<Delivery> = channels
                .iter()
                .filter(|&&c| self.contact(unit_id, c, at).is_some())
                .map(|&channel| {
                    Delivery::queued(
                        channel,
                        Delivery::key_for(&id, unit_id, channel),
                        &mobiles(unit, channel, post),
                        at,
                    )
                })
                .collect();
            if deliveries.is_empty() {
                continue;
            }
            units.push(UnitOrder {
                unit: unit_id.clone(),
                tier: unit.tier,
                deliveries,
                steps: BTreeMap::new(),
                acknowledge_by: plan::deadline(own.acknowledge, tier.acknowledge, at).unwrap_or(at),
                on_scene_by: plan::deadline(own.on_scene, tier.on_scene, at),
                report_back_by: plan::deadline(own.report_back, tier.report_back, at),
                report: None,
                escalated: vec![],
                returned: None,
            });
        }
        if units.is_empty() {
            return None;
        }
        Some(Order {
            id,
            incident: draft.incident.clone(),
            plan: draft.plan.clone(),
            created: at,
            units,
            texts: ChannelKind::ALL.iter().map(|&c| (c, draft.texts.get(c).to_owned())).collect(),
            closed: None,
            reopened: 0,
            satisfaction_asked: None,
            archived: None,
        })
    }

    /// Where a dispatch at `at` reaches a unit on a channel: its A post on duty then (its
    /// mobiles, its radio), else the unit's own contacts; `None` where the channel has none.
    pub fn contact(&self, unit: &str, channel: ChannelKind, at: DateTime<Utc>) -> Option<Address> {
        let u = self.units.iter().find(|u| u.id == unit)?;
        address(u, channel, u.on_duty(PostKind::A, at))
    }

    /// The post a message of `order` goes to: the B post for a hand-over's message, else the A
    /// post — each as on duty when the order was made (under the roster in force now: a
    /// message handed to the outbox again after a roster change goes to the new posts).
    fn post_of<'a>(&'a self, unit: &'a LinkedUnit, key: &str, order: &Order) -> Option<&'a Post> {
        let kind = if key.ends_with(&format!("/{HAND_OVER}")) { PostKind::B } else { PostKind::A };
        unit.on_duty(kind, order.created)
    }

    /// Every message an order of the log stands for: each unit's deliveries (the first sends
    /// and the resends of its escalations), the leader's SMS for each missed clock, and the
    /// reporter's satisfaction request once asked. Each has its key, so the outbox, handed
    /// the same list twice, sends each once.
    pub fn messages_of(&self, order: &Order) -> Vec<Outgoing> {
        let mut out = vec![];
        for u in &order.units {
            let name = super::unit::name_of(&self.units, &u.unit);
            // A unit no longer configured is reached on no channel; its leader's SMS still goes.
            let unit = self.units.iter().find(|x| x.id == u.unit);
            for (unit, d) in unit.iter().flat_map(|unit| u.deliveries.iter().map(move |d| (*unit, d))) {
                let Some(address) = address(unit, d.channel, self.post_of(unit, &d.key, order)) else { continue };
                // An SMS to several numbers: one message each, to the numbers it was built for.
                let to: Vec<(String, Address)> = match d.recipients.is_empty() {
                    true => vec![(d.key.clone(), address)],
                    false => {
                        d.recipients.keys().map(|m| (d.recipient_key(m), Address::Mobiles(vec![m.clone()]))).collect()
                    }
                };
                let text = order.texts.get(&d.channel).map_or("", String::as_str).replace("{unit}", name);
                // A resend's key has a fourth part after the order's id: why it went again.
                let text = match d.key.strip_prefix(order.id.as_str()).unwrap_or(&d.key).split('/').nth(3) {
                    None => text,
                    Some(HAND_OVER) => format!("【B岗】{text}"),
                    Some(_) => format!("【催办】{text}"),
                };
                let details = (d.channel == ChannelKind::Order).then(|| self.work_details(order, u)).flatten();
                for (key, address) in to {
                    out.push(Outgoing {
                        key,
                        order: order.id.clone(),
                        incident: order.incident.clone(),
                        unit: u.unit.clone(),
                        channel: d.channel,
                        address,
                        text: text.clone(),
                        acknowledge_by: u.acknowledge_by,
                        details: details.clone().map(Box::new),
                    });
                }
            }
            if self.leader_sms.is_empty() {
                continue;
            }
            for clock in [ClockKind::Acknowledge, ClockKind::OnScene, ClockKind::ReportBack] {
                if !u.escalated.iter().any(|e| e == clock.code()) {
                    continue;
                }
                let text = format!(
                    "【{}】{} 未按时{}：派单 {}，事件 {}。",
                    self.center,
                    name,
                    clock_zh(clock),
                    order.id,
                    order.incident
                );
                let key = format!("{}/{}/leader/{}", order.id, u.unit, clock.code());
                out.push(self.sms(order, "leader", key, self.leader_sms.clone(), text));
            }
        }
        if let Some(mobile) = &order.satisfaction_asked {
            let text = format!(
                "【{}】您反映的事件（{}）已处置完毕。请回复数字 1–5 评价满意度（5 为非常满意）。",
                self.center, order.incident
            );
            let key = format!("{}/reporter/satisfaction", order.id);
            out.push(self.sms(order, "reporter", key, vec![mobile.clone()], text));
        }
        out
    }

    /// An SMS of an order to someone who is not one of its units.
    fn sms(&self, order: &Order, to: &str, key: String, mobiles: Vec<String>, text: String) -> Outgoing {
        Outgoing {
            key,
            order: order.id.clone(),
            incident: order.incident.clone(),
            unit: to.to_owned(),
            channel: ChannelKind::Sms,
            address: Address::Mobiles(mobiles),
            text,
            acknowledge_by: order.created,
            details: None,
        }
    }

    /// What a unit's seat is told of the incident of `order` and of its own clocks.
    fn work_details(&self, order: &Order, u: &UnitOrder) -> Option<WorkDetails> {
        let tracked = self.incidents.get(&order.incident)?;
        let report = &tracked.incident.report;
        let place = tracked.grid.and_then(|g| self.grids.grids.get(g)).map(|g| format!("{} · {}", g.village, g.name));
        // Within the protocol's limits whatever the report said (a kind this center's list lacks
        // is named by its code).
        let cut = |text: &str, most: usize| text.chars().take(most).collect::<String>();
        let kind_name = self.kinds.get(&report.kind).map_or(report.kind.as_str(), |k| k.zh.as_str());
        Some(WorkDetails {
            kind: report.kind.clone(),
            kind_name: cut(kind_name, 64),
            severity: report.severity,
            location: report.location,
            place: cut(&place.unwrap_or_default(), 200),
            reported_at: tracked.incident.reported_at,
            report: cut(&report.text, 4000),
            tier: u.tier,
            on_scene_by: u.on_scene_by,
            report_back_by: u.report_back_by,
        })
    }

    /// The clocks that have run out (or whose reminder is due) at `now` and were not yet
    /// escalated, as the events the server logs: each resends the order on the channels the
    /// unit was not reached on.
    pub fn escalations_due(&self, now: DateTime<Utc>) -> Vec<OrderEscalation> {
        let mut out = vec![];
        for order in self.orders.list.values() {
            let mut probe = order.clone();
            for e in clock::escalate(&mut probe, now) {
                let (unit, channels, what, clock) = match e {
                    Escalation::Resend { unit, channels, clock, .. } => {
                        (unit, channels, clock.code().to_owned(), Some(clock))
                    }
                    Escalation::Remind { unit, .. } => {
                        (unit, vec![ChannelKind::Sms], "remind/acknowledge".to_owned(), None)
                    }
                };
                let why = what.replace('/', "-");
                let deliveries = channels
                    .into_iter()
                    .filter(|&c| self.contact(&unit, c, order.created).is_some())
                    .map(|channel| {
                        let key = format!("{}/{why}", Delivery::key_for(&order.id, &unit, channel));
                        let to = self
                            .units
                            .iter()
                            .find(|u| u.id == unit)
                            .map(|u| mobiles(u, channel, self.post_of(u, &key, order)));
                        Delivery::queued(channel, key, &to.unwrap_or_default(), now)
                    })
                    .collect();
                out.push(OrderEscalation { order: order.id.clone(), unit, what, clock, deliveries, to: None });
            }
            out.extend(order.units.iter().filter_map(|u| self.hand_over_due(order, u, now)));
        }
        out
    }

    /// A/B posts: an order the A post has not signed for within the hand-over share of its
    /// acknowledge clock goes, once, to the B post on duty, on every channel it went out on.
    /// Only for a unit whose roster names both posts at the time of the dispatch.
    fn hand_over_due(&self, order: &Order, u: &UnitOrder, now: DateTime<Utc>) -> Option<OrderEscalation> {
        if order.closed.is_some()
            || !u.is_active()
            || u.steps.contains_key(&Step::Acknowledged)
            || u.escalated.iter().any(|e| e == HAND_OVER)
        {
            return None;
        }
        let unit = self.units.iter().find(|x| x.id == u.unit)?;
        unit.on_duty(PostKind::A, order.created)?;
        let b = unit.on_duty(PostKind::B, order.created)?;
        let span = (u.acknowledge_by - order.created).num_milliseconds() as f64;
        let share = self.hand_over_at.unwrap_or(HAND_OVER_AT).clamp(0.0, 1.0);
        if now < order.created + chrono::Duration::milliseconds((span * share) as i64) {
            return None;
        }
        let channels: BTreeSet<ChannelKind> = u.deliveries.iter().map(|d| d.channel).collect();
        let deliveries = channels
            .into_iter()
            .filter(|&c| address(unit, c, Some(b)).is_some())
            .map(|channel| {
                let key = format!("{}/{HAND_OVER}", Delivery::key_for(&order.id, &u.unit, channel));
                Delivery::queued(channel, key, &mobiles(unit, channel, Some(b)), now)
            })
            .collect();
        Some(OrderEscalation {
            order: order.id.clone(),
            unit: u.unit.clone(),
            what: HAND_OVER.to_owned(),
            clock: None,
            deliveries,
            to: Some(b.name.clone()),
        })
    }

    /// Reported-back orders whose reporter left a mobile and was not asked yet: (order, mobile).
    pub fn satisfaction_due(&self) -> Vec<SatisfactionAsk> {
        self.orders
            .list
            .values()
            .filter(|o| o.satisfaction_asked.is_none() && o.stage() == Stage::ReportedBack)
            .filter_map(|o| {
                let mobile = self.incidents.get(&o.incident)?.incident.report.reporter_mobile.clone()?;
                Some(SatisfactionAsk { order: o.id.clone(), mobile })
            })
            .collect()
    }

    /// A reporter's SMS: the first digit 1–5 is the satisfaction with the order the center
    /// asked them about (the newest such order still waiting for it): (order, satisfaction).
    pub fn satisfaction_reply(&self, from: &str, text: &str) -> Option<(String, u8)> {
        let Some(stars) = text.chars().find_map(|c| c.to_digit(10)).filter(|d| (1..=5).contains(d)) else {
            tracing::info!(%from, "an SMS that is not a satisfaction (1–5)");
            return None;
        };
        let waiting = self
            .orders
            .list
            .values()
            .rev()
            .find(|o| o.satisfaction_asked.as_deref() == Some(from) && o.stage() == Stage::ReportedBack);
        match waiting {
            Some(order) => Some((order.id.clone(), stars as u8)),
            None => {
                tracing::info!(%from, "a satisfaction for no order waiting for one");
                None
            }
        }
    }

    /// Every clock still running, soonest first: the "orders at risk" strip shows the risky ones.
    pub fn running_clocks(&self, now: DateTime<Utc>) -> Vec<clock::Running> {
        let mut all: Vec<clock::Running> = self.orders.list.values().flat_map(|o| clock::running(o, now)).collect();
        all.sort_by_key(|r| r.due);
        all
    }
}

/// The mobiles an SMS to `unit` goes to (the post's, else the unit's); none for the other
/// channels.
fn mobiles(unit: &LinkedUnit, channel: ChannelKind, post: Option<&Post>) -> Vec<String> {
    match address(unit, channel, post) {
        Some(Address::Mobiles(mobiles)) => mobiles,
        _ => vec![],
    }
}

/// Where a message to `unit` on `channel` goes: the post's mobiles and radio where it has them,
/// else the unit's own.
fn address(unit: &LinkedUnit, channel: ChannelKind, post: Option<&Post>) -> Option<Address> {
    match channel {
        ChannelKind::Order => Some(Address::Terminal(unit.id.clone())),
        ChannelKind::Sms => {
            let mobiles = post.map(|p| &p.mobiles).filter(|m| !m.is_empty()).unwrap_or(&unit.sms);
            (!mobiles.is_empty()).then(|| Address::Mobiles(mobiles.clone()))
        }
        ChannelKind::Radio => post.and_then(|p| p.radio.clone()).or(unit.radio.clone()).map(Address::Radio),
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

#[cfg(test)]
mod tests {
    use linkage_protocol::order::fixtures::{at, order};
    use linkage_protocol::{Body, Envelope, ErrorCode, FeedUpdate, OrderChange, Step};

    use super::{Refusal, Refused};
    use crate::{Command, Core, Effect};

    /// A seat that holds D1, whose one unit has reported back (it may be closed).
    fn seat() -> Core {
        let mut core = Core::default();
        let mut d1 = order(&["police"]);
        d1.record_step("police", Step::ReportedBack, at(20), None);
        core.on_feed(FeedUpdate::Event(Envelope::new(1, Body::OrderCreated(d1))));
        core
    }

    /// What `seat` sends for `command`: one change of an order.
    fn sent(seat: &mut Core, command: Command) -> OrderChange {
        match seat.apply_at(command, at(30)).as_slice() {
            [Effect::Send(Body::ChangeOrder(change))] => change.clone(),
            other => panic!("not one change: {other:?}"),
        }
    }

    /// Every seat reads `change` from the log at `seq`, signed by `by`.
    fn logged(seats: &mut [&mut Core], seq: u64, change: &OrderChange, by: &str) {
        let change = OrderChange { by: by.into(), ..change.clone() };
        for seat in seats {
            seat.on_feed(FeedUpdate::Event(Envelope::new(seq, Body::OrderChanged(change.clone()))));
        }
    }

    #[test]
    fn of_two_changes_made_on_an_order_as_both_saw_it_the_first_logged_wins_alike_on_every_seat() {
        let (mut a, mut b) = (seat(), seat());
        let first = sent(&mut a, Command::CloseOrder { order: "D1".into(), satisfaction: 5 });
        let second = sent(&mut b, Command::CloseOrder { order: "D1".into(), satisfaction: 2 });
        assert_eq!((first.seen, second.seen), (Some(0), Some(0)), "both saw no change yet");
        // The log took both (nats-server 2.9 may, two sent at once): the later loses.
        logged(&mut [&mut a, &mut b], 2, &first, "值班员甲");
        logged(&mut [&mut a, &mut b], 3, &second, "值班员乙");
        for seat in [&a, &b] {
            assert_eq!(seat.orders.list["D1"].closed.map(|c| c.0), Some(5), "the first close stands");
            let changes = &seat.orders.changes["D1"];
            assert_eq!(changes.last, 3, "the refused change is the last one logged");
            let applied: Vec<(u64, &str)> = changes.applied.iter().map(|a| (a.at, a.by.as_str())).collect();
            assert_eq!(applied, [(2, "值班员甲")]);
            assert!(seat.orders.changing.is_empty());
        }
        assert_eq!(a.orders.refused, None, "a's change took effect");
        let late = Some(Refused { order: "D1".into(), why: Refusal::Late(0) });
        assert_eq!(b.orders.refused, late, "b is told its did not");
        let first = b.orders.changes["D1"].first_after(0).map(|a| (a.at, a.by.as_str()));
        assert_eq!(first, Some((2, "值班员甲")), "and what beat it");
        // b, having seen it, archives the order: made on the last change, it takes effect, and
        // b's card no longer shows its close refused. A second click while it is on its way
        // sends nothing.
        let archive = sent(&mut b, Command::ArchiveOrder("D1".into()));
        assert_eq!(archive.seen, Some(3));
        assert_eq!(b.orders.refused, None);
        assert!(b.apply_at(Command::ArchiveOrder("D1".into()), at(31)).is_empty());
        logged(&mut [&mut a, &mut b], 4, &archive, "值班员乙");
        assert!(a.orders.list["D1"].archived.is_some() && b.orders.list["D1"].archived.is_some());
    }

    #[test]
    fn a_change_the_log_refused_as_made_too_late_is_shown_on_its_order_and_no_longer_on_its_way() {
        let mut seat = seat();
        let close = sent(&mut seat, Command::CloseOrder { order: "D1".into(), satisfaction: 4 });
        assert!(seat.orders.changing("D1"));
        let key = Some(format!("change/{}", close.key));
        seat.on_feed(FeedUpdate::Refused { code: ErrorCode::Conflict, reason: "changed again".into(), key });
        assert!(!seat.orders.changing("D1"));
        assert_eq!(seat.orders.refused, Some(Refused { order: "D1".into(), why: Refusal::Late(0) }));
        assert_eq!(seat.orders.list["D1"].closed, None);
        // What beat it is not read yet; when it is, the seat can name it.
        assert_eq!(seat.orders.changes.get("D1").and_then(|c| c.first_after(0)), None);
        let theirs = OrderChange { key: "theirs".into(), by: "值班员丙".into(), ..close };
        seat.on_feed(FeedUpdate::Event(Envelope::new(5, Body::OrderChanged(theirs))));
        assert_eq!(seat.orders.changes["D1"].first_after(0).map(|a| a.by.as_str()), Some("值班员丙"));
    }
}
