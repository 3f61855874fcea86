//! wvp-GB28181-pro's HTTP API, as the console uses it.
//!
//! Every answer is `{code, msg, data}`: `code` 0 is success, anything else is the platform
//! refusing, and its `msg` (Chinese, written for a person) is what the console shows. The
//! console logs in with the user's name and the MD5 of the password
//! (`GET /api/user/login?username=&password=`), keeps the `accessToken` of the answer and sends
//! it as the `access-token` header; an answer that says the token is no longer good (HTTP 401,
//! or code 401) logs in once more and repeats the call.
//!
//! - The directory: `/api/device/query/devices?page=&count=` (paged: `data.total`,
//!   `data.list`), and for each device `/api/device/query/devices/{deviceId}/channels?page=&
//!   count=`. A channel becomes a camera `PLATFORM/DEVICE/CHANNEL` with its name, position
//!   (converted to WGS-84 when the platform's coordinates are GCJ-02), online state and PTZ type.
//! - Playing: `/api/play/start/{deviceId}/{channelId}` answers a `StreamContent` whose `rtsp`
//!   (or `flv`) URL the wall opens; `/api/play/stop/{deviceId}/{channelId}` gives it back.
//! - PTZ: `/api/front-end/ptz/{deviceId}/{channelId}?command=&horizonSpeed=&verticalSpeed=&
//!   zoomSpeed=`; presets: `/api/front-end/preset/query|call|add/{deviceId}/{channelId}`
//!   (`presetId` 1–255).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::config::PlatformSettings;
use crate::core::camera::{Camera, CameraStreams, Presence, Preset, StreamUris};
use crate::core::coords::gcj02_to_wgs84;
use crate::platform::{Motion, PlatformError};

/// Devices or channels asked for per page.
const PAGE: usize = 100;

/// The most pages read of one list (100 000 items).
const MAX_PAGES: usize = 1000;

/// How long one call may take: wvp answers a play once the device has (up to 10 s, 18 s in
/// 2.6), a preset query once the camera has (3 s).
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One wvp platform: its settings and the token of the last login.
pub struct Wvp {
    settings: PlatformSettings,
    token: Mutex<Option<String>>,
}

/// `{code, msg, data}`.
#[derive(Deserialize)]
struct Answer<T> {
    code: i64,
    #[serde(default)]
    msg: Option<String>,
    data: Option<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    access_token: String,
}

/// A page of a list (`PageInfo`).
#[derive(Deserialize)]
struct Page<T> {
    /// All items; a platform that leaves it out is read until a short page.
    #[serde(default)]
    total: Option<usize>,
    #[serde(default = "Vec::new")]
    list: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Device {
    device_id: String,
    #[serde(default)]
    name: Option<String>,
    /// Whether the device is registered and keeping alive.
    #[serde(default, rename = "onLine")]
    on_line: bool,
}

/// A channel, as 2.7.3 and later write it (`deviceId` is the channel's own GB code, `status`
/// "ON"/"OFF") or as 2.6 to 2.7.2 did (`channelId` the channel, `deviceId` its device,
/// `status` a boolean, `ptztype` in 2.6.9).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Channel {
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    status: serde_json::Value,
    /// 0 unknown, 1 dome, 2 half dome, 3 fixed bullet, 4 remote-controlled bullet, 5
    /// remote-controlled half dome.
    #[serde(default, alias = "ptztype")]
    ptz_type: Option<i64>,
    /// The administrative division it is in (行政区划, GB/T 2260 and below).
    #[serde(default)]
    civil_code: Option<String>,
}

impl Channel {
    /// The channel's GB code: `channelId` where the platform writes it (before 2.7.3), else
    /// `deviceId`.
    fn code(&self) -> Option<&str> {
        self.channel_id.as_deref().or(self.device_id.as_deref()).filter(|c| !c.is_empty())
    }
}

/// A preset as wvp lists it (`Preset`: both strings).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WvpPreset {
    preset_id: String,
    #[serde(default)]
    preset_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamContent {
    #[serde(default)]
    rtsp: Option<String>,
    #[serde(default)]
    flv: Option<String>,
}

impl Wvp {
    pub fn new(settings: PlatformSettings) -> Wvp {
        Wvp { settings, token: Mutex::new(None) }
    }

    /// Every channel of every device, as cameras.
    pub async fn directory(&self) -> Result<Vec<Camera>, PlatformError> {
        let devices: Vec<Device> = self.all("/api/device/query/devices").await?;
        let mut cameras = vec![];
        for device in devices {
            // One device the platform refuses to list does not hide the others; a platform that
            // stops answering fails the read (its cameras stay as they were, not "removed").
            let channels = match segment(&device.device_id) {
                Ok(id) => self.all::<Channel>(&format!("/api/device/query/devices/{id}/channels")).await,
                Err(e) => Err(e),
            };
            match channels {
                Ok(channels) => cameras.extend(channels.into_iter().filter_map(|c| self.camera(&device, c))),
                Err(PlatformError::Answer(e)) => {
                    tracing::warn!(platform = %self.settings.id, device = %device.device_id, error = %e, "device's channels not read");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cameras)
    }

    /// A channel as a camera; `None` for a channel without a code.
    fn camera(&self, device: &Device, c: Channel) -> Option<Camera> {
        let code = c.code()?.to_owned();
        let (lon, lat) = match (c.longitude, c.latitude, self.settings.crs) {
            // Not placed on the platform: no position.
            (None, _, _) | (_, None, _) | (Some(0.0), Some(0.0), _) => (0.0, 0.0),
            (Some(lon), Some(lat), streams::feed::CoordinateSystem::Gcj02) => gcj02_to_wgs84(lon, lat),
            (Some(lon), Some(lat), streams::feed::CoordinateSystem::Wgs84) => (lon, lat),
        };
        let online = device.on_line
            && match &c.status {
                serde_json::Value::String(s) => s.eq_ignore_ascii_case("on"),
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_i64() == Some(1),
                _ => false,
            };
        let ptz = matches!(c.ptz_type, Some(1 | 2 | 4 | 5));
        let name = c
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{} {code}", device.name.as_deref().unwrap_or(&device.device_id)));
        Some(Camera {
            id: format!("{}/{}/{code}", self.settings.id, device.device_id),
            name,
            lon,
            lat,
            heading: 0.0,
            // A dome turns to any side; a fixed camera's direction the platform does not say.
            fov: if ptz { 360.0 } else { 0.0 },
            streams: CameraStreams::Platform {
                platform: self.settings.id.clone(),
                device: device.device_id.clone(),
                channel: code,
            },
            ptz,
            presence: if online { Presence::Online } else { Presence::Offline },
            village: c.civil_code.as_deref().and_then(|code| self.settings.village_of(code)).map(str::to_owned),
        })
    }

    /// Asks the platform to start a channel's stream; its RTSP (or FLV) address.
    pub async fn play(&self, device: &str, channel: &str) -> Result<StreamUris, PlatformError> {
        let path = format!("/api/play/start/{}/{}", segment(device)?, segment(channel)?);
        let stream: StreamContent = self.get(&path).await?;
        match stream.rtsp.or(stream.flv).filter(|u| !u.is_empty()) {
            Some(main) => Ok(StreamUris { main, sub: None }),
            None => Err(PlatformError::Answer("the platform gave no rtsp or flv address".into())),
        }
    }

    /// Gives a channel's stream back.
    pub async fn stop(&self, device: &str, channel: &str) -> Result<(), PlatformError> {
        let path = format!("/api/play/stop/{}/{}", segment(device)?, segment(channel)?);
        self.get::<serde_json::Value>(&path).await.map(drop)
    }

    /// Starts (or, with [`Motion::Stop`], ends) a movement.
    pub async fn ptz(&self, device: &str, channel: &str, motion: Motion, speed: u8) -> Result<(), PlatformError> {
        let (command, pan, zoom) = match motion {
            Motion::Left => ("left", speed, 0),
            Motion::Right => ("right", speed, 0),
            Motion::Up => ("up", speed, 0),
            Motion::Down => ("down", speed, 0),
            Motion::ZoomIn => ("zoomin", 0, speed.min(15)),
            Motion::ZoomOut => ("zoomout", 0, speed.min(15)),
            Motion::Stop => ("stop", 0, 0),
        };
        let path = format!(
            "/api/front-end/ptz/{}/{}?command={command}&horizonSpeed={pan}&verticalSpeed={pan}&zoomSpeed={zoom}",
            segment(device)?,
            segment(channel)?
        );
        self.get::<serde_json::Value>(&path).await.map(drop)
    }

    /// The channel's presets, as the camera lists them (wvp asks the device and waits up to 3 s).
    pub async fn presets(&self, device: &str, channel: &str) -> Result<Vec<Preset>, PlatformError> {
        let path = format!("/api/front-end/preset/query/{}/{}", segment(device)?, segment(channel)?);
        let listed: Vec<WvpPreset> = self.get(&path).await?;
        let mut presets: Vec<Preset> = listed
            .into_iter()
            .filter_map(|p| {
                let number = p.preset_id.trim().parse::<u8>().ok().filter(|n| *n > 0)?;
                let name = p.preset_name.filter(|n| !n.trim().is_empty()).unwrap_or_default();
                Some(Preset { number, name, stable: true })
            })
            .collect();
        presets.sort_by_key(|p| p.number);
        Ok(presets)
    }

    /// Sends the camera to preset `number`, or (`save`) keeps where it looks as that preset.
    pub async fn preset(&self, device: &str, channel: &str, number: u8, save: bool) -> Result<(), PlatformError> {
        let verb = if save { "add" } else { "call" };
        let path = format!("/api/front-end/preset/{verb}/{}/{}?presetId={number}", segment(device)?, segment(channel)?);
        self.get::<serde_json::Value>(&path).await.map(drop)
    }

    /// Every item of a paged list: until `total` is reached where the platform gives it
    /// (it may cap a page below `count`), else until a short page; never more than
    /// [`MAX_PAGES`] pages (a platform that ignores `page`).
    async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, PlatformError> {
        let mut items = vec![];
        for page in 1..=MAX_PAGES {
            let answer: Page<T> = self.get(&format!("{path}?page={page}&count={PAGE}")).await?;
            let got = answer.list.len();
            items.extend(answer.list);
            let done = match answer.total {
                Some(total) => items.len() >= total || got == 0,
                None => got < PAGE,
            };
            if done {
                break;
            }
        }
        Ok(items)
    }

    /// A GET with the token; logs in first when there is none, and once more when the platform
    /// says the token is no longer good. The token's lock is held only to read or renew it:
    /// calls run side by side (a PTZ stop never waits behind a directory read).
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, PlatformError> {
        let token = self.token(None).await?;
        match self.call(path, Some(&token)).await {
            Err(PlatformError::Unauthorized(_)) => {
                let fresh = self.token(Some(&token)).await?;
                self.call(path, Some(&fresh)).await
            }
            other => other,
        }
    }

    /// The token to use: the one kept, or a fresh login's when there is none or the kept one
    /// is `stale` (unless another call renewed it meanwhile).
    async fn token(&self, stale: Option<&str>) -> Result<String, PlatformError> {
        let mut kept = self.token.lock().await;
        if let Some(token) = kept.as_ref().filter(|t| Some(t.as_str()) != stale) {
            return Ok(token.clone());
        }
        let fresh = self.login().await?;
        *kept = Some(fresh.clone());
        Ok(fresh)
    }

    async fn login(&self) -> Result<String, PlatformError> {
        let hex = streams::http::md5_hex(&self.settings.password);
        let user = streams::http::percent_encode(&self.settings.user);
        let path = format!("/api/user/login?username={user}&password={hex}");
        let login: Login = match self.call(&path, None).await {
            // A refused login is the platform's word on the account, not a stale token.
            Err(PlatformError::Unauthorized(msg)) => return Err(PlatformError::Answer(msg)),
            other => other?,
        };
        Ok(login.access_token)
    }

    /// One call, within [`CALL_TIMEOUT`]. Errors name the call by its path without the query
    /// (the login's holds the password's hash, which wvp takes as the password).
    async fn call<T: DeserializeOwned>(&self, path_and_query: &str, token: Option<&str>) -> Result<T, PlatformError> {
        let base = &self.settings.url;
        let path = path_and_query.split('?').next().unwrap_or_default();
        let mut request = Request::get(path_and_query).header(header::HOST, streams::http::host_of(base));
        if let Some(token) = token {
            request = request.header("access-token", token);
        }
        let request = request.body(Full::new(Bytes::new())).map_err(|e| PlatformError::Link(format!("{path}: {e}")))?;
        let exchange = streams::http::exchange(base, None, request);
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| PlatformError::Link(format!("{path}: no answer in {} s", CALL_TIMEOUT.as_secs())))?
            .map_err(|e| PlatformError::Link(e.replace(path_and_query, path)))?;
        let answer: Answer<T> = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) if status == StatusCode::UNAUTHORIZED => {
                return Err(PlatformError::Unauthorized(format!("HTTP {status}")));
            }
            Err(e) => return Err(PlatformError::Link(format!("{path}: HTTP {status}, not its answer: {e}"))),
        };
        let msg = || answer.msg.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| format!("code {}", answer.code));
        match answer.code {
            // No data is fine where nothing is expected (a stop, a PTZ command).
            0 => match answer.data {
                Some(data) => Ok(data),
                None => serde_json::from_value(serde_json::Value::Null)
                    .map_err(|_| PlatformError::Answer(format!("{path}: the answer has no data"))),
            },
            401 => Err(PlatformError::Unauthorized(msg())),
            _ if status == StatusCode::UNAUTHORIZED => Err(PlatformError::Unauthorized(msg())),
            code => Err(PlatformError::Answer(format!("{} ({code})", msg()))),
        }
    }
}

/// A device or channel id as a path segment: GB codes are digits; anything that would change
/// the path is refused rather than sent.
fn segment(id: &str) -> Result<&str, PlatformError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(id)
    } else {
        Err(PlatformError::Answer(format!("the platform listed an id that is not a GB code: {id:?}")))
    }
}
