//! The files endpoint beside the hub: attachments up and down over HTTP/1.1 (HTTPS when the hub
//! serves wss), with the hub's own tokens — a photo is megabytes, the hub's frames are 64 KiB.
//!
//! ```text
//! POST /v1/attachments                  the photo's bytes  → 201 (or 200: kept already)
//!                                       {"id":"sha256:…","type":"image/jpeg","bytes":…,"width":…,"height":…}
//! GET  /v1/attachments/<hex>            → the bytes, Content-Type image/jpeg or image/png
//! GET  /v1/attachments/<hex>/thumbnail  → a JPEG at most 240 px a side
//! ```
//! Every request carries `Authorization: Bearer <token>` — a token of the hub's tokens file or a
//! login's session. A refusal is a status with `{"error": reason}`: 401 (no or unknown token), 403
//! (a role that may not upload), 404, 405, 411 (no length), 413 (over 10 MiB), 415 (not a JPEG or
//! PNG by its bytes), 422 (damaged or cut off), 500. The client side is [`upload`] and [`fetch`].

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use linkage_protocol::Role;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::attachments::{Attachment, AttachmentStore, MAX_BYTES, Refusal};
use super::hub::Shared;
use super::tls::Trust;

/// Photos decoded at once (a check or a thumbnail): decoding is what costs the CPU and memory.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Serves the endpoint on `listener` until the hub stops.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    store: AttachmentStore,
    stopped: watch::Receiver<bool>,
) {
    let tls = shared.tls.clone();
    let answer = move |request| {
        let (shared, store) = (shared.clone(), store.clone());
        async move { answer(request, &shared, &store).await }
    };
    crate::http::serve(listener, tls, "files endpoint", answer, stopped).await;
}

fn refuse(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": reason }).to_string().into_bytes();
    crate::http::reply(status, body, "application/json")
}

/// Who may add attachments: those who report (terminals, bridges) and the seats.
fn may_upload(role: Role) -> bool {
    matches!(role, Role::UnitTerminal | Role::FieldTerminal | Role::Bridge | Role::Console)
}

async fn answer(request: Request<Incoming>, shared: &Shared, store: &AttachmentStore) -> Response<Full<Bytes>> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let grant = match token {
        None => return refuse(StatusCode::UNAUTHORIZED, "no Authorization: Bearer <token>"),
        Some(token) => match shared.grant(token).await {
            Ok(Some(grant)) => grant,
            Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "token not valid (or the session ended)"),
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e),
        },
    };
    let path: Vec<String> = request.uri().path().trim_matches('/').split('/').map(str::to_owned).collect();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match (request.method(), path.as_slice()) {
        (&Method::POST, ["v1", "attachments"]) if !may_upload(grant.role) => {
            refuse(StatusCode::FORBIDDEN, &format!("role {:?} may not add attachments", grant.role))
        }
        (&Method::POST, ["v1", "attachments"]) => {
            let name = grant.name.clone();
            upload_answer(request, store, name).await
        }
        (&Method::GET, ["v1", "attachments", id]) => {
            let (store, id) = (store.clone(), (*id).to_owned());
            match tokio::task::spawn_blocking(move || store.get(&id)).await {
                Ok(Some((bytes, kind))) => crate::http::reply(StatusCode::OK, bytes, kind.mime()),
                _ => refuse(StatusCode::NOT_FOUND, "no such attachment"),
            }
        }
        (&Method::GET, ["v1", "attachments", id, "thumbnail"]) => {
            let (store, id) = (store.clone(), (*id).to_owned());
            let Ok(_decoding) = DECODING.acquire().await else {
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, "the endpoint is stopping");
            };
            match tokio::task::spawn_blocking(move || store.thumbnail(&id)).await {
                Ok(Some(bytes)) => crate::http::reply(StatusCode::OK, bytes, "image/jpeg"),
                _ => refuse(StatusCode::NOT_FOUND, "no such attachment"),
            }
        }
        (_, ["v1", "attachments", ..]) => refuse(StatusCode::METHOD_NOT_ALLOWED, "POST to add, GET to read"),
        _ => refuse(StatusCode::NOT_FOUND, "nothing here: /v1/attachments"),
    }
}

/// Reads a photo (refused before it is read when its length is over the limit) and keeps it.
async fn upload_answer(request: Request<Incoming>, store: &AttachmentStore, client: String) -> Response<Full<Bytes>> {
    let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    match length {
        None => return refuse(StatusCode::LENGTH_REQUIRED, "send Content-Length"),
        Some(bytes) if bytes > MAX_BYTES => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, &Refusal::TooLarge { bytes }.to_string());
        }
        Some(_) => {}
    }
    let body =
        tokio::time::timeout(crate::http::REQUEST_TIMEOUT, Limited::new(request.into_body(), MAX_BYTES).collect())
            .await;
    let bytes = match body {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body could not be read whole: {e}")),
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "the photo did not arrive in 120 s"),
    };
    let store = store.clone();
    let Ok(_decoding) = DECODING.acquire().await else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "the endpoint is stopping");
    };
    let kept = tokio::task::spawn_blocking(move || {
        let known = store.get(&super::attachments::sha256_hex(&bytes)).is_some();
        store.put(&bytes).map(|a| (a, known))
    })
    .await;
    match kept {
        Ok(Ok((attachment, known))) => {
            tracing::info!(%client, id = %attachment.id, bytes = attachment.bytes, known, "attachment kept");
            let status = if known { StatusCode::OK } else { StatusCode::CREATED };
            crate::http::reply(status, serde_json::to_vec(&attachment).unwrap_or_default(), "application/json")
        }
        Ok(Err(refusal)) => {
            tracing::warn!(%client, reason = %refusal, "attachment refused");
            let status = match refusal {
                Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                Refusal::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Refusal::Damaged(..) => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            refuse(status, &refusal.to_string())
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Where a client reaches the files endpoint the hub announced: the announced scheme and port,
/// on the host the client reached the hub at (the hub knows only the address it listens on,
/// `0.0.0.0` for a server, not the name its seats use — which its certificate carries).
pub fn beside(hub_url: &str, announced: &str) -> String {
    let authority =
        |url: &str| url.split_once("://").map_or(url, |(_, rest)| rest).split('/').next().unwrap_or("").to_owned();
    let host_of = |authority: &str| match authority.rfind(']') {
        Some(end) => authority[..=end].to_owned(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host).to_owned(),
    };
    let scheme = announced.split_once("://").map_or("http", |(scheme, _)| scheme);
    let at = authority(announced);
    let port = at.rsplit_once(':').map(|(_, port)| port).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(port) => format!("{scheme}://{}:{port}", host_of(&authority(hub_url))),
        None => announced.to_owned(),
    }
}

fn authorised(builder: hyper::http::request::Builder, files: &str, token: &str) -> hyper::http::request::Builder {
    builder.header(header::HOST, crate::http::host_of(files)).header(header::AUTHORIZATION, format!("Bearer {token}"))
}

/// The reason of a refusal, from its JSON body.
fn reason(status: StatusCode, body: &[u8]) -> String {
    let said =
        serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| v["error"].as_str().map(str::to_owned));
    format!("{status}: {}", said.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()))
}

/// Adds a photo at the hub's files endpoint; the attachment as kept, or the endpoint's reason.
/// Over the limit is refused here already, without sending it.
pub async fn upload(files: &str, token: &str, trust: Option<&Trust>, bytes: Vec<u8>) -> Result<Attachment, String> {
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge { bytes: bytes.len() }.to_string());
    }
    let built = authorised(Request::post("/v1/attachments"), files, token)
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| e.to_string())?;
    let (status, body) = crate::http::exchange(files, trust, built).await?;
    if !status.is_success() {
        return Err(reason(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{files}: an answer that is not an attachment: {e}"))
}

/// Reads an attachment (or its thumbnail) from the hub's files endpoint.
pub async fn fetch(
    files: &str,
    token: &str,
    trust: Option<&Trust>,
    id: &str,
    thumbnail: bool,
) -> Result<Vec<u8>, String> {
    let hex = super::attachments::hex_of(id).ok_or_else(|| format!("{id:?} is not an attachment id"))?;
    let path = if thumbnail { format!("{hex}/thumbnail") } else { hex.to_owned() };
    let built = authorised(Request::get(format!("/v1/attachments/{path}")), files, token)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (status, body) = crate::http::exchange(files, trust, built).await?;
    if !status.is_success() {
        return Err(reason(status, &body));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_endpoint_is_reached_on_the_hubs_host_at_the_announced_port() {
        assert_eq!(beside("wss://center.qingxi:7700", "https://0.0.0.0:7701"), "https://center.qingxi:7701");
        assert_eq!(beside("ws://127.0.0.1:41000/", "http://127.0.0.1:41001"), "http://127.0.0.1:41001");
        assert_eq!(beside("ws://[::1]:7700", "http://[::]:7701"), "http://[::1]:7701");
        assert_eq!(beside("ws://h:1", "nonsense"), "nonsense", "what cannot be read stays as announced");
    }
}
