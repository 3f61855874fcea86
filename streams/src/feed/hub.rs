//! The hub: a WebSocket server that logs every event and streams it to its clients.
//!
//! - One writer thread owns the [`EventLog`]; reports reach it through a channel and are
//!   appended in batches (everything waiting goes into one transaction), so sequence numbers
//!   are handed out in one place and events are broadcast in log order.
//! - Each event is serialised once, when it is logged; the same frame bytes go to every client.
//! - Each connection: `hello` first (token and role checked), then the replay of the log after
//!   the client's `since`, then live events from a broadcast channel it subscribed to *before*
//!   the replay, skipping what the replay already sent — so there is no gap and no duplicate.
//!   Live frames are written in runs and flushed once per run.
//! - A reporter's reports are pipelined: the connection keeps reading while earlier reports
//!   are being logged, and answers each in order when its turn comes.
//! - A client that falls behind the broadcast buffer, or whose socket does not take a frame in
//!   time, is told why and cut off: it never slows the hub or the others. It can resume with
//!   `since`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, oneshot, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, coding::CloseCode};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::admission::{Admission, admit};
use super::attachments::AttachmentStore;
use super::beside::{Allowance, Beside};
use super::event_log::{EventLog, Logged, Pending, Unlogged};
pub use super::grant::Grant;
use super::grant::{RATE_REFUSALS_BEFORE_CUT, RateLimit};
use super::jetstream::{self, County, JetStreamLog};
use super::logs::{Reader, Writer};
use super::routes;
use super::tls::Socket;
use super::users::{LoginError, Users};
use super::views::redacted;
use linkage_protocol::{Body, Envelope, ErrorCode, MAX_FRAME_BYTES, Role, close};

/// Events a replay reads from the log at a time.
const REPLAY_BATCH: usize = 500;
/// Live events buffered per client before it counts as too slow.
const BROADCAST_BUFFER: usize = 8192;
/// How long a socket may take to accept one frame.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The hub sends a heartbeat this often; a client silent for three of them is closed.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Reports the writer puts in one transaction at most.
const WRITE_BATCH: usize = 512;
/// Reports one connection may have waiting for the log before the hub stops reading from it.
const REPORTS_IN_FLIGHT: usize = 256;
/// Live frames written to a socket before one flush.
const SEND_RUN: usize = 256;
/// How often a county gateway's follower asks which node leads the stream: the consumer it
/// reads through lives on the leader and dies with it, which the client library notices only
/// after missing two of its heartbeats (tens of seconds); a follower that sees the leader
/// move reads again through a new consumer at once.
const LEADER_CHECK: Duration = Duration::from_millis(250);
/// A county gateway's follower that has read nothing for this long asks the stream whether
/// it missed something.
const FOLLOWER_QUIET: Duration = Duration::from_secs(3);
/// The same for [`UNSETTLED`] after the stream's leader moved: a consumer made on a new
/// leader at once may stall (seen in a planned restart under load).
const FOLLOWER_QUIET_AFTER_A_MOVE: Duration = Duration::from_millis(500);
/// How long after a move of the stream's leader the follower watches more closely.
const UNSETTLED: Duration = Duration::from_secs(10);

/// An event on its way to every client: its place in the log and its frame, serialised once.
#[derive(Clone)]
struct Live {
    seq: u64,
    frame: Utf8Bytes,
    /// The unit a work order is addressed to; its terminals receive it.
    route: Option<Arc<str>>,
    /// Logged now; `false`: the log had it already (a repeat, answered but not broadcast).
    fresh: bool,
    /// On a county's gateway: the subject token of the township it belongs to.
    township: Option<Arc<str>>,
}

/// How to run a hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// token → grant.
    pub tokens: HashMap<String, Grant>,
    pub limits: Limits,
    /// Serve wss with this identity (and nothing else); `None`: plain ws (loopback, the demo).
    pub tls: Option<super::tls::Identity>,
    /// Where the files endpoint (attachments over HTTP, HTTPS with `tls`) listens; `None`: no
    /// attachments.
    pub files: Option<SocketAddr>,
    /// Keep the log on the county's JetStream stream (this hub is one of its gateways);
    /// `None`: the township's own log in `data_dir`.
    pub county: Option<County>,
    /// The secret gateways serving one set of seats share to sign their sessions, so that a
    /// seat moving to another is let in without logging in again (see [`super::users`]);
    /// `None`: sessions are kept in this hub's user store.
    pub session_secret: Option<Vec<u8>>,
}

impl HubConfig {
    /// A hub on a free port of 127.0.0.1, plain ws, default limits, no files endpoint: what
    /// tests and benchmarks start (change what they need with struct update syntax).
    pub fn on_loopback(data_dir: &std::path::Path, tokens: HashMap<String, Grant>) -> HubConfig {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            tokens,
            limits: Limits::default(),
            tls: None,
            files: None,
            county: None,
            session_secret: None,
        }
    }
}

/// What the hub allows a connection before it is dropped.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// A client must finish the WebSocket handshake and say hello within this time.
    pub handshake: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_connections: 4096, handshake: Duration::from_secs(10) }
    }
}

/// The hub, for starting one.
pub struct Hub;

/// A running hub; [`HubHandle::stop`] shuts it down.
pub struct HubHandle {
    addr: SocketAddr,
    secure: bool,
    shutdown: watch::Sender<bool>,
    refused: Arc<AtomicU64>,
    files: Option<String>,
    county: Option<JetStreamLog>,
}

impl HubHandle {
    /// The county's stream, when this hub is one of its gateways.
    pub fn county(&self) -> Option<&JetStreamLog> {
        self.county.as_ref()
    }

    /// The files endpoint's URL (`http://…` or `https://…`), when the hub serves one.
    pub fn files_url(&self) -> Option<&str> {
        self.files.as_deref()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL clients connect to.
    /// (`wss://` with TLS; the certificate names the hub's host, so a client on another
    /// machine uses that name instead of the address.)
    pub fn url(&self) -> String {
        format!("{}://{}", if self.secure { "wss" } else { "ws" }, self.addr)
    }

    /// How many frames were refused (malformed, invalid, unauthorized) since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for HubHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A request to the writer thread.
struct Append {
    event: Pending,
    reply: oneshot::Sender<Result<Live, Unlogged>>,
}

/// What every connection task shares.
pub(super) struct Shared {
    tokens: HashMap<String, Grant>,
    data_dir: PathBuf,
    writer: std::sync::mpsc::Sender<Append>,
    live: broadcast::Sender<Live>,
    refused: Arc<AtomicU64>,
    limits: Limits,
    /// The people who may log in, and their sessions.
    users: Arc<std::sync::Mutex<Users>>,
    pub(super) tls: Option<tokio_rustls::TlsAcceptor>,
    /// Where the files endpoint beside the hub is (`http(s)://addr`), told to every client.
    files: Option<String>,
    /// Where the units are, and how the townships on their own nodes can be reached (live
    /// state beside the log).
    beside: Beside,
    /// The county's stream, when the log is kept there.
    county: Option<JetStreamLog>,
    /// One permit per open connection (mini-redis's bound).
    connections: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    /// What `token` lets its bearer be: a token of the tokens file, or the session of a
    /// person who logged in (a seat). Checking a session reads the user store off the
    /// sockets' threads.
    pub(super) async fn grant(&self, token: &str) -> Result<Option<Grant>, String> {
        if let Some(grant) = self.tokens.get(token) {
            return Ok(Some(grant.clone()));
        }
        let users = self.users.clone();
        let token = token.to_owned();
        let person = tokio::task::spawn_blocking(move || {
            users.lock().unwrap_or_else(|p| p.into_inner()).session(&token, chrono::Utc::now())
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(person.map(|person| Grant::person(&person)))
    }
}

impl Hub {
    /// Opens the log and starts listening. Must run inside a tokio runtime.
    pub async fn start(config: HubConfig) -> Result<HubHandle, String> {
        let county = match config.county.clone() {
            Some(county) => Some(JetStreamLog::open(county).await?),
            None => None,
        };
        let log = match &county {
            Some(county) => Writer::County(Box::new(county.clone()), tokio::runtime::Handle::current()),
            None => Writer::Township(EventLog::open(&config.data_dir)?),
        };
        let mut users = Users::open(&config.data_dir)?;
        if let Some(secret) = &config.session_secret {
            users = users.signing_sessions(secret)?;
        }
        if let Some(county) = &county {
            elsewhere(&users, county.county());
        }
        let listener =
            TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let files_listener = match config.files {
            Some(files) => {
                Some(TcpListener::bind(files).await.map_err(|e| format!("cannot listen for files on {files}: {e}"))?)
            }
            None => None,
        };
        let secure = config.tls.is_some();
        let files = match &files_listener {
            Some(l) => {
                let at = l.local_addr().map_err(|e| e.to_string())?;
                Some(format!("{}://{at}", if secure { "https" } else { "http" }))
            }
            None => None,
        };
        let (live, _) = broadcast::channel(BROADCAST_BUFFER);
        let (writer, appends) = std::sync::mpsc::channel();
        let writer_live = live.clone();
        std::thread::Builder::new()
            .name("hub event log".into())
            .spawn(move || write_events(log, appends, writer_live))
            .map_err(|e| e.to_string())?;
        let (shutdown, stopped) = watch::channel(false);
        if let Some(county) = &county {
            let from = county.head_when_answered().await? + 1;
            tokio::spawn(follow(county.clone(), from, live.clone(), stopped.clone()));
        }
        let refused = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            tokens: config.tokens,
            data_dir: config.data_dir,
            writer,
            live,
            refused: refused.clone(),
            limits: config.limits,
            tls: config.tls.clone().map(tokio_rustls::TlsAcceptor::from),
            files: files.clone(),
            beside: Beside::new(),
            county: county.clone(),
            users: Arc::new(std::sync::Mutex::new(users)),
            connections: Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections)),
        });
        tracing::info!(%addr, "hub listening");
        if let Some(files_listener) = files_listener {
            tracing::info!(files = files.as_deref().unwrap_or_default(), "files endpoint listening");
            let store = AttachmentStore::new(&shared.data_dir);
            tokio::spawn(super::files::serve(files_listener, shared.clone(), store, stopped.clone()));
        }
        // A gateway of the whole county answers the townships on their own nodes and watches
        // whether they can be reached; one on such a township's node, whether the county hears
        // it. Each for its seats.
        if let Some(county) = &county {
            let beside = shared.clone();
            if county.county().township.is_none() {
                // The county's gateway makes the leases' bucket, so that a township's gateway
                // with its own user need not make a stream (`nats_users`); asked again until
                // it is there (a township's service waits for it meanwhile).
                let leases = county.clone();
                let mut stopping = stopped.clone();
                tokio::spawn(async move {
                    // Said at once and then once a minute: the nodes may be down for long.
                    let mut asked = 0u32;
                    while let Err(e) = super::lease::bucket(&leases, leases.county()).await {
                        if asked.is_multiple_of(60) {
                            tracing::warn!(error = %e, asked, "the county's leases' bucket is not made yet; asking again every second");
                        }
                        asked = asked.saturating_add(1);
                        tokio::select! {
                            _ = stopping.changed() => return,
                            _ = tokio::time::sleep(super::lease::RENEW) => {}
                        }
                    }
                });
                let found = super::reach::Found::default();
                tokio::spawn(super::reach::answer_townships(county.clone(), found.clone(), stopped.clone()));
                if !county.county().leaves.is_empty() {
                    let tell = move |link| beside.beside.linked(link);
                    tokio::spawn(super::reach::watch_townships(county.clone(), found, tell, stopped.clone()));
                }
            } else if county.on_own_node() {
                let tell = move |link| beside.beside.county_linked(link);
                tokio::spawn(super::reach::watch_county(county.clone(), tell, stopped.clone()));
            }
        }
        tokio::spawn(accept(listener, shared, stopped));
        Ok(HubHandle { addr, secure, shutdown, refused, files, county })
    }
}

/// The writer thread: appends what is waiting in one transaction, then broadcasts what is new,
/// in order, and answers each reporter.
fn write_events(mut log: Writer, appends: std::sync::mpsc::Receiver<Append>, live: broadcast::Sender<Live>) {
    while let Ok(first) = appends.recv() {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH
            && let Ok(more) = appends.try_recv()
        {
            batch.push(more);
        }
        let (pending, replies): (Vec<Pending>, Vec<_>) = batch.into_iter().map(|a| (a.event, a.reply)).unzip();
        let routes: Vec<Option<Arc<str>>> = pending.iter().map(|p| p.route.as_deref().map(Arc::from)).collect();
        for ((logged, reply), route) in log.append_all(pending).into_iter().zip(replies).zip(routes) {
            match logged {
                Ok((Logged { seq, frame }, new)) => {
                    let event = Live { seq, frame: frame.into(), route, fresh: new, township: None };
                    if new && log.broadcasts() {
                        // No receivers is fine: nobody is listening yet.
                        let _ = live.send(event.clone());
                    }
                    let _ = reply.send(Ok(event));
                }
                Err(Unlogged::Failed(e)) => {
                    tracing::error!(error = %e, "event log append failed");
                    let _ = reply.send(Err(Unlogged::Failed(format!("the hub could not store the event: {e}"))));
                }
                Err(refused) => {
                    let _ = reply.send(Err(refused));
                }
            }
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                tracing::info!("hub stopped");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, limit = shared.limits.max_connections, "hub full: connection closed");
                        continue;
                    };
                    let shared = shared.clone();
                    let stopped = stopped.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        match serve(stream, peer, shared, stopped).await {
                            Ok(name) => tracing::info!(%peer, client = %name, "hub client left"),
                            Err(reason) => tracing::info!(%peer, %reason, "hub connection lost"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "hub accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Writes (without flushing) one frame, or gives up after [`SEND_TIMEOUT`].
async fn feed(ws: &mut WebSocketStream<Socket>, frame: Utf8Bytes) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, ws.feed(Message::Text(frame))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("client did not take a frame within 5 s".into()),
    }
}

/// Flushes what was fed, or gives up after [`SEND_TIMEOUT`].
async fn flush(ws: &mut WebSocketStream<Socket>) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, ws.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("client did not take its frames within 5 s".into()),
    }
}

/// Sends one message now.
async fn send(ws: &mut WebSocketStream<Socket>, env: &Envelope) -> Result<(), String> {
    feed(ws, env.to_text().into()).await?;
    flush(ws).await
}

async fn refuse(
    ws: &mut WebSocketStream<Socket>,
    shared: &Shared,
    code: ErrorCode,
    reason: String,
    fatal: bool,
) -> Result<(), String> {
    refuse_command(ws, shared, (code, reason), fatal, None).await
}

/// A refusal that names the command refused (its key), when there is one.
async fn refuse_command(
    ws: &mut WebSocketStream<Socket>,
    shared: &Shared,
    (code, reason): (ErrorCode, String),
    fatal: bool,
    key: Option<String>,
) -> Result<(), String> {
    shared.refused.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(?code, %reason, fatal, ?key, "hub refused a frame");
    send(ws, &Envelope::new(0, Body::Error { code, reason: reason.clone(), fatal, key })).await?;
    if fatal {
        close_with(ws, code.close_code(), &reason).await;
        return Err(reason);
    }
    Ok(())
}

/// Answers a frame beyond what the hub reads whole (four times the protocol's limit) with a
/// fatal `too_large`, as best it can: the rest of the frame is still on its way. Returns why the
/// connection ended.
async fn refuse_oversized(
    ws: &mut WebSocketStream<Socket>,
    shared: &Shared,
    e: tungstenite::error::CapacityError,
) -> String {
    let reason = format!("a frame over the limit of {MAX_FRAME_BYTES} bytes: {e}");
    match refuse(ws, shared, ErrorCode::TooLarge, reason, true).await {
        Err(why) => why,
        Ok(()) => "frame too large".into(),
    }
}

/// Ends the connection with a close code of [`linkage_protocol::close`] and a reason (cut at a
/// character boundary to the 123 bytes a close frame carries).
async fn close_with(ws: &mut WebSocketStream<Socket>, code: u16, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame { code: CloseCode::from(code), reason: reason[..end].to_owned().into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, ws.close(Some(frame))).await;
}

/// One client's whole life on the hub. Returns the client's name when it leaves cleanly.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) -> Result<String, String> {
    // Frames are small and latency matters: no Nagle delay on the hub's sockets.
    let _ = stream.set_nodelay(true);
    // Frames up to four times the protocol's limit are read whole, so the hub can answer
    // `too_large` and close cleanly; a larger one ends the connection while it is read.
    let read_limit = Some(MAX_FRAME_BYTES * 4);
    let config = WebSocketConfig::default().max_message_size(read_limit).max_frame_size(read_limit);
    // The handshake and the hello share one deadline: a client that opens a socket and says
    // nothing holds a connection for that long at most.
    let deadline = tokio::time::Instant::now() + shared.limits.handshake;
    let stream: Socket = match &shared.tls {
        None => Box::new(stream),
        // With TLS on, a client that does not speak it fails here and is dropped.
        Some(tls) => match tokio::time::timeout_at(deadline, tls.accept(stream)).await {
            Ok(Ok(tls)) => Box::new(tls),
            Ok(Err(e)) => return Err(format!("TLS handshake: {e}")),
            Err(_) => return Err("TLS handshake not finished in time".into()),
        },
    };
    let mut ws = match tokio::time::timeout_at(
        deadline,
        tokio_tungstenite::accept_async_with_config(stream, Some(config)),
    )
    .await
    {
        Ok(ws) => ws.map_err(|e| format!("handshake: {e}"))?,
        Err(_) => return Err("handshake not finished in time".into()),
    };

    // 1. hello
    let first = tokio::time::timeout_at(deadline, ws.next()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(Some(Err(tungstenite::Error::Capacity(e)))) => return Err(refuse_oversized(&mut ws, &shared, e).await),
        Ok(Some(Ok(_))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
            let reason = "the first message must be a hello text frame".to_string();
            refuse(&mut ws, &shared, ErrorCode::Protocol, reason, true).await?;
            return Err("no hello".into());
        }
    };
    let (token, role, since) = match Envelope::parse(&text) {
        Ok(Envelope { body: Body::Hello { token, role, since }, .. }) => (token, role, since),
        Ok(Envelope { body: Body::Login { user, password }, .. }) => {
            return login(&mut ws, &shared, peer, user, password).await;
        }
        Ok(_) => {
            let reason = "the first message must be hello".to_string();
            refuse(&mut ws, &shared, ErrorCode::Protocol, reason, true).await?;
            return Err("no hello".into());
        }
        Err(e) => {
            refuse(&mut ws, &shared, e.code(), e.to_string(), true).await?;
            return Err("bad hello".into());
        }
    };
    let grant = shared.grant(&token).await?.filter(|g| g.role == role);
    let Some(grant) = grant else {
        let reason = format!("token not valid for role {role:?} (or the session ended: log in again)");
        refuse(&mut ws, &shared, ErrorCode::Unauthorized, reason, true).await?;
        return Err("unauthorized".into());
    };
    // On a county's gateway a client of one township is served that township only: replayed
    // by the server's filter, streamed by the township's subject token, writing under it. One
    // of another township than a township's gateway serves is refused.
    let township = match shared.county.as_ref().map(|county| grant.kept_to(county.county())).transpose() {
        Ok(township) => township.flatten(),
        Err(reason) => {
            refuse(&mut ws, &shared, ErrorCode::Unauthorized, reason, true).await?;
            return Err("another township's client".into());
        }
    };
    // On a gateway of the whole county a unit terminal reads its unit's orders of one township:
    // without one (a token that names none, a person of the county itself) it may not.
    if role == Role::UnitTerminal
        && township.is_none()
        && shared.county.as_ref().is_some_and(|c| c.county().township.is_none())
    {
        let reason =
            "a unit terminal on a gateway of the whole county needs its township: connect to your township's gateway"
                .to_string();
        refuse(&mut ws, &shared, ErrorCode::Unauthorized, reason, true).await?;
        return Err("unit terminal without a township".into());
    }
    tracing::info!(%peer, client = %grant.name, ?role, since, "hub client connected");

    // 2. subscribe first, then replay, then live — so nothing falls between the two.
    let mut live = shared.live.subscribe();
    let mut beside = shared.beside.subscribe();
    let streams_events = role.streams_events();
    // A unit terminal streams the work orders addressed to its unit and the meetings (routed
    // to every unit), and nothing else.
    let unit: Option<Arc<str>> = grant.unit.as_deref().filter(|_| role == Role::UnitTerminal).map(Arc::from);
    let wanted = |route: &Option<Arc<str>>| {
        streams_events || unit.as_deref().is_some_and(|unit| routes::unit_reads(unit, route.as_deref()))
    };
    let scope: Option<Arc<str>> = township.as_deref().map(|t| Arc::from(jetstream::token(t)));
    let in_scope = |township: &Option<Arc<str>>| scope.is_none() || township == &scope;
    let county = shared.county.as_ref().map(|county| match &township {
        Some(township) => county.narrowed(township),
        None => county.clone(),
    });
    let reader = Reader::open(&shared.data_dir, county.as_ref()).await?;
    let head = reader.head().await?;
    let welcome = Body::Welcome {
        client: grant.name.clone(),
        role,
        head,
        seat: grant.seat,
        session: None,
        files: shared.files.clone(),
        unit: grant.unit.clone(),
    };
    send(&mut ws, &Envelope::new(0, welcome)).await?;
    let mut last_sent = since;
    if streams_events || unit.is_some() {
        replay(&mut ws, &reader, (role, unit.as_deref()), &mut last_sent).await?;
        send(&mut ws, &Envelope::new(0, Body::Replayed { head: last_sent })).await?;
    }
    // Where every unit is now, and how every township on its own node can be reached (one that
    // also comes live meanwhile is sent twice: the newer wins).
    // That is the center's business: bridges (110, hotlines) are not told. A client kept to one
    // township on a county's gateway is not told either: the gateway's positions are the whole
    // county's, by unit id alone, and how its townships are reached is the county's concern.
    let sees_beside = streams_events && role != Role::Bridge && scope.is_none();
    if sees_beside {
        for frame in shared.beside.now() {
            feed(&mut ws, frame).await?;
        }
        flush(&mut ws).await?;
    }
    let mut allowance = Allowance::default();

    // 3. live
    let mut rate = RateLimit::new(grant.per_second);
    // Whether the client has been told it is falling behind (told again after it caught up).
    let mut warned_slow = false;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut last_heard = tokio::time::Instant::now();
    // This connection's reports on their way into the log, answered in order; on a county's
    // log each is first placed (see [`placer`]), in order, off this loop.
    let mut logging: FuturesOrdered<Logging> = FuturesOrdered::new();
    let placing = county.clone().map(|county| Placer::start(shared.clone(), county));
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                close_with(&mut ws, close::GOING_AWAY, "the hub is stopping").await;
                return Ok(grant.name);
            }
            event = live.recv(), if streams_events || unit.is_some() => {
                // Half the buffer waiting for this client: tell it before it has to be cut.
                let waiting = live.len();
                if !warned_slow && waiting > BROADCAST_BUFFER / 2 {
                    let reason = format!("{waiting} events waiting for you; at {BROADCAST_BUFFER} you are cut off");
                    refuse(&mut ws, &shared, ErrorCode::TooSlow, reason, false).await?;
                    warned_slow = true;
                } else if waiting < BROADCAST_BUFFER / 8 {
                    warned_slow = false;
                }
                // Write a run of frames, then flush once. The run ends when nothing more is
                // waiting or it is long enough; an event is taken only when it will be sent.
                let mut next = Some(event);
                let mut run = 0;
                while let Some(event) = next.take() {
                    match event {
                        Ok(Live { seq, frame, route, township, .. })
                            if seq > last_sent && wanted(&route) && in_scope(&township) =>
                        {
                            if let Some(frame) = redacted(role, unit.as_deref(), frame) {
                                feed(&mut ws, frame).await?;
                            }
                            last_sent = seq;
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            let reason = format!("fell {n} events behind; resume with since={last_sent}");
                            refuse(&mut ws, &shared, ErrorCode::TooSlow, reason, true).await?;
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(grant.name),
                    }
                    run += 1;
                    if run < SEND_RUN {
                        next = match live.try_recv() {
                            Ok(event) => Some(Ok(event)),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                Some(Err(broadcast::error::RecvError::Lagged(n)))
                            }
                            Err(_) => None,
                        };
                    }
                }
                flush(&mut ws).await?;
            }
            news = beside.recv(), if sees_beside => match news {
                Ok(frame) => {
                    feed(&mut ws, frame).await?;
                    flush(&mut ws).await?;
                }
                // Fallen behind: the newest of each is all that counts, and is sent again.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    for frame in shared.beside.now() {
                        feed(&mut ws, frame).await?;
                    }
                    flush(&mut ws).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(grant.name),
            },
            Some(logged) = logging.next(), if !logging.is_empty() => {
                let logged: Result<Result<Live, Unlogged>, oneshot::error::RecvError> = logged;
                match logged {
                    // A console sees its own report in the live stream, a unit terminal its
                    // own steps (routed to its unit); others get it here. A repeat is not
                    // broadcast: a terminal whose step another of its unit's logged first gets
                    // the logged one here, so its queue settles.
                    Ok(Ok(Live { frame, route, fresh, .. })) if !wanted(&route) || (!fresh && !streams_events) => {
                        if let Some(frame) = redacted(role, unit.as_deref(), frame) {
                            feed(&mut ws, frame).await?;
                            flush(&mut ws).await?;
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(Unlogged::Failed(reason))) => refuse(&mut ws, &shared, ErrorCode::Internal, reason, false).await?,
                    // Its sender is told which of its commands will never be logged, and why.
                    Ok(Err(Unlogged::Refused { code, key, reason })) => {
                        refuse_command(&mut ws, &shared, (code, reason), false, key).await?
                    }
                    Err(_) => return Err("the event log is closed".into()),
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > HEARTBEAT * 3 {
                    close_with(&mut ws, close::NORMAL, "silent for three heartbeats").await;
                    return Err("client silent for 15 s".into());
                }
                send(&mut ws, &Envelope::new(0, Body::Heartbeat)).await?;
            }
            incoming = ws.next(), if logging.len() < REPORTS_IN_FLIGHT => {
                last_heard = tokio::time::Instant::now();
                let text = match incoming {
                    None | Some(Ok(Message::Close(_))) => return Ok(grant.name),
                    Some(Err(tungstenite::Error::Capacity(e))) => return Err(refuse_oversized(&mut ws, &shared, e).await),
                    Some(Err(e)) => {
                        shared.refused.fetch_add(1, Ordering::Relaxed);
                        return Err(e.to_string());
                    }
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                if !rate.take() {
                    let fatal = rate.refused_in_a_row >= RATE_REFUSALS_BEFORE_CUT;
                    let reason = format!(
                        "over {} messages a second (bursts of {}): not logged, send it again later",
                        grant.per_second,
                        u64::from(grant.per_second) * 10
                    );
                    refuse(&mut ws, &shared, ErrorCode::RateLimited, reason, fatal).await?;
                    continue;
                }
                match Envelope::parse(&text) {
                    Ok(envelope) => {
                        let key = envelope.body.command_key();
                        let about = envelope.body.about().and_then(About::of);
                        match admit(&grant, envelope.body) {
                            Admission::Log(event) => match &placing {
                                Some(placing) => logging.push_back(placing.place(&shared, about, *event)?),
                                None => logging.push_back(Box::pin(log(&shared, *event)?)),
                            },
                            Admission::Ignore => {}
                            Admission::Move(position) => {
                                if allowance.take() {
                                    shared.beside.moved(position);
                                }
                            }
                            Admission::Refuse(code, reason) => {
                                refuse_command(&mut ws, &shared, (code, reason), false, key).await?
                            }
                        }
                    }
                    // A frame over the limit is refused for good, and so is its sender; a
                    // command that fails the checks is named, so its sender stops resending it.
                    Err(e) => {
                        let fatal = e.code() == ErrorCode::TooLarge;
                        let key = Envelope::command_key_of(&text);
                        refuse_command(&mut ws, &shared, (e.code(), e.to_string()), fatal, key).await?
                    }
                }
            }
        }
    }
}

/// A login exchange: the password checked (off the sockets' threads), a session opened and
/// handed back in `welcome`, the connection closed. A refusal is fatal and logged with the
/// user's name (never the password).
async fn login(
    ws: &mut WebSocketStream<Socket>,
    shared: &Shared,
    peer: SocketAddr,
    user: String,
    password: String,
) -> Result<String, String> {
    let users = shared.users.clone();
    let name = user.clone();
    let county = shared.county.as_ref().map(|county| county.county().clone());
    let checked = tokio::task::spawn_blocking(move || {
        let mut users = users.lock().unwrap_or_else(|p| p.into_inner());
        let person = users.verify(&name, &password)?;
        let grant = Grant::person(&person);
        // Another township's person is told so here, not only when the seat says hello.
        if let Some(county) = &county {
            grant.kept_to(county).map_err(LoginError::NotHere)?;
        }
        let session = users.start_session(&name, chrono::Utc::now()).map_err(LoginError::Store)?;
        Ok::<_, LoginError>((person, grant, session))
    })
    .await
    .map_err(|e| e.to_string())?;
    match checked {
        Ok((person, grant, session)) => {
            tracing::info!(%peer, %user, seat = person.seat.code(), "login");
            let welcome = Body::Welcome {
                client: person.display.clone(),
                role: grant.role,
                head: 0,
                seat: Some(person.seat),
                session: Some(session),
                files: None,
                unit: grant.unit,
            };
            send(ws, &Envelope::new(0, welcome)).await?;
            close_with(ws, close::NORMAL, "logged in").await;
            Ok(person.display)
        }
        Err(e) => {
            tracing::warn!(%peer, %user, reason = %e, "login refused");
            refuse(ws, shared, ErrorCode::Unauthorized, e.to_string(), true).await?;
            Err(format!("login of {user} refused"))
        }
    }
}

/// Sends the log after `*last_sent` in batches, moving `*last_sent` along.
async fn replay(
    ws: &mut WebSocketStream<Socket>,
    reader: &Reader,
    (role, route): (Role, Option<&str>),
    last_sent: &mut u64,
) -> Result<(), String> {
    loop {
        let batch = reader.after(*last_sent, route, REPLAY_BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for Logged { seq, frame } in batch {
            if let Some(frame) = redacted(role, route, frame) {
                feed(ws, frame.into()).await?;
            }
            *last_sent = seq;
        }
        flush(ws).await?;
    }
}

/// A county gateway's follower: every event of its scope, as the stream logs it (whichever
/// gateway appended it), broadcast to its clients in order from `from` on. It reads again,
/// after the last event broadcast, through a new consumer when the stream's leader moved, when
/// the read breaks, or when it has heard nothing for a while and the stream has events for it.
async fn follow(
    county: JetStreamLog,
    mut from: u64,
    live: broadcast::Sender<Live>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut leadership = Leadership::default();
    // How long the next consumer's making is waited for: a second, doubled after each that
    // was not answered, up to five (one asked of a stream electing its leader is never
    // answered; one asked of a loaded stream may take longer than a second).
    let mut patience = Duration::from_secs(1);
    loop {
        // Asked before the consumer is made: a move after this is seen at the next check. One
        // since the last consumer (it broke as its leader died) is said now.
        leadership.saw(asked(county.leader()).await.ok().flatten(), &county);
        let mut pause = true;
        let followed = tokio::select! {
            _ = stopped.changed() => return,
            followed = tokio::time::timeout(patience, county.follow(from)) => {
                followed.unwrap_or_else(|_| Err(format!("no answer in {patience:?}")))
            }
        };
        patience = match followed {
            Ok(_) => Duration::from_secs(1),
            Err(_) => (patience * 2).min(Duration::from_secs(5)),
        };
        match followed {
            Ok(events) => {
                let mut events = std::pin::pin!(events);
                let mut check = tokio::time::interval(LEADER_CHECK);
                let mut heard = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = check.tick() => {
                            if let Ok(now) = asked(county.leader()).await
                                && leadership.saw(now, &county)
                            {
                                tracing::warn!(from, leader = ?leadership.known, "the county's stream has a new leader; reading again");
                                pause = false;
                                break;
                            }
                            if heard.elapsed() >= leadership.quiet() {
                                if missed(&county, from).await {
                                    break;
                                }
                                heard = tokio::time::Instant::now();
                            }
                        }
                        event = events.next() => match event {
                            Some(Ok(read)) => {
                                heard = tokio::time::Instant::now();
                                from = read.logged.seq + 1;
                                let route = read.route.map(Arc::from);
                                let (seq, frame) = (read.logged.seq, read.logged.frame.into());
                                let event = Live { seq, frame, route, fresh: true, township: Some(read.township) };
                                // No receivers is fine: nobody is listening yet.
                                let _ = live.send(event);
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, from, "reading the county's stream; reading again");
                                break;
                            }
                            None => break,
                        },
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, from, "cannot follow the county's stream; trying again"),
        }
        if pause {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

/// An event on its way into the log: the log's answer, or why it was not logged.
type Logging = futures_util::future::BoxFuture<'static, Result<Result<Live, Unlogged>, oneshot::error::RecvError>>;

/// An event to place on a county's log (the event it is about), and where to say it was
/// handed to the writer (or why not).
type Placing = (Option<About>, Pending, oneshot::Sender<Result<oneshot::Receiver<Result<Live, Unlogged>>, Unlogged>>);

/// The event a command is about, by the id it names ([`linkage_protocol::logged_at`]).
enum About {
    /// One at this place in the county's stream: whose it is must be asked of the stream.
    Here(u64),
    /// One numbered in this township's own stream (a township on its own node): it is its.
    Own(String),
}

impl About {
    fn of(id: &str) -> Option<About> {
        match linkage_protocol::logged_at(id)? {
            (Some(township), _) => Some(About::Own(township.to_owned())),
            (None, seq) => Some(About::Here(seq)),
        }
    }
}

/// A connection's placer on a county's log (`county` as the client reads it): puts each of
/// its events under its township and hands it to the writer, in order. A client of one
/// township (its gateway's, or its own on the whole county's) writes under it, and about its
/// own township's events only; a client of the whole county writes about an event under that
/// event's township, where that township's services act. Whose an event is, is asked of the
/// stream (as patiently as an append waits) by a task beside the connection; an event about
/// none goes straight to the writer unless one that is asked about is still ahead of it.
struct Placer {
    county: JetStreamLog,
    asking: tokio::sync::mpsc::UnboundedSender<Placing>,
    /// Events handed to the task and not yet to the writer.
    ahead: Arc<AtomicU64>,
}

impl Placer {
    fn start(shared: Arc<Shared>, county: JetStreamLog) -> Placer {
        let (asking, mut events) = tokio::sync::mpsc::unbounded_channel::<Placing>();
        let ahead = Arc::new(AtomicU64::new(0));
        let (task_county, task_ahead) = (county.clone(), ahead.clone());
        tokio::spawn(async move {
            while let Some((about, mut event, placed)) = events.recv().await {
                let own = task_county.county().township.clone();
                // A command about an event not of the client's township, or about none there
                // is, is refused for good (its seat stops sending it); one whose township the
                // stream does not tell now may be sent again.
                let not = |code, reason: String| Unlogged::refused(code, &event.body, reason);
                let township = match about {
                    None => Ok(own),
                    Some(About::Own(of)) if own.as_ref().is_none_or(|own| *own == of) => {
                        if task_county.county().keeps_own(&of) {
                            Ok(Some(of))
                        } else {
                            // Perhaps not yet: a gateway learns the townships on their own
                            // nodes when it starts.
                            Err(Unlogged::Failed(format!(
                                "{of} keeps no log of its own that this gateway knows of: not logged"
                            )))
                        }
                    }
                    Some(About::Own(of)) => Err(not(
                        ErrorCode::Unauthorized,
                        format!("that event is {of}'s, not {}'s: not logged", own.as_deref().unwrap_or("the county")),
                    )),
                    Some(About::Here(seq)) if task_county.on_own_node() => {
                        let own = own.as_deref().unwrap_or_default();
                        let reason =
                            format!("no event {seq} here: {own}'s own log names its events {own}/…; not logged");
                        Err(not(ErrorCode::Invalid, reason))
                    }
                    Some(About::Here(seq)) => match task_county.township_at_when_answered(seq).await {
                        Ok(Ok(of)) if own.is_none() || of == own => Ok(of),
                        Ok(Err(none)) => Err(not(ErrorCode::Invalid, format!("{none}: not logged"))),
                        Ok(Ok(of)) => Err(not(
                            ErrorCode::Unauthorized,
                            format!(
                                "event {seq} is {}'s, not {}'s: not logged",
                                of.as_deref().unwrap_or("the county"),
                                own.as_deref().unwrap_or("the county")
                            ),
                        )),
                        Err(e) => Err(Unlogged::Failed(format!(
                            "cannot tell whose event {seq} is ({e}): not logged, send it again"
                        ))),
                    },
                };
                let _ = placed.send(township.and_then(|township| {
                    event.township = township;
                    log(&shared, event).map_err(Unlogged::Failed)
                }));
                task_ahead.fetch_sub(1, Ordering::SeqCst);
            }
        });
        Placer { county, asking, ahead }
    }

    /// Places `event` (about the event at `about`, if any); the answer comes when it is in
    /// the log, or says why it is not.
    fn place(&self, shared: &Shared, about: Option<About>, mut event: Pending) -> Result<Logging, String> {
        if about.is_none() && self.ahead.load(Ordering::SeqCst) == 0 {
            event.township = self.county.county().township.clone();
            return Ok(Box::pin(log(shared, event)?));
        }
        let (placed, answer) = oneshot::channel();
        self.ahead.fetch_add(1, Ordering::SeqCst);
        self.asking.send((about, event, placed)).map_err(|_| "the event log is closed".to_string())?;
        Ok(Box::pin(async move {
            match answer.await {
                Ok(Ok(logged)) => logged.await,
                Ok(Err(refused)) => Ok(Err(refused)),
                Err(closed) => Err(closed),
            }
        }))
    }
}

/// A question to the county's stream, given up after a second (a node that died holds it
/// for the client's whole request timeout otherwise).
async fn asked<T>(question: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(Duration::from_secs(1), question).await.unwrap_or_else(|_| Err("no answer in a second".into()))
}

/// Warns of the people a gateway of `county` will not let in (they work for another
/// township, or one spelled otherwise: `linkage users township` moves them).
fn elsewhere(users: &Users, county: &County) {
    let Ok(people) = users.list() else { return };
    let refused: Vec<String> = people
        .into_iter()
        .filter(|(person, _)| Grant::person(person).kept_to(county).is_err())
        .map(|(person, _)| format!("{} ({})", person.user, person.township))
        .collect();
    if !refused.is_empty() {
        tracing::warn!(
            people = %refused.join(", "),
            "these people work for another township than this gateway's and cannot log in here"
        );
    }
}

/// Which node a follower last saw leading the county's stream (across the consumers it
/// reads through: one broken as its leader died is followed by one made on the next), and
/// when it last saw the leader move.
#[derive(Default)]
struct Leadership {
    known: Option<String>,
    moved: Option<tokio::time::Instant>,
}

impl Leadership {
    /// Takes the leader seen now (`None`: none, or no answer); whether it moved from the one
    /// seen before — then the gateway's publishes waiting on the old one are told.
    fn saw(&mut self, now: Option<String>, county: &JetStreamLog) -> bool {
        let Some(now) = now else { return false };
        let moved = self.known.as_ref().is_some_and(|was| *was != now);
        if moved {
            county.leader_moved();
            self.moved = Some(tokio::time::Instant::now());
        }
        self.known = Some(now);
        moved
    }

    /// How long a follower may hear nothing before it asks whether it missed something.
    fn quiet(&self) -> Duration {
        match self.moved {
            Some(at) if at.elapsed() < UNSETTLED => FOLLOWER_QUIET_AFTER_A_MOVE,
            _ => FOLLOWER_QUIET,
        }
    }
}

/// Whether the stream has events of this gateway's scope from `from` on, which its quiet
/// follower has not delivered — or cannot say (then it is read again too).
async fn missed(county: &JetStreamLog, from: u64) -> bool {
    let waiting = asked(async {
        // Nothing new in the whole county: nothing to ask.
        if county.head().await? < from {
            return Ok(false);
        }
        county.after(from.saturating_sub(1), None, 1).await.map(|waiting| !waiting.is_empty())
    });
    match waiting.await {
        Ok(false) => false,
        Ok(true) => {
            tracing::warn!(from, "the county's stream has events this gateway did not get; reading again");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, from, "the county's stream unanswered; reading again");
            true
        }
    }
}

/// Hands an event to the writer thread; the answer comes when it is in the log.
fn log(shared: &Shared, event: Pending) -> Result<oneshot::Receiver<Result<Live, Unlogged>>, String> {
    let (reply, answer) = oneshot::channel();
    shared.writer.send(Append { event, reply }).map_err(|_| "the event log is closed".to_string())?;
    Ok(answer)
}
