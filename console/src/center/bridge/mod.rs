//! The bridge to the systems the center docks with — the 110 command center, the 12345 /
//! petition platform — over the signed HTTP + JSON protocol of docs/bridge.md. It is a part of
//! the center's server and a client of its hub in the `bridge` role:
//!
//! - **In**: a peer's `POST /v1/incidents` is checked (signature, time window, every field) and
//!   reported to the hub as `PEER:NUMBER`; the answer (202 with the incident's id) comes only
//!   once the hub has logged it — on disk — so nothing a peer was told is accepted can be lost
//!   to a crash. A later revision of the same number becomes a note on the incident; the same
//!   number and revision again is answered with the same id and logged nothing.
//! - **Out**: from the log, folded with the same rules as every seat, it works out what each
//!   peer is owed — the status of every incident it pushed (received → signed for → dispatched
//!   → on scene → reported back → closed → visited, or returned) and every hand-over to it —
//!   writes each to its store (`callbacks`) and sends it until acknowledged, in order per lane.
//! - A peer's word on a hand-over (`POST /v1/handovers/{id}/progress`) is logged as
//!   `handover_progressed`.
//!
//! It keeps nothing the log does not say, except what it still owes: after a crash it folds
//! the log again, finds what it had not written, and the store sends what was not acknowledged.

pub mod callbacks;
pub mod inbound;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use streams::feed::{Body, DockedPeer, FeedUpdate, HandoverProgress, HandoverState, IncidentUpdate, Role};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use self::callbacks::{Callback, Store};
use self::inbound::{Pushed, Refusal};
use crate::config::{BridgeSettings, Config};
use crate::core::Core;
use crate::core::handover::PeerStatus;
use crate::journal::HubFeed;

/// The largest request a peer may send.
const MAX_BODY: usize = 256 * 1024;
/// How long a peer's request waits for the log before it is told to send it again.
const LOG_WAIT: Duration = Duration::from_secs(15);
/// How long one callback may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Callbacks sent at once.
const SENDS_AT_ONCE: usize = 16;

/// The running bridge; dropping it stops it.
pub struct Bridge {
    addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _stop: watch::Sender<bool>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Bridge {
    /// Where the peers reach it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the bridge `settings` for the township of `config`, following the hub at `url`
    /// with the bridge token `token`, keeping its journal and store in `dir`. With `identity`
    /// (the hub's, when it serves wss) the peers reach it over HTTPS.
    pub fn start(
        config: &Config,
        (settings, identity): (BridgeSettings, Option<streams::feed::tls::Identity>),
        (url, token, trust): (&str, &str, Option<streams::feed::tls::Trust>),
        dir: &Path,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Bridge, String> {
        let listener = std::net::TcpListener::bind(settings.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("bridge: cannot listen on {}: {e}", settings.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let feed =
            crate::journal::follow(dir, (url, token, Role::Bridge, trust.clone()), runtime, streams::no_waker())?;
        let store = Arc::new(Mutex::new(Store::open(dir)?));
        let enqueued = lock(&store).keys()?.into_iter().collect();
        let (asks, asked) = mpsc::channel(64);
        let (acks, acked) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let poke = Arc::new(Notify::new());
        let settings = Arc::new(settings);
        let keeper = Keeper {
            core: config.core(),
            feed,
            settings: settings.clone(),
            store: store.clone(),
            enqueued,
            bridged: BTreeMap::new(),
            by_report: HashMap::new(),
            revisions: HashSet::new(),
            waiting: HashMap::new(),
            finished: HashSet::new(),
            caught_up: false,
            dirty: false,
            poke: poke.clone(),
        };
        let sender = Sender { settings: settings.clone(), store, acks, poke, trust };
        let kinds = Arc::new(config.kinds.clone());
        let answer = move |request| {
            let (settings, kinds, asks) = (settings.clone(), kinds.clone(), asks.clone());
            async move { answer(request, &settings, &kinds, &asks).await }
        };
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?
        };
        let tls = identity.map(tokio_rustls::TlsAcceptor::from);
        tracing::info!(%addr, https = tls.is_some(), "bridge listening");
        let tasks = vec![
            runtime.spawn(keeper.run(asked, acked)),
            runtime.spawn(sender.run()),
            runtime.spawn(streams::http::serve(listener, tls, "bridge", answer, stopped)),
        ];
        Ok(Bridge { addr, tasks, _stop: stop })
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // SQLite's transactions keep the store whole whatever a panicking holder did.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a peer's request asks of the keeper, with where the answer goes: the incident's or
/// hand-over's id.
enum Ask {
    Incident { pushed: Pushed, reply: oneshot::Sender<Result<String, Refusal>> },
    Progress { peer: String, progress: HandoverProgress, reply: oneshot::Sender<Result<String, Refusal>> },
}

type Waiters = Vec<oneshot::Sender<Result<String, Refusal>>>;

/// Follows the log, answers the peers' requests once the log has them, and writes what the
/// peers are owed.
struct Keeper {
    core: Core,
    feed: HubFeed,
    settings: Arc<BridgeSettings>,
    store: Arc<Mutex<Store>>,
    /// Keys in the store.
    enqueued: HashSet<String>,
    /// Incidents a peer pushed: id → (peer, its number).
    bridged: BTreeMap<String, (String, String)>,
    /// Report id → incident id.
    by_report: HashMap<String, String>,
    /// The later revisions logged (`rev:PEER:NUMBER:REV`).
    revisions: HashSet<String>,
    /// Requests waiting for the log, by what will settle them.
    waiting: HashMap<String, Waiters>,
    /// Incidents whose last status is written (visited, returned).
    finished: HashSet<String>,
    caught_up: bool,
    /// The log moved since what is owed was last worked out.
    dirty: bool,
    poke: Arc<Notify>,
}

impl Keeper {
    async fn run(mut self, mut asked: mpsc::Receiver<Ask>, mut acked: mpsc::UnboundedReceiver<(String, String)>) {
        for event in std::mem::take(&mut self.feed.restored) {
            self.on_update(FeedUpdate::Event(event));
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                update = self.feed.updates.recv() => match update {
                    Some(update) => self.on_update(update),
                    None => return,
                },
                Some(ask) = asked.recv() => self.on_ask(ask),
                // A hand-over the peer acknowledged: it has received it.
                Some((handover, incident)) = acked.recv() => {
                    let received = self.core.handovers.list.get(&handover).is_some_and(|h| !h.progress.is_empty());
                    if !received {
                        let progress = HandoverProgress { handover, incident, state: HandoverState::Received, text: String::new() };
                        self.feed.send(Body::HandoverProgressed(progress));
                    }
                }
                _ = tick.tick(), if self.caught_up && self.dirty => {
                    self.dirty = false;
                    self.write_owed().await;
                }
            }
        }
    }

    fn on_update(&mut self, update: FeedUpdate) {
        match &update {
            FeedUpdate::Replayed { .. } => {
                self.caught_up = true;
                self.dirty = true;
                // The seats learn from the log whom they may hand incidents to.
                let peers: Vec<DockedPeer> =
                    self.settings.peers.iter().map(|p| DockedPeer { id: p.id.clone(), name: p.name.clone() }).collect();
                if self.core.peers != peers {
                    self.feed.send(Body::PeersDocked { peers });
                }
            }
            FeedUpdate::Event(event) => {
                self.dirty = true;
                match &event.body {
                    Body::IncidentReported(i) => {
                        let peer = i.report.report_id.split_once(':').filter(|(p, _)| self.peer_known(p));
                        if let Some((peer, number)) = peer {
                            self.bridged.insert(i.id.clone(), (peer.to_owned(), number.to_owned()));
                            self.by_report.insert(i.report.report_id.clone(), i.id.clone());
                        }
                        self.settle(&i.report.report_id.clone(), &i.id.clone());
                    }
                    Body::IncidentUpdated(u) if u.key.starts_with("rev:") => {
                        self.revisions.insert(u.key.clone());
                        self.settle(&u.key.clone(), &u.incident.clone());
                    }
                    Body::HandoverProgressed(p) => self.settle(&p.command_key(), &p.handover.clone()),
                    _ => {}
                }
            }
            _ => {}
        }
        self.core.on_feed(update);
    }

    fn peer_known(&self, id: &str) -> bool {
        self.settings.peers.iter().any(|p| p.id == id)
    }

    /// Answers the requests waiting for `key` with `id`.
    fn settle(&mut self, key: &str, id: &str) {
        for reply in self.waiting.remove(key).unwrap_or_default() {
            let _ = reply.send(Ok(id.to_owned()));
        }
    }

    fn wait(&mut self, key: String, reply: oneshot::Sender<Result<String, Refusal>>) {
        self.waiting.entry(key).or_default().push(reply);
    }

    fn on_ask(&mut self, ask: Ask) {
        // Requests that gave up waiting leave no waiter behind.
        self.waiting.retain(|_, w| {
            w.retain(|reply| !reply.is_closed());
            !w.is_empty()
        });
        if !self.caught_up {
            let refusal = Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "starting",
                "the bridge is reading the log; send it again shortly",
            );
            let (Ask::Incident { reply, .. } | Ask::Progress { reply, .. }) = ask;
            let _ = reply.send(Err(refusal));
            return;
        }
        match ask {
            Ask::Incident { pushed, reply } => {
                let Pushed { number, revision, report } = pushed;
                let Some(id) = self.by_report.get(&report.report_id).cloned() else {
                    if !self.waiting.contains_key(&report.report_id) {
                        tracing::info!(report = %report.report_id, revision, "incident from a peer");
                        self.feed.send(Body::Report(report.clone()));
                    }
                    self.wait(report.report_id, reply);
                    return;
                };
                let peer = report.report_id.split_once(':').map_or("", |(p, _)| p);
                let key = format!("rev:{peer}:{number}:{revision}");
                if revision == 1 || self.revisions.contains(&key) {
                    let _ = reply.send(Ok(id));
                    return;
                }
                if !self.waiting.contains_key(&key) {
                    let note: String = format!("【第{revision}版】{}", report.text).chars().take(2000).collect();
                    let update = IncidentUpdate {
                        key: key.clone(),
                        incident: id,
                        status: None,
                        note: Some(note),
                        by: String::new(),
                    };
                    self.feed.send(Body::UpdateIncident(update));
                }
                self.wait(key, reply);
            }
            Ask::Progress { peer, progress, reply } => {
                let Some(h) = self.core.handovers.list.get(&progress.handover) else {
                    let reason = format!("no hand-over {}", progress.handover);
                    let _ = reply.send(Err(Refusal::new(StatusCode::NOT_FOUND, "not_found", reason)));
                    return;
                };
                if h.handover.to != peer {
                    let reason = format!("hand-over {} went to {}, not to {peer}", progress.handover, h.handover.to);
                    let _ = reply.send(Err(Refusal::new(StatusCode::FORBIDDEN, "forbidden", reason)));
                    return;
                }
                if h.progress.iter().any(|(s, _, _)| *s == progress.state) {
                    let _ = reply.send(Ok(progress.handover));
                    return;
                }
                let progress = HandoverProgress { incident: h.handover.incident.clone(), ..progress };
                let key = progress.command_key();
                if !self.waiting.contains_key(&key) {
                    self.feed.send(Body::HandoverProgressed(progress));
                }
                self.wait(key, reply);
            }
        }
    }

    /// Writes to the store what the peers are owed and it does not hold yet, then wakes the
    /// sender.
    async fn write_owed(&mut self) {
        let owed = self.owed();
        if owed.is_empty() {
            return;
        }
        let store = self.store.clone();
        let written = owed.clone();
        let put = tokio::task::spawn_blocking(move || lock(&store).put(&written, Utc::now())).await;
        match put {
            Ok(Ok(())) => {
                self.enqueued.extend(owed.into_iter().map(|c| c.key));
                self.poke.notify_one();
            }
            // Not written: worked out again at the next event.
            Ok(Err(e)) => tracing::error!(error = %e, "bridge store: callbacks not written"),
            Err(e) => tracing::error!(error = %e, "bridge store task"),
        }
    }

    /// What the peers are owed, from the log, that the store does not hold.
    fn owed(&mut self) -> Vec<Callback> {
        let mut out = vec![];
        for (incident, (peer, number)) in &self.bridged {
            if self.finished.contains(incident) {
                continue;
            }
            let reached = self.core.peer_statuses(incident);
            let key = |status: PeerStatus| format!("{peer}/{number}/{}", status.code());
            // A status never follows a later one already written (one that applies late — a
            // step logged out of order — is left out rather than sent backwards).
            let written = reached.iter().rposition(|r| self.enqueued.contains(&key(r.status))).map_or(0, |at| at + 1);
            for reached in reached.into_iter().skip(written) {
                let key = key(reached.status);
                if matches!(reached.status, PeerStatus::Visited | PeerStatus::Returned) {
                    self.finished.insert(incident.clone());
                }
                let returned = (reached.status == PeerStatus::Returned)
                    .then(|| self.core.handovers.of(incident).find(|h| h.handover.to == *peer))
                    .flatten()
                    .map(|h| (h.id.clone(), incident.clone()));
                let body = serde_json::json!({
                    "incident_no": number, "id": incident, "status": reached.status.code(),
                    "detail": reached.detail, "center": self.core.center, "at": reached.at.to_rfc3339(),
                });
                out.push(Callback {
                    key,
                    peer: peer.clone(),
                    lane: format!("{peer}/{number}"),
                    path: format!("/v1/incidents/{number}/status"),
                    body: body.to_string(),
                    handover: returned,
                });
            }
        }
        for h in self.core.handovers.list.values() {
            let to = &h.handover.to;
            let key = format!("{to}/{}", h.id);
            let returning = self.core.bridged_from(&h.handover.incident).is_some_and(|(from, _)| from == to);
            if returning || self.enqueued.contains(&key) || !self.peer_known(to) {
                continue;
            }
            let Some(tracked) = self.core.incidents.get(&h.handover.incident) else { continue };
            let i = &tracked.incident;
            let kind = self.core.kinds.get(&i.report.kind).map_or(i.report.kind.as_str(), |k| k.zh.as_str());
            let body = serde_json::json!({
                "handover": h.id, "reason": h.handover.reason, "by": h.handover.by, "center": self.core.center,
                "at": h.at.to_rfc3339(),
                "incident": {
                    "id": i.id, "kind": kind, "severity": i.report.severity, "reported_at": i.reported_at.to_rfc3339(),
                    "location": i.report.location, "grid": tracked.grid, "reporter": i.report.reporter,
                    "text": i.report.text,
                },
            });
            out.push(Callback {
                key,
                peer: to.clone(),
                lane: format!("{to}/{}", h.id),
                path: "/v1/handovers".into(),
                body: body.to_string(),
                handover: Some((h.id.clone(), i.id.clone())),
            });
        }
        out
    }
}

/// Sends what the store holds until each peer acknowledges it.
struct Sender {
    settings: Arc<BridgeSettings>,
    store: Arc<Mutex<Store>>,
    /// Hand-overs acknowledged: (id, incident).
    acks: mpsc::UnboundedSender<(String, String)>,
    poke: Arc<Notify>,
    trust: Option<streams::feed::tls::Trust>,
}

impl Sender {
    async fn run(self) {
        loop {
            let store = self.store.clone();
            let due = tokio::task::spawn_blocking(move || lock(&store).due(Utc::now(), SENDS_AT_ONCE)).await;
            let due = match due {
                Ok(Ok(due)) => due,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "bridge store unreadable");
                    vec![]
                }
                Err(_) => return,
            };
            let sends = due.into_iter().map(|d| self.send(d.callback, d.attempts));
            let results = futures_util::future::join_all(sends).await;
            // Sent something: there may be more; otherwise wait for news or the next retry.
            if results.iter().all(|sent| !sent) {
                let _ = tokio::time::timeout(Duration::from_secs(1), self.poke.notified()).await;
            }
        }
    }

    /// One attempt; whether the peer acknowledged it.
    async fn send(&self, callback: Callback, attempts: u32) -> bool {
        let result = match self.settings.peers.iter().find(|p| p.id == callback.peer) {
            None => Err(format!("peer {} is no longer configured", callback.peer)),
            Some(peer) => {
                let body = callback.body.clone().into_bytes();
                let mut headers = streams::http::bridge_headers(&peer.id, &peer.secret, &body).to_vec();
                headers.push(("Idempotency-Key", callback.key.clone()));
                let request = streams::http::post_json(&peer.url, &callback.path, body, &headers);
                match request {
                    Err(e) => Err(e),
                    Ok(request) => {
                        let exchange = streams::http::exchange(&peer.url, self.trust.as_ref(), request);
                        match tokio::time::timeout(SEND_TIMEOUT, exchange).await {
                            Err(_) => Err(format!("{}: no answer in {} s", peer.url, SEND_TIMEOUT.as_secs())),
                            Ok(Err(e)) => Err(e),
                            Ok(Ok((status, _))) if status.is_success() => Ok(()),
                            Ok(Ok((status, body))) => {
                                Err(format!("{} answered {status}: {}", peer.url, String::from_utf8_lossy(&body)))
                            }
                        }
                    }
                }
            }
        };
        let store = self.store.clone();
        let key = callback.key.clone();
        let now = Utc::now();
        // The step for this attempt; the last one repeats (the config refuses an empty list).
        let retry = &self.settings.retry;
        let wait = retry.get(attempts as usize).or(retry.last()).copied().unwrap_or(Duration::from_secs(60));
        let ok = result.is_ok();
        if let Err(e) = &result {
            tracing::warn!(key = %key, error = %e, attempts = attempts + 1, wait_s = wait.as_secs(), "callback not acknowledged");
        }
        let marked = tokio::task::spawn_blocking(move || match result {
            Ok(()) => lock(&store).acknowledged(&key, now),
            Err(e) => lock(&store).failed(&key, &e, wait, now),
        })
        .await;
        if !matches!(marked, Ok(Ok(()))) {
            tracing::error!(key = %callback.key, "bridge store: the attempt was not recorded");
        }
        if ok && let Some(handover) = callback.handover {
            let _ = self.acks.send(handover);
        }
        ok
    }
}

/// Serves one request of a peer.
async fn answer(
    request: Request<Incoming>,
    settings: &BridgeSettings,
    kinds: &crate::core::kind::IncidentKinds,
    asks: &mpsc::Sender<Ask>,
) -> Response<Full<Bytes>> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match take(request, settings, kinds, asks).await {
        Ok((status, body)) => streams::http::reply(status, body.to_string().into_bytes(), "application/json"),
        Err(refusal) => {
            tracing::warn!(%method, %path, field = ?refusal.field, reason = %refusal.reason, "bridge request refused");
            streams::http::reply(refusal.status, refusal.json(), "application/json")
        }
    }
}

async fn take(
    request: Request<Incoming>,
    settings: &BridgeSettings,
    kinds: &crate::core::kind::IncidentKinds,
    asks: &mpsc::Sender<Ask>,
) -> Result<(StatusCode, serde_json::Value), Refusal> {
    let path = request.uri().path().to_owned();
    // The hand-over's id percent-encoded (`t1%2FH000042`), or as the peer wrote it
    // (`t1/H000042`; what does not decode is taken so).
    let handover = path.strip_prefix("/v1/handovers/").and_then(|rest| rest.strip_suffix("/progress"));
    let handover = handover.map(|id| streams::http::percent_decode(id).unwrap_or_else(|| id.to_owned()));
    if path != "/v1/incidents" && handover.is_none() {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "not_found", format!("no {path} here")));
    }
    if request.method() != Method::POST {
        return Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "method", "POST it"));
    }
    let headers = request.headers().clone();
    let body = http_body_util::Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("over {MAX_BODY} bytes")))?
        .to_bytes();
    let peer = inbound::signed_by(settings, &headers, &body, Utc::now())?;
    let (reply, answered) = oneshot::channel();
    let ask = match handover {
        None => Ask::Incident { pushed: inbound::incident(peer, kinds, &body)?, reply },
        Some(id) => {
            let (state, text) = inbound::progress(&body)?;
            let progress = HandoverProgress { handover: id, incident: String::new(), state, text };
            Ask::Progress { peer: peer.id.clone(), progress, reply }
        }
    };
    let (number, revision) = match &ask {
        Ask::Incident { pushed, .. } => (Some(pushed.number.clone()), Some(pushed.revision)),
        Ask::Progress { .. } => (None, None),
    };
    let unavailable = |reason: &str| Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", reason);
    asks.send(ask).await.map_err(|_| unavailable("the bridge is stopping"))?;
    let id = match tokio::time::timeout(LOG_WAIT, answered).await {
        Ok(Ok(answer)) => answer?,
        Ok(Err(_)) => return Err(unavailable("the bridge is stopping")),
        Err(_) => {
            return Err(unavailable("the center's log did not take it within 15 s; send it again (kept once)"));
        }
    };
    Ok(match number {
        Some(number) => {
            (StatusCode::ACCEPTED, serde_json::json!({ "id": id, "incident_no": number, "revision": revision }))
        }
        None => (StatusCode::OK, serde_json::json!({ "ok": true, "handover": id })),
    })
}
