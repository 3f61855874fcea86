//! 短信通知 through a vendor's HTTP SMS service (`[dispatch.http_sms]`), as most government sites
//! buy SMS: the API is shaped like the common cloud ones — the mobile numbers, a sign name (签名)
//! approved by the carrier, a template code (模板) and its parameters (the order's words as
//! `text`), the message's key as `out_id` — and delivery reports are pushed back to a callback
//! this server listens on, answered `{"code":0}`.
//!
//! A request is signed: `X-Sms-Key`, `X-Sms-Timestamp` (Unix seconds) and `X-Sms-Signature`,
//! the hex HMAC-SHA256 of `"<timestamp>\n<body>"` with the key's secret (never logged). The
//! answer `{"code":0,"results":[{"phone","msg_id"}]}` gives the receipts; any other code is a
//! failure with the service's message (the outbox retries). A service that honours `out_id`
//! keeps a resend once; one that does not may send it twice if a crash fell between the request
//! and its answer (docs/dispatch.md).

use std::net::SocketAddr;

use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::{Channel, ChannelError, Late, Receipt};
use crate::core::dispatch::Outgoing;
use crate::core::order::ChannelKind;

/// How to reach the service.
#[derive(Clone)]
pub struct HttpSmsSettings {
    /// The API's base, `http(s)://host:port`.
    pub url: String,
    /// The access key and its secret (from `env:` in the config).
    pub key: String,
    pub secret: String,
    /// The sign name and template the carrier approved; the template takes `text`.
    pub sign_name: String,
    pub template_code: String,
    /// Where this server takes the delivery reports the service pushes.
    pub callback_listen: Option<SocketAddr>,
}

impl std::fmt::Debug for HttpSmsSettings {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpSmsSettings {{ url: {}, key: {}, sign_name: {} }}", self.url, self.key, self.sign_name)
    }
}

pub struct HttpSmsChannel {
    settings: HttpSmsSettings,
    /// Keeps the callback server up while the channel lives.
    _stop: watch::Sender<bool>,
}

impl HttpSmsChannel {
    /// The channel, and its callback server for the delivery reports (which go to `late`).
    pub fn connect(
        settings: HttpSmsSettings,
        late: mpsc::UnboundedSender<Late>,
        runtime: &tokio::runtime::Handle,
    ) -> HttpSmsChannel {
        let (stop, stopped) = watch::channel(false);
        if let Some(listen) = settings.callback_listen {
            runtime.spawn(async move {
                let listener = match tokio::net::TcpListener::bind(listen).await {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::error!(%listen, error = %e, "SMS delivery reports: cannot listen");
                        return;
                    }
                };
                tracing::info!(%listen, "SMS delivery reports: listening");
                let answer = move |request| {
                    let late = late.clone();
                    async move { take_reports(request, &late).await }
                };
                streams::http::serve(listener, None, "SMS delivery reports", answer, stopped).await;
            });
        }
        HttpSmsChannel { settings, _stop: stop }
    }
}

#[derive(Deserialize)]
struct Answer {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    results: Vec<Sent>,
}

#[derive(Deserialize)]
struct Sent {
    msg_id: String,
}

#[derive(Deserialize)]
struct Report {
    msg_id: String,
    status: String,
}

/// The callback: a JSON array of reports, each a late receipt; answered `{"code":0}`.
async fn take_reports(request: Request<Incoming>, late: &mpsc::UnboundedSender<Late>) -> Response<Full<Bytes>> {
    let json = |status: StatusCode, code: u16, message: &str| {
        let body = serde_json::json!({ "code": code, "message": message }).to_string().into_bytes();
        streams::http::reply(status, body, "application/json")
    };
    if request.method() != Method::POST {
        return json(StatusCode::METHOD_NOT_ALLOWED, 405, "POST the reports");
    }
    let body = http_body_util::Limited::new(request.into_body(), 1 << 20).collect().await;
    let Ok(body) = body.map(|b| b.to_bytes()) else {
        return json(StatusCode::PAYLOAD_TOO_LARGE, 413, "reports over 1 MiB");
    };
    match serde_json::from_slice::<Vec<Report>>(&body) {
        Ok(reports) => {
            for r in reports {
                let delivered = r.status == "DELIVERED";
                let _ = late.send(Late::Receipt { channel: ChannelKind::Sms, receipt: r.msg_id, delivered });
            }
            json(StatusCode::OK, 0, "OK")
        }
        Err(e) => {
            tracing::warn!(error = %e, "SMS delivery reports that do not read");
            json(StatusCode::BAD_REQUEST, 400, &format!("not a list of reports: {e}"))
        }
    }
}

impl Channel for HttpSmsChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let mobiles = super::mobiles(msg)?;
            let s = &self.settings;
            let body = serde_json::json!({
                "phone_numbers": mobiles,
                "sign_name": s.sign_name,
                "template_code": s.template_code,
                "template_param": { "text": msg.text },
                "out_id": msg.key,
            })
            .to_string()
            .into_bytes();
            let timestamp = chrono::Utc::now().timestamp();
            let signature = streams::http::hmac_hex(&s.secret, timestamp, &body);
            let signed = [
                ("X-Sms-Key", s.key.clone()),
                ("X-Sms-Timestamp", timestamp.to_string()),
                ("X-Sms-Signature", signature),
            ];
            let request = streams::http::post_json(&s.url, "/v1/sms/send", body, &signed).map_err(ChannelError)?;
            let (status, answer) = streams::http::exchange(&s.url, None, request).await.map_err(ChannelError)?;
            let answer: Answer = serde_json::from_slice(&answer)
                .map_err(|e| ChannelError(format!("the SMS service answered {status} with no code: {e}")))?;
            if answer.code != 0 {
                return Err(ChannelError(format!("the SMS service refused ({}): {}", answer.code, answer.message)));
            }
            let ids: Vec<String> = answer.results.into_iter().map(|r| r.msg_id).collect();
            Ok(Receipt { id: ids.join(","), delivered: false })
        })
    }
}
