//! 在线派单: the work order through the hub to the unit's terminals.
//!
//! The channel holds its own hub connection in the `dispatcher` role (it issues orders and
//! streams nothing). A send is an `issue_order` carrying the key; the hub logs a key once and
//! answers with the logged `order_issued` — the receipt, whose sequence number is the id. A
//! resend after a crash or a lost link gets the event logged the first time, so a unit never
//! sees an order twice. The terminal's `received` step (seen by the console's own feed) is the
//! delivery receipt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use streams::feed::{Body, ClientHandle, Envelope, FeedClient, FeedUpdate, Role, WorkOrder};
use tokio::sync::{mpsc, oneshot};

use super::{Channel, ChannelError, Receipt};
use crate::core::dispatch::{Address, Outgoing};
use crate::core::order::ChannelKind;

/// How long the hub may take to log an order before the attempt counts as failed (and is
/// retried with the same key).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

type Waiting = Arc<Mutex<HashMap<String, Vec<oneshot::Sender<u64>>>>>;

pub struct OrderChannel {
    hub: ClientHandle,
    waiting: Waiting,
}

impl OrderChannel {
    /// Connects to the hub at `url` with a dispatcher `token` (trusting `trust` for wss).
    pub fn connect(
        url: &str,
        token: &str,
        trust: Option<streams::feed::tls::Trust>,
        runtime: &tokio::runtime::Handle,
    ) -> OrderChannel {
        let (updates, mut incoming) = mpsc::unbounded_channel();
        let hub = FeedClient {
            url: url.to_owned(),
            token: token.to_owned(),
            role: Role::Dispatcher,
            since: 0,
            name: "dispatcher".into(),
            trust,
        }
        .spawn(runtime, updates, streams::no_waker());
        let waiting: Waiting = Arc::default();
        let answers = waiting.clone();
        runtime.spawn(async move {
            while let Some(update) = incoming.recv().await {
                match update {
                    FeedUpdate::Event(Envelope { seq, body: Body::OrderIssued(order), .. }) => {
                        let waiters = answers.lock().unwrap_or_else(|p| p.into_inner()).remove(&order.key);
                        for w in waiters.unwrap_or_default() {
                            let _ = w.send(seq);
                        }
                    }
                    FeedUpdate::Refused { reason, .. } => tracing::warn!(%reason, "hub refused an order"),
                    other => tracing::debug!(?other, "dispatcher link"),
                }
            }
        });
        OrderChannel { hub, waiting }
    }
}

impl Channel for OrderChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Order
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let Address::Terminal(unit) = &msg.address else {
                return Err(ChannelError(format!("{}: an online order needs a unit terminal", msg.key)));
            };
            let (tx, rx) = oneshot::channel();
            self.waiting.lock().unwrap_or_else(|p| p.into_inner()).entry(msg.key.clone()).or_default().push(tx);
            self.hub.send(Body::IssueOrder(WorkOrder {
                key: msg.key.clone(),
                order: msg.order.clone(),
                incident: msg.incident.clone(),
                unit: unit.clone(),
                text: msg.text.clone(),
                acknowledge_by: msg.acknowledge_by,
                details: msg.details.clone(),
            }));
            match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
                Ok(Ok(seq)) => Ok(Receipt { id: format!("hub#{seq}"), delivered: false }),
                _ => Err(ChannelError("the hub did not log the order in 10 s (link down?)".into())),
            }
        })
    }
}
