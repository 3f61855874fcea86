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
use async_nats::jetstream::stream::{Config, RawMessageErrorKind, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use futures_util::StreamExt;

use super::event_log::{Logged, Pending};
use linkage_protocol::Envelope;

/// The header that carries an event's route (the unit it is addressed to) exactly.
const ROUTE_HEADER: &str = "Lk-Route";
/// How long a sender's key is remembered by the stream: a command resent within it is logged
/// once. Ten minutes covers a seat's or a gateway's restart.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How often an unanswered publish is looked for in the log.
const ATTEMPTS: u32 = 40;
/// How many rounds a batch may lose to other gateways (or to a failover) before its senders
/// are told the log did not take it.
const ROUNDS: u32 = 400;
/// The stream's first message's subject tail and id (see [`JetStreamLog::genesis`]).
const GENESIS: &str = "genesis";

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

/// `s` as one subject token, one to one: letters, digits and `-` as they are; anything else
/// (a dot, a wildcard, Chinese) as `_` and the hex of its UTF-8 bytes, so that no two routes
/// share a token and none is `_` (no route).
fn token(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return s.to_owned();
    }
    format!("_{}", crate::http::hex(s.as_bytes()))
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
                Ok(stream) => {
                    let log = JetStreamLog { js, stream, county };
                    log.genesis().await?;
                    return Ok(log);
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!("cannot open the county's stream {}: {last}", county.stream()))
    }

    /// The stream's first message, the same from every gateway (its id makes it one): the
    /// server does not check an expected last sequence of 0, so no event is ever published on
    /// an empty stream. It is not an event and nobody reads it.
    async fn genesis(&self) -> Result<(), String> {
        if self.head_when_answered().await? > 0 {
            return Ok(());
        }
        let subject = format!("lk.{}.{GENESIS}", self.county.county);
        let publish = Publish::build().payload(bytes::Bytes::from_static(b"linkage county log")).message_id(GENESIS);
        let ack = self.js.send_publish(subject, publish).await.map_err(|e| format!("the county's stream: {e}"))?;
        ack.await.map(|_| ()).map_err(|e| format!("the county's stream: {e}"))
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
    pub async fn head_when_answered(&self) -> Result<u64, String> {
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
    /// its key was logged already, inside the dedup window, and this is the event logged then),
    /// or why it could not be logged.
    ///
    /// The items are published pipelined, each chained to the one before (its expected last
    /// message id) and to the head it was built on (its expected last sequence): either the
    /// whole run lands right after the head, in order, or it stops where another gateway got
    /// in first. What was refused is built again on the new head and sent as the next round;
    /// an item whose answer never came (a node failing over) is first looked for in the log.
    pub async fn append_all(&self, batch: Vec<Pending>) -> Vec<Result<(Logged, bool), String>> {
        let ids: Vec<String> = batch.iter().map(|p| self.message_id(p)).collect();
        let mut out: Vec<Option<Result<(Logged, bool), String>>> = batch.iter().map(|_| None).collect();
        let mut todo: Vec<usize> = (0..batch.len()).collect();
        let mut last = String::new();
        for round in 0..ROUNDS {
            if todo.is_empty() {
                break;
            }
            if round > 0 {
                // Gateways that lost the race do not all come back at once.
                tokio::time::sleep(Duration::from_micros(fastrand::u64(0..=500 * u64::from(round.min(40))))).await;
            }
            let mut head = match self.head_when_answered().await {
                Ok(head) => head,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let mut acks = Vec::with_capacity(todo.len());
            for (k, &i) in todo.iter().enumerate() {
                let (subject, frame) = self.build(&batch[i], head + 1);
                let mut publish = self.publish(&batch[i], (head, &ids[i]), &frame);
                if k > 0 {
                    publish = publish.expected_last_message_id(&ids[todo[k - 1]]);
                }
                acks.push((head + 1, frame, self.js.send_publish(subject, publish).await));
                head += 1;
            }
            let mut refused = vec![];
            for (&i, (seq, frame, sent)) in todo.iter().zip(acks) {
                if !refused.is_empty() {
                    // Chained to one that did not land: it did not either (its answer, a
                    // refusal, is not waited for).
                    refused.push(i);
                    continue;
                }
                let answer = match sent {
                    Ok(ack) => ack.await.map_err(|e| e.kind()),
                    Err(e) => Err(e.kind()),
                };
                match answer {
                    Ok(ack) if ack.duplicate && ack.sequence > 0 => {
                        out[i] = Some(self.read(ack.sequence).await.map(|l| (l, false)));
                    }
                    Ok(ack) if !ack.duplicate && ack.sequence == seq => {
                        out[i] = Some(Ok((Logged { seq, frame }, true)))
                    }
                    Err(PublishErrorKind::WrongLastSequence | PublishErrorKind::WrongLastMessageId) => {
                        last = "another gateway got in first".into();
                        refused.push(i);
                    }
                    unknown => {
                        // No answer, or one that does not add up: is it in the log?
                        tracing::warn!(seq, answer = ?unknown.as_ref().map(|a| (a.sequence, a.duplicate)), "the county's stream did not answer plainly");
                        match self.settle(&ids[i], seq - 1, frame).await {
                            Some(settled) => out[i] = Some(Ok(settled)),
                            None => refused.push(i),
                        }
                        last = format!("{unknown:?}");
                    }
                }
            }
            todo = refused;
        }
        for i in todo {
            out[i] = Some(Err(format!("the county's stream did not take the event in {ROUNDS} rounds ({last})")));
        }
        out.into_iter().map(|r| r.unwrap_or_else(|| Err("not appended".into()))).collect()
    }

    /// An event whose publish after `head` went unanswered: in the log after all (the
    /// sequence it expected holds its frame, or its id is a known repeat), or not.
    async fn settle(&self, id: &str, head: u64, frame: String) -> Option<(Logged, bool)> {
        for attempt in 0..ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt.min(20)))).await;
            match self.stream.get_raw_message(head + 1).await {
                Ok(found) if found.payload.as_ref() == frame.as_bytes() => {
                    return Some((Logged { seq: head + 1, frame }, true));
                }
                // Something else is there: ours did not land where it was chained.
                Ok(_) => return None,
                Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => {
                    // Nothing there yet: is the stream past it (then ours is not coming)?
                    match self.head().await {
                        Ok(now) if now > head => return None,
                        Ok(_) if attempt > 3 => return None,
                        _ => {}
                    }
                }
                Err(e) => tracing::warn!(error = %e, %id, "the county's stream unanswered; asking again"),
            }
        }
        None
    }

    /// The message id of `pending`: its sender's key, within this gateway's township (two
    /// townships' senders may use the same key); an event without one gets a fresh id, so
    /// that a publish sent again after its answer was lost is logged once.
    fn message_id(&self, pending: &Pending) -> String {
        let here = self.county.township.as_deref().unwrap_or("county");
        match &pending.dedup {
            Some(key) => format!("{here}/{key}"),
            None => format!("{here}/~{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }

    /// `pending` as the event at `seq`: the subject it goes under and its frame.
    fn build(&self, pending: &Pending, seq: u64) -> (String, String) {
        let body = (pending.make)(seq);
        let subject = self.county.subject(body.kind(), pending.route.as_deref());
        (subject, Envelope::new(seq, body).to_text())
    }

    /// The publish of `frame` right after `head`, with its message id and route.
    fn publish(&self, pending: &Pending, (head, id): (u64, &str), frame: &str) -> Publish {
        let mut headers = HeaderMap::new();
        if let Some(route) = &pending.route {
            headers.insert(ROUTE_HEADER, route.as_str());
        }
        // The head is never 0 here (the genesis message), so the server checks it.
        Publish::build().payload(frame.to_owned().into()).headers(headers).expected_last_sequence(head).message_id(id)
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
        if consumer.cached_info().num_pending == 0 {
            return Ok(vec![]);
        }
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        let mut out = vec![];
        // Until the consumer has nothing more for us (not: until as many as it counted have
        // matched, which a route's header may not).
        while out.len() < limit {
            let Some(message) = messages.next().await else { break };
            let message = message.map_err(|e| e.to_string())?;
            let left = message.info().map(|i| i.pending).unwrap_or(0);
            // A consumer that recreated itself may start over from the stream's beginning.
            if let Some(read) = read(message).filter(|r| r.logged.seq > since)
                && (route.is_none() || read.route.as_deref() == route)
            {
                out.push(read.logged);
            }
            if left == 0 {
                break;
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
        // What cannot be an event is passed over (see [`read`]), and so is anything before
        // `from` (a consumer that recreated itself may start over from the beginning).
        Ok(messages.filter_map(move |m| {
            let read = m
                .map_err(|e| e.to_string())
                .map(read)
                .transpose()
                .filter(|r| r.as_ref().map_or(true, |r| r.logged.seq >= from));
            std::future::ready(read)
        }))
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

/// Whether `frame` is an envelope numbered `seq` (its text starts `{"v":1,"seq":SEQ,`), read
/// without parsing or allocating: every gateway checks every event it follows.
fn carries(frame: &str, seq: u64) -> bool {
    let Some(rest) = frame.strip_prefix("{\"v\":1,\"seq\":") else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.as_bytes().get(digits) == Some(&b',') && rest[..digits].parse() == Ok(seq)
}

/// An event as the stream delivered it; `None` for what is not one of ours at its place (the
/// genesis message, or anything a foreign publisher put under the county's subjects): its
/// frame must be text and carry the stream's sequence number.
fn read(message: jetstream::Message) -> Option<Read> {
    let seq = message.info().ok()?.stream_sequence;
    let route = message.headers.as_ref().and_then(|h| h.get(ROUTE_HEADER)).map(|v| v.as_str().to_owned());
    let frame = String::from_utf8(message.payload.to_vec()).ok();
    match frame {
        Some(frame) if carries(&frame, seq) => Some(Read { logged: Logged { seq, frame }, route }),
        _ => {
            if !message.subject.ends_with(GENESIS) {
                tracing::warn!(seq, subject = %message.subject, "not an event of the county's log at its place; passed over");
            }
            None
        }
    }
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
        assert_eq!(t.subject("order_issued", Some("police-1")), "lk.c1.t1.order_issued.police-1");
        // Dots, wildcards and Chinese are spelled out, so that no two units share a token.
        assert_eq!(t.subject("order_issued", Some("a.b")), "lk.c1.t1.order_issued._612e62");
        assert_ne!(token("派出所"), token("卫生院"));
        assert_ne!(token("_"), token(""));
        assert_eq!(t.subject("incident_reported", None), "lk.c1.t1.incident_reported._");
        assert_eq!(t.scope(), "lk.c1.t1.>");
        assert_eq!(t.routed("fire"), "lk.c1.t1.*.fire");
        let c = county(None);
        assert_eq!(c.subject("roster_set", None), "lk.c1.county.roster_set._");
        assert_eq!(c.scope(), "lk.c1.>");
        assert_eq!(c.routed("fire"), "lk.c1.*.*.fire");
    }

    #[test]
    fn a_frame_carries_its_own_number_only() {
        let frame = linkage_protocol::Envelope::new(42, linkage_protocol::Body::Heartbeat).to_text();
        assert!(carries(&frame, 42));
        assert!(!carries(&frame, 4));
        assert!(!carries(&frame, 421));
        assert!(!carries("linkage county log", 1));
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
