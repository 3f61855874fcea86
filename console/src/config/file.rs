//! The file as it is written: one serde struct per section, strict (unknown keys are refused),
//! with spans where an error must name its line. [`super::Config::parse`] checks and turns
//! them into the typed config.

use std::path::PathBuf;

use serde::Deserialize;
use streams::feed::CoordinateSystem;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub(super) hub: HubSection,
    pub(super) map: MapSection,
    #[serde(default)]
    pub(super) simulation: SimulationSection,
    #[serde(default)]
    pub(super) wall: WallSection,
    #[serde(default)]
    pub(super) ui: UiSection,
    #[serde(default, rename = "camera")]
    pub(super) cameras: Vec<Spanned<CameraEntry>>,
    #[serde(default, rename = "unit")]
    pub(super) units: Vec<Spanned<UnitEntry>>,
    #[serde(default)]
    pub(super) dispatch: DispatchSection,
    #[serde(default)]
    pub(super) evaluation: EvaluationSection,
    #[serde(default)]
    pub(super) alarm: AlarmSection,
    #[serde(default, rename = "on_call")]
    pub(super) on_call: Vec<Spanned<OnCallEntry>>,
    pub(super) bridge: Option<super::bridge::BridgeSection>,
    pub(super) meeting: Option<super::meeting::MeetingSection>,
    #[serde(default, rename = "video_platform")]
    pub(super) platforms: Vec<Spanned<super::platform::PlatformSection>>,
}

/// When an alarm no seat acknowledged pages the on-call officer, then the leader.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlarmSection {
    #[serde(default = "two_minutes")]
    pub(super) page_on_call_after_secs: u32,
    #[serde(default = "five_minutes")]
    pub(super) page_leader_after_secs: u32,
}

impl Default for AlarmSection {
    fn default() -> Self {
        AlarmSection { page_on_call_after_secs: two_minutes(), page_leader_after_secs: five_minutes() }
    }
}

pub(super) fn two_minutes() -> u32 {
    120
}

pub(super) fn five_minutes() -> u32 {
    300
}

/// One on-call officer of the roster.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OnCallEntry {
    pub(super) name: String,
    pub(super) mobile: Vec<String>,
    pub(super) radio: Option<String>,
    /// Beijing time, `HH:MM`; the watch runs from `from` to `to` (over midnight if `to` is
    /// earlier; round the clock if equal, the default).
    #[serde(default = "midnight")]
    pub(super) from: String,
    #[serde(default = "midnight")]
    pub(super) to: String,
}

pub(super) fn midnight() -> String {
    "00:00".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct EvaluationSection {
    /// `scoring.toml`; without it the built-in rules (those of the demo) apply.
    pub(super) rules: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct DispatchSection {
    #[serde(default = "center")]
    pub(super) center: String,
    /// Without a plan file, every dispatch is put together by hand.
    pub(super) plans: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) leader_sms: Vec<String>,
    pub(super) sms: Option<SmsSection>,
    /// A China Mobile gateway (CMPP 2.0) instead of an SMPP SMSC.
    pub(super) cmpp: Option<CmppSection>,
    /// A vendor's HTTP SMS service instead of either.
    pub(super) http_sms: Option<HttpSmsSection>,
    #[serde(default)]
    pub(super) radio: RadioSection,
    /// A/B posts: the share of a unit's acknowledge clock after which an order its A post has
    /// not signed for goes to its B post (default 0.5).
    pub(super) hand_over_at: Option<f64>,
    /// Channel tests: every this many days (default 7; 0: only on demand).
    pub(super) channel_tests_every_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpSmsSection {
    pub(super) url: Spanned<String>,
    pub(super) key: String,
    /// The key's secret, or `env:NAME`.
    pub(super) secret: Spanned<String>,
    pub(super) sign_name: String,
    pub(super) template_code: String,
    pub(super) callback_listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CmppSection {
    pub(super) address: Spanned<String>,
    pub(super) sp_id: Spanned<String>,
    /// The shared secret, or `env:NAME`.
    pub(super) secret: Spanned<String>,
    pub(super) src_id: String,
    #[serde(default)]
    pub(super) service_id: String,
    #[serde(default = "thirty")]
    pub(super) active_test_secs: Spanned<u64>,
}

fn thirty() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmsSection {
    pub(super) address: Spanned<String>,
    pub(super) system_id: String,
    /// The password, or the name of an environment variable holding it (`env:NAME`).
    pub(super) password: Spanned<String>,
    pub(super) source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RadioSection {
    #[serde(default = "mandarin")]
    pub(super) voice: String,
    /// The account for talk-groups behind a SIP dispatch gateway (`radio = "sip:…"`).
    pub(super) sip: Option<SipSection>,
}

impl Default for RadioSection {
    fn default() -> Self {
        RadioSection { voice: mandarin(), sip: None }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SipSection {
    pub(super) user: String,
    /// The password, or `env:NAME`.
    pub(super) password: Spanned<String>,
}

pub(super) fn center() -> String {
    "综治中心".into()
}

pub(super) fn mandarin() -> String {
    "cmn".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HubSection {
    #[serde(default = "embedded")]
    pub(super) mode: Spanned<String>,
    #[serde(default = "loopback_any_port")]
    pub(super) listen: String,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) url: Option<String>,
    pub(super) token: Option<String>,
    pub(super) user: Option<String>,
    /// The site CA (PEM) a wss:// server is trusted by.
    pub(super) ca: Option<Spanned<PathBuf>>,
    /// A linked unit's seat: the unit it works for (its token is a terminal's of that unit).
    pub(super) unit: Option<Spanned<String>>,
}

impl Default for HubSection {
    fn default() -> Self {
        HubSection {
            mode: embedded(),
            listen: loopback_any_port(),
            data_dir: None,
            url: None,
            token: None,
            user: None,
            ca: None,
            unit: None,
        }
    }
}

pub(super) fn embedded() -> Spanned<String> {
    Spanned::new(0..0, "embedded".into())
}

pub(super) fn loopback_any_port() -> String {
    "127.0.0.1:0".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MapSection {
    pub(super) grids: Spanned<PathBuf>,
    /// More grid files, read with `grids` into one map (a county seat: every township's).
    #[serde(default)]
    pub(super) more_grids: Vec<Spanned<PathBuf>>,
    /// The grid files' coordinates: wgs84 (default) or gcj02.
    #[serde(default)]
    pub(super) grids_crs: Option<CoordinateSystem>,
    pub(super) kinds: Spanned<PathBuf>,
    /// Raster tiles under the vectors: a z/x/y folder, a .mbtiles or a .pmtiles file.
    pub(super) tiles: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) tiles_crs: Option<CoordinateSystem>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SimulationSection {
    #[serde(default)]
    pub(super) enabled: bool,
    #[serde(default = "eight")]
    pub(super) mean_report_gap_secs: f64,
    #[serde(default)]
    pub(super) backlog: usize,
    #[serde(default)]
    pub(super) duty_officer: bool,
    /// Units a person plays at a unit seat (`linkage --unit ID`): the simulation leaves them be.
    #[serde(default)]
    pub(super) staffed: Vec<Spanned<String>>,
    /// The simulated SMS gateway when the config names none: `smpp` (default), `cmpp` or `http`.
    pub(super) sms: Option<Spanned<String>>,
}

pub(super) fn eight() -> f64 {
    8.0
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct WallSection {
    /// One of 1, 2x2, 3x3, 4x4, 1+5, 1+7.
    #[serde(default)]
    pub(super) layout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct UiSection {
    pub(super) renderer: Option<Spanned<String>>,
    pub(super) lang: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CameraEntry {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) lon: f64,
    pub(super) lat: f64,
    #[serde(default)]
    pub(super) heading: f32,
    #[serde(default = "sixty")]
    pub(super) fov: f32,
    #[serde(default)]
    pub(super) sim: bool,
    pub(super) main: Option<String>,
    pub(super) sub: Option<String>,
    /// An ONVIF camera's device service: its streams, PTZ and presets are asked of it.
    pub(super) onvif: Option<String>,
    pub(super) user: Option<String>,
    /// The password, `env:NAME` or `file:PATH`.
    pub(super) password: Option<String>,
}

pub(super) fn sixty() -> f32 {
    60.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnitEntry {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) tier: i64,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) area: Vec<String>,
    #[serde(default)]
    pub(super) contact: String,
    #[serde(default)]
    pub(super) sms: Vec<String>,
    /// The radio gateway of its talk-group, `host:port`.
    pub(super) radio: Option<String>,
    /// Its duty roster: who holds the A and the B post, when.
    #[serde(default, rename = "post")]
    pub(super) posts: Vec<PostEntry>,
    /// Where it is based (WGS-84), until its terminal reports a position.
    pub(super) lon: Option<f64>,
    pub(super) lat: Option<f64>,
}

/// `[[unit.post]]`: one person holding the A or B post of a unit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PostEntry {
    /// "A" or "B".
    pub(super) post: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) sms: Vec<String>,
    pub(super) radio: Option<String>,
    /// `HH:MM-HH:MM`, Beijing time; round the clock for tier 1, office hours else.
    pub(super) hours: Option<String>,
}
