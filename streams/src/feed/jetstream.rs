//! The county's log on NATS JetStream: one stream for the whole county, replicated (3 nodes),
//! on file storage, with deleting and purging denied — the same log as [`super::EventLog`],
//! kept by an engine built for it, so that any number of hub gateways (holding no state of
//! their own) can serve seats side by side and a county's nodes can fail one at a time.
//!
//! - **Subjects**: `lk.<county>.<township>.<kind>.<route>`; a county gateway writes under the
//!   township `county`; `<route>` is the unit a work order is addressed to (`_` for none), made
//!   subject-safe; the exact route rides in the `Lk-Route` header.
//! - **Sequence**: an event's sequence number is the stream's, and the bodies that carry it
//!   (incident `E` + seq, meeting `M` + seq) are built with it *before* publishing: each publish
//!   says which sequence must come before it (`Nats-Expected-Last-Sequence`), so a gateway
//!   that raced another is refused and builds the event again on the new head. A township's
//!   events therefore have gaps in their numbers (the county's other townships fill them).
//! - **Once**: a sender's key is the message id (`Nats-Msg-Id`); inside the stream's
//!   duplicate window (10 minutes) a repeat is answered with the event logged first. A publish
//!   whose answer was lost is asked about: if the sequence it expected now holds exactly its
//!   frame, it was logged.
//! - **Scope**: a gateway serves one township (its subjects) or the whole county; what it
//!   replays and streams is filtered at the server, so a township's seats never receive another
//!   township's events.
//!
//! Written for the server Debian 12 ships (nats-server 2.9.10): one filter subject per
//! consumer, ordered pull consumers, no per-key TTL.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage as Publish;
use async_nats::jetstream::stream::{Config, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use futures_util::StreamExt;

use super::event_log::{Logged, Pending};
use linkage_protocol::Envelope;

/// The header that carries an event's route (the unit it is addressed to) exactly.
const ROUTE_HEADER: &str = "Lk-Route";
/// How long a sender's key is remembered by the stream: a command resent within it is logged
/// once. Ten minutes covers a seat's or a gateway's restart.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How often a publish is tried before the reporter is told the log did not take it.
const ATTEMPTS: u32 = 40;

/// Where a gateway's log is: the NATS servers, the county, and the township it serves.
#[derive(Debug, Clone)]
pub struct County {
    /// `nats://host:port` of each node (the client moves between them).
    pub urls: Vec<String>,
    /// The county's name, a subject token (`[A-Za-z0-9_-]`).
    pub county: String,
    /// The township this gateway serves (its seats see only it); `None`: the county's seat.
    pub township: Option<String>,
    /// How many nodes keep the stream (3 in a county; 1 for a single test node).
    pub replicas: usize,
}

impl County {
    /// Checks the names are subject tokens (a dot or a wildcard would change what they mean).
    pub fn check(&self) -> Result<(), String> {
        let bad = |s: &str| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if self.urls.is_empty() {
            return Err("no NATS server given".into());
        }
        if bad(&self.county) {
            return Err(format!("county {:?}: use letters, digits, '_' or '-'", self.county));
        }
        match &self.township {
            Some(t) if bad(t) || t == "county" => {
                Err(format!("township {t:?}: use letters, digits, '_' or '-' (and not \"county\")"))
            }
            _ if !(1..=5).contains(&self.replicas) => {
                Err(format!("{} replicas: JetStream keeps 1 to 5", self.replicas))
            }
            _ => Ok(()),
        }
    }

    /// The stream's name.
    fn stream(&self) -> String {
        format!("LK_{}", self.county)
    }

    /// The subjects this gateway reads: its township's, or the whole county's.
    fn scope(&self) -> String {
        match &self.township {
            Some(t) => format!("lk.{}.{t}.>", self.county),
            None => format!("lk.{}.>", self.county),
        }
    }

    /// The subjects of the events addressed to `unit` that this gateway may read.
    fn routed(&self, unit: &str) -> String {
        let here = self.township.as_deref().unwrap_or("*");
        format!("lk.{}.{here}.*.{}", self.county, token(unit))
    }

    /// The subject an event of `kind` for `route` is written under.
    fn subject(&self, kind: &str, route: Option<&str>) -> String {
        let here = self.township.as_deref().unwrap_or("county");
        format!("lk.{}.{here}.{kind}.{}", self.county, route.map_or("_".into(), token))
    }
}

/// `s` as one subject token: anything but letters, digits, `_` and `-` becomes `_`.
fn token(s: &str) -> String {
    let t: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if t.is_empty() { "_".into() } else { t }
}

/// The log, as one gateway sees it. Cloning is cheap (one connection for all clones).
#[derive(Clone)]
pub struct JetStreamLog {
    js: Context,
    stream: Stream,
    county: County,
}

/// An event read back from the stream: its place, its frame and its route.
pub struct Read {
    pub logged: Logged,
    pub route: Option<String>,
}

impl JetStreamLog {
    /// Connects (trying every node, again and again while none answers) and makes sure the
    /// county's stream exists with its replicas, file storage, dedup window and deny rules.
    pub async fn open(county: County) -> Result<JetStreamLog, String> {
        county.check()?;
        let addrs: Vec<async_nats::ServerAddr> = county
            .urls
            .iter()
            .map(|u| u.parse().map_err(|e| format!("NATS server {u:?}: {e}")))
            .collect::<Result<_, String>>()?;
        let client = async_nats::ConnectOptions::new()
            .name(format!("linkage hub {}", county.township.as_deref().unwrap_or("county")))
            .retry_on_initial_connect()
            .connect(addrs)
            .await
            .map_err(|e| format!("cannot reach NATS at {}: {e}", county.urls.join(",")))?;
        let js = jetstream::new(client);
        let config = Config {
            name: county.stream(),
            subjects: vec![format!("lk.{}.>", county.county)],
            storage: StorageType::File,
            num_replicas: county.replicas,
            duplicate_window: DEDUP_WINDOW,
            deny_delete: true,
            deny_purge: true,
            ..Default::default()
        };
        // A cluster just started may not have elected its meta leader yet: ask again.
        let mut last = String::new();
        for _ in 0..60 {
            match js.get_or_create_stream(config.clone()).await {
                Ok(stream) => return Ok(JetStreamLog { js, stream, county }),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!("cannot open the county's stream {}: {last}", county.stream()))
    }

    /// The county, township and nodes this log was opened for.
    pub fn county(&self) -> &County {
        &self.county
    }

    /// The JetStream context (for the county's other stores: its leases).
    pub fn context(&self) -> &Context {
        &self.js
    }

    /// The newest sequence number of the whole county's stream (0 while empty).
    pub async fn head(&self) -> Result<u64, String> {
        let info = self.stream.get_info().await.map_err(|e| format!("the county's stream: {e}"))?;
        Ok(info.state.last_sequence)
    }

    /// The head, asked again while the stream does not answer (a leader being elected).
    async fn head_when_answered(&self) -> Result<u64, String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            match self.head().await {
                Ok(head) => return Ok(head),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
        }
        Err(last)
    }

    /// Appends a batch in order: for each item the logged event and whether it is new (`false`:
    /// its key was logged already, inside the dedup window, and this is the event logged then).
    /// Publishes are pipelined; an item refused because the head moved (another gateway) or
    /// unanswered (a node failing over) is settled one at a time afterwards.
    pub async fn append_all(&self, batch: Vec<Pending>) -> Result<Vec<(Logged, bool)>, String> {
        let mut head = self.head_when_answered().await?;
        let mut acks = Vec::with_capacity(batch.len());
        for pending in &batch {
            let (subject, frame) = self.build(pending, head + 1);
            let sent = self.js.send_publish(subject, self.publish(pending, head, &frame)).await;
            acks.push((head + 1, frame, sent));
            head += 1;
        }
        let mut out = Vec::with_capacity(batch.len());
        let mut behind = false;
        for (pending, (seq, frame, sent)) in batch.iter().zip(acks) {
            let answer = match sent {
                Ok(ack) if !behind => ack.await.map_err(|e| e.kind()),
                Ok(ack) => {
                    // Its predecessor failed: whatever this one's fate, it is settled again.
                    drop(ack);
                    Err(PublishErrorKind::WrongLastSequence)
                }
                Err(e) => Err(e.kind()),
            };
            match answer {
                Ok(ack) if ack.duplicate => out.push((self.read(ack.sequence).await?, false)),
                Ok(ack) => out.push((Logged { seq: ack.sequence, frame }, true)),
                Err(kind) => {
                    behind = true;
                    out.push(self.settle(pending, seq - 1, frame, kind).await?);
                }
            }
        }
        Ok(out)
    }

    /// One event whose first publish failed (`kind`), published on `head` with `frame`: found
    /// in the log if it got there after all, else published again on the head as it is now.
    async fn settle(
        &self,
        pending: &Pending,
        mut head: u64,
        frame: String,
        mut kind: PublishErrorKind,
    ) -> Result<(Logged, bool), String> {
        let (mut subject, mut frame) = (String::new(), frame);
        for attempt in 0..ATTEMPTS {
            if kind != PublishErrorKind::WrongLastSequence {
                // Unanswered (a node failing over): wait a little before asking again.
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
            }
            // Did the unanswered publish land? The sequence it expected holds its frame.
            if let Ok(found) = self.stream.get_raw_message(head + 1).await
                && found.payload.as_ref() == frame.as_bytes()
            {
                return Ok((Logged { seq: head + 1, frame }, true));
            }
            match self.head().await {
                Ok(now) if now != head => {
                    head = now;
                    (subject, frame) = self.build(pending, head + 1);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "county stream unanswered; trying again");
                    continue;
                }
            }
            if subject.is_empty() {
                subject = self.build(pending, head + 1).0;
            }
            let sent = self.js.send_publish(subject.clone(), self.publish(pending, head, &frame)).await;
            let answer = match sent {
                Ok(ack) => ack.await.map_err(|e| e.kind()),
                Err(e) => Err(e.kind()),
            };
            match answer {
                Ok(ack) if ack.duplicate => return Ok((self.read(ack.sequence).await?, false)),
                Ok(ack) => return Ok((Logged { seq: ack.sequence, frame }, true)),
                Err(k) => kind = k,
            }
        }
        Err(format!("the county's stream did not take the event after {ATTEMPTS} attempts ({kind})"))
    }

    /// `pending` as the event at `seq`: the subject it goes under and its frame.
    fn build(&self, pending: &Pending, seq: u64) -> (String, String) {
        let body = (pending.make)(seq);
        let subject = self.county.subject(body.kind(), pending.route.as_deref());
        (subject, Envelope::new(seq, body).to_text())
    }

    /// The publish of `frame` right after `head`, with its key and route.
    fn publish(&self, pending: &Pending, head: u64, frame: &str) -> Publish {
        let mut headers = HeaderMap::new();
        if let Some(route) = &pending.route {
            headers.insert(ROUTE_HEADER, route.as_str());
        }
        let publish = Publish::build().payload(frame.to_owned().into()).headers(headers);
        // A first message's expected last sequence (0) is not checked by the server.
        let publish = publish.expected_last_sequence(head);
        match &pending.dedup {
            Some(key) => publish.message_id(key),
            None => publish,
        }
    }

    /// The event at `seq`.
    async fn read(&self, seq: u64) -> Result<Logged, String> {
        let found = self.stream.get_raw_message(seq).await.map_err(|e| format!("reading event {seq}: {e}"))?;
        let frame = String::from_utf8(found.payload.to_vec()).map_err(|_| format!("event {seq} is not text"))?;
        Ok(Logged { seq, frame })
    }

    /// Events after `since` this gateway may read, oldest first, at most `limit`: all of its
    /// scope, or (`route: Some(unit)`) those addressed to one unit.
    pub async fn after(&self, since: u64, route: Option<&str>, limit: usize) -> Result<Vec<Logged>, String> {
        let filter = match route {
            Some(unit) => self.county.routed(unit),
            None => self.county.scope(),
        };
        let consumer = self.ordered(since + 1, filter).await?;
        let pending = consumer.cached_info().num_pending as usize;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(pending.min(limit));
        while out.len() < pending.min(limit) {
            let Some(message) = messages.next().await else { break };
            let read = read(message.map_err(|e| e.to_string())?)?;
            if route.is_none() || read.route.as_deref() == route {
                out.push(read.logged);
            }
        }
        Ok(out)
    }

    /// Every event of this gateway's scope from `from` on, as it is logged (an ordered
    /// consumer: it follows the stream's leader across a failover by itself).
    pub async fn follow(
        &self,
        from: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<Read, String>> + use<>, String> {
        let consumer = self.ordered(from, self.county.scope()).await?;
        let messages = consumer.messages().await.map_err(|e| e.to_string())?;
        Ok(messages.map(|m| read(m.map_err(|e| e.to_string())?)))
    }

    async fn ordered(&self, from: u64, filter: String) -> Result<jetstream::consumer::Consumer<OrderedConfig>, String> {
        let config = OrderedConfig {
            filter_subject: filter,
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from.max(1) },
            ..Default::default()
        };
        self.stream.create_consumer(config).await.map_err(|e| format!("reading the county's stream: {e}"))
    }
}

/// An event as the stream delivered it.
fn read(message: jetstream::Message) -> Result<Read, String> {
    let info = message.info().map_err(|e| e.to_string())?;
    let seq = info.stream_sequence;
    let route = message.headers.as_ref().and_then(|h| h.get(ROUTE_HEADER)).map(|v| v.as_str().to_owned());
    let frame = String::from_utf8(message.payload.to_vec()).map_err(|_| format!("event {seq} is not text"))?;
    Ok(Read { logged: Logged { seq, frame }, route })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn county(township: Option<&str>) -> County {
        County {
            urls: vec!["nats://127.0.0.1:4222".into()],
            county: "c1".into(),
            township: township.map(Into::into),
            replicas: 3,
        }
    }

    #[test]
    fn subjects_keep_a_township_to_itself_and_routes_to_their_unit() {
        let t = county(Some("t1"));
        assert_eq!(t.subject("order_issued", Some("police.1 x")), "lk.c1.t1.order_issued.police_1_x");
        assert_eq!(t.subject("incident_reported", None), "lk.c1.t1.incident_reported._");
        assert_eq!(t.scope(), "lk.c1.t1.>");
        assert_eq!(t.routed("fire"), "lk.c1.t1.*.fire");
        let c = county(None);
        assert_eq!(c.subject("roster_set", None), "lk.c1.county.roster_set._");
        assert_eq!(c.scope(), "lk.c1.>");
        assert_eq!(c.routed("fire"), "lk.c1.*.*.fire");
    }

    #[test]
    fn names_that_would_change_a_subject_are_refused() {
        assert!(county(Some("t1")).check().is_ok());
        assert!(county(Some("t.1")).check().unwrap_err().contains("t.1"));
        assert!(county(Some("county")).check().is_err());
        assert!(County { county: "c>".into(), ..county(None) }.check().is_err());
        assert!(County { replicas: 7, ..county(None) }.check().is_err());
        assert!(County { urls: vec![], ..county(None) }.check().is_err());
    }
}
