//! Janus's HTTP API, as the meeting service speaks it: a session, handles attached to the
//! VideoRoom plugin, synchronous requests (create, allowed, moderate, kick, destroy) and the
//! session's events by long poll.
//!
//! The shapes, as Janus 1.1.2 has them: `POST /janus` `{"janus":"create"}` → the session id;
//! `POST /janus/SESSION` `{"janus":"attach","plugin":"janus.plugin.videoroom"}` → a handle;
//! `POST /janus/SESSION/HANDLE` `{"janus":"message","body":{…}}` → `"success"` with the
//! plugin's answer (a plugin's refusal too: `error_code` inside it) or `"ack"` for an
//! asynchronous request whose answer comes as an event; `GET /janus/SESSION?maxev=N` waits up to
//! 30 s and answers an array of events. Only transport or core errors are `"janus":"error"`.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, header};
use serde_json::{Value, json};

/// What went wrong talking to Janus.
#[derive(Debug, Clone, PartialEq)]
pub enum JanusError {
    /// Janus did not answer, or not with its API.
    Link(String),
    /// The session is gone (Janus restarted, or it timed out): start a new one.
    NoSession,
    /// Janus (or its plugin) refused: its code and words.
    Refused { code: i64, reason: String },
}

impl std::fmt::Display for JanusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JanusError::Link(why) => write!(f, "Janus: {why}"),
            JanusError::NoSession => f.write_str("Janus: the session is gone"),
            JanusError::Refused { code, reason } => write!(f, "Janus {code}: {reason}"),
        }
    }
}

/// Janus's core error for a session it does not know.
const NO_SUCH_SESSION: i64 = 458;

/// A VideoRoom room that already exists (a create asked again).
pub const ROOM_EXISTS: i64 = 427;
/// A VideoRoom room that does not exist.
pub const NO_SUCH_ROOM: i64 = 426;

/// One Janus session.
#[derive(Debug, Clone)]
pub struct Session {
    /// `http://host:port`.
    base: String,
    /// `/janus/SESSION`.
    path: String,
}

/// `http://host:port/janus` → (`http://host:port`, `/janus`).
fn split(url: &str) -> Result<(String, String), JanusError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| JanusError::Link(format!("{url}: not an http:// address")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, "janus"));
    Ok((format!("http://{host}"), format!("/{}", path.trim_end_matches('/'))))
}

/// A fresh transaction id.
fn transaction() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// How long a request may wait for Janus's answer (a long poll waits up to 30 s of these).
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(40);

async fn exchange(base: &str, request: Request<Full<Bytes>>) -> Result<Value, JanusError> {
    let (status, body) = tokio::time::timeout(ANSWER_WITHIN, crate::http::exchange(base, None, request))
        .await
        .map_err(|_| JanusError::Link(format!("{base}: no answer in {} s", ANSWER_WITHIN.as_secs())))?
        .map_err(JanusError::Link)?;
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|e| JanusError::Link(format!("HTTP {status}, not Janus's answer: {e}")))?;
    if answer["janus"] == "error" {
        let code = answer["error"]["code"].as_i64().unwrap_or_default();
        if code == NO_SUCH_SESSION {
            return Err(JanusError::NoSession);
        }
        let reason = answer["error"]["reason"].as_str().unwrap_or("no reason").to_owned();
        return Err(JanusError::Refused { code, reason });
    }
    Ok(answer)
}

async fn post(base: &str, path: &str, mut body: Value) -> Result<Value, JanusError> {
    body["transaction"] = json!(transaction());
    let request = crate::http::post_json(base, path, body.to_string().into_bytes(), &[]).map_err(JanusError::Link)?;
    exchange(base, request).await
}

/// The id in a `"success"` answer's `data`.
fn id_of(answer: &Value) -> Result<u64, JanusError> {
    answer["data"]["id"].as_u64().ok_or_else(|| JanusError::Link(format!("no id in {answer}")))
}

impl Session {
    /// Opens a session on the Janus at `url` (`http://host:port/janus`).
    pub async fn open(url: &str) -> Result<Session, JanusError> {
        let (base, root) = split(url)?;
        let answer = post(&base, &root, json!({"janus": "create"})).await?;
        let id = id_of(&answer)?;
        Ok(Session { base, path: format!("{root}/{id}") })
    }

    /// A handle on the VideoRoom plugin.
    pub async fn attach(&self) -> Result<u64, JanusError> {
        let answer =
            post(&self.base, &self.path, json!({"janus": "attach", "plugin": "janus.plugin.videoroom"})).await?;
        id_of(&answer)
    }

    /// A synchronous VideoRoom request on `handle`: the plugin's answer, or its refusal.
    pub async fn request(&self, handle: u64, body: Value) -> Result<Value, JanusError> {
        let path = format!("{}/{handle}", self.path);
        let answer = post(&self.base, &path, json!({"janus": "message", "body": body})).await?;
        let data = answer["plugindata"]["data"].clone();
        match data["error_code"].as_i64() {
            Some(code) => {
                let reason = data["error"].as_str().unwrap_or("no reason").to_owned();
                Err(JanusError::Refused { code, reason })
            }
            None if data.is_null() => Err(JanusError::Link(format!("no plugin answer in {answer}"))),
            None => Ok(data),
        }
    }

    /// An asynchronous VideoRoom request (a join): Janus acknowledges it now and answers by an
    /// event on the session.
    pub async fn send(&self, handle: u64, body: Value) -> Result<(), JanusError> {
        let path = format!("{}/{handle}", self.path);
        let answer = post(&self.base, &path, json!({"janus": "message", "body": body})).await?;
        match answer["janus"].as_str() {
            Some("ack") => Ok(()),
            _ => Err(JanusError::Link(format!("no ack for {body}: {answer}"))),
        }
    }

    /// An asynchronous VideoRoom request (a join, a configure with the offer, a start with
    /// the answer, given as `jsep`), and the plugin's event that answers it (at most 20 s).
    /// Other events that come meanwhile are dropped: use it on a session of its own.
    pub async fn ask(&self, handle: u64, body: Value, jsep: Option<Value>) -> Result<Value, JanusError> {
        let path = format!("{}/{handle}", self.path);
        let id = transaction();
        let mut message = json!({"janus": "message", "body": body, "transaction": id});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        let request = crate::http::post_json(&self.base, &path, message.to_string().into_bytes(), &[])
            .map_err(JanusError::Link)?;
        let answer = exchange(&self.base, request).await?;
        let answered = |event: &Value| -> Result<Value, JanusError> {
            let data = &event["plugindata"]["data"];
            match data["error_code"].as_i64() {
                Some(code) => {
                    Err(JanusError::Refused { code, reason: data["error"].as_str().unwrap_or("no reason").to_owned() })
                }
                None => Ok(event.clone()),
            }
        };
        if answer["janus"] != "ack" {
            return answered(&answer);
        }
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::time::Instant::now() < until {
            let events = tokio::time::timeout_at(until, self.events())
                .await
                .map_err(|_| JanusError::Link(format!("no answer to {body} in 20 s")))??;
            if let Some(event) = events.iter().find(|e| e["transaction"] == id.as_str()) {
                return answered(event);
            }
        }
        Err(JanusError::Link(format!("no answer to {body} in 20 s")))
    }

    /// Waits (up to 30 s, Janus's long poll) for the session's next events; none is a
    /// keepalive. A poll also keeps the session alive.
    pub async fn events(&self) -> Result<Vec<Value>, JanusError> {
        let path = format!("{}?maxev=20&rid={}", self.path, fastrand::u64(..));
        let request = Request::get(path)
            .header(header::HOST, crate::http::host_of(&self.base))
            .body(Full::new(Bytes::new()))
            .map_err(|e| JanusError::Link(e.to_string()))?;
        let answer = exchange(&self.base, request).await?;
        let events = match answer {
            Value::Array(events) => events,
            one => vec![one],
        };
        Ok(events.into_iter().filter(|e| e["janus"] != "keepalive").collect())
    }

    /// Ends the session (Janus leaves its rooms for it).
    pub async fn close(&self) {
        let _ = post(&self.base, &self.path, json!({"janus": "destroy"})).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_splits_into_the_server_and_the_api_path() {
        assert_eq!(split("http://127.0.0.1:8088/janus").unwrap(), ("http://127.0.0.1:8088".into(), "/janus".into()));
        assert_eq!(split("http://h:1/a/janus/").unwrap(), ("http://h:1".into(), "/a/janus".into()));
        assert_eq!(split("http://h:1").unwrap(), ("http://h:1".into(), "/janus".into()));
        assert!(split("https://h:1/janus").is_err());
    }
}
