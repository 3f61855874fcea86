//! The county's log on NATS JetStream: one stream for the whole county, replicated (3 nodes),
//! on file storage, with deleting and purging denied — the same log as [`super::EventLog`],
//! kept by an engine built for it, so that any number of hub gateways (holding no state of
//! their own) can serve seats side by side and a county's nodes can fail one at a time.
//!
//! - **Subjects**: `lk.<county>.<township>.<kind>.<route>`; `<township>` is the gateway's
//!   township, else the sender's (a token's or person's `township`), else `county`; `<route>`
//!   is the unit a work order is addressed to, the order a change is of, or `_`; both made
//!   subject-safe ([`token`]); the exact route rides in the `Lk-Route` header.
//! - **A change made on an order as it no longer is** loses: a change that says where the
//!   order's last change was when its sender saw it ([`Body::seen_change`]) is published
//!   expecting that as the last sequence of its order's subject, and refused by the stream
//!   when another change came in between ([`Unlogged::Refused`]). nats-server 2.9 checks that
//!   before it proposes the message only (2.11 keeps the check for what is in flight), so two
//!   changes sent at once may both be stored: every reader's fold then refuses the later one
//!   alike (see `linkage_rules`).
//! - **Sequence**: an event's sequence number is the stream's. A gateway publishes an event
//!   unnumbered (envelope `seq` 0, no incident or meeting name) and whoever reads it back
//!   numbers it from the place the stream gave it ([`Body::numbered`]: incident `E` + seq,
//!   meeting `M` + seq), so gateways never wait on one another for the head. A township's
//!   events have gaps in their numbers (the county's other townships fill them).
//! - **Once**: a sender's key is the message id (`Nats-Msg-Id`); inside the stream's
//!   duplicate window (10 minutes) a repeat is answered with the event logged first. A publish
//!   whose answer was lost (a node failing over) is simply sent again under the same id: the
//!   stream keeps it once and answers where it is.
//! - **Scope**: a gateway serves one township (its subjects) or the whole county; on a
//!   county's gateway a client whose grant names a township is served that township only
//!   ([`JetStreamLog::narrowed`]). What a client is replayed is filtered by the server, what
//!   it streams by its township's subject token, so a township's seats never receive another
//!   township's events.
//!
//! Written for the server Debian 12 ships (nats-server 2.9.10): one filter subject per
//! consumer, ordered pull consumers, no per-key TTL.

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage as Publish;
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{
    Config, External, LastRawMessageError, LastRawMessageErrorKind, RawMessageErrorKind, Source, StorageType, Stream,
};
use async_nats::jetstream::{self, Context};
use async_nats::{ConnectErrorKind, HeaderMap};
use futures_util::StreamExt;

use super::event_log::{Appended, Logged, Pending, Unlogged};
use super::routes;
use linkage_protocol::{Body, Envelope};

/// The header that carries an event's route (the unit it is addressed to) exactly.
const ROUTE_HEADER: &str = "Lk-Route";
/// How long a sender's key is remembered by the stream: a command resent within it is logged
/// once. Ten minutes covers a seat's or a gateway's restart.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How often the head is asked for while the stream does not answer.
const ATTEMPTS: u32 = 40;
/// How long a batch's unanswered publishes are sent again (a leader election takes seconds)
/// before their senders are told the log did not take them (they send them again later).
const PATIENCE: Duration = Duration::from_secs(30);
/// How long one publish's answer is waited for before it is sent again (answers come in
/// milliseconds; one sent through a node that died never comes); and a township's node's, when
/// asked whether it can be reached ([`super::reach`]).
pub(super) const ANSWER: Duration = Duration::from_secs(2);
/// How long a publish's answer is waited for once the stream's leader moved (a follower saw
/// it, [`JetStreamLog::leader_moved`]): one that went to the old leader gets none.
const AFTER_A_MOVE: Duration = Duration::from_millis(300);
/// How long nobody at all may answer for a township's own stream (the county node its leaf
/// link was on dying: the leaf comes back through another within a second or two) before its
/// link is taken as cut and the event refused, not logged.
pub(super) const NOBODY: Duration = Duration::from_secs(3);

/// How many changes of one order stored together, each made where the order stood before any
/// of them, are looked through for a repeat (see [`JetStreamLog::change_after`]): two seats at
/// the same moment, a few at most.
const RACED: usize = 8;

/// Where a gateway's log is: the NATS servers, the county, and the township it serves.
#[derive(Debug, Clone)]
pub struct County {
    /// `nats://host:port` of each node (the client moves between them).
    pub urls: Vec<String>,
    /// The county's name, a subject token (`[A-Za-z0-9_-]`).
    pub county: String,
    /// The township this gateway serves (its seats see only it), any name (青溪镇 too);
    /// `None`: the county's gateway.
    pub township: Option<String>,
    /// How many nodes keep the stream (3 in a county; 1 for a single test node or a
    /// township's own node).
    pub replicas: usize,
    /// The townships that keep their log on their own node (a NATS leaf node of the county's
    /// cluster with its own JetStream domain, see [`domain`]), so that a cut link to the county
    /// does not stop them: their events go into their own stream, numbered and named there
    /// (`t1/E000042`, [`linkage_protocol::id_at`]); the county's stream sources each of them,
    /// and catches up when a cut link comes back.
    pub leaves: Vec<String>,
    /// How the nodes let the gateway in and how it knows them.
    pub access: NatsAccess,
}

/// How a gateway is let in by the NATS nodes, and how it knows them: the user and password
/// the nodes' `authorization` names for the gateways, and the authority that signed the
/// nodes' certificates — given it, TLS is required and nothing else trusted. Neither: plain
/// and open, for a cluster on one machine or a closed network.
#[derive(Clone, Default)]
pub struct NatsAccess {
    pub user: Option<(String, String)>,
    pub ca: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for NatsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never.
        let user = self.user.as_ref().map(|(user, _)| user);
        f.debug_struct("NatsAccess").field("user", &user).field("ca", &self.ca).finish()
    }
}

/// The kind of the I/O error under a connection's failure, if it was one.
fn io_kind(e: &async_nats::ConnectError) -> Option<std::io::ErrorKind> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>()).map(std::io::Error::kind)
}

/// Whether a connection to a node failed only because it did not answer (yet: a gateway may
/// start before the cluster, a node may be restarting), rather than because it refused the
/// gateway (its user, its certificate) or cannot be found (a name that does not resolve: said,
/// and the gateway stops; systemd starts it again).
fn not_there_yet(e: &async_nats::ConnectError) -> bool {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectErrorKind::TimedOut => true,
        ConnectErrorKind::Io => io_kind(e).is_none_or(|kind| {
            matches!(
                kind,
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | BrokenPipe
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
                    | UnexpectedEof
            )
        }),
        _ => false,
    }
}

/// What to say when node `node` refused the gateway: which of its credentials, and what to give.
fn refusal(node: &str, e: &async_nats::ConnectError) -> String {
    match e.kind() {
        ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => format!(
            "NATS node {node} refused this gateway's user and password ({e}): give the user the nodes name \
             for the gateways (--nats-user) and its password (--nats-password-file)"
        ),
        ConnectErrorKind::Tls => format!("NATS node {node}: cannot use --nats-ca for it ({e})"),
        ConnectErrorKind::Dns => format!("NATS node {node}: no such host ({e}): check --nats"),
        _ if io_kind(e) == Some(std::io::ErrorKind::InvalidData) => format!(
            "NATS node {node} could not be trusted, or would not speak TLS ({e}): give the authority that \
             signed the nodes' certificates (--nats-ca), check the node's certificate names the address \
             used, and that the node has TLS"
        ),
        _ => format!("NATS node {node} did not let this gateway in: {e}"),
    }
}

/// Connects to the nodes. Every node is first asked on its own: one that refuses the gateway
/// (its password, its certificate) is said at once, and the gateway stops; once at least one
/// has let it in and none refused, the client connects to them all and moves between them from
/// then on (a node that did not answer is said, and is one to move to when it comes). While
/// none answers, it asks again, a second after each round (a gateway may start before the
/// cluster).
async fn let_in(
    access: &NatsAccess,
    name: &str,
    addrs: &[async_nats::ServerAddr],
    urls: &[String],
) -> Result<async_nats::Client, String> {
    let mut round = 0u64;
    loop {
        let mut silent = vec![];
        for (addr, url) in addrs.iter().zip(urls) {
            match access.options(name.to_owned()).connect(addr.clone()).await {
                Ok(_) => {}
                Err(e) if not_there_yet(&e) => silent.push((url, e)),
                Err(e) => return Err(refusal(url, &e)),
            }
        }
        let going = silent.len() < addrs.len();
        if going || round.is_multiple_of(30) {
            for (url, e) in &silent {
                tracing::warn!(node = %url, error = %e, "no answer from a NATS node");
            }
        }
        if going {
            let all = access.options(name.to_owned()).retry_on_initial_connect();
            return all.connect(addrs.to_vec()).await.map_err(|e| format!("cannot reach NATS: {e}"));
        }
        round += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl NatsAccess {
    /// The client's options, named `name` on the nodes.
    fn options(&self, name: String) -> async_nats::ConnectOptions {
        let mut options = async_nats::ConnectOptions::new().name(name);
        if let Some((user, password)) = &self.user {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(ca) = &self.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        options
    }
}

impl County {
    /// Checks the county's name is a subject token (a dot or a wildcard would change what it
    /// means) and the township is named (anything but `county`, the county's own events).
    pub fn check(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("no NATS server given".into());
        }
        if let Some(url) = self.urls.iter().find(|u| u.contains('@')) {
            // It would be in every message that names the nodes, and in `ps`.
            let host = url.rsplit('@').next().unwrap_or_default();
            return Err(format!(
                "NATS server …@{host}: no user or password in the address (--nats-user, --nats-password-file)"
            ));
        }
        check_names(&self.county, self.township.iter().chain(&self.leaves))?;
        if !(1..=5).contains(&self.replicas) {
            return Err(format!("{} replicas: JetStream keeps 1 to 5", self.replicas));
        }
        Ok(())
    }

    /// Whether `township` keeps its log on its own node.
    pub fn keeps_own(&self, township: &str) -> bool {
        self.leaves.iter().any(|t| t == township)
    }

    /// Whether this gateway serves a township on that township's own node (its stream is the
    /// township's, not the county's).
    fn on_own_node(&self) -> bool {
        self.township.as_deref().is_some_and(|t| self.keeps_own(t))
    }

    /// The stream's name: the county's, or (on a township's own node) the township's.
    fn stream(&self) -> String {
        match &self.township {
            Some(t) if self.on_own_node() => own_stream(&self.county, t),
            _ => format!("LK_{}", self.county),
        }
    }

    /// The first token of `township`'s subjects: `lt` for a township keeping its own log (the
    /// county's stream takes `lk.…` itself and sources `lt.…` from the townships' streams, so
    /// that nothing is taken twice), `lk` for every other.
    fn root(&self, township: &str) -> &'static str {
        if self.keeps_own(township) { "lt" } else { "lk" }
    }

    /// The subjects this gateway reads: its township's, or (`""`, no filter) everything the
    /// county's stream holds, its own and what it sources — also what a source added by another
    /// county gateway brought.
    fn scope(&self) -> String {
        match &self.township {
            Some(t) => format!("{}.{}.{}.>", self.root(t), self.county, token(t)),
            None => String::new(),
        }
    }

    /// The subject an event of `kind` for `route` (a unit, or the order a change is of) is
    /// written under, sent from `township` (this gateway's own township goes first).
    fn subject(&self, township: Option<&str>, kind: &str, route: Option<&str>) -> String {
        let here = self.here(township);
        let route = route.map_or("_".into(), token);
        format!("{}.{}.{}.{kind}.{route}", self.root(here), self.county, token(here))
    }

    /// The township an event sent from `township` belongs to: this gateway's, else the
    /// sender's, else the county's own.
    fn here<'a>(&'a self, township: Option<&'a str>) -> &'a str {
        self.township.as_deref().or(township).unwrap_or("county")
    }
}

/// Whether `township` is a name a township may have: given, at most 32 characters, and not
/// `county` (the county's own events).
fn named(township: &str) -> bool {
    !township.trim().is_empty() && township != "county" && township.chars().count() <= 32
}

/// `township` as a township's name ([`named`]) — for a county (`county`: its name), not the
/// county's own either: what names it, a gateway's `--township`, a token's or a person's
/// `township`, all go through here.
pub fn check_township(township: &str, county: Option<&str>) -> Result<(), String> {
    if named(township) && county != Some(township) {
        return Ok(());
    }
    let own = county.map(|c| format!(" ({c})")).unwrap_or_default();
    Err(format!(
        "township {township:?}: give its name, at most 32 characters, neither \"county\" nor the county's own{own}"
    ))
}

/// Whether `county` is a county's name (a subject token as it is: letters, digits, `_`, `-`)
/// and each of `townships` a township's ([`named`]); else what is wrong with the first that
/// is not.
pub(super) fn check_names<'a>(county: &str, mut townships: impl Iterator<Item = &'a String>) -> Result<(), String> {
    if county.is_empty() || !county.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("county {county:?}: use letters, digits, '_' or '-'"));
    }
    townships.try_for_each(|t| check_township(t, Some(county)))
}

/// The stream of `township` of `county` on the township's own node.
pub(super) fn own_stream(county: &str, township: &str) -> String {
    format!("LK_{county}_{}", token(township))
}

/// The JetStream domain of `township`'s own node (its `jetstream { domain: … }`): the
/// township's name as a subject token ([`token`]). The county's stream reaches the township's
/// stream through it.
pub fn domain(township: &str) -> String {
    token(township)
}

/// The county's `stream`, sourcing the stream of every township of `county.leaves` on its own
/// node (through that node's JetStream domain): sources named are added, none taken away (a
/// gateway that was not told of a township does not cut it off), and every township the stream
/// sources, named or not. Read again after each update until every one is there. This narrows,
/// and does not close, the race of two gateways starting together with different lists (the
/// last to write wins until the other starts again): every county gateway is to be given the
/// same list.
async fn sourcing(js: &Context, mut stream: Stream, county: &County) -> Result<(Stream, Vec<String>), String> {
    for _ in 0..10 {
        let mut config = stream.get_info().await.map_err(|e| e.to_string())?.config;
        let sources = config.sources.get_or_insert_with(Vec::new);
        let before = sources.len();
        for township in &county.leaves {
            let name = own_stream(&county.county, township);
            if !sources.iter().any(|s| s.name == name) {
                let external = External { api_prefix: format!("$JS.{}.API", domain(township)), delivery_prefix: None };
                sources.push(Source { name, external: Some(external), ..Default::default() });
            }
        }
        if sources.len() == before {
            // Only what a county gateway would have added: the township's own stream through
            // its domain, for a township that may be named.
            let prefix = format!("LK_{}_", county.county);
            let township = |s: &Source| {
                let township = untoken(s.name.strip_prefix(&prefix)?)?;
                let api = format!("$JS.{}.API", domain(&township));
                let ours = s.external.as_ref().is_some_and(|e| e.api_prefix == api);
                (ours && named(&township)).then_some(township)
            };
            return Ok((stream, sources.iter().filter_map(township).collect()));
        }
        tracing::info!(stream = %config.name, townships = ?county.leaves, "the county's stream sources the townships' own streams");
        js.update_stream(&config).await.map_err(|e| format!("sourcing the townships' streams: {e}"))?;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(100..400))).await;
        stream = js.get_stream(&config.name).await.map_err(|e| e.to_string())?;
    }
    Err("the county's stream's sources kept changing under this gateway".into())
}

/// The township an event was written under: its subject's third token, as [`token`] made it.
pub fn township_of(subject: &str) -> Option<&str> {
    subject.split('.').nth(2)
}

/// The kind of event a subject holds: its fourth token (kinds are subject tokens as they are).
fn kind_of(subject: &str) -> Option<&str> {
    subject.split('.').nth(3)
}

/// `s` as one subject token, one to one: letters, digits, `-` and (not first) `_` as they
/// are; anything else (a dot, a wildcard, Chinese, a leading `_`) as `_` and the hex of its
/// UTF-8 bytes — only those start with `_`, so no two names share a token and none is `_`
/// (no route).
pub fn token(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !s.starts_with('_') && !s.is_empty() && s.chars().all(plain) {
        return s.to_owned();
    }
    format!("_{}", crate::http::hex(s.as_bytes()))
}

/// The township a subject token names: [`token`] read back (`None` for what it never makes: a
/// name that [`token`] spells otherwise).
pub(super) fn untoken(spelled: &str) -> Option<String> {
    let name = match spelled.strip_prefix('_') {
        None => spelled.to_owned(),
        Some(hex) => String::from_utf8(crate::http::unhex(hex)?).ok()?,
    };
    Some(name).filter(|name| !name.is_empty() && token(name) == spelled)
}

/// The log, as one gateway sees it. Cloning is cheap (one connection for all clones).
#[derive(Clone)]
pub struct JetStreamLog {
    js: Context,
    stream: Stream,
    county: County,
    /// The stream is a township's own (this gateway is on the township's node): every event
    /// in it is named after the township.
    own: bool,
    /// How many times this gateway's follower saw the stream's leader move: a publish sent
    /// before a move may have gone to the old leader, which answers it no more (it is sent
    /// again after [`AFTER_A_MOVE`] instead of [`ANSWER`]).
    moves: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// An event as it is published: its subject, its unnumbered envelope, and that envelope's
/// frame with its message id (kept beside it too) and route.
struct Item {
    subject: String,
    envelope: Envelope,
    publish: Publish,
    id: String,
}

/// An event read back from the stream: its place, its frame, its route and its township's
/// subject token.
pub struct Read {
    pub logged: Logged,
    pub route: Option<String>,
    pub township: std::sync::Arc<str>,
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
        let name = format!("linkage hub {}", county.township.as_deref().unwrap_or("county"));
        if county.on_own_node() {
            let township = county.township.as_deref().unwrap_or_default();
            tracing::info!(township, domain = %domain(township), "on the township's own node: its JetStream domain must be this");
        }
        let client = let_in(&county.access, &name, &addrs, &county.urls).await?;
        let js = jetstream::new(client);
        // A township's own stream takes its subjects; the county's, the county's (and it sources
        // the townships' own).
        let subjects = if county.on_own_node() { county.scope() } else { format!("lk.{}.>", county.county) };
        let config = Config {
            name: county.stream(),
            subjects: vec![subjects],
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
                Ok(stream) if county.township.is_none() => match sourcing(&js, stream, &county).await {
                    Ok((stream, sourced)) => {
                        let unnamed: Vec<String> = sourced.into_iter().filter(|t| !county.keeps_own(t)).collect();
                        let mut county = county;
                        for township in unnamed {
                            tracing::warn!(
                                township,
                                "the county's stream sources this township's own, which --leaf-townships does not name: \
                                 taken as on its own node (name it in every county gateway's list)"
                            );
                            county.leaves.push(township);
                        }
                        return Ok(JetStreamLog { js, stream, county, own: false, moves: Default::default() });
                    }
                    Err(e) => last = e,
                },
                Ok(stream) => {
                    let own = county.on_own_node();
                    return Ok(JetStreamLog { js, stream, county, own, moves: Default::default() });
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!("cannot open the stream {}: {last}", county.stream()))
    }

    /// This log as a county gateway's client of `township` reads it: that township's events
    /// only (a township's gateway serves its own township whatever the client's grant says).
    pub fn narrowed(&self, township: &str) -> JetStreamLog {
        let county = County { township: Some(self.county.here(Some(township)).to_owned()), ..self.county.clone() };
        JetStreamLog { county, ..self.clone() }
    }

    /// Whether this gateway is on its township's own node: the stream is the township's.
    pub fn on_own_node(&self) -> bool {
        self.own
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

    /// Says that the stream's leader moved (its follower saw it): publishes still waiting for
    /// an answer are waited for [`AFTER_A_MOVE`] more, then sent again.
    pub fn leader_moved(&self) {
        self.moves.send_modify(|moves| *moves += 1);
    }

    /// The node that leads the stream now (`None` while one is being elected).
    pub async fn leader(&self) -> Result<Option<String>, String> {
        let info = self.stream.get_info().await.map_err(|e| format!("the county's stream: {e}"))?;
        Ok(info.cluster.and_then(|c| c.leader))
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
    /// its key was logged already — inside the dedup window; a change of an order also after
    /// it, [`JetStreamLog::change_after`] — and this is the event logged then),
    /// or why it could not be logged.
    ///
    /// The items are published pipelined on one connection, so the stream keeps them in order;
    /// those whose answer does not come (a node failing over) are sent again, under the same
    /// message id, until the stream answers or [`PATIENCE`] runs out: the stream keeps each
    /// once and tells where (an item sent again may then land after later ones).
    pub async fn append_all(&self, batch: Vec<Pending>) -> Vec<Appended> {
        let items: Vec<Item> = batch.iter().map(|p| self.publish(p)).collect();
        let mut out: Vec<Option<Appended>> = batch.iter().map(|_| None).collect();
        let mut todo: Vec<usize> = (0..batch.len()).collect();
        let mut last = String::new();
        // Per item: whether nobody has answered it on any try so far (every item is first
        // tried in the first round, at `started`); `false` once something else happened to it:
        // it may have been logged, and is sent again.
        let mut nobody = vec![true; batch.len()];
        let started = tokio::time::Instant::now();
        let until = started + PATIENCE;
        for round in 0u64.. {
            if todo.is_empty() || tokio::time::Instant::now() > until {
                break;
            }
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(50 * round.min(4))).await;
            }
            // A move of the leader from here on cuts the round's waits short (a receiver
            // takes the value it starts with as seen).
            let moves = self.moves.subscribe();
            let mut acks = Vec::with_capacity(todo.len());
            for &i in &todo {
                let Item { subject, publish, .. } = &items[i];
                acks.push(self.js.send_publish(subject.clone(), publish.clone()).await);
            }
            // The round's answers waited for together, each for at most [`ANSWER`]: one at a
            // time, every answer lost with a dying node would hold the batch that much longer.
            // An error says too whether no stream took the subject (nobody answered it), or
            // the stream refused a change made on an order as it no longer is.
            let failed = |e: PublishError| (e.to_string(), e.kind());
            let answers = futures_util::future::join_all(acks.into_iter().map(|sent| {
                let mut moves = moves.clone();
                async move {
                    let ack = match sent {
                        Ok(ack) => ack,
                        Err(e) => return Err(failed(e)),
                    };
                    let answer = tokio::time::timeout(ANSWER, ack.into_future());
                    tokio::pin!(answer);
                    let answered = tokio::select! {
                        answer = &mut answer => answer,
                        // The new leader answers what reached it within moments.
                        Ok(()) = moves.changed() => match tokio::time::timeout(AFTER_A_MOVE, &mut answer).await {
                            Ok(answer) => answer,
                            Err(_) => {
                                let lost = "the stream's leader moved and did not answer";
                                return Err((lost.into(), PublishErrorKind::TimedOut));
                            }
                        },
                    };
                    match answered {
                        Ok(answer) => answer.map_err(failed),
                        Err(_) => Err((format!("no answer in {ANSWER:?}"), PublishErrorKind::TimedOut)),
                    }
                }
            }))
            .await;
            let mut again = vec![];
            for (&i, answer) in todo.iter().zip(answers) {
                let Item { subject, envelope, id, .. } = &items[i];
                // A township's own stream that nobody answers for, from the first try on, for
                // [`NOBODY`] (its link to the county cut) is said then: waiting [`PATIENCE`]
                // for it would hold every other event of the batch.
                let elsewhere = self.elsewhere(subject, envelope);
                nobody[i] &= matches!(answer, Err((_, PublishErrorKind::StreamNotFound)));
                if let (Err((e, _)), true, Some(township)) = (&answer, nobody[i], elsewhere)
                    && started.elapsed() >= NOBODY
                {
                    out[i] = Some(Err(Unlogged::Failed(format!(
                        "{township}'s own stream (on its own node) cannot be reached now: is its link to the county \
                         cut? Not logged, send it again later ({e})"
                    ))));
                    continue;
                }
                let logged = match (answer, batch[i].body.seen_change()) {
                    // Not logged for good: a change made on an order as it no longer is —
                    // unless it is in the stream after all ([`JetStreamLog::change_after`]).
                    (Err((_, PublishErrorKind::WrongLastSequence)), Some((order, seen))) => {
                        match self.change_after(subject, seen, id, elsewhere).await {
                            Ok(Ok(at)) => self.repeat(at, envelope, elsewhere).await,
                            Ok(Err(last)) => {
                                out[i] = Some(Err(Unlogged::late(&batch[i].body, order, seen, last)));
                                continue;
                            }
                            Err(e) => Err(e),
                        }
                    }
                    (Err((e, _)), _) => Err(e),
                    // A repeat of one still being replicated has no place yet: ask again.
                    (Ok(ack), _) if ack.duplicate && ack.sequence == 0 => {
                        Err("a repeat of an event not yet placed".into())
                    }
                    (Ok(ack), _) if ack.duplicate => self.repeat(ack.sequence, envelope, elsewhere).await,
                    // Logged in a township's own stream (a county's gateway writing for it): a
                    // place in that stream is none in this gateway's, so the answer has none
                    // (seats take it as not yet logged); the event comes with its place in the
                    // county's stream once sourced.
                    (Ok(ack), _) if elsewhere.is_some() => {
                        Ok((Logged { seq: 0, frame: placed(envelope.clone(), 0, Some(ack.sequence)) }, true))
                    }
                    // Numbered as every reader numbers what it reads back.
                    (Ok(ack), _) => {
                        let frame = placed(envelope.clone(), ack.sequence, self.origin(ack.sequence));
                        Ok((Logged { seq: ack.sequence, frame }, true))
                    }
                };
                match logged {
                    Ok(logged) => out[i] = Some(Ok(logged)),
                    Err(e) => {
                        last = e;
                        again.push(i);
                    }
                }
            }
            if !again.is_empty() {
                tracing::warn!(round, unanswered = again.len(), error = %last, "the county's stream did not answer every event; sending those again");
            }
            todo = again;
        }
        for i in todo {
            let Item { subject, envelope, .. } = &items[i];
            out[i] = Some(Err(Unlogged::Failed(match self.elsewhere(subject, envelope) {
                Some(township) => format!("{township}'s own stream did not take the event in {PATIENCE:?} ({last})"),
                None => format!("the county's stream did not take the event in {PATIENCE:?} ({last})"),
            })));
        }
        out.into_iter().map(|r| r.unwrap_or_else(|| Err(Unlogged::Failed("not appended".into())))).collect()
    }

    /// The event logged at `at` as the answer to a repeat of it (not new): read back from this
    /// gateway's stream, or — logged in a township's own stream, `elsewhere` — unplaced here,
    /// as any event a county's gateway writes there is answered.
    async fn repeat(&self, at: u64, envelope: &Envelope, elsewhere: Option<&str>) -> Result<(Logged, bool), String> {
        if elsewhere.is_some() {
            return Ok((Logged { seq: 0, frame: placed(envelope.clone(), 0, Some(at)) }, false));
        }
        match tokio::time::timeout(ANSWER, self.read(at)).await {
            Ok(read) => read.map(|l| (l, false)),
            Err(_) => Err(format!("reading event {at} took over {ANSWER:?}")),
        }
    }

    /// Where the change published as `id` under its order's `subject`, made where the order's
    /// last change was at `seen`, is in the stream after all (`Ok(Ok(at))`): sent before and
    /// its answer lost — nats-server 2.9 checks where the order stands before it sees that a
    /// message is a repeat. Else (`Ok(Err(last))`) where the order's last change is (0: none).
    /// In this gateway's stream or in `elsewhere`'s own (a township on its own node, through
    /// its domain).
    ///
    /// Taken, it was the first change after `seen`, or one of the few sent at the same moment
    /// that the 2.9 server stored together ([`RACED`]): only those are looked at, so a change
    /// made on an order long changed since costs a few questions, however many changes it has.
    async fn change_after(
        &self,
        subject: &str,
        seen: u64,
        id: &str,
        elsewhere: Option<&str>,
    ) -> Result<Result<u64, u64>, String> {
        let stream = match elsewhere {
            Some(township) => jetstream::with_domain(self.js.client(), domain(township))
                .get_stream_no_info(own_stream(&self.county.county, township))
                .await
                .map_err(|e| e.to_string())?,
            None => self.js.get_stream_no_info(self.county.stream()).await.map_err(|e| e.to_string())?,
        };
        let ours = |found: &StreamMessage| {
            found.headers.get(async_nats::header::NATS_MESSAGE_ID).map(|v| v.as_str()) == Some(id)
        };
        let Some(last) = one_under(subject, stream.get_last_raw_message_by_subject(subject)).await? else {
            return Ok(Err(0));
        };
        if ours(&last) {
            return Ok(Ok(last.sequence));
        }
        let mut from = seen.saturating_add(1);
        for _ in 0..RACED {
            match one_under(subject, stream.get_first_raw_message_by_subject(subject, from)).await? {
                Some(found) if found.sequence >= last.sequence => break,
                Some(found) if ours(&found) => return Ok(Ok(found.sequence)),
                Some(found) => from = found.sequence + 1,
                None => break,
            }
        }
        Ok(Err(last.sequence))
    }

    /// The message id of `pending`: its sender's key, within this gateway's township (two
    /// townships' senders may use the same key); an event without one gets a fresh id, so
    /// that a publish sent again after its answer was lost is logged once.
    fn message_id(&self, pending: &Pending) -> String {
        let here = self.county.here(pending.township.as_deref());
        match &pending.dedup {
            Some(key) => format!("{here}/{key}"),
            None => format!("{here}/~{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }

    /// `pending` as it is published ([`Item`]). A change of an order goes under the order, so
    /// that the stream can check where that order's last change is ([`Body::seen_change`]).
    fn publish(&self, pending: &Pending) -> Item {
        let subject = self.county.subject(pending.township.as_deref(), pending.body.kind(), keyed_by(pending));
        let township = Some(self.county.here(pending.township.as_deref())).filter(|t| *t != "county");
        let envelope = Envelope { township: township.map(str::to_owned), ..Envelope::new(0, pending.body.clone()) };
        let frame = envelope.to_text();
        let mut headers = HeaderMap::new();
        if let Some(route) = &pending.route {
            headers.insert(ROUTE_HEADER, route.as_str());
        }
        let id = self.message_id(pending);
        let mut publish = Publish::build().payload(frame.into()).headers(headers).message_id(&id);
        if let Some((_, seen)) = pending.body.seen_change() {
            publish = publish.expected_last_subject_sequence(seen);
        }
        Item { subject, envelope, publish, id }
    }

    /// The township of the event at `seq` (`Ok(Ok(None))`: the county's own), read from the
    /// stream, asked again while it does not answer (a leader being elected) for as long as an
    /// append would be (then `Err`); an event that is not there, or not one of ours, is not
    /// waited for (`Ok(Err(why))`: for good).
    pub async fn township_at_when_answered(&self, seq: u64) -> Result<Result<Option<String>, String>, String> {
        if seq == 0 {
            return Ok(Err("there is no event 0".into()));
        }
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            let asked = tokio::time::timeout(ANSWER, self.stream.get_raw_message(seq)).await;
            let error = match asked {
                Ok(Ok(found)) => {
                    let envelope = serde_json::from_slice::<Envelope>(&found.payload);
                    return Ok(envelope.map(|e| e.township).map_err(|_| format!("event {seq} is not one of ours")));
                }
                Ok(Err(e)) if e.kind() == RawMessageErrorKind::NoMessageFound => {
                    return Ok(Err(format!("there is no event {seq}")));
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer in {ANSWER:?}"),
            };
            if tokio::time::Instant::now() > until {
                return Err(error);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The event at `seq` (one this gateway's stream took itself, not one it sourced).
    async fn read(&self, seq: u64) -> Result<Logged, String> {
        let found = self.stream.get_raw_message(seq).await.map_err(|e| format!("reading event {seq}: {e}"))?;
        let frame =
            numbered(&found.payload, seq, self.origin(seq)).ok_or_else(|| format!("event {seq} is not one of ours"))?;
        Ok(Logged { seq, frame })
    }

    /// Where the event at `seq` of this gateway's stream, taken by it, was numbered (see
    /// [`placed`]): there, named after the township, if the stream is a township's own.
    fn origin(&self, seq: u64) -> Option<u64> {
        self.own.then_some(seq)
    }

    /// The township whose own stream `envelope`, under `subject`, goes into, if that is not
    /// this gateway's stream: a county's gateway writing for a township on its own node
    /// (through the township's node).
    fn elsewhere<'a>(&self, subject: &str, envelope: &'a Envelope) -> Option<&'a str> {
        envelope.township.as_deref().filter(|_| !self.own && subject.starts_with("lt."))
    }

    /// Events after `since` this gateway may read, oldest first, at most `limit`: all of its
    /// scope, or (`route: Some(unit)`) those addressed to one unit or to [`routes::EVERY_UNIT`]. A
    /// unit's are picked from the whole scope by their route's header: nats-server 2.9 reads
    /// through one subject filter only, and no one filter takes a unit's own subjects and the
    /// meetings' (routed to every unit).
    pub async fn after(&self, since: u64, route: Option<&str>, limit: usize) -> Result<Vec<Logged>, String> {
        let consumer = self.ordered(since + 1, self.county.scope()).await?;
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
            if let Some(read) = read(message, self.own).filter(|r| r.logged.seq > since)
                && route.is_none_or(|unit| routes::unit_reads(unit, read.route.as_deref()))
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
    /// consumer, which lives on the stream's leader: a follower reads again through a new one
    /// when the leader moves, see `hub::follow`).
    pub async fn follow(
        &self,
        from: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<Read, String>> + use<>, String> {
        let consumer = self.ordered(from, self.county.scope()).await?;
        let messages = consumer.messages().await.map_err(|e| e.to_string())?;
        let own = self.own;
        // What cannot be an event is passed over (see [`read`]), and so is anything before
        // `from` (a consumer that recreated itself may start over from the beginning).
        Ok(messages.filter_map(move |m| {
            let read = m
                .map_err(|e| e.to_string())
                .map(|m| read(m, own))
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

/// The frame of what the stream keeps as `stored` at `seq` (numbered at `origin`, see
/// [`placed`]); `None` for what is not an event of ours. Read as JSON only, not checked as a
/// client's message is: the hub built it from one that was (and a body near the frame limit
/// grows a little as the event is made of it).
fn numbered(stored: &[u8], seq: u64, origin: Option<u64>) -> Option<String> {
    serde_json::from_slice(stored).ok().map(|envelope| placed(envelope, seq, origin))
}

/// The frame of an unnumbered `envelope` at `seq` of the stream read: the writer's answer and
/// every reader's frame, alike (a stored envelope reads back exactly as it was written). Its
/// envelope is numbered after that place (where a seat resumes); its body is named after it
/// too, or — `origin`: numbered in its township's own stream — after its place there and its
/// township (`t1/E000042`), whichever stream it is read from.
fn placed(envelope: Envelope, seq: u64, origin: Option<u64>) -> String {
    Envelope { seq, origin, ..envelope }.numbered().to_text()
}

/// What the last token of `pending`'s subject names: the order a change is of (the stream
/// checks where that order's last change is under it, [`Body::seen_change`]), else the unit
/// the event is addressed to.
fn keyed_by(pending: &Pending) -> Option<&str> {
    match &pending.body {
        Body::OrderChanged(change) => Some(&change.order),
        _ => pending.route.as_deref(),
    }
}

/// The stream's answer to `question` about one message under `subject`: the message, none
/// (`Ok(None)`), or why it did not answer in time.
async fn one_under(
    subject: &str,
    question: impl std::future::Future<Output = Result<StreamMessage, LastRawMessageError>>,
) -> Result<Option<StreamMessage>, String> {
    match tokio::time::timeout(ANSWER, question).await {
        Ok(Ok(found)) => Ok(Some(found)),
        Ok(Err(e)) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Ok(Err(e)) => Err(format!("the changes under {subject}: {e}")),
        Err(_) => Err(format!("the changes under {subject} took over {ANSWER:?} to read")),
    }
}

/// The header with which the county's stream marks an event it sourced: `<stream> <seq>` on
/// nats-server 2.9, `<stream> <seq> <filter> <destination>` since 2.10 — the event's place in
/// the township's own stream second ([`source_place`]).
const SOURCE_HEADER: &str = "Nats-Stream-Source";

/// The place in its township's own stream of an event sourced with `header` ([`SOURCE_HEADER`]).
fn source_place(header: &str) -> Option<u64> {
    header.split(' ').nth(1)?.parse().ok()
}

/// An event as the stream delivered it (`own`: the stream is a township's own); `None` for
/// what is not one of ours (anything a foreign publisher put under the county's subjects).
fn read(message: jetstream::Message, own: bool) -> Option<Read> {
    let seq = message.info().ok()?.stream_sequence;
    let sourced = message.headers.as_ref().and_then(|h| h.get(SOURCE_HEADER)).map(|v| v.as_str().to_owned());
    let origin = match sourced {
        Some(header) => match source_place(&header) {
            Some(at) => Some(at),
            None => {
                tracing::warn!(seq, header, "a sourced event without its place in its township's stream; passed over");
                return None;
            }
        },
        None => own.then_some(seq),
    };
    let addressed = message.headers.as_ref().and_then(|h| h.get(ROUTE_HEADER)).map(|v| v.as_str().to_owned());
    // By the kind in its subject too: a meeting logged before meetings had a route is every
    // unit's all the same.
    let route = routes::route_of(kind_of(&message.subject).unwrap_or_default(), addressed);
    let township = township_of(&message.subject).unwrap_or_default().into();
    match numbered(&message.payload, seq, origin) {
        Some(frame) => Some(Read { logged: Logged { seq, frame }, route, township }),
        None => {
            tracing::warn!(seq, subject = %message.subject, "not an event of the county's log; passed over");
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
            access: NatsAccess::default(),
            leaves: vec![],
        }
    }

    #[test]
    fn subjects_keep_a_township_to_itself_and_routes_to_their_unit() {
        let t = county(Some("t1"));
        // An order's changes go under the order (a township's own order id spelled out).
        let change = |order: &str| {
            let change = linkage_protocol::OrderChange {
                key: "k".into(),
                order: order.into(),
                change: linkage_protocol::Change::Archive,
                by: String::new(),
                seen: Some(3),
            };
            Pending { dedup: None, route: None, body: Body::OrderChanged(change), township: None }
        };
        let (d1, own) = (change("D000001"), change("t1/D000002"));
        assert_eq!(t.subject(None, "order_changed", keyed_by(&d1)), "lk.c1.t1.order_changed.D000001");
        assert_eq!(
            t.subject(None, "order_changed", keyed_by(&own)),
            format!("lk.c1.t1.order_changed.{}", token("t1/D000002"))
        );
        assert_eq!(t.subject(None, "order_issued", Some("police-1")), "lk.c1.t1.order_issued.police-1");
        // Dots, wildcards and Chinese are spelled out, so that no two units share a token.
        assert_eq!(t.subject(None, "order_issued", Some("a.b")), "lk.c1.t1.order_issued._612e62");
        assert_ne!(token("派出所"), token("卫生院"));
        assert_ne!(token("_"), token(""));
        assert_eq!((token("qing_xi"), token("_x")), ("qing_xi".into(), "_5f78".into()));
        assert_eq!(t.subject(None, "incident_reported", None), "lk.c1.t1.incident_reported._");
        // A township's gateway writes under its own township whatever the sender's grant says.
        assert_eq!(t.subject(Some("t2"), "incident_reported", None), "lk.c1.t1.incident_reported._");
        assert_eq!(t.scope(), "lk.c1.t1.>");
        let c = county(None);
        assert_eq!(c.subject(None, "roster_set", None), "lk.c1.county.roster_set._");
        assert_eq!(c.scope(), "");
        // The county's gateway writes a township's sender under that township…
        assert_eq!(c.subject(Some("t2"), "incident_reported", None), "lk.c1.t2.incident_reported._");
        let qingxi = format!("lk.c1.{}.incident_reported._", token("青溪镇"));
        assert_eq!(c.subject(Some("青溪镇"), "incident_reported", None), qingxi);
        assert_eq!(township_of(&qingxi), Some(token("青溪镇").as_str()));
        // …and reads for it what a township's gateway would.
        let narrowed = County { township: Some("t2".into()), ..c.clone() };
        assert_eq!(narrowed.scope(), "lk.c1.t2.>");
    }

    #[test]
    fn what_the_stream_keeps_is_numbered_after_its_place() {
        let stored = Envelope::new(0, linkage_protocol::Body::Heartbeat);
        let frame = numbered(stored.to_text().as_bytes(), 42, None).unwrap();
        assert_eq!(Envelope::parse(&frame).unwrap(), Envelope { seq: 42, ..stored });
        assert_eq!(numbered(b"linkage county log", 1, None), None);
        assert_eq!(numbered(&[0xff, 0xfe], 1, None), None);
        // A meeting opened in its township's own stream keeps the name it has there in the
        // county's, where it sits at another place.
        use linkage_protocol::{Body, MeetingAction, MeetingCommand};
        let open = MeetingAction::Open { title: "会商".into(), incident: None, sites: vec![] };
        let command = MeetingCommand { key: "k".into(), meeting: String::new(), action: open, by: "王芳".into() };
        let stored = Envelope { township: Some("t1".into()), ..Envelope::new(0, Body::MeetingChaired(command)) };
        let frame = Envelope::parse(&numbered(stored.to_text().as_bytes(), 900, Some(42)).unwrap()).unwrap();
        let Body::MeetingChaired(opened) = frame.body else { panic!("{frame:?}") };
        assert_eq!((frame.seq, opened.meeting.as_str()), (900, "t1/M000042"));
    }

    #[test]
    fn a_township_on_its_own_node_keeps_its_own_stream_which_the_county_sources() {
        let leaves = vec!["t1".to_string(), "青溪镇".to_string()];
        let t1 = County { leaves: leaves.clone(), ..county(Some("t1")) };
        assert_eq!((t1.stream(), t1.scope()), ("LK_c1_t1".into(), "lt.c1.t1.>".into()));
        assert_eq!(t1.subject(None, "incident_reported", None), "lt.c1.t1.incident_reported._");
        assert_eq!(own_stream("c1", "青溪镇"), format!("LK_c1_{}", domain("青溪镇")));
        // A township not on its own node writes into the county's stream as before…
        let t2 = County { leaves: leaves.clone(), ..county(Some("t2")) };
        assert_eq!((t2.stream(), t2.scope()), ("LK_c1".into(), "lk.c1.t2.>".into()));
        // …and the county's gateway reads everything its stream holds (its own and what it
        // sources), writing for a township on its own node into that township's stream.
        let c = County { leaves, ..county(None) };
        assert_eq!((c.stream(), c.scope()), ("LK_c1".into(), String::new()));
        assert_eq!(c.subject(Some("t1"), "acknowledge", None), "lt.c1.t1.acknowledge._");
        assert_eq!(c.subject(Some("t2"), "acknowledge", None), "lk.c1.t2.acknowledge._");
        assert!(County { leaves: vec!["county".into()], ..county(None) }.check().is_err());
    }

    #[test]
    fn a_sourced_events_place_is_read_from_either_servers_header() {
        assert_eq!(source_place("LK_c1_t1:3f2a 42"), Some(42)); // nats-server 2.9
        assert_eq!(source_place("LK_c1_t1:3f2a 42 > >"), Some(42)); // 2.10 and later
        assert_eq!(source_place("LK_c1_t1"), None);
        assert_eq!(source_place("LK_c1_t1 x"), None);
    }

    #[test]
    fn names_that_would_change_a_subject_are_refused_or_spelled_out() {
        assert!(county(Some("t1")).check().is_ok());
        // Any township name is spelled as one subject token; "county" is the county's own.
        assert!(county(Some("青溪镇")).check().is_ok());
        assert_eq!(county(Some("t.1")).scope(), "lk.c1._742e31.>");
        assert!(county(Some("county")).check().is_err());
        assert!(county(Some(" ")).check().is_err());
        assert!(County { county: "c>".into(), ..county(None) }.check().is_err());
        assert!(County { replicas: 7, ..county(None) }.check().is_err());
        assert!(County { urls: vec![], ..county(None) }.check().is_err());
        let with_password = County { urls: vec!["nats://gw:secret@10.0.0.1:4222".into()], ..county(None) };
        assert!(!with_password.check().unwrap_err().contains("secret"), "the password is not repeated");
    }

    #[test]
    fn a_townships_token_reads_back_as_its_name() {
        for name in ["t1", "青溪镇", "t.1", "_t", "a b", "x-y_z"] {
            assert_eq!(untoken(&token(name)).as_deref(), Some(name), "{name}");
        }
        for never in ["", "_", "_7", "_zz", "_ff", "_41", "_+f", "_E99D92"] {
            assert_eq!(untoken(never), None, "{never:?}");
        }
    }
}
