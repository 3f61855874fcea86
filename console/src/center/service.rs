//! The dispatch service: a client of the hub in the `center` role that follows the whole log
//! into the same rules every seat folds it with (`crate::core`), and acts on what only the
//! server may act on.
//!
//! - A `dispatch_requested` becomes an `order_created` (id `D` + the request's sequence
//!   number: the same request always gives the same order, so a restarted service that builds
//!   it again builds the same one, and the hub keeps it once).
//! - An `order_created`, `order_escalated` or `satisfaction_asked` hands the order's messages
//!   to the outbox, which stores each before it leaves and sends each once.
//! - What the outbox achieves is logged as `delivery_updated`; an SMS answer from a reporter
//!   closes the order (`change_order`).
//! - Every second the clocks run: missed ones are logged as `order_escalated` (the resend and
//!   the leader's SMS follow from it), reported-back orders get `satisfaction_asked`, and an
//!   alarm no seat acknowledged in time is logged as `alarm_paged` (the on-call officer on
//!   duty, then the leader) and sent by SMS and radio; an SMS answer from a paged mobile
//!   acknowledges the alarm (`page_answered`).
//!
//! It acts only once it has caught up with the log (the hub's `replayed`), and then first does
//! what a crash may have left half done: requests without an order, orders whose messages were
//! never stored or whose receipts were stored but not logged. Everything it logs has a dedup
//! key at the hub, and everything it sends has an idempotency key at the peer, so doing it
//! again does nothing twice.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use streams::feed::{
    Body, Change, ChannelKind, ChannelTestResult, DeliveryState, DeliveryUpdate, Envelope, FeedUpdate, OrderChange,
    Role, SatisfactionAsk,
};
use tokio::sync::mpsc;

use crate::center::channels::outbox::{DeliveryReport, Outbox};
use crate::config::Config;
use crate::core::Core;
use crate::core::channel_health;
use crate::core::order::Stage;
use crate::journal::HubFeed;

/// How often the clocks run.
const TICK: Duration = Duration::from_secs(1);

/// The running service; dropping it stops it.
pub struct DispatchService {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DispatchService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The hub the service works for: its URL, the service's `center` token and the order
/// channel's `dispatcher` token.
pub struct HubAccess<'a> {
    pub url: &'a str,
    pub center_token: &'a str,
    pub dispatcher_token: &'a str,
    /// The site CA, when the hub serves wss.
    pub trust: Option<streams::feed::tls::Trust>,
}

impl DispatchService {
    /// Starts the service for the township of `config`, keeping its journal and outbox in
    /// `dir`. `sms` is the SMS gateway when the config names none (the demo's simulated one).
    pub fn start(
        config: &Config,
        sms: Option<crate::config::SmsGateway>,
        hub: HubAccess<'_>,
        dir: &Path,
        runtime: &tokio::runtime::Handle,
    ) -> Result<DispatchService, String> {
        let feed = crate::journal::follow(
            dir,
            (hub.url, hub.center_token, Role::Center, hub.trust.clone()),
            runtime,
            streams::no_waker(),
        )?;
        let mut settings = config.dispatch.clone();
        if settings.sms.is_none() && settings.cmpp.is_none() && settings.http_sms.is_none() {
            match sms {
                Some(crate::config::SmsGateway::Smpp(smsc)) => settings.sms = Some(smsc),
                Some(crate::config::SmsGateway::Cmpp(gateway)) => settings.cmpp = Some(gateway),
                Some(crate::config::SmsGateway::Http(service)) => settings.http_sms = Some(service),
                None => {}
            }
        }
        let (channels, late) =
            crate::center::channels::open(&settings, Some((hub.url, hub.dispatcher_token, hub.trust)), runtime);
        let (reports, told) = mpsc::unbounded_channel();
        let outbox = Outbox::start(runtime, dir.to_owned(), channels, late, reports, streams::no_waker());
        let channel_tests_every = chrono::Duration::days(config.dispatch.channel_tests_every_days.into());
        let service = Service { core: config.core(), channel_tests_every, feed, outbox, published: HashSet::new() };
        let task = runtime.spawn(service.run(told));
        Ok(DispatchService { task })
    }
}

struct Service {
    core: Core,
    /// How often the units' channels are tested on a schedule (zero: never).
    channel_tests_every: chrono::Duration,
    feed: HubFeed,
    outbox: Outbox,
    /// What was sent to the hub and is not yet back in the log (by its dedup key), so it is not
    /// sent again every second.
    published: HashSet<String>,
}

impl Service {
    async fn run(mut self, mut told: mpsc::UnboundedReceiver<DeliveryReport>) {
        for event in std::mem::take(&mut self.feed.restored) {
            self.core.on_feed(FeedUpdate::Event(event));
        }
        let mut caught_up = false;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                update = self.feed.updates.recv() => match update {
                    None => return,
                    Some(FeedUpdate::Event(event)) => {
                        self.core.on_feed(FeedUpdate::Event(event.clone()));
                        if caught_up {
                            self.react(&event);
                        }
                    }
                    Some(FeedUpdate::Replayed { head }) => {
                        if !caught_up {
                            caught_up = true;
                            tracing::info!(head, orders = self.core.orders.list.len(), "dispatch service caught up");
                            self.catch_up();
                        }
                    }
                    Some(other) => self.core.on_feed(other),
                },
                Some(report) = told.recv() => self.on_report(report),
                _ = tick.tick(), if caught_up => self.run_clocks(chrono::Utc::now()),
            }
        }
    }

    /// Sends a message to the hub once (until the log has it).
    fn publish(&mut self, key: String, body: Body) {
        if self.published.insert(key) {
            self.feed.send(body);
        }
    }

    /// What a new event of the log asks of the service.
    fn react(&mut self, event: &Envelope) {
        match &event.body {
            Body::DispatchRequested(_) => self.build_requested(),
            Body::OrderCreated(o) => {
                self.published.remove(&format!("created/{}", o.id));
                self.send_messages(&o.id);
            }
            Body::OrderEscalated(e) => {
                self.published.remove(&format!("escalated/{}/{}/{}", e.order, e.unit, e.what));
                self.send_messages(&e.order);
            }
            Body::SatisfactionAsked(SatisfactionAsk { order, .. }) => {
                self.published.remove(&format!("asked/{order}"));
                self.send_messages(order);
            }
            Body::AlarmPaged(page) => {
                self.published.remove(&format!("paged/{}/{:?}", page.incident, page.level));
                self.outbox.send(self.core.page_messages(page));
            }
            Body::ChannelTestRequested(request) => {
                self.published.remove(&format!("test/{}", request.key));
                let run = event.numbered_at();
                tracing::info!(run, unit = ?request.unit, by = %request.by, "channel test");
                self.outbox.send(self.core.test_messages(run));
            }
            _ => {}
        }
    }

    /// After the replay: what a crash may have left half done.
    fn catch_up(&mut self) {
        self.build_requested();
        let open: Vec<String> =
            self.core.orders.list.values().filter(|o| o.stage() < Stage::Closed).map(|o| o.id.clone()).collect();
        for id in open {
            self.send_messages(&id);
        }
        let ringing: Vec<_> =
            self.core.alarms.iter().filter_map(|i| self.core.pages.get(i)).flatten().cloned().collect();
        for page in ringing {
            self.outbox.send(self.core.page_messages(&page));
        }
        // Test runs of the last day, in case a crash fell before their messages were stored
        // (the outbox sends none of them twice).
        let recent = chrono::Utc::now() - chrono::Duration::days(1);
        let runs: Vec<u64> =
            self.core.channel_health.runs.iter().filter(|(_, (_, at))| *at > recent).map(|(seq, _)| *seq).collect();
        for run in runs {
            self.outbox.send(self.core.test_messages(run));
        }
        self.run_clocks(chrono::Utc::now());
    }

    /// Builds the order of every request that has none yet, and logs it.
    fn build_requested(&mut self) {
        let requested: Vec<_> =
            self.core.orders.requested.iter().map(|(id, (r, at))| (id.clone(), r.draft.clone(), *at)).collect();
        for (id, draft, at) in requested {
            match self.core.build_order(id.clone(), at, &draft) {
                Some(order) => self.publish(format!("created/{}", order.id), Body::OrderCreated(order)),
                None => {
                    tracing::warn!(order = %id, incident = %draft.incident, "a dispatch with no unit this center can reach");
                    self.core.orders.requested.remove(&id);
                }
            }
        }
    }

    /// Hands every message of an order to the outbox (it sends each once).
    fn send_messages(&self, order: &str) {
        if let Some(o) = self.core.orders.list.get(order) {
            self.outbox.send(self.core.messages_of(o));
        }
    }

    /// Missed clocks, reminders and satisfaction requests due at `now`.
    fn run_clocks(&mut self, now: chrono::DateTime<chrono::Utc>) {
        for e in self.core.escalations_due(now) {
            tracing::warn!(order = %e.order, unit = %e.unit, what = %e.what, "clock escalated");
            self.publish(format!("escalated/{}/{}/{}", e.order, e.unit, e.what), Body::OrderEscalated(e));
        }
        for ask in self.core.satisfaction_due() {
            self.publish(format!("asked/{}", ask.order), Body::SatisfactionAsked(ask));
        }
        if let Some(request) = self.core.channel_tests_due(now, self.channel_tests_every) {
            self.publish(format!("test/{}", request.key), Body::TestChannels(request));
        }
        for page in self.core.pages_due(now) {
            tracing::warn!(incident = %page.incident, to = %page.to, "alarm unanswered: paging");
            self.publish(format!("paged/{}/{:?}", page.incident, page.level), Body::AlarmPaged(page));
        }
    }

    fn on_report(&mut self, report: DeliveryReport) {
        match report {
            // A channel test's message: its outcome is the channel's health.
            DeliveryReport::State { order, key, state, .. } if channel_health::run_of(&order).is_some() => {
                let mut parts = key.split('/').skip(1);
                // `T…/UNIT/CHANNEL`, `#MOBILE` after it for one number of an SMS.
                let unit = parts.next();
                let channel = parts.next().and_then(|c| ChannelKind::from_code(c.split('#').next().unwrap_or(c)));
                let (Some(unit), Some(channel)) = (unit, channel) else {
                    return;
                };
                let (ok, detail) = match state {
                    DeliveryState::Queued => return,
                    DeliveryState::Sent { receipt } | DeliveryState::Delivered { receipt } => (true, receipt),
                    DeliveryState::Failed { error, .. } => (false, error),
                };
                let result = ChannelTestResult { run: order, unit: unit.to_owned(), channel, ok, detail };
                self.feed.send(Body::ChannelTested(result));
            }
            DeliveryReport::State { order, key, state, at } => {
                // Logged unless the log already has this state (a message handed over again).
                let logged = self.core.orders.list.get(&order).and_then(|o| o.message_state(&key).cloned());
                if logged.as_ref() != Some(&state) {
                    self.feed.send(Body::DeliveryUpdated(DeliveryUpdate { order, key, state, at }));
                }
            }
            DeliveryReport::Trouble(text) => tracing::error!(%text, "outbox trouble"),
            DeliveryReport::Reply { from, text, at } => {
                // A paged person's answer acknowledges the alarm; a reporter's is a satisfaction.
                if let Some((incident, by)) = self.core.page_answer(&from) {
                    tracing::info!(%incident, %by, "page answered by SMS");
                    self.feed.send(Body::PageAnswered { incident, by });
                } else if let Some((order, satisfaction)) = self.core.satisfaction_reply(&from, &text) {
                    let key = format!("sms/{from}/{}", at.timestamp_millis());
                    // The reporter answered what they were asked: the order's stage alone
                    // decides, whatever a seat did meanwhile.
                    let change = OrderChange {
                        key,
                        order,
                        change: Change::Close { satisfaction },
                        by: String::new(),
                        seen: None,
                    };
                    self.feed.send(Body::ChangeOrder(change));
                }
            }
        }
    }
}
