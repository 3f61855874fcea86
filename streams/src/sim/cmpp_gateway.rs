//! The demo's simulated China Mobile gateway (ISMG, `[simulation] sms = "cmpp"`), speaking
//! CMPP 2.0 as an SP's gateway does: `CMPP_CONNECT` checked against the SP's secret (the
//! authenticator, answered with status 3 when it does not match), every `CMPP_SUBMIT` answered
//! with a fresh `Msg_Id` and, when it asks for one, a status report (`CMPP_DELIVER`,
//! `DELIVRD`) a moment later; active tests answered, `CMPP_TERMINATE` honoured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::cmpp::*;

/// How long the simulated handset takes to receive a message.
const DELIVERY_DELAY: Duration = Duration::from_millis(800);

/// The running gateway; dropping it stops it.
pub struct CmppGateway {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CmppGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CmppGateway {
    /// Listens on 127.0.0.1 for the SP `sp_id` with `secret`.
    pub async fn start(sp_id: &str, secret: &str) -> Result<CmppGateway, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let sp = Arc::new((sp_id.to_owned(), secret.to_owned()));
        let ids = Arc::new(AtomicU64::new(fastrand::u64(1..1 << 40)));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(session(stream, sp.clone(), ids.clone()));
            }
        });
        Ok(CmppGateway { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The parts of a submit the gateway needs: (registered delivery, destination, source).
fn read_submit(body: &[u8]) -> Option<(bool, String, String)> {
    let registered = *body.get(10)? == 1;
    // Msg_Id 8, Pk 2, Registered 1, level 1, Service_Id 10, Fee_UserType 1, Fee_terminal 21,
    // TP_pId 1, TP_udhi 1, Msg_Fmt 1, Msg_src 6, FeeType 2, FeeCode 6, ValId 17, At 17.
    let src = text_of(body.get(95..116)?);
    let count = *body.get(116)? as usize;
    let dest = text_of(body.get(117..117 + 21 * count.min(1))?);
    Some((registered, dest, src))
}

/// A status report for `msg_id`, sent to `src_id` from `dest`'s handset.
fn report(msg_id: u64, dest: &str, src_id: &str) -> Vec<u8> {
    let mut b = msg_id.to_be_bytes().to_vec(); // the deliver's own Msg_Id: the same will do
    b.extend(field(src_id, 21)); // Dest_Id: the SP's number
    b.extend(field("", 10)); // Service_Id
    b.extend([0, 0, 0]); // TP_pid, TP_udhi, Msg_Fmt
    b.extend(field(dest, 21)); // Src_terminal_Id
    b.push(1); // Registered_Delivery: a status report
    let mut content = msg_id.to_be_bytes().to_vec();
    content.extend(field("DELIVRD", 7));
    content.extend(field("", 20)); // Submit_time, Done_time
    content.extend(field(dest, 21));
    content.extend([0u8; 4]); // SMSC_sequence
    b.push(content.len() as u8);
    b.extend(content);
    b.extend(field("", 8)); // Reserve
    b
}

async fn session(stream: TcpStream, sp: Arc<(String, String)>, ids: Arc<AtomicU64>) {
    let (mut reader, mut writer) = stream.into_split();
    let (out, mut frames) = mpsc::unbounded_channel::<Vec<u8>>();
    let writing = tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let sequence = AtomicU64::new(1);
    let mut connected = false;
    while let Ok((command, seq, body)) = read_frame(&mut reader).await {
        match command {
            CONNECT => {
                let (sp_id, secret) = (&sp.0, &sp.1);
                let time = body.get(23..27).map_or(0, |t| u32::from_be_bytes([t[0], t[1], t[2], t[3]]));
                let ok = text_of(body.get(0..6).unwrap_or_default()) == *sp_id
                    && body.get(6..22) == Some(&authenticator(sp_id, secret, time)[..]);
                let mut answer = vec![if ok { 0 } else { 3 }];
                answer.extend([0u8; 16]);
                answer.push(VERSION);
                let _ = out.send(frame(CONNECT_RESP, seq, &answer));
                connected = ok;
                if !ok {
                    tracing::warn!("simulated CMPP gateway: authentication failed");
                }
            }
            SUBMIT if connected => {
                let msg_id = ids.fetch_add(1, Ordering::Relaxed);
                let mut answer = msg_id.to_be_bytes().to_vec();
                answer.push(0);
                let _ = out.send(frame(SUBMIT_RESP, seq, &answer));
                if let Some((true, dest, src)) = read_submit(&body) {
                    let (out, n) = (out.clone(), sequence.fetch_add(1, Ordering::Relaxed) as u32);
                    tokio::spawn(async move {
                        tokio::time::sleep(DELIVERY_DELAY).await;
                        let _ = out.send(frame(DELIVER, n, &report(msg_id, &dest, &src)));
                    });
                }
            }
            ACTIVE_TEST => {
                let _ = out.send(frame(ACTIVE_TEST_RESP, seq, &[0]));
            }
            TERMINATE => {
                let _ = out.send(frame(TERMINATE_RESP, seq, &[]));
                break;
            }
            // Answers to our delivers and tests need nothing.
            _ => {}
        }
    }
    drop(out);
    let _ = writing.await;
}
