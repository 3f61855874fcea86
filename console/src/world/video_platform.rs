//! The demo's video platform: a simulated wvp-GB28181-pro ([`SimPlatform`]) with one NVR of
//! three channels near the town hall, served by the demo's RTSP server — one a PTZ dome that
//! turns and zooms when steered from its tile. It runs when the simulation does and the config
//! names no `[[video_platform]]`, so a newcomer sees platform cameras beside the configured
//! ones.

use std::time::Duration;

use streams::feed::CoordinateSystem;
use streams::sim::cameras::{CameraServer, SimCamera};
use streams::sim::video_platform::{DEVICE, SimChannel, SimPlatform};

use crate::config::{PlatformKind, PlatformSettings};

/// The NVR's channels: GB code, name, WGS-84 position, PTZ.
const CHANNELS: [(&str, &str, f64, f64, bool); 3] = [
    ("33011000001310000001", "镇政府广场球机", 119.99700, 30.13420, true),
    ("33011000001310000002", "青溪路口枪机", 120.00020, 30.13300, false),
    ("33011000001310000003", "农贸市场北门", 120.00240, 30.13720, false),
];

/// The id its cameras carry (`demo-wvp/DEVICE/CHANNEL`).
const ID: &str = "demo-wvp";

/// The channels as the camera server serves them: `DEVICE_CHANNEL`, ZLMediaKit's stream ids.
pub fn cameras() -> Vec<SimCamera> {
    CHANNELS
        .iter()
        .map(|&(code, name, _, _, ptz)| SimCamera { id: format!("{DEVICE}_{code}"), name: name.into(), ptz })
        .collect()
}

/// Starts the platform over `server` (which serves [`cameras`]); the settings a seat reaches
/// it with.
pub fn start(
    runtime: &tokio::runtime::Runtime,
    server: &CameraServer,
) -> Result<(SimPlatform, PlatformSettings), String> {
    let password = streams::feed::secret_hex(12)?;
    let channels = CHANNELS
        .iter()
        .map(|&(code, name, lon, lat, ptz)| SimChannel {
            code: code.into(),
            name: name.into(),
            lon,
            lat,
            ptz,
            rtsp: server.uri(&format!("{DEVICE}_{code}")),
        })
        .collect();
    let platform = runtime.block_on(SimPlatform::start("linkage", &password, channels, server.heads()))?;
    let settings = PlatformSettings {
        id: ID.into(),
        name: "模拟视频平台".into(),
        kind: PlatformKind::Wvp,
        url: platform.url(),
        user: "linkage".into(),
        password,
        crs: CoordinateSystem::Wgs84,
        resync: Duration::from_secs(300),
        villages: vec![],
    };
    Ok((platform, settings))
}
