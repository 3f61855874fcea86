//! A client of the hub that never gives up and never loses its place.
//!
//! It connects, says hello with the last sequence number it has seen, forwards every event to
//! its owner and, when the connection drops, waits (0.5 s doubling to 30 s) and resumes with
//! `since` = that number: the hub replays the gap, so nothing is missed and nothing repeats.
//! Messages the owner sends while the hub is away wait in a queue and go out on reconnect.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::tls::Socket;

use crate::{Waker, backoff};
use linkage_protocol::{Body, Connection, Envelope, ErrorCode, FeedUpdate, Role};

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct FeedClient {
    /// The hub's address; or several, comma-separated (a county's gateways): a lost
    /// connection is taken up at the next, resuming after the last event seen.
    pub url: String,
    pub token: String,
    pub role: Role,
    /// The last sequence number already seen; the hub replays everything after it.
    pub since: u64,
    /// A name for logs.
    pub name: String,
    /// For a `wss://` hub: the site CA to trust.
    pub trust: Option<super::tls::Trust>,
}

/// The owner's end: send messages to the hub; dropping it stops the client.
pub struct ClientHandle {
    outgoing: mpsc::UnboundedSender<Body>,
    task: tokio::task::JoinHandle<()>,
}

impl ClientHandle {
    /// Queues a message for the hub; it goes out now, or after the next reconnect.
    pub fn send(&self, body: Body) {
        let _ = self.outgoing.send(body);
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a login gives a seat: the session token to say hello with, the name that signs what
/// it sends, and the person's role.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token: String,
    pub name: String,
    pub seat: Option<super::SeatRole>,
    /// For a person of a linked unit: the unit their seat works for.
    pub unit: Option<String>,
}

/// Logs a person in at the hub (`login`, then the hub closes): their session, or the hub's
/// reason for refusing. Of several hub URLs (a county's gateways) the first that answers is
/// asked; the session is that gateway's (see docs/deployment.md).
pub async fn login(
    url: &str,
    trust: Option<&super::tls::Trust>,
    user: &str,
    password: &str,
) -> Result<Session, String> {
    let mut unreachable = String::from("no hub URL");
    for url in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match tokio::time::timeout(Duration::from_secs(10), open(url, trust)).await {
            Ok(Ok(ws)) => return login_at(ws, user, password).await,
            Ok(Err(e)) => unreachable = e,
            Err(_) => unreachable = "the hub did not answer in 10 s".to_string(),
        }
    }
    Err(unreachable)
}

async fn login_at(mut ws: WebSocketStream<Socket>, user: &str, password: &str) -> Result<Session, String> {
    let login = Body::Login { user: user.to_owned(), password: password.to_owned() };
    ws.send(Message::text(Envelope::new(1, login).to_text())).await.map_err(|e| e.to_string())?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .map_err(|_| "the hub did not answer the login in 15 s".to_string())?;
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the hub closed the connection".into()),
        };
        match Envelope::parse(&text).map_err(|e| e.to_string())?.body {
            Body::Welcome { client, seat, session: Some(token), unit, .. } => {
                let _ = ws.close(None).await;
                return Ok(Session { token, name: client, seat, unit });
            }
            Body::Error { reason, .. } => return Err(reason),
            _ => {}
        }
    }
}

/// A WebSocket to the hub at `url`, over TLS for `wss://`.
async fn open(url: &str, trust: Option<&super::tls::Trust>) -> Result<WebSocketStream<Socket>, String> {
    let socket = super::tls::connect(url, trust).await?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, socket, None).await.map_err(|e| e.to_string())?;
    Ok(ws)
}

impl FeedClient {
    /// Starts the client on `runtime`. Updates go to `updates`; `waker` is called after each.
    pub fn spawn(
        self,
        runtime: &tokio::runtime::Handle,
        updates: mpsc::UnboundedSender<FeedUpdate>,
        waker: Waker,
    ) -> ClientHandle {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let task = runtime.spawn(self.run(queue, updates, waker));
        ClientHandle { outgoing, task }
    }

    async fn run(
        mut self,
        mut queue: mpsc::UnboundedReceiver<Body>,
        updates: mpsc::UnboundedSender<FeedUpdate>,
        waker: Waker,
    ) {
        let tell = |update: FeedUpdate| {
            let _ = updates.send(update);
            waker();
        };
        let mut attempt = 0u32;
        let urls: Vec<String> = self.url.split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
        let mut at = 0;
        // A message taken from the queue whose send failed: it goes first after reconnect.
        let mut unsent: Option<Body> = None;
        loop {
            tell(FeedUpdate::Connection(Connection::Connecting));
            let url = urls.get(at % urls.len().max(1)).cloned().unwrap_or_default();
            let reason = match self.session(&url, &mut queue, &mut unsent, &tell, &mut attempt).await {
                Ok(()) => return, // the owner dropped the queue
                Err(reason) => reason,
            };
            attempt += 1;
            at += 1;
            let retry_in = backoff(attempt);
            tracing::warn!(client = %self.name, %reason, ?retry_in, "hub connection lost");
            tell(FeedUpdate::Connection(Connection::Lost { reason, retry_in }));
            tokio::time::sleep(retry_in).await;
        }
    }

    /// One connection, from hello to its loss.
    async fn session(
        &mut self,
        url: &str,
        queue: &mut mpsc::UnboundedReceiver<Body>,
        unsent: &mut Option<Body>,
        tell: &impl Fn(FeedUpdate),
        attempt: &mut u32,
    ) -> Result<(), String> {
        let mut ws = tokio::time::timeout(Duration::from_secs(10), open(url, self.trust.as_ref()))
            .await
            .map_err(|_| "connect timed out".to_string())??;
        let hello = Body::Hello { token: self.token.clone(), role: self.role, since: self.since };
        let mut counter = 1u64;
        ws.send(Message::text(Envelope::new(counter, hello).to_text())).await.map_err(|e| e.to_string())?;
        let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
        let mut last_heard = tokio::time::Instant::now();
        loop {
            if let Some(body) = unsent.take() {
                counter += 1;
                let frame = Message::text(Envelope::new(counter, body.clone()).to_text());
                if let Err(e) = ws.send(frame).await {
                    *unsent = Some(body);
                    return Err(e.to_string());
                }
            }
            tokio::select! {
                body = queue.recv() => match body {
                    Some(body) => *unsent = Some(body),
                    None => {
                        let _ = ws.close(None).await;
                        return Ok(());
                    }
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > Duration::from_secs(15) {
                        return Err("hub silent for 15 s".into());
                    }
                    counter += 1;
                    ws.send(Message::text(Envelope::new(counter, Body::Heartbeat).to_text()))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                frame = ws.next() => {
                    last_heard = tokio::time::Instant::now();
                    let text = match frame {
                        None => return Err("hub closed the connection".into()),
                        Some(Err(e)) => return Err(e.to_string()),
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) => return Err("hub closed the connection".into()),
                        Some(Ok(_)) => continue,
                    };
                    let env = match Envelope::parse(&text) {
                        Ok(env) => env,
                        Err(e) => {
                            tracing::warn!(client = %self.name, error = %e, "bad frame from hub");
                            continue;
                        }
                    };
                    match &env.body {
                        Body::Welcome { client, head, seat, files, .. } => {
                            *attempt = 0;
                            if *head < self.since {
                                // Its log is younger than what we have seen: a wiped data folder.
                                let reason = format!(
                                    "the hub's log ends at {head}, before this client's place {}: was its data reset?",
                                    self.since
                                );
                                tracing::error!(client = %self.name, "{reason}");
                                tell(FeedUpdate::Refused { code: ErrorCode::Protocol, reason, key: None });
                            }
                            tracing::info!(client = %self.name, as_ = %client, since = self.since, "hub connected");
                            let files = files.as_deref().map(|f| super::files::beside(url, f));
                            let (client, seat) = (client.clone(), *seat);
                            tell(FeedUpdate::Connection(Connection::Connected { client, seat, files }));
                        }
                        Body::Error { code, reason, fatal, key } => {
                            tell(FeedUpdate::Refused { code: *code, reason: reason.clone(), key: key.clone() });
                            if *fatal {
                                return Err(format!("refused: {reason}"));
                            }
                        }
                        Body::Replayed { head } => tell(FeedUpdate::Replayed { head: *head }),
                        Body::UnitMoved(position) => tell(FeedUpdate::Moved(position.clone())),
                        Body::TownshipLinked(link) => tell(FeedUpdate::TownshipLinked(link.clone())),
                        Body::CountyLinked(link) => tell(FeedUpdate::CountyLinked(link.clone())),
                        Body::Heartbeat => {}
                        _ if env.seq > 0 => {
                            self.since = self.since.max(env.seq);
                            tell(FeedUpdate::Event(env));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
