//! The demo's simulated 110 command center and 12345 platform: one HTTP server on 127.0.0.1
//! that speaks the bridge protocol of docs/bridge.md as the real ones would. The 110 center
//! pushes an incident now and then (signed, retried until the bridge answers 202); both take
//! the center's signed status callbacks and hand-overs, and the 12345 platform accepts a
//! transferred item after a while and reports it done later — so a newcomer sees a 110 incident
//! arrive, and a transfer go and come back, without a real peer.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use tokio::sync::watch;

use super::grid_workers::{SimGrid, poisson_gap, random_point_in};

/// A docked system as the simulator plays it: its id at the center and the shared secret.
#[derive(Clone)]
pub struct SimPeer {
    pub id: String,
    pub secret: String,
}

/// What the simulated 110 center reports: its category, and what the caller said.
const CALLS: [(&str, &str); 6] = [
    ("纠纷", "报警人称与邻居因宅基地界线发生争执，对方情绪激动"),
    ("治安", "报警人称村口小卖部后屋有人聚众赌博"),
    ("求助", "家属报称七旬老人早饭后外出至今未归"),
    ("交通", "两车在村道路口剐蹭，双方争执堵住道路"),
    ("纠纷", "报警人称工地拖欠其工资三个月，现场有十余名工人聚集"),
    ("求助", "报警人称独居老人家中燃气味很重，敲门无人应答"),
];

/// Seconds after the start when the first 110 incident comes.
const FIRST_CALL: f64 = 8.0;

/// The running simulators; dropping it stops them.
pub struct CommandCenter {
    addr: SocketAddr,
    peers: Arc<[SimPeer; 2]>,
    bridge: Arc<OnceLock<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _stop: watch::Sender<bool>,
}

impl Drop for CommandCenter {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl CommandCenter {
    /// Starts the server for the 110 center and the 12345 platform (`peers`, in that order).
    pub async fn start(peers: [SimPeer; 2]) -> Result<CommandCenter, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = watch::channel(false);
        let peers = Arc::new(peers);
        let bridge: Arc<OnceLock<String>> = Arc::default();
        let (p, b) = (peers.clone(), bridge.clone());
        let answer = move |request| {
            let (peers, bridge) = (p.clone(), b.clone());
            async move { take(request, &peers, &bridge).await }
        };
        let tasks = vec![tokio::spawn(crate::http::serve(listener, None, "simulated 110 / 12345", answer, stopped))];
        Ok(CommandCenter { addr, peers, bridge, tasks, _stop: stop })
    }

    /// The base URL of both peers' APIs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts pushing 110 incidents to the center's bridge at `bridge`, at random points of
    /// the grids, about every `mean_gap`.
    pub fn push(&mut self, bridge: SocketAddr, grids: Vec<SimGrid>, mean_gap: Duration) {
        let base = format!("http://{bridge}");
        let _ = self.bridge.set(base.clone());
        let peer = self.peers[0].clone();
        self.tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            let day = chrono::Utc::now().with_timezone(&crate::feed::ZONE).format("%Y%m%d").to_string();
            let first = rng.u32(1000..9000);
            for n in first.. {
                // The first soon after the start, so a newcomer sees one.
                let gap = if n == first { FIRST_CALL } else { poisson_gap(&mut rng, mean_gap.as_secs_f64()) };
                tokio::time::sleep(Duration::from_secs_f64(gap)).await;
                let Some(grid) = grids.get(rng.usize(..grids.len().max(1))) else { return };
                let point = random_point_in(&mut rng, &grid.area);
                let (category, content) = CALLS[rng.usize(..CALLS.len())];
                let body = serde_json::json!({
                    "incident_no": format!("110-{day}-{n}"), "revision": 1,
                    "reported_at": chrono::Utc::now().to_rfc3339(), "caller": format!("1{}****{:04}", rng.u8(30..99), rng.u16(..10000)),
                    "content": content, "address": format!("{}网格", grid.code), "category": category,
                    "location": { "lon": point.x(), "lat": point.y(), "crs": "wgs84" },
                    "severity": if rng.u8(..5) == 0 { "critical" } else { "high" }, "jurisdiction": "青溪派出所",
                });
                post_until_taken(&base, &peer, "/v1/incidents", body).await;
            }
        }));
    }
}

/// POSTs `body` to the bridge, signed as `peer`, until it answers 2xx (or refuses it for good).
async fn post_until_taken(base: &str, peer: &SimPeer, path: &str, body: serde_json::Value) {
    let body = body.to_string().into_bytes();
    for attempt in 1.. {
        let signed = crate::http::bridge_headers(&peer.id, &peer.secret, &body);
        let Ok(request) = crate::http::post_json(base, path, body.clone(), &signed) else { return };
        match crate::http::exchange(base, None, request).await {
            Ok((status, _)) if status.is_success() => return,
            Ok((status, answer)) if status.is_client_error() => {
                tracing::warn!(%path, %status, answer = %String::from_utf8_lossy(&answer), "the bridge refused the simulated peer");
                return;
            }
            Ok(_) | Err(_) => tokio::time::sleep(crate::backoff(attempt)).await,
        }
    }
}

/// Serves a callback or a hand-over from the center, checking its signature.
async fn take(request: Request<Incoming>, peers: &[SimPeer; 2], bridge: &OnceLock<String>) -> Response<Full<Bytes>> {
    let json = |status: StatusCode, body: serde_json::Value| {
        crate::http::reply(status, body.to_string().into_bytes(), "application/json")
    };
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (id, timestamp, signature) =
        (header("x-bridge-peer"), header("x-bridge-timestamp"), header("x-bridge-signature"));
    let path = request.uri().path().to_owned();
    let Ok(body) = http_body_util::Limited::new(request.into_body(), 1 << 20).collect().await.map(|b| b.to_bytes())
    else {
        return json(StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({ "error": "too_large" }));
    };
    let peer = peers.iter().find(|p| Some(&p.id) == id.as_ref());
    let timestamp: Option<i64> = timestamp.and_then(|t| t.parse().ok());
    let (Some(peer), Some(timestamp), Some(signature)) = (peer, timestamp, signature) else {
        return json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "unauthorized" }));
    };
    if !crate::http::hmac_valid(&peer.secret, timestamp, &body, &signature) {
        return json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "unauthorized" }));
    }
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if path == "/v1/handovers" {
        let handover = doc["handover"].as_str().unwrap_or_default().to_owned();
        tracing::info!(peer = %peer.id, %handover, "simulated platform: hand-over received");
        if let Some(base) = bridge.get().cloned() {
            let peer = peer.clone();
            tokio::spawn(async move {
                let path = format!("/v1/handovers/{handover}/progress");
                for (after, state, text) in [
                    (20, "accepted", "已受理，转交属地街道办理"),
                    (60, "done", "已办结：属地街道已上门处理，诉求人表示满意"),
                ] {
                    tokio::time::sleep(Duration::from_secs(after)).await;
                    post_until_taken(&base, &peer, &path, serde_json::json!({ "state": state, "text": text })).await;
                }
            });
        }
        return json(StatusCode::ACCEPTED, serde_json::json!({ "ok": true }));
    }
    tracing::info!(peer = %peer.id, number = %doc["incident_no"], status = %doc["status"], "simulated 110: status");
    json(StatusCode::OK, serde_json::json!({ "ok": true }))
}
