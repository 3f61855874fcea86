//! `linkage.toml`: where the hub is, which grids, cameras and units, whether to simulate.
//!
//! Parsing is strict (unknown keys are refused, so a typo never silently does nothing) and
//! every error names the file, the line and the reason; `main` prints it and exits non-zero.
//! Files the config refers to (grids, kinds) are read relative to the config's own folder.
//! With no `--config`, the demo township compiled into the binary is used.

use std::path::{Path, PathBuf};

mod bridge;
mod file;
mod meeting;
mod platform;

pub use bridge::{BridgePeer, BridgeSettings};
use file::*;
pub use meeting::{MeetingSettings, SfuSetting};
pub use platform::{PlatformKind, PlatformSettings};
use streams::feed::CoordinateSystem;
use toml::Spanned;

use crate::basemap::{BasemapSetting, TileArchive, TileSource};
use crate::core::camera::{Camera, CameraStreams, Presence};
use crate::core::grid::GridMap;
use crate::core::kind::IncidentKinds;
use crate::core::plan::PlanLibrary;
use crate::core::roster::{Hours, Post, PostKind, RosterPost};
use crate::core::score::ScoringRules;
use crate::core::unit::{LinkedUnit, Tier};
use crate::core::wall::Layout;
use crate::i18n::Lang;

/// A config file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

pub use crate::core::line_of;

/// Where the console's events come from.
#[derive(Debug, Clone, PartialEq)]
pub enum HubSetting {
    /// Start a hub in-process, listening on `listen`, keeping its log in `data_dir`.
    Embedded { listen: String, data_dir: Option<PathBuf> },
    /// Connect to a hub elsewhere (the center's server, `linkage hub`), as a machine with a
    /// token or as a person who logs in.
    Remote { url: String, who: Credentials, ca: Option<PathBuf> },
}

/// How a seat proves who it is to a remote server.
#[derive(Clone, PartialEq)]
pub enum Credentials {
    /// A token from the server's tokens file (a wall display, a kiosk).
    Token(String),
    /// A person's login name: the console opens on the login screen, asking for the password.
    User(String),
}

impl std::fmt::Debug for Credentials {
    /// Never prints a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(…)"),
            Credentials::User(user) => write!(f, "User({user})"),
        }
    }
}

/// Which renderer draws the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RendererChoice {
    /// OpenGL; the default, and the fast one on machines without a GPU (llvmpipe).
    #[default]
    Glow,
    /// wgpu (Vulkan/Metal/DX12).
    Wgpu,
}

impl RendererChoice {
    pub fn parse(s: &str) -> Option<RendererChoice> {
        match s {
            "glow" => Some(RendererChoice::Glow),
            "wgpu" => Some(RendererChoice::Wgpu),
            _ => None,
        }
    }
}

/// The demo simulation's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub mean_report_gap_secs: f64,
    /// Reports the grid workers hand in at start, before the regular rate.
    pub backlog: usize,
    /// A simulated duty officer dispatches high and critical incidents by their plan and closes
    /// reported-back orders with a satisfaction, so the demo's clocks and board come alive.
    pub duty_officer: bool,
    /// Units played by a person at a unit seat: no simulated terminal answers for them.
    pub staffed: Vec<String>,
    /// Which SMS gateway the simulation runs when the config names none.
    pub sms: SimulatedSms,
}

/// An SMS gateway handed to the dispatch service in place of the config's (the demo's).
#[derive(Debug, Clone)]
pub enum SmsGateway {
    Smpp(SmsSettings),
    Cmpp(crate::center::channels::cmpp::CmppSettings),
    Http(crate::center::channels::http_sms::HttpSmsSettings),
}

/// The kinds of SMS gateway the demo can simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimulatedSms {
    /// An SMSC (SMPP 3.4).
    #[default]
    Smpp,
    /// A vendor's HTTP SMS service.
    Http,
    /// A China Mobile gateway (CMPP 2.0).
    Cmpp,
}

/// A loaded, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub hub: HubSetting,
    pub grids: GridMap,
    /// Raster tiles under the map, if configured.
    pub basemap: Option<BasemapSetting>,
    pub kinds: IncidentKinds,
    pub cameras: Vec<Camera>,
    pub units: Vec<LinkedUnit>,
    pub simulation: Option<Simulation>,
    pub renderer: RendererChoice,
    pub lang: Option<Lang>,
    pub wall_layout: Layout,
    pub dispatch: DispatchSettings,
    pub scoring: ScoringRules,
    /// Who unanswered alarms page.
    pub paging: crate::core::paging::Paging,
    /// A linked unit's seat works for this unit (`[hub] unit`, or `linkage --unit`); `None`: a
    /// seat of the center.
    pub seat_unit: Option<String>,
    /// The 110 / 12345 bridge (`[bridge]`), when the center docks with them.
    pub bridge: Option<BridgeSettings>,
    /// Video linkage meetings (`[meeting]`): the server runs them only when configured.
    pub meeting: Option<MeetingSettings>,
    /// The video platforms whose cameras the console takes (`[[video_platform]]`).
    pub platforms: Vec<PlatformSettings>,
}

/// The three-in-one dispatch: the plan library and the channels' peers.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// The center's name, as messages sign it.
    pub center: String,
    /// The plan file (watched: a change reloads it).
    pub plans_path: Option<PathBuf>,
    pub plans: PlanLibrary,
    pub leader_sms: Vec<String>,
    /// The SMSC; `None`: SMS is not configured and the panel says so.
    pub sms: Option<SmsSettings>,
    /// A CMPP 2.0 gateway, in the place of an SMSC.
    pub cmpp: Option<crate::center::channels::cmpp::CmppSettings>,
    /// A vendor's HTTP SMS service, in the place of either.
    pub http_sms: Option<crate::center::channels::http_sms::HttpSmsSettings>,
    /// The text-to-speech voice for radio calls (an espeak-ng voice).
    pub radio_voice: String,
    /// The account for SIP talk-groups (`[dispatch.radio.sip]`).
    pub radio_sip: Option<crate::center::channels::sip::SipSettings>,
    /// The share of the acknowledge clock after which an order goes from the A post to the B.
    pub hand_over_at: f64,
    /// The units' channels are tested every this many days (0: only on demand).
    pub channel_tests_every_days: u32,
}

/// How to reach the SMSC (SMPP 3.4).
#[derive(Clone)]
pub struct SmsSettings {
    /// `host:port`.
    pub address: String,
    pub system_id: String,
    pub password: String,
    /// The sender number (source_addr).
    pub source: String,
}

impl std::fmt::Debug for SmsSettings {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("address", &self.address)
            .field("system_id", &self.system_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

const DEMO_CONFIG: &str = include_str!("../../../assets/demo/linkage.toml");
const DEMO_GRIDS: &str = include_str!("../../../assets/demo/grids.geojson");
const DEMO_KINDS: &str = include_str!("../../../assets/demo/incident_kinds.toml");
const DEMO_PLANS: &str = include_str!("../../../assets/demo/plans.toml");
const DEMO_SCORING: &str = include_str!("../../../assets/demo/scoring.toml");
const DEMO_BASEMAP: &[u8] = include_bytes!("../../../assets/demo/basemap.pmtiles");

impl Config {
    /// The demo township, compiled in: runs with no files around it.
    pub fn demo() -> Result<Config, ConfigError> {
        Config::parse(
            Path::new("assets/demo/linkage.toml"),
            DEMO_CONFIG,
            &|path: &Path| match path.file_name().and_then(|n| n.to_str()) {
                Some("grids.geojson") => Ok(DEMO_GRIDS.to_owned()),
                Some("incident_kinds.toml") => Ok(DEMO_KINDS.to_owned()),
                Some("plans.toml") => Ok(DEMO_PLANS.to_owned()),
                Some("scoring.toml") => Ok(DEMO_SCORING.to_owned()),
                _ => Err(format!("the demo has no file {}", path.display())),
            },
            &|path| (path.file_name().and_then(|n| n.to_str()) == Some("basemap.pmtiles")).then_some(DEMO_BASEMAP),
        )
    }

    /// Reads a config file and the files it names.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_owned(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Config::parse(
            file,
            &text,
            &|path: &Path| std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display())),
            &|_| None,
        )
    }

    /// Parses `text` (the contents of `file`); `read` fetches referenced files.
    /// `read` reads a file the config names; `embedded` gives the bytes of a binary file that is
    /// compiled in (the demo's basemap) instead of on disk.
    pub fn parse(
        file: &Path,
        text: &str,
        read: &dyn Fn(&Path) -> Result<String, String>,
        embedded: &dyn Fn(&Path) -> Option<&'static [u8]>,
    ) -> Result<Config, ConfigError> {
        let err = |span: Option<std::ops::Range<usize>>, reason: String| ConfigError {
            file: file.to_owned(),
            line: span.filter(|s| s.end > 0).map(|s| line_of(text, s.start)),
            reason,
        };
        let raw: File = toml::from_str(text).map_err(|e| err(e.span(), e.message().to_owned()))?;
        let base = file.parent().unwrap_or(Path::new("."));

        let hub = match raw.hub.mode.get_ref().as_str() {
            "embedded" => HubSetting::Embedded { listen: raw.hub.listen, data_dir: raw.hub.data_dir },
            "remote" => {
                let who = match (raw.hub.token, raw.hub.user) {
                    (Some(token), None) => {
                        Credentials::Token(env_or(&token).map_err(|r| err(Some(raw.hub.mode.span()), r))?)
                    }
                    (None, Some(user)) => Credentials::User(user),
                    _ => {
                        let reason = "a remote hub needs either token (a machine) or user (a person who logs in)";
                        return Err(err(Some(raw.hub.mode.span()), reason.into()));
                    }
                };
                // The site CA a wss:// server is trusted by, read once here so a wrong file is
                // refused at start with its line.
                let ca = match &raw.hub.ca {
                    Some(ca) => {
                        let path = base.join(ca.get_ref());
                        streams::feed::tls::trust(&path).map_err(|reason| err(Some(ca.span()), reason))?;
                        Some(path)
                    }
                    None => None,
                };
                match raw.hub.url {
                    Some(url) if url.starts_with("wss://") && ca.is_none() => {
                        let reason = "a wss:// hub needs ca, the site CA file (linkage hub cert makes it)";
                        return Err(err(Some(raw.hub.mode.span()), reason.into()));
                    }
                    Some(url) if url.starts_with("ws://") || url.starts_with("wss://") => {
                        HubSetting::Remote { url, who, ca }
                    }
                    Some(_) => {
                        return Err(err(Some(raw.hub.mode.span()), "hub url must start with ws:// or wss://".into()));
                    }
                    None => return Err(err(Some(raw.hub.mode.span()), "a remote hub needs its url".into())),
                }
            }
            other => {
                return Err(err(
                    Some(raw.hub.mode.span()),
                    format!("hub mode must be \"embedded\" or \"remote\", not {other:?}"),
                ));
            }
        };

        let referenced = |spanned: &Spanned<PathBuf>| -> Result<(PathBuf, String), ConfigError> {
            let path = base.join(spanned.get_ref());
            read(&path).map(|t| (path, t)).map_err(|reason| err(Some(spanned.span()), reason))
        };
        let grids_crs = raw.map.grids_crs.unwrap_or(CoordinateSystem::Wgs84);
        let mut grids = GridMap::default();
        for file in std::iter::once(&raw.map.grids).chain(&raw.map.more_grids) {
            let (path, text) = referenced(file)?;
            grids.read(&text, grids_crs).map_err(|reason| ConfigError { file: path, line: None, reason })?;
        }
        // A grid code in two files, or no grid at all: said of the config's grids line.
        let grids = grids.finish().map_err(|reason| err(Some(raw.map.grids.span()), reason))?;
        let basemap = match &raw.map.tiles {
            Some(tiles) => {
                let path = base.join(tiles.get_ref());
                let source = match embedded(&path) {
                    Some(bytes) => TileSource::Embedded(bytes),
                    None => TileSource::Path(path),
                };
                // Opened once here so a wrong path or a damaged file is refused at start.
                TileArchive::open(&source).map_err(|reason| err(Some(tiles.span()), reason))?;
                Some(BasemapSetting { source, crs: raw.map.tiles_crs.unwrap_or(CoordinateSystem::Wgs84) })
            }
            None => None,
        };
        let (kinds_path, kinds_text) = referenced(&raw.map.kinds)?;
        let kinds = IncidentKinds::from_toml(&kinds_text).map_err(|(line, reason)| ConfigError {
            file: kinds_path,
            line,
            reason,
        })?;

        let mut cameras: Vec<Camera> = vec![];
        let mut onvif_cameras: Vec<PlatformSettings> = vec![];
        for entry in &raw.cameras {
            let span = Some(entry.span());
            let c = entry.get_ref();
            if cameras.iter().any(|x| x.id == c.id) {
                return Err(err(span, format!("camera id {:?} appears twice", c.id)));
            }
            if !(-180.0..=180.0).contains(&c.lon) || !(-90.0..=90.0).contains(&c.lat) {
                return Err(err(span, format!("camera {}: lon/lat out of range", c.id)));
            }
            if c.onvif.is_none() && (c.user.is_some() || c.password.is_some()) {
                return Err(err(span, format!("camera {}: user and password go with onvif", c.id)));
            }
            let streams = match (c.sim, &c.main, &c.sub) {
                _ if c.onvif.is_some() => {
                    let url = c.onvif.as_deref().unwrap_or_default();
                    if c.sim || c.main.is_some() || c.sub.is_some() {
                        let reason =
                            format!("camera {}: an onvif camera gives its own streams (no sim, main or sub)", c.id);
                        return Err(err(span, reason));
                    }
                    if !url.starts_with("http://") {
                        return Err(err(
                            span,
                            format!(
                                "camera {}: onvif must be the device service's http:// address (https is not supported yet)",
                                c.id
                            ),
                        ));
                    }
                    let (Some(user), Some(password)) = (&c.user, &c.password) else {
                        return Err(err(span, format!("camera {}: an onvif camera needs user and password", c.id)));
                    };
                    let password = platform::secret(password, base)
                        .map_err(|r| err(span.clone(), format!("camera {}: {r}", c.id)))?;
                    onvif_cameras.push(PlatformSettings::onvif(&c.id, &c.name, url, user, &password));
                    CameraStreams::Platform { platform: c.id.clone(), device: "onvif".into(), channel: String::new() }
                }
                (true, None, None) => CameraStreams::Simulated,
                (false, Some(main), sub) => {
                    for uri in std::iter::once(main).chain(sub) {
                        check_uri(uri).map_err(|reason| err(span.clone(), format!("camera {}: {reason}", c.id)))?;
                    }
                    CameraStreams::Uri { main: main.clone(), sub: sub.clone() }
                }
                (true, _, _) => return Err(err(span, format!("camera {}: sim = true takes no main/sub", c.id))),
                (false, None, _) => return Err(err(span, format!("camera {}: needs main (or sim = true)", c.id))),
            };
            cameras.push(Camera {
                id: c.id.clone(),
                name: c.name.clone(),
                lon: c.lon,
                lat: c.lat,
                heading: c.heading,
                fov: c.fov.clamp(1.0, 360.0),
                streams,
                ptz: false,
                presence: Presence::Online,
                village: None,
            });
        }

        let mut units: Vec<LinkedUnit> = vec![];
        for entry in &raw.units {
            let u = entry.get_ref();
            let span = Some(entry.span());
            let tier = Tier::from_number(u.tier)
                .ok_or_else(|| err(span.clone(), format!("unit {}: tier must be 1, 2 or 3", u.id)))?;
            if units.iter().any(|x| x.id == u.id) {
                return Err(err(span, format!("unit id {:?} appears twice", u.id)));
            }
            streams::feed::routes::check_unit_id(&u.id).map_err(|e| err(span.clone(), e))?;
            let radio = match &u.radio {
                None => None,
                Some(r) => Some(
                    r.parse::<crate::core::radio_target::RadioTarget>()
                        .map_err(|e| err(span.clone(), format!("unit {}: radio: {e}", u.id)))?,
                ),
            };
            let not_mobile = |m: &String| m.is_empty() || !m.chars().all(|c| c.is_ascii_digit() || c == '+');
            if let Some(bad) = u.sms.iter().find(|m| not_mobile(m)) {
                return Err(err(span, format!("unit {}: {bad:?} is not a mobile number", u.id)));
            }
            let mut posts = vec![];
            for p in &u.posts {
                let kind = match p.post.as_str() {
                    "A" | "a" => PostKind::A,
                    "B" | "b" => PostKind::B,
                    other => {
                        let reason =
                            format!("unit {} post {}: post must be \"A\" or \"B\", not {other:?}", u.id, p.name);
                        return Err(err(span, reason));
                    }
                };
                let wire = RosterPost {
                    post: kind,
                    name: p.name.clone(),
                    mobiles: p.sms.clone(),
                    radio: p.radio.clone(),
                    hours: p.hours.clone(),
                };
                let post = Post::from_wire(&wire, tier)
                    .map_err(|reason| err(span.clone(), format!("unit {}: {reason}", u.id)))?;
                posts.push(post);
            }
            let base = match (u.lon, u.lat) {
                (None, None) => None,
                (Some(lon), Some(lat)) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => {
                    Some((lon, lat))
                }
                _ => {
                    let reason = format!("unit {}: its base needs both lon and lat, in range", u.id);
                    return Err(err(span, reason));
                }
            };
            units.push(LinkedUnit {
                base,
                posts,
                id: u.id.clone(),
                name: u.name.clone(),
                tier,
                roles: u.roles.clone(),
                area: u.area.clone(),
                contact: u.contact.clone(),
                sms: u.sms.clone(),
                radio,
            });
        }

        let (plans_path, plans) = match &raw.dispatch.plans {
            None => (None, PlanLibrary::default()),
            Some(spanned) => {
                let (path, text) = referenced(spanned)?;
                let plans = PlanLibrary::from_toml(&text, &kinds, &units).map_err(|(at, reason)| ConfigError {
                    line: at.map(|at| line_of(&text, at)),
                    file: path.clone(),
                    reason,
                })?;
                (Some(path), plans)
            }
        };
        let sms = match raw.dispatch.sms {
            None => None,
            Some(s) => {
                if !s.address.get_ref().contains(':') {
                    return Err(err(Some(s.address.span()), "sms address must be host:port of the SMSC".into()));
                }
                let password = env_or(s.password.get_ref()).map_err(|r| err(Some(s.password.span()), r))?;
                Some(SmsSettings {
                    address: s.address.into_inner(),
                    system_id: s.system_id,
                    password,
                    source: s.source,
                })
            }
        };
        let gateways = [sms.is_some(), raw.dispatch.cmpp.is_some(), raw.dispatch.http_sms.is_some()];
        if gateways.iter().filter(|g| **g).count() > 1 {
            let reason = "[dispatch.sms], [dispatch.cmpp], [dispatch.http_sms]: choose one SMS gateway";
            return Err(err(None, reason.into()));
        }
        let http_sms = match raw.dispatch.http_sms {
            None => None,
            Some(h) => {
                if !(h.url.get_ref().starts_with("http://") || h.url.get_ref().starts_with("https://")) {
                    return Err(err(Some(h.url.span()), "http_sms url must start with http:// or https://".into()));
                }
                let callback_listen = match &h.callback_listen {
                    None => None,
                    Some(at) => Some(at.get_ref().parse().map_err(|_| {
                        err(Some(at.span()), format!("http_sms callback_listen {:?} is not host:port", at.get_ref()))
                    })?),
                };
                let secret = env_or(h.secret.get_ref()).map_err(|r| err(Some(h.secret.span()), r))?;
                Some(crate::center::channels::http_sms::HttpSmsSettings {
                    url: h.url.into_inner().trim_end_matches('/').to_owned(),
                    key: h.key,
                    secret,
                    sign_name: h.sign_name,
                    template_code: h.template_code,
                    callback_listen,
                })
            }
        };
        let cmpp = match raw.dispatch.cmpp {
            None => None,
            Some(c) => {
                if c.address.get_ref().parse::<std::net::SocketAddr>().is_err() && !c.address.get_ref().contains(':') {
                    return Err(err(Some(c.address.span()), "cmpp address must be host:port of the gateway".into()));
                }
                if c.sp_id.get_ref().len() != 6 || !c.sp_id.get_ref().chars().all(|ch| ch.is_ascii_alphanumeric()) {
                    return Err(err(Some(c.sp_id.span()), "cmpp sp_id is the 6-character enterprise code".into()));
                }
                let secret = env_or(c.secret.get_ref()).map_err(|r| err(Some(c.secret.span()), r))?;
                let every = *c.active_test_secs.get_ref();
                if !(1..=300).contains(&every) {
                    let reason = format!("cmpp active_test_secs must be 1–300 seconds, not {every}");
                    return Err(err(Some(c.active_test_secs.span()), reason));
                }
                Some(crate::center::channels::cmpp::CmppSettings {
                    address: c.address.into_inner(),
                    sp_id: c.sp_id.into_inner(),
                    secret,
                    src_id: c.src_id,
                    service_id: c.service_id,
                    active_test_every: std::time::Duration::from_secs(every),
                })
            }
        };
        let scoring = match &raw.evaluation.rules {
            None => ScoringRules::default(),
            Some(spanned) => {
                let (path, text) = referenced(spanned)?;
                ScoringRules::from_toml(&text).map_err(|(at, reason)| ConfigError {
                    line: at.map(|at| line_of(&text, at)),
                    file: path,
                    reason,
                })?
            }
        };
        let hand_over_at = match raw.dispatch.hand_over_at {
            None => crate::core::roster::HAND_OVER_AT,
            Some(share) if share > 0.0 && share < 1.0 => share,
            Some(share) => {
                let reason = format!("dispatch hand_over_at {share}: a share of the clock, between 0 and 1 (e.g. 0.5)");
                return Err(err(None, reason));
            }
        };
        let radio_sip = match raw.dispatch.radio.sip {
            None => None,
            Some(sip) => {
                let password = env_or(sip.password.get_ref()).map_err(|r| err(Some(sip.password.span()), r))?;
                Some(crate::center::channels::sip::SipSettings { user: sip.user, password })
            }
        };
        let dispatch = DispatchSettings {
            hand_over_at,
            channel_tests_every_days: raw.dispatch.channel_tests_every_days.unwrap_or(7),
            center: raw.dispatch.center,
            plans_path,
            plans,
            leader_sms: raw.dispatch.leader_sms,
            sms,
            cmpp,
            http_sms,
            radio_voice: raw.dispatch.radio.voice,
            radio_sip,
        };

        let wall_layout = match &raw.wall.layout {
            None => Layout::default(),
            Some(l) => Layout::parse(l.get_ref())
                .ok_or_else(|| err(Some(l.span()), "wall layout must be one of 1, 2x2, 3x3, 4x4, 1+5, 1+7".into()))?,
        };
        let renderer = match &raw.ui.renderer {
            None => RendererChoice::default(),
            Some(r) => RendererChoice::parse(r.get_ref())
                .ok_or_else(|| err(Some(r.span()), "renderer must be \"glow\" or \"wgpu\"".into()))?,
        };
        let lang = match &raw.ui.lang {
            None => None,
            Some(l) => Some(
                Lang::parse(l.get_ref()).ok_or_else(|| err(Some(l.span()), "lang must be \"zh\" or \"en\"".into()))?,
            ),
        };
        let known = |unit: &Spanned<String>, what: &str| {
            if units.iter().any(|u| &u.id == unit.get_ref()) {
                Ok(unit.get_ref().clone())
            } else {
                Err(err(Some(unit.span()), format!("{what} {:?} is not a configured [[unit]]", unit.get_ref())))
            }
        };
        let staffed = raw.simulation.staffed.iter().map(|u| known(u, "staffed unit")).collect::<Result<Vec<_>, _>>()?;
        let seat_unit = raw.hub.unit.as_ref().map(|u| known(u, "hub unit")).transpose()?;
        if seat_unit.is_some() && matches!(hub, HubSetting::Remote { who: Credentials::User(_), .. }) {
            let reason = "a seat that logs a person in takes its unit from the login, not from [hub] unit";
            return Err(err(Some(raw.hub.mode.span()), reason.into()));
        }
        let simulated_sms = match raw.simulation.sms.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
            None | Some(("smpp", _)) => SimulatedSms::Smpp,
            Some(("http", _)) => SimulatedSms::Http,
            Some(("cmpp", _)) => SimulatedSms::Cmpp,
            Some((other, span)) => {
                return Err(err(Some(span), format!("simulation sms {other:?}: \"smpp\", \"cmpp\" or \"http\"")));
            }
        };
        let simulation = raw.simulation.enabled.then_some(Simulation {
            mean_report_gap_secs: raw.simulation.mean_report_gap_secs.max(0.05),
            backlog: raw.simulation.backlog,
            duty_officer: raw.simulation.duty_officer,
            staffed,
            sms: simulated_sms,
        });
        if simulation.is_none() && cameras.iter().any(|c| c.streams == CameraStreams::Simulated) {
            return Err(err(None, "simulated cameras need [simulation] enabled = true".into()));
        }
        let mut roster = vec![];
        for entry in &raw.on_call {
            let o = entry.get_ref();
            let span = Some(entry.span());
            let time = |t: &str| {
                chrono::NaiveTime::parse_from_str(t, "%H:%M")
                    .map_err(|_| err(span.clone(), format!("on_call {}: {t:?} is not a time HH:MM", o.name)))
            };
            if o.mobile.is_empty()
                || o.mobile.iter().any(|m| m.is_empty() || !m.chars().all(|c| c.is_ascii_digit() || c == '+'))
            {
                return Err(err(span, format!("on_call {}: mobile must list their mobile numbers", o.name)));
            }
            let radio = match &o.radio {
                None => None,
                Some(r) => Some(
                    r.parse::<crate::core::radio_target::RadioTarget>()
                        .map_err(|e| err(span.clone(), format!("on_call {}: radio: {e}", o.name)))?,
                ),
            };
            roster.push(crate::core::paging::OnCall {
                name: o.name.clone(),
                mobiles: o.mobile.clone(),
                radio,
                hours: Hours { from: time(&o.from)?, to: time(&o.to)? },
            });
        }
        let paging = crate::core::paging::Paging {
            on_call_after: chrono::Duration::seconds(raw.alarm.page_on_call_after_secs.into()),
            leader_after: chrono::Duration::seconds(raw.alarm.page_leader_after_secs.into()),
            roster,
        };
        let bridge = raw.bridge.map(|b| bridge::settings(b, &kinds, err)).transpose()?;
        let meeting = raw.meeting.map(|m| meeting::settings(m, err)).transpose()?;
        let mut platforms = platform::settings(raw.platforms, base, &grids, err)?;
        if let Some(clash) = onvif_cameras.iter().find(|o| platforms.iter().any(|p| p.id == o.id)) {
            return Err(err(None, format!("camera {} has the id of a video_platform", clash.id)));
        }
        platforms.extend(onvif_cameras);
        Ok(Config {
            file: file.to_owned(),
            bridge,
            meeting,
            platforms,
            paging,
            hub,
            grids,
            basemap,
            kinds,
            cameras,
            units,
            simulation,
            renderer,
            lang,
            wall_layout,
            dispatch,
            scoring,
            seat_unit,
        })
    }

    /// What the seat says it is at hello: one of its unit's terminals, or a console.
    pub fn seat_role(&self) -> streams::feed::Role {
        match self.seat_unit {
            Some(_) => streams::feed::Role::UnitTerminal,
            None => streams::feed::Role::Console,
        }
    }

    /// Makes this a unit's seat (`linkage --unit ID`); refused for a unit the config lacks.
    /// A seat that logs a person in takes its unit from the login instead
    /// ([`Config::seat_for_person`]), so the flag is refused there.
    pub fn seat_for_unit(&mut self, unit: &str) -> Result<(), String> {
        if matches!(self.hub, HubSetting::Remote { who: Credentials::User(_), .. }) {
            return Err("--unit: a seat that logs a person in takes its unit from the login".into());
        }
        self.become_unit_seat("--unit", unit)
    }

    /// Makes this the seat of the unit a person who just logged in works for (the server
    /// knows it, not the config); refused when this township's config lacks that unit.
    pub fn seat_for_person(&mut self, unit: &str) -> Result<(), String> {
        self.become_unit_seat("login", unit)
    }

    fn become_unit_seat(&mut self, what: &str, unit: &str) -> Result<(), String> {
        if !self.units.iter().any(|u| u.id == unit) {
            let known: Vec<&str> = self.units.iter().map(|u| u.id.as_str()).collect();
            return Err(format!(
                "{what}: unit {unit:?} is not in {} (units: {})",
                self.file.display(),
                known.join(", ")
            ));
        }
        self.seat_unit = Some(unit.to_owned());
        Ok(())
    }
}

impl HubSetting {
    /// The site CA to trust, for a remote wss:// server.
    pub fn trust(&self) -> Result<Option<streams::feed::tls::Trust>, String> {
        match self {
            HubSetting::Remote { ca: Some(ca), .. } => streams::feed::tls::trust(ca).map(Some),
            _ => Ok(None),
        }
    }
}

impl Config {
    /// The rules' state for this township, empty of events: what a seat or the center's
    /// dispatch service starts from before it reads the log.
    pub fn core(&self) -> crate::core::Core {
        // A unit's seat has no wall of the center's cameras; it works from its desk.
        let wall = match &self.seat_unit {
            None => crate::core::wall::Wall::filled(self.wall_layout, self.cameras.iter().map(|c| c.id.clone())),
            Some(_) => crate::core::wall::Wall::default(),
        };
        crate::core::Core {
            desk: self.seat_unit.as_ref().map(crate::core::desk::Desk::for_unit).unwrap_or_default(),
            grids: self.grids.clone(),
            kinds: self.kinds.clone(),
            cameras: self.cameras.clone(),
            units: self.units.clone(),
            center: self.dispatch.center.clone(),
            plans: self.dispatch.plans.clone(),
            leader_sms: self.dispatch.leader_sms.clone(),
            hand_over_at: Some(self.dispatch.hand_over_at),
            scoring: self.scoring.clone(),
            paging: self.paging.clone(),
            wall,
            ..crate::core::Core::default()
        }
    }
}

/// A secret as the config gives it: `env:NAME` reads the environment variable NAME (so the
/// secret is in neither the file nor the command line), anything else is the value itself.
fn env_or(value: &str) -> Result<String, String> {
    match value.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set")),
        None => Ok(value.to_owned()),
    }
}

/// Accepts the URI schemes the video path can open.
fn check_uri(uri: &str) -> Result<(), String> {
    const SCHEMES: [&str; 6] = ["rtsp://", "rtsps://", "rtmp://", "http://", "https://", "file://"];
    if SCHEMES.iter().any(|s| uri.starts_with(s)) {
        Ok(())
    } else {
        // Never echo the URI: it may carry a password.
        Err("stream URI must start with rtsp://, rtmp://, http(s):// or file://".into())
    }
}

#[cfg(test)]
mod tests;
