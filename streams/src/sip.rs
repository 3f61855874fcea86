//! The few SIP messages a radio call needs (RFC 3261), read as text: a message parsed into its
//! status (or method), headers and body; the digest answer to a 401/407 challenge (RFC 2617 /
//! 8760, MD5, `qop=auth` or none) and its check; the SDP of an offer and of an answer (RFC 4566 /
//! 3264: one audio stream, G.711). The console's SIP radio channel calls with it, the demo's
//! simulated dispatch gateway answers with it.

use std::net::{IpAddr, SocketAddr};

use crate::http::md5_hex;
pub use crate::radio::Codec;

/// A response (or a request the gateway sends us: `status` 0 and its method in `method`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub status: u16,
    pub reason: String,
    /// For a request: its method.
    pub method: Option<String>,
    /// Header names lower-case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Message {
    /// Reads one datagram; `None` if it is not SIP.
    pub fn parse(datagram: &[u8]) -> Option<Message> {
        let text = std::str::from_utf8(datagram).ok()?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let first = lines.next()?;
        let (status, reason, method) = match first.strip_prefix("SIP/2.0 ") {
            Some(rest) => {
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                (code.parse().ok()?, reason.to_owned(), None)
            }
            None => {
                let method = first.split(' ').next()?;
                first.ends_with("SIP/2.0").then_some(())?;
                (0, String::new(), Some(method.to_owned()))
            }
        };
        let mut headers = vec![];
        for line in lines {
            let (name, value) = line.split_once(':')?;
            let name = match name.trim().to_ascii_lowercase().as_str() {
                // Compact forms (RFC 3261 §7.3.3).
                "v" => "via".to_owned(),
                "f" => "from".to_owned(),
                "t" => "to".to_owned(),
                "i" => "call-id".to_owned(),
                "m" => "contact".to_owned(),
                "l" => "content-length".to_owned(),
                "c" => "content-type".to_owned(),
                other => other.to_owned(),
            };
            headers.push((name, value.trim().to_owned()));
        }
        Some(Message { status, reason, method, headers, body: body.to_owned() })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The CSeq's number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let (n, method) = self.header("cseq")?.split_once(' ')?;
        Some((n.trim().parse().ok()?, method.trim()))
    }

    /// The URI in the Contact header (where in-dialog requests go).
    pub fn contact_uri(&self) -> Option<&str> {
        let contact = self.header("contact")?;
        let start = contact.find('<')? + 1;
        let end = contact[start..].find('>')? + start;
        Some(&contact[start..end])
    }
}

/// A parameter of a header value: `name=value` or `name="value"`.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split([',', ';']).map(str::trim).find_map(|part| {
        let part = part.strip_prefix("Digest ").unwrap_or(part).trim();
        let (n, v) = part.split_once('=')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"'))
    })
}

/// The `Authorization` (or `Proxy-Authorization`) value answering `challenge` (a
/// WWW-/Proxy-Authenticate value) for `method` on `uri`.
pub fn digest(
    challenge: &str,
    (user, password): (&str, &str),
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Option<String> {
    let realm = param(challenge, "realm")?;
    let nonce = param(challenge, "nonce")?;
    if param(challenge, "algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("MD5")) {
        return None;
    }
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let auth = param(challenge, "qop").is_some_and(|q| q.split(',').any(|q| q.trim() == "auth"));
    let mut value = format!("Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\"");
    if auth {
        let response = md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
        value += &format!(", response=\"{response}\", qop=auth, nc=00000001, cnonce=\"{cnonce}\"");
    } else {
        value += &format!(", response=\"{}\"", md5_hex(&format!("{ha1}:{nonce}:{ha2}")));
    }
    value += ", algorithm=MD5";
    if let Some(opaque) = param(challenge, "opaque") {
        value += &format!(", opaque=\"{opaque}\"");
    }
    Some(value)
}

/// A response to `request` (its Via, From, To, Call-ID and CSeq), with a tag of the answerer's
/// on a final one's `To` when the request's has none, `extra` headers and an SDP `body`.
pub fn response(request: &Message, (status, reason): (u16, &str), extra: &str, body: &str) -> String {
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for (name, value) in &request.headers {
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out += &format!("{name}: {value}\r\n"),
            "to" if status >= 200 && param(value, "tag").is_none() => {
                out += &format!("to: {value};tag=ans{status}\r\n")
            }
            "to" => out += &format!("to: {value}\r\n"),
            _ => {}
        }
    }
    if !body.is_empty() {
        out += "Content-Type: application/sdp\r\n";
    }
    out + extra + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Whether `authorization` (an Authorization header's value) answers a challenge of `realm`
/// and `nonce` for `method` with `user`'s `password`.
pub fn digest_valid(
    authorization: &str,
    (user, password): (&str, &str),
    method: &str,
    (realm, nonce): (&str, &str),
) -> bool {
    let Some(uri) = param(authorization, "uri") else { return false };
    if param(authorization, "username") != Some(user) || param(authorization, "nonce") != Some(nonce) {
        return false;
    }
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let expected = match (param(authorization, "qop"), param(authorization, "nc"), param(authorization, "cnonce")) {
        (Some("auth"), Some(nc), Some(cnonce)) => md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        _ => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    };
    param(authorization, "response") == Some(expected.as_str())
}

/// Our offer: G.711 (A-law first) from `ip:rtp_port`, 20 ms packets. We only ever send, but
/// offer the default direction (sendrecv): baresip 1.0, for one, answers a `sendonly` offer
/// and then drops the audio it receives. What a gateway sends back is not listened to.
pub fn offer(ip: IpAddr, rtp_port: u16, session: u64) -> String {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=linkage {session} {session} IN {family} {ip}\r\ns=linkage radio call\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
    )
}

/// Where the answer wants the audio, and in which of the offered codecs.
pub fn answer(sdp: &str) -> Result<(SocketAddr, Codec), String> {
    let mut ip: Option<IpAddr> = None;
    let mut audio = None;
    for line in sdp.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=IN ") {
            // The media-level c= (after m=) overrides the session's.
            ip = c.split_whitespace().nth(1).and_then(|a| a.parse().ok()).or(ip);
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            let mut fields = m.split_whitespace();
            let port: u16 = fields.next().and_then(|p| p.parse().ok()).ok_or("the answer's m=audio has no port")?;
            let formats: Vec<u8> = fields.skip(1).filter_map(|f| f.parse().ok()).collect();
            audio = Some((port, formats));
        }
    }
    let (port, formats) = audio.ok_or("the answer has no audio stream")?;
    if port == 0 {
        return Err("the gateway refused the audio stream (port 0)".into());
    }
    let codec = formats
        .iter()
        .find_map(|f| [Codec::Pcma, Codec::Pcmu].into_iter().find(|c| c.payload_type() == *f))
        .ok_or_else(|| format!("the gateway answered with none of G.711 A-law or µ-law: {formats:?}"))?;
    let ip = ip.ok_or("the answer has no connection address")?;
    Ok((SocketAddr::new(ip, port), codec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_reads_with_its_compact_headers_and_body() {
        let text = "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa\r\nt: <sip:tg101@gw>;tag=xyz\r\n\
                    CSeq: 2 INVITE\r\nContact: \"gw\" <sip:tg101@127.0.0.1:5060;transport=udp>\r\nl: 4\r\n\r\nv=0\n";
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!((m.status, m.reason.as_str()), (200, "OK"));
        assert_eq!(m.cseq(), Some((2, "INVITE")));
        assert_eq!(m.contact_uri(), Some("sip:tg101@127.0.0.1:5060;transport=udp"));
        assert_eq!(param(m.header("to").unwrap(), "tag"), Some("xyz"));
        let bye = Message::parse(b"BYE sip:linkage@127.0.0.1:5070 SIP/2.0\r\nCSeq: 1 BYE\r\n\r\n").unwrap();
        assert_eq!((bye.status, bye.method.as_deref()), (0, Some("BYE")));
        assert!(Message::parse(b"\x16\x03 not sip").is_none());
    }

    #[test]
    fn the_digest_is_rfc_2617s_example() {
        // RFC 2617 §3.5, with its cnonce and nc.
        let challenge = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
        let value = digest(challenge, ("Mufasa", "Circle Of Life"), "GET", "/dir/index.html", "0a4f113b").unwrap();
        assert!(value.contains("response=\"6629fae49393a05397450978507c4ef1\""), "{value}");
        assert!(value.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        assert!(
            digest("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256", ("u", "p"), "INVITE", "sip:x", "c").is_none()
        );
    }

    #[test]
    fn the_answer_names_where_the_audio_goes_and_in_what() {
        let sdp = "v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 26012 RTP/AVP 0 101\r\na=recvonly\r\n";
        assert_eq!(answer(sdp).unwrap(), ("10.0.0.9:26012".parse().unwrap(), Codec::Pcmu));
        assert!(answer("v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 0 RTP/AVP 8\r\n").is_err());
        assert!(answer("v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 4000 RTP/AVP 9\r\n").unwrap_err().contains("G.711"));
        let ours = offer("127.0.0.1".parse().unwrap(), 40000, 7);
        assert_eq!(answer(&ours).unwrap(), ("127.0.0.1:40000".parse().unwrap(), Codec::Pcma));
    }
}
