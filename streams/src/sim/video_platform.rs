//! The demo's simulated video platform: wvp-GB28181-pro's HTTP API (the calls docs/video.md
//! lists, in wvp 2.7.4's shapes) over one NVR whose channels the demo's RTSP server serves, one
//! of them a PTZ dome that really turns: its PTZ and preset commands steer the camera server's
//! head ([`super::ptz`]).
//!
//! It checks the login (the MD5 of its password) and the token on every other call, and says
//! `{code, msg, data}` as wvp does. A newcomer's `make demo` shows its cameras in the list
//! beside the configured ones and steers the dome from its tile.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use tokio::sync::watch;

use super::ptz::{PtzHeads, Velocity};

/// One channel of the simulated NVR.
#[derive(Debug, Clone)]
pub struct SimChannel {
    /// Its 20-digit GB code.
    pub code: String,
    pub name: String,
    /// WGS-84.
    pub lon: f64,
    pub lat: f64,
    pub ptz: bool,
    /// Where the camera server serves it.
    pub rtsp: String,
}

/// The NVR's GB code.
pub const DEVICE: &str = "33011000001320000001";

/// The running platform; dropping it stops it.
pub struct SimPlatform {
    addr: SocketAddr,
    _stop: watch::Sender<bool>,
}

struct Platform {
    user: String,
    /// The MD5 (hex) of the password, as wvp's login takes it.
    password_md5: String,
    channels: Vec<SimChannel>,
    heads: PtzHeads,
    tokens: Mutex<HashSet<String>>,
}

impl SimPlatform {
    /// Serves on 127.0.0.1 for `user` / `password`; `heads` are the camera server's PTZ heads,
    /// named by the channels' codes.
    pub async fn start(
        user: &str,
        password: &str,
        channels: Vec<SimChannel>,
        heads: PtzHeads,
    ) -> Result<SimPlatform, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = watch::channel(false);
        let platform = Arc::new(Platform {
            user: user.to_owned(),
            password_md5: crate::http::md5_hex(password),
            channels,
            heads,
            tokens: Mutex::default(),
        });
        let answer = move |request| {
            let platform = platform.clone();
            async move { platform.answer(&request) }
        };
        tokio::spawn(crate::http::serve(listener, None, "simulated video platform", answer, stopped));
        Ok(SimPlatform { addr, _stop: stop })
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// `{code, msg, data}` with HTTP `status`.
fn wvp(status: StatusCode, code: i64, msg: &str, data: serde_json::Value) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": code, "msg": msg, "data": data });
    crate::http::reply(status, body.to_string().into_bytes(), "application/json")
}

fn ok(data: serde_json::Value) -> Response<Full<Bytes>> {
    wvp(StatusCode::OK, 0, "成功", data)
}

impl Platform {
    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        let query: Vec<(&str, &str)> =
            request.uri().query().unwrap_or("").split('&').filter_map(|kv| kv.split_once('=')).collect();
        let arg = |name: &str| query.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if path == "/api/user/login" {
            if arg("username") != Some(self.user.as_str()) || arg("password") != Some(self.password_md5.as_str()) {
                return wvp(StatusCode::OK, 100, "用户名或密码错误", serde_json::Value::Null);
            }
            let token = format!("{:032x}", fastrand::u128(..));
            self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(token.clone());
            return ok(serde_json::json!({ "accessToken": token, "username": self.user, "serverId": "000000" }));
        }
        let token = request.headers().get("access-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !self.tokens.lock().unwrap_or_else(|p| p.into_inner()).contains(token) {
            let body = serde_json::json!({ "code": 401, "msg": "请登录后重新请求" });
            return crate::http::reply(StatusCode::UNAUTHORIZED, body.to_string().into_bytes(), "application/json");
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["api", "device", "query", "devices"] => ok(page(vec![serde_json::json!({
                "deviceId": DEVICE, "name": "青溪镇综治NVR", "manufacturer": "Hikvision", "onLine": true,
                "channelCount": self.channels.len(), "geoCoordSys": "WGS84",
            })])),
            ["api", "device", "query", "devices", DEVICE, "channels"] => {
                let channels = self.channels.iter().map(|c| {
                    serde_json::json!({
                        "deviceId": c.code, "parentDeviceId": DEVICE, "name": c.name, "status": "ON",
                        "longitude": c.lon, "latitude": c.lat, "ptzType": if c.ptz { 1 } else { 3 },
                        "ptzTypeText": if c.ptz { "球机" } else { "固定枪机" }, "hasAudio": false,
                    })
                });
                ok(page(channels.collect()))
            }
            ["api", "play", "start", DEVICE, channel] => match self.channel(channel) {
                Some(c) => ok(serde_json::json!({
                    "app": "rtp", "stream": format!("{DEVICE}_{channel}"), "rtsp": c.rtsp,
                    "mediaServerId": "zlmediakit-local",
                })),
                None => wvp(StatusCode::OK, 100, "通道不存在", serde_json::Value::Null),
            },
            ["api", "play", "stop", DEVICE, channel] => match self.channel(channel) {
                Some(_) => ok(serde_json::json!({ "deviceId": DEVICE, "channelId": channel })),
                None => wvp(StatusCode::OK, 100, "通道不存在", serde_json::Value::Null),
            },
            ["api", "front-end", "ptz", DEVICE, channel] => {
                let speed = |name: &str| arg(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(100.0);
                // wvp's speeds: 0–255 for pan and tilt, 0–15 for zoom; here a full speed
                // crosses the scene in about two seconds, or doubles the zoom in one.
                let (pan, zoom) = (speed("horizonSpeed") / 255.0 * 0.5, speed("zoomSpeed").min(15.0) / 15.0);
                let velocity = match arg("command") {
                    Some("left") => Velocity { pan: -pan, ..Velocity::default() },
                    Some("right") => Velocity { pan, ..Velocity::default() },
                    Some("up") => Velocity { tilt: -pan, ..Velocity::default() },
                    Some("down") => Velocity { tilt: pan, ..Velocity::default() },
                    Some("zoomin") => Velocity { zoom, ..Velocity::default() },
                    Some("zoomout") => Velocity { zoom: -zoom, ..Velocity::default() },
                    _ => Velocity::default(),
                };
                match self.channel(channel).filter(|c| c.ptz) {
                    Some(c) if self.heads.steer(&format!("{DEVICE}_{}", c.code), velocity) => {
                        ok(serde_json::Value::Null)
                    }
                    _ => wvp(StatusCode::OK, 100, "该通道不支持云台控制", serde_json::Value::Null),
                }
            }
            ["api", "front-end", "preset", verb, DEVICE, channel] => {
                let Some(c) = self.channel(channel).filter(|c| c.ptz) else {
                    return wvp(StatusCode::OK, 100, "该通道不支持云台控制", serde_json::Value::Null);
                };
                let head = format!("{DEVICE}_{}", c.code);
                let number = arg("presetId").and_then(|n| n.parse::<u8>().ok()).filter(|n| *n > 0);
                match (*verb, number) {
                    ("query", _) => ok(self
                        .heads
                        .presets(&head)
                        .into_iter()
                        .map(|n| serde_json::json!({ "presetId": n.to_string(), "presetName": format!("预置位{n}") }))
                        .collect()),
                    ("add", Some(n)) if self.heads.save_preset(&head, n) => ok(serde_json::Value::Null),
                    ("call", Some(n)) if self.heads.go_to_preset(&head, n) => ok(serde_json::Value::Null),
                    _ => wvp(StatusCode::OK, 100, "预置位编号必须为1-255之间的数字", serde_json::Value::Null),
                }
            }
            _ => wvp(StatusCode::NOT_FOUND, 404, "资源未找到", serde_json::Value::Null),
        }
    }

    fn channel(&self, code: &str) -> Option<&SimChannel> {
        self.channels.iter().find(|c| c.code == code)
    }
}

/// One page holding everything (the demo's lists are short).
fn page(list: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({ "total": list.len(), "pageNum": 1, "pageSize": list.len().max(1), "pages": 1, "list": list })
}
