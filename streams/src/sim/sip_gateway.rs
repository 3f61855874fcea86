//! The demo's simulated SIP dispatch gateway: a SIP server on a UDP address that, like a
//! PDT/DMR gateway's SIP side, challenges an INVITE for digest credentials (401), answers one
//! with the right ones (200, G.711 A-law to its media socket) and refuses wrong ones (403), then
//! takes the call's RTP as the simulated RTP gateways do (logging each call when it ends) and
//! answers BYE.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

use crate::sip::{Message, digest_valid, param, response};

/// The realm the gateway challenges with.
const REALM: &str = "radio.qingxi";

/// A running gateway; dropping it stops it.
pub struct SipGateway {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SipGateway {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SipGateway {
    /// Listens for SIP on `addr`, letting `account` (user, password) call any talk-group.
    pub async fn start(addr: SocketAddr, account: (String, String)) -> Result<SipGateway, String> {
        let signalling =
            UdpSocket::bind(addr).await.map_err(|e| format!("simulated SIP gateway cannot listen on {addr}: {e}"))?;
        let media = UdpSocket::bind((addr.ip(), 0)).await.map_err(|e| format!("simulated SIP gateway media: {e}"))?;
        let media_addr = media.local_addr().map_err(|e| e.to_string())?;
        let tasks = vec![
            tokio::spawn(super::radio_gateways::serve(media, media_addr)),
            tokio::spawn(serve(signalling, media_addr, account)),
        ];
        Ok(SipGateway { tasks })
    }
}

async fn serve(socket: UdpSocket, media: SocketAddr, (user, password): (String, String)) {
    let mut buffer = vec![0u8; 8192];
    let mut nonce = 0u64;
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buffer).await else { continue };
        let Some(request) = Message::parse(&buffer[..n]) else { continue };
        let answer = match request.method.as_deref() {
            Some("INVITE") => match request.header("authorization") {
                None => {
                    nonce += 1;
                    let challenge =
                        format!("WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"n{nonce}\", qop=\"auth\"\r\n");
                    response(&request, (401, "Unauthorized"), &challenge, "")
                }
                Some(auth) => {
                    let answered = param(auth, "nonce").unwrap_or_default().to_owned();
                    if digest_valid(auth, (&user, &password), "INVITE", (REALM, &answered)) {
                        let sdp = format!(
                            "v=0\r\no=gateway 1 1 IN IP4 {ip}\r\ns=radio\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
                             m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=recvonly\r\n",
                            ip = media.ip(),
                            port = media.port()
                        );
                        let contact = format!("Contact: <sip:gateway@{}>\r\n", socket.local_addr().map_or(from, |a| a));
                        response(&request, (200, "OK"), &contact, &sdp)
                    } else {
                        tracing::warn!(%from, "simulated SIP gateway: wrong credentials");
                        response(&request, (403, "Forbidden"), "", "")
                    }
                }
            },
            Some("BYE") => response(&request, (200, "OK"), "", ""),
            // ACKs need no answer; anything else is not for a radio gateway.
            Some("ACK") | None => continue,
            Some(_) => response(&request, (405, "Method Not Allowed"), "", ""),
        };
        let _ = socket.send_to(answer.as_bytes(), from).await;
    }
}
