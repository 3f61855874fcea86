//! HTTP/1.1 on both sides, with hyper, for what does not fit the hub's WebSocket: the files
//! endpoint beside the hub, a vendor SMS service's API and its delivery-report callback.
//!
//! [`serve`] accepts connections (at most [`AT_ONCE`] at a time, one more closed at once),
//! speaks TLS where an acceptor is given, and bounds every connection in time (headers within
//! 10 s, the whole connection within [`CONNECTION_TIMEOUT`]), so that a slow or idle client
//! never holds the server. [`exchange`] sends one request and reads the whole answer, within
//! [`REQUEST_TIMEOUT`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::feed::tls::{Socket, Trust};

/// How long a request may take to come (a 10 MiB photo over a slow rural link) or be answered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one connection may stay, whatever it does (a client that never reads its answer).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(180);
/// Connections served at once.
pub const AT_ONCE: usize = 32;

/// Serves `answer` on `listener` until `stopped` changes; `name` says whose server it is in the
/// logs.
pub async fn serve<A, F>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    name: &'static str,
    answer: A,
    mut stopped: watch::Receiver<bool>,
) where
    A: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(server = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(server = name, %peer, limit = AT_ONCE, "full: connection closed");
            continue;
        };
        let (tls, answer) = (tls.clone(), answer.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let socket: Socket = match tls {
                None => Box::new(stream),
                Some(tls) => match tokio::time::timeout(Duration::from_secs(10), tls.accept(stream)).await {
                    Ok(Ok(tls)) => Box::new(tls),
                    _ => return,
                },
            };
            let service = hyper::service::service_fn(move |request| {
                let answered = answer(request);
                async move { Ok::<_, Infallible>(answered.await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(socket), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                Ok(Err(e)) => tracing::debug!(server = name, %peer, error = %e, "connection ended"),
                Err(_) => tracing::info!(server = name, %peer, "connection open too long, closed"),
                Ok(Ok(())) => {}
            }
        });
    }
}

/// `bytes` as lower-case hex, two digits a byte: digests, signatures, tokens.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex read back ([`hex`]'s counterpart): `None` unless the text is pairs of hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    text.as_bytes().chunks(2).map(hex_byte).collect()
}

/// One byte from two hex digits, either case; `None` for anything else (a sign, one digit).
fn hex_byte(pair: &[u8]) -> Option<u8> {
    match pair {
        [hi, lo] => Some((char::from(*hi).to_digit(16)? * 16 + char::from(*lo).to_digit(16)?) as u8),
        _ => None,
    }
}

/// The MD5 of `text`, in lower-case hex: what SIP digest authentication and wvp's login take.
pub fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex(&Md5::digest(text.as_bytes()))
}

/// `text` percent-encoded for a URL's query or its user and password: every byte but letters,
/// digits and `-_.~`.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A percent-encoded path segment or query value read back (`t1%2FH000042` → `t1/H000042`,
/// UTF-8 too); `None` if it does not decode to UTF-8 or a `%` is not followed by two hex
/// digits.
pub fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            bytes.push(hex_byte(tail.get(..2)?)?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// The hex HMAC-SHA256 of `"<timestamp>\n<body>"` with `secret`: how the HTTP peers of the
/// center (a vendor's SMS service, the 110 / 12345 bridge) sign what they send each other.
pub fn hmac_hex(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}\n").into_bytes();
    signed.extend_from_slice(body);
    hex(ring::hmac::sign(&key, &signed).as_ref())
}

/// Whether `signature` (hex) is [`hmac_hex`] of these, compared in constant time.
pub fn hmac_valid(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let bytes: Option<Vec<u8>> = (0..signature.len())
        .step_by(2)
        .map(|i| signature.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let Some(tag) = bytes else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}\n").into_bytes();
    signed.extend_from_slice(body);
    ring::hmac::verify(&key, &signed, &tag).is_ok()
}

/// The headers that sign `body` in the bridge protocol (docs/bridge.md): who sends it (the
/// pair's peer id), when, and the HMAC of both with the pair's secret.
pub fn bridge_headers(peer: &str, secret: &str, body: &[u8]) -> [(&'static str, String); 3] {
    let timestamp = chrono::Utc::now().timestamp();
    [
        ("X-Bridge-Peer", peer.to_owned()),
        ("X-Bridge-Timestamp", timestamp.to_string()),
        ("X-Bridge-Signature", hmac_hex(secret, timestamp, body)),
    ]
}

/// A POST of the JSON `body` to `path` at the server `base` (`http(s)://host:port`), with
/// `headers` beside Host, Content-Type and Content-Length.
pub fn post_json(
    base: &str,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> Result<Request<Full<Bytes>>, String> {
    let mut request = Request::post(path)
        .header(header::HOST, host_of(base))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len());
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    request.body(Full::new(Bytes::from(body))).map_err(|e| format!("{base}{path}: {e}"))
}

/// An answer with `status`, `body` and its content type.
pub fn reply(status: StatusCode, body: Vec<u8>, mime: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// The `host:port` of a base URL (`http(s)://host:port[/…]`), for the Host header.
pub fn host_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// One request to the server at `base` (`http(s)://host:port`, HTTPS trusting `trust`),
/// answered with its status and whole body.
pub async fn exchange(
    base: &str,
    trust: Option<&Trust>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String> {
    let socket = crate::feed::tls::connect(base, trust).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(socket)).await.map_err(|e| format!("{base}: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let exchange = async {
        let response = sender.send_request(request).await.map_err(|e| format!("{base}: {e}"))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| format!("{base}: {e}"))?.to_bytes();
        Ok::<_, String>((status, body))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange).await.map_err(|_| format!("{base}: no answer in 120 s"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_reads_back_what_encoding_wrote() {
        for id in ["t1/H000042", "青溪镇/H000001", "H000007", "a b%c"] {
            assert_eq!(percent_decode(&percent_encode(id)).as_deref(), Some(id));
        }
        assert_eq!(percent_decode("t1/H000042").as_deref(), Some("t1/H000042"));
        for broken in ["%", "%4", "%zz", "%+f", "%ff%fe"] {
            assert_eq!(percent_decode(broken), None, "{broken}");
        }
        assert_eq!(unhex(&hex("青溪镇".as_bytes())).as_deref(), Some("青溪镇".as_bytes()));
        for broken in ["7", "zz", "+f", "e99"] {
            assert_eq!(unhex(broken), None, "{broken}");
        }
    }

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_time_and_the_body() {
        // As Python's hmac computes it (the simulators' side).
        let expected = "346a8f68fec04c9eee008b1bb9797f79920c7c67fdc75c2c67108852e95a3505";
        assert_eq!(hmac_hex("secret", 1_700_000_000, b"{}"), expected);
        assert_ne!(hmac_hex("secret", 1_700_000_001, b"{}"), expected, "the time is signed");
        assert!(hmac_valid("secret", 1_700_000_000, b"{}", expected));
        assert!(!hmac_valid("secret", 1_700_000_000, b"{ }", expected), "the body is signed");
        assert!(!hmac_valid("other", 1_700_000_000, b"{}", expected), "the secret is used");
        assert!(!hmac_valid("secret", 1_700_000_000, b"{}", "zz"), "not hex");
        assert!(!hmac_valid("secret", 1_700_000_000, b"{}", &expected[..63]), "odd length");
    }
}
