//! The demo's simulated vendor HTTP SMS service (`[simulation] sms = "http"`), shaped like the
//! common cloud SMS APIs as docs/dispatch.md describes them: `POST /v1/sms/send` signed with
//! the key's secret (HMAC-SHA256 of the time and the body), answered with a message id per
//! number, each `out_id` kept once; a moment later the delivery reports are pushed to the
//! customer's callback, which answers `{"code":0}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use tokio::sync::watch;

/// How long the simulated handset takes to receive a message.
const DELIVERY_DELAY: Duration = Duration::from_millis(800);

/// The running service; dropping it stops it.
pub struct SmsCloud {
    addr: SocketAddr,
    _stop: watch::Sender<bool>,
}

/// What it keeps: the access key and its secret, where reports go, the ids of each `out_id`.
struct Service {
    key: String,
    secret: String,
    callback: String,
    sent: Mutex<HashMap<String, Vec<(String, String)>>>,
    next: Mutex<u64>,
}

impl SmsCloud {
    /// Serves on 127.0.0.1 for `key` / `secret`, pushing reports to `callback` (`http://host:port`).
    pub async fn start(key: &str, secret: &str, callback: &str) -> Result<SmsCloud, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = watch::channel(false);
        let service = Arc::new(Service {
            key: key.to_owned(),
            secret: secret.to_owned(),
            callback: callback.to_owned(),
            sent: Mutex::default(),
            next: Mutex::new(1),
        });
        let answer = move |request| {
            let service = service.clone();
            async move { service.take(request).await }
        };
        tokio::spawn(crate::http::serve(listener, None, "simulated SMS service", answer, stopped));
        Ok(SmsCloud { addr, _stop: stop })
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Service {
    async fn take(self: Arc<Self>, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let json = |status: StatusCode, body: serde_json::Value| {
            crate::http::reply(status, body.to_string().into_bytes(), "application/json")
        };
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (key, stamp, signature) = (header("x-sms-key"), header("x-sms-timestamp"), header("x-sms-signature"));
        if request.uri().path() != "/v1/sms/send" {
            return json(StatusCode::NOT_FOUND, serde_json::json!({ "code": 404, "message": "no such API" }));
        }
        let Ok(body) = http_body_util::Limited::new(request.into_body(), 1 << 20).collect().await.map(|b| b.to_bytes())
        else {
            return json(StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({ "code": 413, "message": "too large" }));
        };
        let stamp: Option<i64> = stamp.and_then(|s| s.parse().ok());
        let fresh = stamp.is_some_and(|s| chrono::Utc::now().timestamp().abs_diff(s) <= 300);
        let signed = matches!((&key, stamp, &signature), (Some(k), Some(t), Some(sig))
            if *k == self.key && crate::http::hmac_valid(&self.secret, t, &body, sig));
        if !fresh || !signed {
            let message = "signature does not match (key, secret or clock)";
            return json(StatusCode::UNAUTHORIZED, serde_json::json!({ "code": 401, "message": message }));
        }
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let phones: Vec<String> = request["phone_numbers"]
            .as_array()
            .map(|p| p.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if phones.is_empty() {
            return json(StatusCode::BAD_REQUEST, serde_json::json!({ "code": 400, "message": "no phone_numbers" }));
        }
        let out_id = request["out_id"].as_str().unwrap_or_default().to_owned();
        let (results, new) = {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            match sent.get(&out_id).filter(|_| !out_id.is_empty()) {
                Some(kept) => (kept.clone(), false),
                None => {
                    let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                    let results: Vec<(String, String)> = phones
                        .iter()
                        .map(|p| {
                            *next += 1;
                            (p.clone(), format!("c{:06}", *next))
                        })
                        .collect();
                    sent.insert(out_id, results.clone());
                    (results, true)
                }
            }
        };
        if new {
            let reports: Vec<serde_json::Value> = results
                .iter()
                .map(|(phone, id)| serde_json::json!({ "msg_id": id, "phone": phone, "status": "DELIVERED" }))
                .collect();
            let callback = self.callback.clone();
            tokio::spawn(async move {
                tokio::time::sleep(DELIVERY_DELAY).await;
                push(&callback, serde_json::Value::Array(reports)).await;
            });
        }
        let results: Vec<serde_json::Value> =
            results.iter().map(|(phone, id)| serde_json::json!({ "phone": phone, "msg_id": id })).collect();
        json(StatusCode::OK, serde_json::json!({ "code": 0, "message": "OK", "results": results }))
    }
}

/// Pushes reports to the callback, three attempts.
async fn push(callback: &str, reports: serde_json::Value) {
    let body = reports.to_string().into_bytes();
    for attempt in 1..=3 {
        let Ok(request) = crate::http::post_json(callback, "/", body.clone(), &[]) else { return };
        if let Ok((status, _)) = crate::http::exchange(callback, None, request).await
            && status.is_success()
        {
            return;
        }
        tokio::time::sleep(crate::backoff(attempt)).await;
    }
    tracing::warn!(%callback, "simulated SMS service: reports not taken");
}
