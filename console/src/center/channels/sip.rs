//! A radio call through a SIP dispatch gateway (a PDT/DMR or radio-over-IP gateway's SIP side),
//! the way such gateways are reached: an INVITE with a send-only G.711 offer to the
//! talk-group's SIP address, answered with digest credentials when challenged (401/407), then
//! the spoken order over RTP to the address and in the codec the answer names, then BYE.
//!
//! One UDP socket carries the dialog. Requests are sent again on RFC 3261's timer A (0.5 s
//! doubling) until a response comes; an INVITE not answered finally within
//! [`ANSWER_TIMEOUT`] is cancelled by giving up (the gateway's own timer ends it). A second
//! challenge after credentials were sent means they were refused: the call fails with that
//! reason, which the order shows.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use streams::sip::{self as message, Codec, Message};

/// How long a gateway may take to answer (ringing included).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests are sent again after 0.5 s, 1 s, 2 s … (timer A); this many times at most.
const RETRANSMITS: u32 = 6;

/// The account the center calls with.
#[derive(Clone)]
pub struct SipSettings {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SipSettings {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SipSettings {{ user: {} }}", self.user)
    }
}

/// What in-dialog requests need.
#[derive(Clone)]
struct Dialog {
    local: SocketAddr,
    gateway: SocketAddr,
    call_id: String,
    from: String,
    /// With the gateway's tag once it answered.
    to: String,
    /// Where in-dialog requests go: the answer's Contact.
    remote_target: String,
    /// The INVITE's.
    cseq: u32,
}

/// A call the gateway answered: where the audio goes, and how to end it.
pub struct Answered {
    socket: UdpSocket,
    dialog: Dialog,
    pub media: SocketAddr,
    pub codec: Codec,
}

fn token() -> String {
    format!("{:016x}", fastrand::u64(..))
}

impl Answered {
    pub fn call_id(&self) -> &str {
        &self.dialog.call_id
    }

    /// Ends the call with BYE (answered, or sent often enough).
    pub async fn bye(self) -> Result<(), String> {
        let d = &self.dialog;
        let cseq = d.cseq + 1;
        let bye =
            request(("BYE", &d.remote_target), (&d.local, &token()), (&d.from, &d.to, &d.call_id, cseq), None, "");
        let answer = exchange(&self.socket, d.gateway, &bye, |m| m.cseq() == Some((cseq, "BYE"))).await?;
        match answer.status {
            200..=299 | 481 => Ok(()),
            status => Err(format!("the gateway answered BYE with {status} {}", answer.reason)),
        }
    }

    /// Waits for the gateway to hang up (a BYE of its own, answered 200); never returns
    /// otherwise. Retransmitted 200s of the INVITE are acknowledged meanwhile.
    pub async fn hung_up(&self) -> String {
        let mut buffer = vec![0u8; 8192];
        loop {
            let Ok((n, from)) = self.socket.recv_from(&mut buffer).await else { continue };
            let Some(m) = Message::parse(&buffer[..n]) else { continue };
            if m.method.as_deref() == Some("BYE") {
                let _ = self.socket.send_to(message::response(&m, (200, "OK"), "", "").as_bytes(), from).await;
                return "the gateway ended the call".into();
            }
            if m.status == 200 && m.cseq().is_some_and(|(_, method)| method == "INVITE") {
                let _ = self.socket.send_to(ack(&self.dialog, &m).as_bytes(), self.dialog.gateway).await;
            }
        }
    }
}

/// A request of our dialog.
fn request(
    (method, uri): (&str, &str),
    (local, branch): (&SocketAddr, &str),
    (from, to, call_id, cseq): (&str, &str, &str, u32),
    extra: Option<&str>,
    body: &str,
) -> String {
    let mut out = format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nUser-Agent: linkage\r\n"
    );
    if let Some(extra) = extra {
        out += extra;
    }
    if !body.is_empty() {
        out += "Content-Type: application/sdp\r\n";
    }
    out + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// The ACK of a final response to our INVITE (same CSeq number; for a 2xx, to the remote
/// target, otherwise within the INVITE's transaction — RFC 3261 §17.1.1.3, §13.2.2.4).
fn ack(d: &Dialog, response: &Message) -> String {
    let to = response.header("to").unwrap_or(&d.to);
    request(("ACK", &d.remote_target), (&d.local, &token()), (&d.from, to, &d.call_id, d.cseq), None, "")
}

/// Sends `request` until a response that `ours` accepts comes, skipping provisional ones
/// (1xx stop the retransmissions); gives up after [`ANSWER_TIMEOUT`].
async fn exchange(
    socket: &UdpSocket,
    to: SocketAddr,
    request: &str,
    ours: impl Fn(&Message) -> bool,
) -> Result<Message, String> {
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    let mut wait = Duration::from_millis(500);
    let mut sent = 0;
    let mut provisional = false;
    let mut buffer = vec![0u8; 8192];
    socket.send_to(request.as_bytes(), to).await.map_err(|e| format!("{to}: {e}"))?;
    loop {
        let until = if provisional { deadline } else { (tokio::time::Instant::now() + wait).min(deadline) };
        match tokio::time::timeout_at(until, socket.recv_from(&mut buffer)).await {
            Ok(Ok((n, _))) => {
                let Some(m) = Message::parse(&buffer[..n]) else { continue };
                if m.status == 0 || !ours(&m) {
                    continue;
                }
                if m.status < 200 {
                    provisional = true;
                    continue;
                }
                return Ok(m);
            }
            // An ICMP port unreachable from an earlier send: the gateway is not there.
            Ok(Err(e)) => return Err(format!("{to}: {e}")),
            Err(_) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("{to}: no answer within {} s", ANSWER_TIMEOUT.as_secs()));
            }
            Err(_) if sent >= RETRANSMITS => return Err(format!("{to}: no response to {sent} retransmissions")),
            Err(_) => {
                sent += 1;
                wait *= 2;
                socket.send_to(request.as_bytes(), to).await.map_err(|e| format!("{to}: {e}"))?;
            }
        }
    }
}

/// Calls `user` at the gateway `host:port` with `account`; returns once the call is answered
/// (its ACK sent) with where the audio goes. `rtp_port` is the local port the audio will come
/// from (offered in the SDP).
pub async fn invite(
    account: &SipSettings,
    (user, host, port): (&str, &str, u16),
    rtp_port: u16,
) -> Result<Answered, String> {
    let gateway = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let bind: SocketAddr = if gateway.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().map_err(|_| "bind")?;
    let socket = UdpSocket::bind(bind).await.map_err(|e| format!("SIP socket: {e}"))?;
    socket.connect(gateway).await.map_err(|e| format!("{gateway}: {e}"))?;
    // The address the gateway reaches us at: the one the route to it leaves from.
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let uri = if port == 5060 { format!("sip:{user}@{host}") } else { format!("sip:{user}@{host}:{port}") };
    let from = format!("<sip:{}@{}>;tag={}", account.user, local.ip(), token());
    let to = format!("<{uri}>");
    let call_id = format!("{}@linkage", token());
    let contact = format!("Contact: <sip:{}@{local}>\r\n", account.user);
    let sdp = message::offer(local.ip(), rtp_port, fastrand::u64(1..1 << 40));
    let mut dialog = Dialog { local, gateway, call_id, from, to, remote_target: uri.clone(), cseq: 1 };
    let mut credentials: Option<String> = None;
    loop {
        let extra = match &credentials {
            Some(header) => format!("{contact}{header}\r\n"),
            None => contact.clone(),
        };
        let d = &dialog;
        let invite =
            request(("INVITE", &uri), (&local, &token()), (&d.from, &d.to, &d.call_id, d.cseq), Some(&extra), &sdp);
        let response = exchange(&socket, gateway, &invite, |m| m.cseq() == Some((d.cseq, "INVITE"))).await?;
        // Every final response to an INVITE is acknowledged: a 2xx in the dialog it made.
        let answered = response.status < 300;
        if answered {
            dialog.to = response.header("to").unwrap_or(&dialog.to).to_owned();
            dialog.remote_target = response.contact_uri().unwrap_or(&uri).to_owned();
        }
        socket.send_to(ack(&dialog, &response).as_bytes(), gateway).await.map_err(|e| format!("{gateway}: {e}"))?;
        match response.status {
            200..=299 => {
                let (media, codec) = message::answer(&response.body)?;
                return Ok(Answered { socket, dialog, media, codec });
            }
            401 | 407 if credentials.is_none() => {
                let (challenge, answer) = match response.status {
                    401 => ("www-authenticate", "Authorization"),
                    _ => ("proxy-authenticate", "Proxy-Authorization"),
                };
                let challenge = response.header(challenge).ok_or("a challenge without its Authenticate header")?;
                let value = message::digest(challenge, (&account.user, &account.password), "INVITE", &uri, &token())
                    .ok_or_else(|| format!("the gateway's challenge cannot be answered: {challenge}"))?;
                credentials = Some(format!("{answer}: {value}"));
                dialog.cseq += 1;
            }
            401 | 407 | 403 => {
                let (status, reason) = (response.status, response.reason);
                return Err(format!("the gateway refused {}'s credentials ({status} {reason})", account.user));
            }
            status => return Err(format!("the gateway answered {status} {}", response.reason)),
        }
    }
}
