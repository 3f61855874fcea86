//! The center's outbox: every message is written to the store before it leaves, sent on its
//! channel, each receipt recorded, failures retried with back-off; what happens is reported to
//! the dispatch service, which logs it. A channel that is down holds nobody else: each message
//! has its own task, so the order goes out on the others and is shown partial while the
//! retries continue.
//!
//! The service hands over the messages an order of the log stands for, as often as it likes
//! (at every start, after every escalation): a message already in the store is not stored
//! again, one with a receipt is not sent again — its stored state is reported instead, so a
//! state recorded just before a crash still reaches the log — and one already being sent is
//! left to its task.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use streams::Waker;
use tokio::sync::mpsc;

use super::{Channel, ChannelError, Late};
use crate::center::store::Store;
use crate::core::dispatch::Outgoing;
use crate::core::order::{ChannelKind, DeliveryState};

/// How often a receipt that matches no message yet is looked up again (over about a minute).
const LATE_RETRIES: u32 = 6;

/// What the outbox tells the dispatch service.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryReport {
    /// A message's state (new, or as stored when the message was handed over again).
    State { order: String, key: String, state: DeliveryState, at: DateTime<Utc> },
    /// The store or a channel could not be used; the text says what and where.
    Trouble(String),
    /// An SMS from a handset: a reporter answering the satisfaction request.
    Reply { from: String, text: String, at: DateTime<Utc> },
}

/// The owner's end of the outbox task; dropping it stops the task and every send in flight
/// (what they had not recorded goes out again at the next start).
pub struct Outbox {
    jobs: mpsc::UnboundedSender<Vec<Outgoing>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Store>>;

/// Everything one send needs.
#[derive(Clone)]
struct Link {
    store: Shared,
    channels: Arc<HashMap<ChannelKind, Arc<dyn Channel>>>,
    reports: mpsc::UnboundedSender<DeliveryReport>,
    waker: Waker,
    /// Keys of the messages a task is sending now.
    sending: Arc<Mutex<HashSet<String>>>,
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

    /// Marks `key` as being sent; false if a task already is.
    fn claim(&self, key: &str) -> bool {
        self.sending.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned())
    }

    fn release(&self, key: &str) {
        self.sending.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

impl Outbox {
    /// Opens the store in `dir` and serves what it is handed. `late` brings receipts that
    /// arrive after a send.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        dir: PathBuf,
        channels: Vec<Arc<dyn Channel>>,
        late: mpsc::UnboundedReceiver<Late>,
        reports: mpsc::UnboundedSender<DeliveryReport>,
        waker: Waker,
    ) -> Outbox {
        let (jobs, queue) = mpsc::unbounded_channel();
        let task = runtime.spawn(run(dir, channels, queue, late, reports, waker));
        Outbox { jobs, task }
    }

    /// Stores these messages (those not stored yet) and sends those without a receipt.
    pub fn send(&self, messages: Vec<Outgoing>) {
        if messages.is_empty() {
            return;
        }
        if self.jobs.send(messages).is_err() {
            tracing::error!("the outbox has stopped; the messages wait in the log for the next start");
        }
    }
}

async fn run(
    dir: PathBuf,
    channels: Vec<Arc<dyn Channel>>,
    mut queue: mpsc::UnboundedReceiver<Vec<Outgoing>>,
    mut late: mpsc::UnboundedReceiver<Late>,
    reports: mpsc::UnboundedSender<DeliveryReport>,
    waker: Waker,
) {
    let store = match tokio::task::spawn_blocking(move || Store::open(&dir)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "outbox store cannot open; dispatch is off");
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
        sending: Arc::default(),
    };
    // A receipt can overtake the send's own record (an SMSC answers in milliseconds): one that
    // matches no message yet is looked up again a few times before it is given up.
    let (again, mut retries) = mpsc::unbounded_channel::<(Late, u32)>();
    // Without an owner no new messages come, but receipts for what was sent still do.
    let mut owned = true;
    // The sends in flight, each a task of its own, stopped with this one.
    let mut sending = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = sending.join_next(), if !sending.is_empty() => {}
            job = queue.recv(), if owned => {
                let Some(messages) = job else {
                    owned = false;
                    continue;
                };
                let now = Utc::now();
                let m = messages.clone();
                match link.on_store(move |s| s.put_messages(&m, now)).await {
                    Ok(stored) => {
                        for (msg, (state, at)) in messages.into_iter().zip(stored) {
                            match state {
                                DeliveryState::Queued | DeliveryState::Failed { .. } => {
                                    let attempts = match state { DeliveryState::Failed { attempts, .. } => attempts, _ => 0 };
                                    if link.claim(&msg.key) {
                                        sending.spawn(deliver(link.clone(), msg, attempts));
                                    }
                                }
                                state => link.tell(DeliveryReport::State { order: msg.order, key: msg.key, state, at }),
                            }
                        }
                    }
                    // Not written, not sent: the service hands them over again at its next start.
                    Err(e) => link.tell(DeliveryReport::Trouble(format!("{} messages not stored: {e}", messages.len()))),
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

/// Sends one message until a peer takes it, recording every attempt. A channel this center
/// has not configured fails once and is not retried (until the next start, when it may be).
async fn deliver(link: Link, msg: Outgoing, mut attempts: u32) {
    let Some(channel) = link.channels.get(&msg.channel).cloned() else {
        let error = format!("the {} channel is not configured", msg.channel.code());
        record(&link, &msg.order, &msg.key, DeliveryState::Failed { error, attempts: attempts + 1 }).await;
        link.release(&msg.key);
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
            link.release(&msg.key);
            return;
        }
        tokio::time::sleep(streams::backoff(attempts)).await;
    }
}

/// Stores a message's new state, then reports it.
async fn record(link: &Link, order: &str, key: &str, state: DeliveryState) {
    let now = Utc::now();
    let (k, s) = (key.to_owned(), state.clone());
    if let Err(e) = link.on_store(move |store| store.mark(&k, &s, now)).await {
        link.tell(DeliveryReport::Trouble(format!("receipt of {key} not stored: {e}")));
    }
    link.tell(DeliveryReport::State { order: order.to_owned(), key: key.to_owned(), state, at: now });
}
