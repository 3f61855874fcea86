//! 短信通知 over CMPP 2.0: China Mobile's gateway (ISMG) protocol, for a site whose SMS comes
//! through a carrier's gateway instead of an SMPP SMSC (`[dispatch.cmpp]`).
//!
//! One session is kept up by a task: `CMPP_CONNECT` with the authenticator (MD5 of the SP id,
//! nine zero bytes, the shared secret and the time `MMDDHHMMSS`, Beijing time), version 0x20;
//! `CMPP_ACTIVE_TEST` every 30 s (`active_test_secs`; the gateway's are answered), the session
//! given up when three went unanswered; reconnect with back-off. A message is UCS-2 (`Msg_Fmt` 8); a long one goes in
//! parts of 67 characters, each with a UDH (`05 00 03 ref total n`, `TP_udhi` 1, `Pk_total`,
//! `Pk_number`), the reference derived from the message's key. At most [`WINDOW`] submits wait
//! for their answer at once (the sliding window). Each answer's `Msg_Id` is the receipt; status
//! reports (`CMPP_DELIVER` with `Registered_Delivery` 1, `DELIVRD` …) come back as late
//! receipts, other delivers as replies from handsets.
//!
//! CMPP 2.0 has no field for our idempotency key: a message resent after a crash that fell
//! between its submit and the answer reaches the handset twice (docs/dispatch.md). The secret
//! is never logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use streams::cmpp::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{RwLock, Semaphore, mpsc, oneshot};

use super::{Channel, ChannelError, Late, Receipt};
use crate::core::dispatch::Outgoing;
use crate::core::order::ChannelKind;

/// Submits waiting for their answer at once.
pub const WINDOW: usize = 16;
/// How long the gateway may take to answer a connect or a submit.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// UCS-2 characters in one message, and in one part of a long one (after its 6-byte UDH).
const SINGLE: usize = 70;
const PART: usize = 67;

/// How to reach the gateway.
#[derive(Clone)]
pub struct CmppSettings {
    /// `host:port` of the ISMG.
    pub address: String,
    /// The SP's enterprise code (Source_Addr, 6 characters).
    pub sp_id: String,
    /// The shared secret (from `env:` in the config). Never logged.
    pub secret: String,
    /// The sender number (Src_Id), the SP's service code and extension.
    pub src_id: String,
    /// The business code (Service_Id), up to 10 characters.
    pub service_id: String,
    /// How often the session asks the gateway whether it is alive (`CMPP_ACTIVE_TEST`; the
    /// spec's idle check is minutes, most gateways cut a silent session sooner).
    pub active_test_every: Duration,
}

impl std::fmt::Debug for CmppSettings {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CmppSettings {{ address: {}, sp_id: {}, src_id: {} }}", self.address, self.sp_id, self.src_id)
    }
}

/// A submit waiting for its answer: the gateway's `Msg_Id` and `Result`.
type Waiting = Arc<std::sync::Mutex<HashMap<u32, oneshot::Sender<(u64, u8)>>>>;

/// The session while it is up.
#[derive(Clone)]
struct Link {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    waiting: Waiting,
    window: Arc<Semaphore>,
    sequence: Arc<AtomicU32>,
}

enum Session {
    Up(Link),
    Down(String),
}

pub struct CmppChannel {
    session: Arc<RwLock<Session>>,
    settings: CmppSettings,
    taken: super::TakenParts,
}

impl CmppChannel {
    /// Starts the session task; receipts and replies go to `late`.
    pub fn connect(
        settings: CmppSettings,
        late: mpsc::UnboundedSender<Late>,
        runtime: &tokio::runtime::Handle,
    ) -> CmppChannel {
        let session = Arc::new(RwLock::new(Session::Down("connecting to the CMPP gateway".into())));
        runtime.spawn(keep_connected(settings.clone(), session.clone(), late));
        CmppChannel { session, settings, taken: Default::default() }
    }
}

/// What the gateway said to a connect.
fn connect_status(status: u8) -> &'static str {
    match status {
        0 => "accepted",
        1 => "the message structure is wrong",
        2 => "the SP id is wrong",
        3 => "the authentication failed (wrong secret, or the clocks differ)",
        4 => "the version is too high",
        _ => "another error",
    }
}

/// The parts of a message as UCS-2 contents: one when it fits, else parts with their UDH.
fn parts(text: &str, reference: u8) -> Vec<Vec<u8>> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let be = |units: &[u16]| units.iter().flat_map(|u| u.to_be_bytes()).collect::<Vec<u8>>();
    if units.len() <= SINGLE {
        return vec![be(&units)];
    }
    // Parts of 67 characters, never cutting a surrogate pair.
    let mut chunks = vec![];
    let mut start = 0;
    while start < units.len() {
        let mut end = (start + PART).min(units.len());
        if end < units.len() && (0xD800..0xDC00).contains(&units[end - 1]) {
            end -= 1;
        }
        chunks.push(&units[start..end]);
        start = end;
    }
    let total = chunks.len().min(255) as u8;
    chunks
        .into_iter()
        .take(255)
        .enumerate()
        .map(|(n, chunk)| {
            let mut content = vec![0x05, 0x00, 0x03, reference, total, n as u8 + 1];
            content.extend(be(chunk));
            content
        })
        .collect()
}

/// One CMPP 2.0 submit of one part to one mobile, asking for a status report.
fn submit_body(s: &CmppSettings, mobile: &str, content: &[u8], (total, number): (u8, u8)) -> Vec<u8> {
    let mut b = vec![0u8; 8]; // Msg_Id: the gateway's
    b.extend_from_slice(&[total, number, 1, 0]); // Pk_total, Pk_number, Registered_Delivery, Msg_level
    b.extend(field(&s.service_id, 10));
    b.push(2); // Fee_UserType: neither party is charged
    b.extend(field("", 21)); // Fee_terminal_Id
    b.push(0); // TP_pId
    b.push(u8::from(total > 1)); // TP_udhi
    b.push(8); // Msg_Fmt: UCS-2
    b.extend(field(&s.sp_id, 6)); // Msg_src
    b.extend(field("01", 2)); // FeeType: free
    b.extend(field("000000", 6)); // FeeCode
    b.extend(field("", 17)); // ValId_Time
    b.extend(field("", 17)); // At_Time
    b.extend(field(&s.src_id, 21));
    b.push(1); // DestUsr_tl
    b.extend(field(mobile, 21));
    b.push(content.len().min(255) as u8);
    b.extend_from_slice(&content[..content.len().min(255)]);
    b.extend(field("", 8)); // Reserve
    b
}

/// What a deliver says.
#[derive(Debug, PartialEq)]
enum Delivered {
    /// A status report: the submit's `Msg_Id` and its state (`DELIVRD`, `UNDELIV`, …).
    Report { msg_id: u64, stat: String },
    /// A message from a handset.
    Reply { from: String, text: String },
}

/// Reads a CMPP 2.0 deliver's body; `None` for one too short to be one.
fn parse_deliver(body: &[u8]) -> Option<(u64, Delivered)> {
    let msg_id = u64::from_be_bytes(body.get(0..8)?.try_into().ok()?);
    let msg_fmt = *body.get(41)?;
    let from = text_of(body.get(42..63)?);
    let registered = *body.get(63)?;
    let length = *body.get(64)? as usize;
    let content = body.get(65..65 + length)?;
    if registered == 1 {
        let reported = u64::from_be_bytes(content.get(0..8)?.try_into().ok()?);
        return Some((msg_id, Delivered::Report { msg_id: reported, stat: text_of(content.get(8..15)?) }));
    }
    Some((msg_id, Delivered::Reply { from, text: streams::sms::decode_text(content, msg_fmt == 8) }))
}

/// Connects, serves the session, and connects again when it drops.
async fn keep_connected(settings: CmppSettings, session: Arc<RwLock<Session>>, late: mpsc::UnboundedSender<Late>) {
    let mut attempt = 0u32;
    loop {
        let reason = match serve(&settings, &session, &late, &mut attempt).await {
            Ok(reason) | Err(reason) => reason,
        };
        attempt += 1;
        let retry_in = streams::backoff(attempt);
        tracing::warn!(gateway = %settings.address, %reason, ?retry_in, "CMPP session lost");
        *session.write().await = Session::Down(format!("CMPP gateway {}: {reason}", settings.address));
        tokio::time::sleep(retry_in).await;
    }
}

/// One session: connect, then frames both ways until it ends; returns why it ended.
async fn serve(
    s: &CmppSettings,
    session: &RwLock<Session>,
    late: &mpsc::UnboundedSender<Late>,
    attempt: &mut u32,
) -> Result<String, String> {
    let stream = tokio::time::timeout(ANSWER_TIMEOUT, TcpStream::connect(&s.address))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(&frame(CONNECT, 1, &connect_body(&s.sp_id, &s.secret, timestamp())))
        .await
        .map_err(|e| e.to_string())?;
    let (command, _, body) = tokio::time::timeout(ANSWER_TIMEOUT, read_frame(&mut reader))
        .await
        .map_err(|_| "no answer to CMPP_CONNECT in 10 s".to_string())??;
    let status = *body.first().ok_or("an empty CMPP_CONNECT_RESP")?;
    if command != CONNECT_RESP || status != 0 {
        return Err(format!("CMPP_CONNECT refused: {} (status {status})", connect_status(status)));
    }
    *attempt = 0;
    tracing::info!(gateway = %s.address, sp_id = %s.sp_id, "CMPP gateway connected");
    // Frames are read by a task of their own (a read cut in the middle by the select below
    // would lose bytes), written here.
    let (incoming_tx, mut incoming) = mpsc::unbounded_channel();
    let read_task = tokio::spawn(async move {
        loop {
            let read = read_frame(&mut reader).await;
            let failed = read.is_err();
            if incoming_tx.send(read).is_err() || failed {
                return;
            }
        }
    });
    let (frames, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let link = Link {
        frames,
        waiting: Waiting::default(),
        window: Arc::new(Semaphore::new(WINDOW)),
        sequence: Arc::new(AtomicU32::new(2)),
    };
    *session.write().await = Session::Up(link.clone());
    let mut tick = tokio::time::interval(s.active_test_every);
    tick.tick().await;
    let mut unanswered = 0u32;
    let ended = loop {
        tokio::select! {
            Some(out) = outgoing.recv() => {
                if let Err(e) = writer.write_all(&out).await {
                    break format!("write: {e}");
                }
            }
            read = incoming.recv() => {
                let (command, sequence, body) = match read {
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => break e,
                    None => break "the connection closed".to_string(),
                };
                unanswered = 0;
                match command {
                    SUBMIT_RESP => {
                        let answer = body.get(0..8).and_then(|id| id.try_into().ok()).map(u64::from_be_bytes).zip(body.get(8).copied());
                        let waiter = link.waiting.lock().ok().and_then(|mut w| w.remove(&sequence));
                        match (answer, waiter) {
                            (Some(answer), Some(waiter)) => { let _ = waiter.send(answer); }
                            _ => tracing::warn!(sequence, "a CMPP_SUBMIT_RESP for no submit waiting"),
                        }
                    }
                    DELIVER => match parse_deliver(&body) {
                        Some((msg_id, delivered)) => {
                            let mut resp = msg_id.to_be_bytes().to_vec();
                            resp.push(0);
                            if let Err(e) = writer.write_all(&frame(DELIVER_RESP, sequence, &resp)).await {
                                break format!("write: {e}");
                            }
                            let _ = late.send(match delivered {
                                Delivered::Report { msg_id, stat } => Late::Receipt {
                                    channel: ChannelKind::Sms,
                                    receipt: msg_id.to_string(),
                                    delivered: stat == "DELIVRD",
                                },
                                Delivered::Reply { from, text } => {
                                    tracing::info!(%from, "SMS from a handset (CMPP)");
                                    Late::Reply { from, text }
                                }
                            });
                        }
                        None => tracing::warn!(bytes = body.len(), "a CMPP_DELIVER too short to read"),
                    },
                    ACTIVE_TEST => {
                        if let Err(e) = writer.write_all(&frame(ACTIVE_TEST_RESP, sequence, &[0])).await {
                            break format!("write: {e}");
                        }
                    }
                    TERMINATE => {
                        let _ = writer.write_all(&frame(TERMINATE_RESP, sequence, &[])).await;
                        break "the gateway ended the session".to_string();
                    }
                    ACTIVE_TEST_RESP | TERMINATE_RESP => {}
                    other => tracing::debug!(command = other, "CMPP frame not handled"),
                }
            }
            _ = tick.tick() => {
                unanswered += 1;
                if unanswered > 3 {
                    break "three CMPP_ACTIVE_TESTs unanswered".to_string();
                }
                let sequence = link.sequence.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = writer.write_all(&frame(ACTIVE_TEST, sequence, &[])).await {
                    break format!("write: {e}");
                }
            }
        }
    };
    read_task.abort();
    // Submits still waiting fail now (and are retried by the outbox).
    if let Ok(mut waiting) = link.waiting.lock() {
        waiting.clear();
    }
    Ok(ended)
}

impl Channel for CmppChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let link = match &*self.session.read().await {
                Session::Up(link) => link.clone(),
                Session::Down(why) => return Err(ChannelError(why.clone())),
            };
            let contents = parts(&msg.text, (streams::radio::ssrc_for(&msg.key) & 0xff) as u8);
            let parts_of = |_: &str, _: &str| Ok(contents.clone());
            let submit = |mobile: &str, content: Vec<u8>, (n, total): (usize, usize)| {
                let body = submit_body(&self.settings, mobile, &content, (total as u8, n as u8 + 1));
                let link = link.clone();
                async move {
                    let _slot = link.window.acquire().await.map_err(|e| e.to_string())?;
                    let sequence = link.sequence.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = oneshot::channel();
                    if let Ok(mut waiting) = link.waiting.lock() {
                        waiting.insert(sequence, tx);
                    }
                    link.frames
                        .send(frame(SUBMIT, sequence, &body))
                        .map_err(|_| "the CMPP session ended".to_string())?;
                    match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
                        Err(_) => Err("no CMPP_SUBMIT_RESP in 10 s".to_string()),
                        Ok(Err(_)) => Err("the CMPP session ended before the answer".to_string()),
                        Ok(Ok((_, result))) if result != 0 => {
                            Err(format!("the CMPP gateway refused the submit (result {result})"))
                        }
                        Ok(Ok((msg_id, _))) => Ok(msg_id.to_string()),
                    }
                }
            };
            self.taken.submit(msg, parts_of, submit).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_chinese_text_goes_in_parts_of_67_with_one_reference_and_a_short_one_in_one() {
        assert_eq!(parts("东湾村火情", 9), [vec![0x4e, 0x1c, 0x6e, 0x7e, 0x67, 0x51, 0x70, 0x6b, 0x60, 0xc5]]);
        let text = "【青溪镇综治中心】火情：东湾村 DW-03，请立即前往处置并反馈。".repeat(6);
        let parts = parts(&text, 9);
        assert_eq!(parts.len(), text.chars().count().div_ceil(PART));
        let mut back = vec![];
        for (n, p) in parts.iter().enumerate() {
            assert!(p.len() <= 140);
            assert_eq!(&p[..6], &[0x05, 0x00, 0x03, 9, parts.len() as u8, n as u8 + 1]);
            back.extend(p[6..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])));
        }
        assert_eq!(String::from_utf16(&back).unwrap(), text);
    }

    #[test]
    fn a_deliver_is_a_status_report_or_a_handsets_message_and_a_short_one_is_no_panic() {
        let report = |stat: &str| {
            let mut content = 77u64.to_be_bytes().to_vec();
            content.extend(field(stat, 7));
            content.extend(field("2612061200", 10));
            content.extend(field("2612061200", 10));
            content.extend(field("13800000001", 21));
            content.extend(0u32.to_be_bytes());
            let mut b = 5u64.to_be_bytes().to_vec();
            b.extend(field("10690001", 21));
            b.extend(field("", 10));
            b.extend([0, 0, 0]);
            b.extend(field("13800000001", 21));
            b.push(1);
            b.push(content.len() as u8);
            b.extend(content);
            b.extend(field("", 8));
            b
        };
        assert_eq!(
            parse_deliver(&report("DELIVRD")),
            Some((5, Delivered::Report { msg_id: 77, stat: "DELIVRD".into() }))
        );
        let mut mo = 6u64.to_be_bytes().to_vec();
        mo.extend(field("10690001", 21));
        mo.extend(field("", 10));
        mo.extend([0, 0, 8]);
        mo.extend(field("13900000002", 21));
        mo.push(0);
        let text: Vec<u8> = "5 满意".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        mo.push(text.len() as u8);
        mo.extend(text);
        assert_eq!(
            parse_deliver(&mo),
            Some((6, Delivered::Reply { from: "13900000002".into(), text: "5 满意".into() }))
        );
        for cut in [0, 7, 40, 64, 70] {
            let whole = report("DELIVRD");
            assert_eq!(parse_deliver(&whole[..cut.min(whole.len())]), None, "cut at {cut}");
        }
    }
}
