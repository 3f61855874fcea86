//! ONVIF cameras, talked to directly (a `[[camera]]` with an `onvif` address): the camera is its
//! own small platform, so its streams, PTZ and presets go the way a wvp channel's do.
//!
//! SOAP 1.2 over HTTP, each request signed with a WS-Security UsernameToken (PasswordDigest:
//! Base64(SHA-1(nonce + created + password))), as ONVIF's Profile S asks of every camera:
//!
//! - Device: `GetCapabilities` — where the Media and PTZ services are. Their paths are taken
//!   from the answer and joined to the configured host and port: a camera behind a NAT names
//!   its own inside address.
//! - Media: `GetProfiles` (the first profile is the main stream, the second the sub stream; a
//!   profile with a `PTZConfiguration` can be steered), `GetStreamUri` (RTP-Unicast over RTSP;
//!   the account is put into the RTSP address, which asks for the same login).
//! - PTZ: `ContinuousMove` (pan/tilt and zoom velocities, −1…1) and `Stop`; `GetPresets`,
//!   `GotoPreset`, `SetPreset`. ONVIF names presets by tokens; the console names a preset it
//!   saves by its number, and numbers the others in the camera's order.
//!
//! Answers are read leniently, by element names without their prefixes: cameras' XML is not
//! always well-formed (some leave a prefix undeclared), and a strict parser would refuse the
//! answer of a command the camera carried out.

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use tokio::sync::Mutex;

use crate::config::PlatformSettings;
use crate::core::camera::{Camera, Presence, Preset, StreamUris};
use crate::platform::{Motion, PlatformError};

const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";
const MEDIA_NS: &str = "http://www.onvif.org/ver10/media/wsdl";
const PTZ_NS: &str = "http://www.onvif.org/ver20/ptz/wsdl";

/// How long one call may take.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// What the camera said of itself at the first call.
#[derive(Clone)]
struct Services {
    media: String,
    ptz: Option<String>,
    /// Profile tokens, main first; and the first one that can be steered.
    profiles: Vec<String>,
    ptz_profile: Option<String>,
}

/// One ONVIF camera: `settings.url` is its device service (`http://host:port/onvif/device_service`).
pub struct Onvif {
    settings: PlatformSettings,
    /// The camera as configured (name, position, direction).
    camera: Camera,
    services: Mutex<Option<Services>>,
    /// Preset numbers → the camera's tokens, as last listed.
    presets: Mutex<Vec<(Preset, String)>>,
}

impl Onvif {
    pub fn new(settings: PlatformSettings, camera: Camera) -> Onvif {
        Onvif { settings, camera, services: Mutex::new(None), presets: Mutex::new(vec![]) }
    }

    /// The camera, as it answers now: online, and whether a profile can be steered.
    pub async fn directory(&self) -> Result<Vec<Camera>, PlatformError> {
        // Asked again each time: a camera that restarted may have changed.
        let services = self.discover().await?;
        *self.services.lock().await = Some(services.clone());
        let ptz = services.ptz.is_some() && services.ptz_profile.is_some();
        Ok(vec![Camera { ptz, presence: Presence::Online, ..self.camera.clone() }])
    }

    /// The main and sub streams' RTSP addresses.
    pub async fn play(&self) -> Result<StreamUris, PlatformError> {
        let services = self.services().await?;
        let mut uris = vec![];
        for token in services.profiles.iter().take(2) {
            let body = format!(
                "<GetStreamUri xmlns=\"{MEDIA_NS}\"><StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>\
                 <tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></StreamSetup>\
                 <ProfileToken>{}</ProfileToken></GetStreamUri>",
                escape(token)
            );
            let answer = self.call(&services.media, MEDIA_NS, "GetStreamUri", &body).await?;
            let uri = elements(&answer, "Uri").next().map(|(_, text)| unescape(text.trim()));
            let uri = uri
                .filter(|u| u.starts_with("rtsp://"))
                .ok_or_else(|| PlatformError::Answer(format!("the camera gave no RTSP address for profile {token}")))?;
            uris.push(self.with_login(&uri));
        }
        let mut uris = uris.into_iter();
        let main = uris.next().ok_or_else(|| PlatformError::Answer("the camera has no media profile".into()))?;
        Ok(StreamUris { main, sub: uris.next() })
    }

    /// Starts (or, with [`Motion::Stop`], ends) a movement; `speed` 0–255 as for a platform.
    pub async fn ptz(&self, motion: Motion, speed: u8) -> Result<(), PlatformError> {
        let (url, token) = self.ptz_service().await?;
        let v = f32::from(speed) / 255.0;
        let (pan, tilt, zoom) = match motion {
            Motion::Left => (-v, 0.0, 0.0),
            Motion::Right => (v, 0.0, 0.0),
            Motion::Up => (0.0, v, 0.0),
            Motion::Down => (0.0, -v, 0.0),
            Motion::ZoomIn => (0.0, 0.0, v),
            Motion::ZoomOut => (0.0, 0.0, -v),
            Motion::Stop => {
                let body = format!(
                    "<Stop xmlns=\"{PTZ_NS}\"><ProfileToken>{}</ProfileToken><PanTilt>true</PanTilt>\
                     <Zoom>true</Zoom></Stop>",
                    escape(&token)
                );
                return self.call(&url, PTZ_NS, "Stop", &body).await.map(drop);
            }
        };
        let body = format!(
            "<ContinuousMove xmlns=\"{PTZ_NS}\"><ProfileToken>{}</ProfileToken><Velocity>\
             <tt:PanTilt x=\"{pan:.3}\" y=\"{tilt:.3}\"/><tt:Zoom x=\"{zoom:.3}\"/></Velocity></ContinuousMove>",
            escape(&token)
        );
        self.call(&url, PTZ_NS, "ContinuousMove", &body).await.map(drop)
    }

    /// The camera's presets, numbered in its order.
    pub async fn presets(&self) -> Result<Vec<Preset>, PlatformError> {
        let (url, token) = self.ptz_service().await?;
        let body =
            format!("<GetPresets xmlns=\"{PTZ_NS}\"><ProfileToken>{}</ProfileToken></GetPresets>", escape(&token));
        let answer = self.call(&url, PTZ_NS, "GetPresets", &body).await?;
        let found: Vec<(String, String)> = elements(&answer, "Preset")
            .filter_map(|(attrs, inner)| {
                let token = unescape(attribute(attrs, "token")?);
                let name = elements(inner, "Name").next().map(|(_, n)| unescape(n.trim())).unwrap_or_default();
                Some((token, name))
            })
            .collect();
        let listed = number_presets(found);
        let presets = listed.iter().map(|(p, _)| p.clone()).collect();
        *self.presets.lock().await = listed;
        Ok(presets)
    }

    /// Sends the camera to preset `number`, or (`save`) keeps where it looks as a new preset.
    pub async fn preset(&self, number: u8, save: bool) -> Result<(), PlatformError> {
        let (url, token) = self.ptz_service().await?;
        if save {
            let body = format!(
                "<SetPreset xmlns=\"{PTZ_NS}\"><ProfileToken>{}</ProfileToken><PresetName>{number}</PresetName></SetPreset>",
                escape(&token)
            );
            return self.call(&url, PTZ_NS, "SetPreset", &body).await.map(drop);
        }
        let known = |list: &[(Preset, String)]| list.iter().find(|(p, _)| p.number == number).map(|(_, t)| t.clone());
        let cached = known(&self.presets.lock().await);
        let preset = match cached {
            Some(t) => t,
            None => {
                // Not listed since the start: list them now (the lock is not held meanwhile).
                self.presets().await?;
                let listed = known(&self.presets.lock().await);
                listed.ok_or_else(|| PlatformError::Answer(format!("the camera has no preset {number}")))?
            }
        };
        let body = format!(
            "<GotoPreset xmlns=\"{PTZ_NS}\"><ProfileToken>{}</ProfileToken><PresetToken>{}</PresetToken></GotoPreset>",
            escape(&token),
            escape(&preset)
        );
        self.call(&url, PTZ_NS, "GotoPreset", &body).await.map(drop)
    }

    /// The PTZ service and the profile it steers.
    async fn ptz_service(&self) -> Result<(String, String), PlatformError> {
        let services = self.services().await?;
        match (services.ptz, services.ptz_profile) {
            (Some(url), Some(token)) => Ok((url, token)),
            _ => Err(PlatformError::Answer("the camera has no PTZ".into())),
        }
    }

    /// Where the camera's services are and what its profiles are, as last asked (asked now if
    /// never).
    async fn services(&self) -> Result<Services, PlatformError> {
        let cached = self.services.lock().await.clone();
        if let Some(services) = cached {
            return Ok(services);
        }
        let services = self.discover().await?;
        *self.services.lock().await = Some(services.clone());
        Ok(services)
    }

    /// Asks the camera where its services are and what its profiles are.
    async fn discover(&self) -> Result<Services, PlatformError> {
        let device = self.settings.url.clone();
        let body = format!("<GetCapabilities xmlns=\"{DEVICE_NS}\"><Category>All</Category></GetCapabilities>");
        let answer = self.call(&device, DEVICE_NS, "GetCapabilities", &body).await?;
        let address = |service: &str| {
            elements(&answer, service)
                .find_map(|(_, inner)| elements(inner, "XAddr").next().map(|(_, a)| self.here(&unescape(a.trim()))))
        };
        let media = address("Media").ok_or_else(|| PlatformError::Answer("the camera has no media service".into()))?;
        let ptz = address("PTZ");
        let answer =
            self.call(&media, MEDIA_NS, "GetProfiles", &format!("<GetProfiles xmlns=\"{MEDIA_NS}\"/>")).await?;
        let profiles: Vec<(String, bool)> = elements(&answer, "Profiles")
            .filter_map(|(attrs, inner)| {
                Some((unescape(attribute(attrs, "token")?), inner.contains("PTZConfiguration")))
            })
            .collect();
        Ok(Services {
            media,
            ptz,
            ptz_profile: profiles.iter().find(|(_, ptz)| *ptz).map(|(t, _)| t.clone()),
            profiles: profiles.into_iter().map(|(t, _)| t).collect(),
        })
    }

    /// A service address the camera gave, on the host and port it was configured at.
    fn here(&self, address: &str) -> String {
        let path = address.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
        format!("{}{path}", base(&self.settings.url))
    }

    /// The RTSP address with the account in it (unless it has one).
    fn with_login(&self, uri: &str) -> String {
        let Some(rest) = uri.strip_prefix("rtsp://") else { return uri.to_owned() };
        if rest.split('/').next().is_some_and(|authority| authority.contains('@')) {
            return uri.to_owned();
        }
        let (user, password) = (&self.settings.user, &self.settings.password);
        format!("rtsp://{}:{}@{rest}", streams::http::percent_encode(user), streams::http::percent_encode(password))
    }

    /// One SOAP call; its answer's text, or the camera's fault.
    async fn call(&self, url: &str, namespace: &str, action: &str, body: &str) -> Result<String, PlatformError> {
        let envelope = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
             xmlns:tt=\"http://www.onvif.org/ver10/schema\">{}<s:Body>{body}</s:Body></s:Envelope>",
            security(&self.settings.user, &self.settings.password, chrono::Utc::now())
        );
        let base = base(url);
        let path = &url[base.len()..];
        let request = Request::post(if path.is_empty() { "/" } else { path })
            .header(header::HOST, streams::http::host_of(base))
            .header(
                header::CONTENT_TYPE,
                format!("application/soap+xml; charset=utf-8; action=\"{namespace}/{action}\""),
            )
            .header(header::CONTENT_LENGTH, envelope.len())
            .body(Full::new(Bytes::from(envelope)))
            .map_err(|e| PlatformError::Link(format!("{url}: {e}")))?;
        let exchange = streams::http::exchange(base, None, request);
        let (status, answer) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| PlatformError::Link(format!("{action}: no answer in {} s", CALL_TIMEOUT.as_secs())))?
            .map_err(PlatformError::Link)?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let fault = elements(&text, "Fault").next().map(|(_, inner)| {
            elements(inner, "Text").next().map_or_else(|| "a SOAP fault".to_owned(), |(_, t)| unescape(t.trim()))
        });
        match (status, fault) {
            (StatusCode::UNAUTHORIZED, _) => {
                Err(PlatformError::Answer(format!("{action}: the camera refused the user or password")))
            }
            (_, Some(fault)) => Err(PlatformError::Answer(format!("{action}: {fault}"))),
            (s, None) if !s.is_success() => Err(PlatformError::Link(format!("{action}: HTTP {s}"))),
            _ => Ok(text),
        }
    }
}

/// Numbers a camera's presets (token, name) 1–255: one named by a number keeps it (the console
/// names the presets it saves so), the others take the free numbers in the camera's order.
fn number_presets(found: Vec<(String, String)>) -> Vec<(Preset, String)> {
    let mut numbered: Vec<(Preset, String)> = vec![];
    let mut rest = vec![];
    for (token, name) in found {
        match name.parse::<u8>().ok().filter(|n| *n > 0 && !numbered.iter().any(|(p, _)| p.number == *n)) {
            Some(number) => numbered.push((Preset { number, name, stable: true }, token)),
            None => rest.push((token, name)),
        }
    }
    for (token, name) in rest {
        let taken: Vec<Preset> = numbered.iter().map(|(p, _)| p.clone()).collect();
        let Some(number) = crate::core::camera::free_preset(&taken) else { break };
        // Numbered by its place in the camera's list: a preset added there shifts it.
        numbered.push((Preset { number, name, stable: false }, token));
    }
    numbered.sort_by_key(|(p, _)| p.number);
    numbered
}

/// `http(s)://host:port` of an address.
fn base(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('/') {
        Some(i) => &url[..start + i],
        None => url,
    }
}

/// The WS-Security header: a UsernameToken with the password's digest, a fresh nonce and the
/// time it was made.
fn security(user: &str, password: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let nonce: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    let created = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let digest = password_digest(&nonce, &created, password);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "<s:Header><wsse:Security s:mustUnderstand=\"1\" \
         xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" \
         xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">\
         <wsse:UsernameToken><wsse:Username>{}</wsse:Username>\
         <wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password>\
         <wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:Nonce>\
         <wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>",
        escape(user),
        b64.encode(nonce)
    )
}

/// Base64(SHA-1(nonce + created + password)).
fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    hash.update(nonce);
    hash.update(created.as_bytes());
    hash.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hash.finish())
}

/// The elements named `local` (whatever their prefix): each one's attributes and inner text.
fn elements<'a>(xml: &'a str, local: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let open = at + xml.get(at..)?.find('<')?;
            let rest = &xml[open + 1..];
            let end_of_name = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            let name = &rest[..end_of_name];
            let tag_end = open + 1 + rest.find('>')?;
            at = tag_end + 1;
            if name.rsplit(':').next() != Some(local) || name.starts_with('/') {
                continue;
            }
            let attrs = xml[open + 1 + end_of_name..tag_end].trim_end_matches('/');
            if xml[..tag_end].ends_with('/') {
                return Some((attrs, ""));
            }
            let close = format!("</{name}>");
            let inner_end = at + xml[at..].find(&close)?;
            let inner = &xml[at..inner_end];
            at = inner_end + close.len();
            return Some((attrs, inner));
        }
    })
}

/// The value of attribute `name` in an element's attribute text.
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest[..i].ends_with(|c: char| c.is_whitespace() || c == ':');
        let after = rest[i + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            return value[1..].split(quote).next();
        }
        rest = &rest[i + name.len()..];
    }
    None
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_digest_is_base64_of_the_sha1_of_nonce_time_and_password() {
        // A nonce, a time and a password, and their digest as Python's hashlib and base64 give it.
        let nonce = base64::engine::general_purpose::STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        let digest = password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword");
        assert_eq!(digest, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    }

    #[test]
    fn presets_named_by_a_number_keep_it_and_the_others_take_the_free_ones() {
        let found = [("home", "Home"), ("p_a", "2"), ("p_b", "门口"), ("p_c", "2")]
            .map(|(t, n)| (t.to_owned(), n.to_owned()))
            .to_vec();
        let numbered = number_presets(found);
        let numbers: Vec<(u8, &str)> = numbered.iter().map(|(p, t)| (p.number, t.as_str())).collect();
        assert_eq!(numbers, [(1, "home"), (2, "p_a"), (3, "p_b"), (4, "p_c")]);
    }

    #[test]
    fn answers_are_read_by_local_names_even_with_an_undeclared_prefix() {
        let xml = r#"<s:Envelope><s:Body><ptz:GetPresetsResponse><tptz:Preset token="p_1"><tt:Name>门口</tt:Name></tptz:Preset><tptz:Preset token='home'/></ptz:GetPresetsResponse></s:Body></s:Envelope>"#;
        let presets: Vec<(Option<&str>, &str)> =
            elements(xml, "Preset").map(|(a, i)| (attribute(a, "token"), i)).collect();
        assert_eq!(presets, [(Some("p_1"), "<tt:Name>门口</tt:Name>"), (Some("home"), "")]);
        assert_eq!(elements(presets[0].1, "Name").next().map(|(_, n)| n), Some("门口"));
        assert!(elements(xml, "Missing").next().is_none());
        assert_eq!(base("http://10.0.0.5:8080/onvif/device_service"), "http://10.0.0.5:8080");
    }
}
