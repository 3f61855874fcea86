//! The outbox task: it writes every dispatch to the store before anything leaves, sends each
//! message on its channel, records each receipt, retries failures with back-off, and tells
//! Core what happened. A channel that is down holds nobody else: each message has its own task,
//! so the order goes out on the others and is shown partial while the retries continue.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use streams::Waker;
use tokio::sync::mpsc;

use super::{Channel, ChannelError, Late};
use crate::core::dispatch::{DeliveryReport, Outgoing};
use crate::core::order::{ChannelKind, DeliveryState, Order};
use crate::store::Store;

/// How often a receipt that matches no message yet is looked up again (over about a minute).
const LATE_RETRIES: u32 = 6;

/// Work for the outbox.
#[derive(Debug)]
pub enum Job {
    /// Store the order and its messages, then send them.
    Dispatch { order: Order, outgoing: Vec<Outgoing> },
    /// Store and send one message outside a unit's order (the leader's notice).
    Notify(Outgoing),
    /// Store an order's new state with an audit line.
    Record(Order, String),
}

/// The owner's end of the outbox task.
#[derive(Clone)]
pub struct Outbox {
    jobs: mpsc::UnboundedSender<Job>,
}

type Shared = Arc<Mutex<Store>>;

/// Everything one send needs.
#[derive(Clone)]
struct Link {
    store: Shared,
    channels: Arc<HashMap<ChannelKind, Arc<dyn Channel>>>,
    reports: mpsc::UnboundedSender<DeliveryReport>,
    waker: Waker,
}

impl Link {
    fn tell(&self, report: DeliveryReport) {
        let _ = self.reports.send(report);
        (self.waker)();
    }

    /// Runs `work` on the store on a blocking thread: a commit waits for the disk (an fsync),
    /// and the runtime's workers carry the sockets.
    async fn on_store<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<R, String> + Send + 'static,
    ) -> Result<R, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite half-written (transactions),
            // so a poisoned lock is still a usable store.
            work(&mut store.lock().unwrap_or_else(|p| p.into_inner()))
        })
        .await
        .map_err(|e| format!("store task: {e}"))?
    }
}

impl Outbox {
    /// Opens the store in `dir`, restores the orders, resends what has no receipt, and serves
    /// jobs. `late` brings receipts that arrive after a send.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        dir: PathBuf,
        channels: Vec<Arc<dyn Channel>>,
        late: mpsc::UnboundedReceiver<Late>,
        reports: mpsc::UnboundedSender<DeliveryReport>,
        waker: Waker,
    ) -> Outbox {
        let (jobs, queue) = mpsc::unbounded_channel();
        runtime.spawn(run(dir, channels, queue, late, reports, waker));
        Outbox { jobs }
    }

    pub fn submit(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::error!("the outbox has stopped; the job is lost");
        }
    }
}

async fn run(
    dir: PathBuf,
    channels: Vec<Arc<dyn Channel>>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    mut late: mpsc::UnboundedReceiver<Late>,
    reports: mpsc::UnboundedSender<DeliveryReport>,
    waker: Waker,
) {
    let store = match tokio::task::spawn_blocking(move || Store::open(&dir)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console store cannot open; dispatch is off");
            let _ = reports.send(DeliveryReport::Trouble(e));
            waker();
            return;
        }
        Err(e) => {
            let _ = reports.send(DeliveryReport::Trouble(e.to_string()));
            return;
        }
    };
    let link = Link {
        store: Arc::new(Mutex::new(store)),
        channels: Arc::new(channels.into_iter().map(|c| (c.kind(), c)).collect()),
        reports,
        waker,
    };
    let restored = link.on_store(|store| Ok((store.orders()?, store.unsent()?))).await;
    match restored {
        Ok((orders, unsent)) => {
            tracing::info!(orders = orders.len(), unsent = unsent.len(), "outbox restored");
            link.tell(DeliveryReport::Restored(orders));
            for (msg, attempts) in unsent {
                tokio::spawn(deliver(link.clone(), msg, attempts));
            }
        }
        Err(e) => link.tell(DeliveryReport::Trouble(e)),
    }
    // A receipt can overtake the send's own record (an SMSC answers in milliseconds): one that
    // matches no message yet is looked up again a few times before it is given up.
    let (again, mut retries) = mpsc::unbounded_channel::<(Late, u32)>();
    // Without an owner no new jobs come, but receipts for what was sent still do.
    let mut owned = true;
    loop {
        tokio::select! {
            job = queue.recv(), if owned => {
                let Some(job) = job else {
                    owned = false;
                    continue;
                };
                let now = Utc::now();
                match job {
                    Job::Dispatch { order, outgoing } => {
                        let (o, m) = (order.clone(), outgoing.clone());
                        if let Err(e) = link.on_store(move |s| s.put_dispatch(&o, &m, now)).await {
                            // Not written, not sent: the officer must know the dispatch failed.
                            link.tell(DeliveryReport::Trouble(format!("dispatch {} not stored: {e}", order.id)));
                            continue;
                        }
                        for msg in outgoing {
                            tokio::spawn(deliver(link.clone(), msg, 0));
                        }
                    }
                    Job::Notify(msg) => {
                        let m = msg.clone();
                        match link.on_store(move |s| s.put_message(&m, now)).await {
                            Ok(()) => { tokio::spawn(deliver(link.clone(), msg, 0)); }
                            Err(e) => link.tell(DeliveryReport::Trouble(format!("notice {} not stored: {e}", msg.key))),
                        }
                    }
                    Job::Record(order, what) => {
                        let o = order.clone();
                        if let Err(e) = link.on_store(move |s| s.put_order(&o, &what, now)).await {
                            link.tell(DeliveryReport::Trouble(format!("order {} not stored: {e}", order.id)));
                        }
                    }
                }
            }
            Some((late, tries)) = async {
                tokio::select! {
                    Some(r) = late.recv() => Some((r, 0)),
                    Some(r) = retries.recv() => Some(r),
                    else => None,
                }
            } => {
                let receipt = match &late {
                    Late::Receipt { receipt, .. } => receipt.clone(),
                    Late::Reply { from, text } => {
                        link.tell(DeliveryReport::Reply { from: from.clone(), text: text.clone(), at: Utc::now() });
                        continue;
                    }
                };
                let r = receipt.clone();
                let found = link.on_store(move |s| s.key_of_receipt(&r)).await;
                match found {
                    Ok(Some((key, order))) => {
                        if matches!(late, Late::Receipt { delivered: true, .. }) {
                            record(&link, &order, &key, DeliveryState::Delivered { receipt }).await;
                        } else {
                            tracing::warn!(%key, %receipt, "the peer reports the message undelivered");
                        }
                    }
                    Ok(None) if tries < LATE_RETRIES => {
                        let again = again.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(streams::backoff(tries + 1)).await;
                            let _ = again.send((late, tries + 1));
                        });
                    }
                    Ok(None) => tracing::debug!(%receipt, "receipt for no message of ours"),
                    Err(e) => link.tell(DeliveryReport::Trouble(e)),
                }
            }
        }
    }
}

/// Sends one message until a peer takes it, recording every attempt. A channel this console
/// has not configured fails once and is not retried (until the next start, when it may be).
async fn deliver(link: Link, msg: Outgoing, mut attempts: u32) {
    let Some(channel) = link.channels.get(&msg.channel).cloned() else {
        let error = format!("the {} channel is not configured", msg.channel.code());
        record(&link, &msg.order, &msg.key, DeliveryState::Failed { error, attempts: attempts + 1 }).await;
        return;
    };
    loop {
        let result = channel.send(&msg).await;
        let state = match result {
            Ok(receipt) if receipt.delivered => DeliveryState::Delivered { receipt: receipt.id },
            Ok(receipt) => DeliveryState::Sent { receipt: receipt.id },
            Err(ChannelError(error)) => {
                attempts += 1;
                tracing::warn!(key = %msg.key, %error, attempts, "send failed; retrying");
                DeliveryState::Failed { error, attempts }
            }
        };
        let failed = matches!(state, DeliveryState::Failed { .. });
        record(&link, &msg.order, &msg.key, state).await;
        if !failed {
            return;
        }
        tokio::time::sleep(streams::backoff(attempts)).await;
    }
}

/// Stores a message's new state, then tells Core.
async fn record(link: &Link, order: &str, key: &str, state: DeliveryState) {
    let now = Utc::now();
    let (k, s) = (key.to_owned(), state.clone());
    if let Err(e) = link.on_store(move |store| store.mark(&k, &s, now)).await {
        link.tell(DeliveryReport::Trouble(format!("receipt of {key} not stored: {e}")));
    }
    link.tell(DeliveryReport::State { order: order.to_owned(), key: key.to_owned(), state, at: now });
}
