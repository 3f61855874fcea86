//! Cameras from a wvp-GB28181-pro platform: tests/peers/wvp.py answers the platform's API with
//! its real field names (written from wvp's source, nothing of ours), and hands out stream
//! addresses that the in-process RTSP server (gst-rtsp-server) serves. And an ONVIF camera
//! talked to directly: PyPI's ipycam (tests/peers/onvif_camera.py), with its own RTSP server. The console's side runs
//! as the window runs it each frame: the platform's updates into Core, play and stop asks from
//! what the wall shows, the wall's feeds.

mod peers;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use linkage::config::{Config, PlatformKind, PlatformSettings};
use linkage::core::camera::{Camera, CameraStreams, Motion, Presence, Preset, StreamUris};
use linkage::core::wall::{Layout, Wall};
use linkage::core::{Command, Core, Effect};
use linkage::i18n::{I18n, Lang};
use linkage::platform::Platforms;
use linkage::platform::playing::PlatformStreams;
use linkage::wall::feeds::WallFeeds;
use linkage_tests::wait_for;
use peers::PythonPeer;
use streams::feed::{Body, CoordinateSystem};
use streams::sim::cameras::{CameraServer, SimCamera};
use streams::video::FeedState;

const NVR: &str = "34020000001320000001";
const DOME: &str = "wvp/34020000001320000001/34020000001310000001";
const BULLET: &str = "wvp/34020000001320000001/34020000001310000002";
const RIVER: &str = "wvp/34020000001320000001/34020000001310000003";
const EAST: &str = "wvp/34020000001320000002/34020000001310000004";

/// The console's side, stepped as the window steps it.
struct Seat {
    core: Core,
    platforms: PlatformStreams,
    feeds: WallFeeds,
    uris: HashMap<String, StreamUris>,
    tr: I18n,
}

impl Seat {
    fn step(&mut self) {
        let now = Instant::now();
        self.platforms.pump(&mut self.core, &mut self.uris);
        for camera in self.platforms.renew(&self.core, &self.feeds.lost(3), &mut self.uris) {
            self.feeds.drop_camera(&camera);
        }
        self.platforms.follow(&self.core, &self.feeds.running(), &mut self.uris, now);
        self.feeds.sync(&self.core.wall, &self.uris, now);
    }

    /// Steps every 50 ms until `done` holds (at most `secs`).
    fn until(&mut self, secs: u64, mut done: impl FnMut(&Seat) -> bool) -> bool {
        wait_for(Duration::from_secs(secs), || {
            self.step();
            std::thread::sleep(Duration::from_millis(50));
            done(self)
        })
    }

    /// Why its platform's last directory read failed, if it did.
    fn trouble(&self) -> Option<String> {
        self.core.video_platforms.first().and_then(|l| l.trouble.clone())
    }

    fn camera(&self, id: &str) -> Option<&linkage::core::camera::Camera> {
        self.core.camera(id)
    }

    /// What tile `i` says when it has no picture (as the window draws it).
    fn tile_state(&self, i: usize) -> Option<FeedState> {
        if let Some(p) = self.feeds.picture(i) {
            return Some(p.state);
        }
        let camera = self.core.camera(self.core.wall.tiles.get(i)?.as_deref()?)?;
        self.platforms.tile_state(camera, &self.tr)
    }

    fn steer(&mut self, camera: &str, motion: Motion) {
        self.command(Command::Steer { camera: camera.into(), motion });
    }

    /// Applies `command` and carries out what it asks of the platform, as the window does; the
    /// records for the log are left (no hub here).
    fn command(&mut self, command: Command) {
        for effect in self.core.apply(command) {
            match effect {
                Effect::Steer { camera, motion } => {
                    let camera = self.core.camera(&camera).unwrap();
                    assert!(self.platforms.steer(camera, motion));
                }
                Effect::Preset { camera, number, save } => {
                    let camera = self.core.camera(&camera).unwrap();
                    assert!(self.platforms.preset(camera, number, save));
                }
                Effect::Send(Body::UseCamera(_)) => {}
                other => panic!("the command gave {other:?}"),
            }
        }
    }
}

/// A test control of the peer (not wvp's API).
fn control(peer: &PythonPeer, path: &str) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", peer.port)).unwrap();
    write!(stream, "POST {path} HTTP/1.0\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
}

fn settings(port: u16, password: &str) -> PlatformSettings {
    PlatformSettings {
        id: "wvp".into(),
        name: "青溪镇视频平台".into(),
        kind: PlatformKind::Wvp,
        url: format!("http://127.0.0.1:{port}"),
        user: "linkage".into(),
        password: password.into(),
        crs: CoordinateSystem::Gcj02,
        resync: Duration::from_secs(3600),
        villages: vec![("3301100001".into(), "南山村".into())],
    }
}

fn seat(runtime: &tokio::runtime::Runtime, platform: PlatformSettings) -> Seat {
    seat_with(runtime, platform, None)
}

/// A seat of the demo township with `platform`, and `camera` configured beside its own.
fn seat_with(runtime: &tokio::runtime::Runtime, platform: PlatformSettings, camera: Option<Camera>) -> Seat {
    let mut core = Config::demo().unwrap().core();
    core.wall = Wall::filled(Layout::TwoByTwo, std::iter::empty());
    core.cameras.extend(camera.clone());
    core.video_platforms = vec![platform.link()];
    let configured: Vec<Camera> = camera.into_iter().collect();
    Seat {
        core,
        platforms: PlatformStreams::new(Platforms::start(
            &[platform],
            &configured,
            runtime.handle(),
            streams::no_waker(),
        )),
        feeds: WallFeeds::new(Duration::from_secs(1), streams::no_waker()),
        uris: HashMap::new(),
        tr: I18n::new(Lang::Zh),
    }
}

#[test]
fn a_platforms_cameras_play_steer_and_stop_through_its_api() {
    streams::video::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The RTSP server serves the streams the platform names: rtp/DEVICE_CHANNEL in ZLMediaKit.
    let streams: Vec<SimCamera> = ["34020000001310000001", "34020000001310000002"]
        .map(|c| SimCamera { id: format!("{NVR}_{c}"), name: c.into(), ptz: false })
        .into();
    let rtsp = CameraServer::start(&streams, 0).unwrap();
    let base = rtsp.uri("x").trim_end_matches("/x").to_owned();
    let wvp = PythonPeer::start(
        dir.path(),
        "wvp.py",
        &["--user", "linkage", "--password", "青溪2026", "--rtsp", &base, "--refuse", "34020000001310000002"],
    );
    let mut seat = seat(&runtime, settings(wvp.port, "青溪2026"));

    // The directory, read at start: every channel a camera, as the platform says it is.
    assert!(seat.until(20, |s| s.camera(EAST).is_some()), "no directory: {:?}", seat.trouble());
    let dome = seat.camera(DOME).unwrap();
    assert_eq!((dome.name.as_str(), dome.ptz, dome.presence), ("村委会广场球机", true, Presence::Online));
    let bullet = seat.camera(BULLET).unwrap();
    assert!(!bullet.ptz);
    // Its GCJ-02 position, on the console's WGS-84 map: within two metres of where it stands.
    let (off_m, _) = linkage::core::camera::distance_and_bearing((bullet.lon, bullet.lat), (120.0040, 30.1365));
    assert!(off_m < 2.0, "the bullet camera is {off_m:.1} m off");
    assert_eq!(seat.camera(RIVER).unwrap().presence, Presence::Offline, "a channel OFF");
    assert_eq!(seat.camera(EAST).unwrap().presence, Presence::Offline, "a channel of an offline device");
    // Not placed on the platform: no position, and the village its civil code maps to.
    let east = seat.camera(EAST).unwrap();
    assert_eq!((east.lon, east.lat, east.village.as_deref()), (0.0, 0.0, Some("南山村")));

    // On the wall: the dome plays the platform's RTSP stream; the platform's refusal of the
    // bullet is on its tile in the platform's words; the offline camera is never asked for.
    seat.core.wall = Wall::filled(Layout::TwoByTwo, [DOME, BULLET, RIVER].map(String::from).into_iter());
    let playing = |s: &Seat| s.feeds.picture(0).is_some_and(|p| p.frame.is_some());
    assert!(seat.until(30, playing), "the dome does not play: {:?}", seat.tile_state(0));
    assert!(seat.until(10, |s| matches!(s.tile_state(1), Some(FeedState::Failed { .. }))));
    let Some(FeedState::Failed { reason }) = seat.tile_state(1) else { unreachable!() };
    assert_eq!(reason, "取流失败：信令超时 (-1)");
    let Some(FeedState::Failed { reason }) = seat.tile_state(2) else { panic!("{:?}", seat.tile_state(2)) };
    assert_eq!(reason, "视频平台报告该摄像机离线");
    let mut plays: Vec<String> =
        wvp.events("start").iter().map(|e| e["channel"].as_str().unwrap().to_owned()).collect();
    plays.sort();
    assert_eq!(plays, ["34020000001310000001", "34020000001310000002"], "asked once each, never the offline one");

    // PTZ: held left, let go; the platform gets the move and then the stop, in that order.
    seat.steer(DOME, Motion::Left);
    seat.steer(DOME, Motion::Stop);
    wvp.until(10, "ptz", |e| e.len() == 2);
    let commands: Vec<(String, i64)> = wvp
        .events("ptz")
        .iter()
        .map(|e| (e["command"].as_str().unwrap().to_owned(), e["horizonSpeed"].as_i64().unwrap()))
        .collect();
    assert_eq!(commands, [("left".to_owned(), 128), ("stop".to_owned(), 0)]);
    // A fixed camera is not steered.
    assert!(seat.core.apply(Command::Steer { camera: BULLET.into(), motion: Motion::Up }).is_empty());

    // Presets: read when the dome first played (none yet); one saved is listed with the name the
    // camera gave it, and going to it is the platform's call.
    wvp.until(10, "preset_query", |e| e.iter().any(|q| q["channel"] == "34020000001310000001"));
    assert!(seat.until(10, |s| s.platforms.presets(DOME) == Some(&[])), "{:?}", seat.platforms.presets(DOME));
    seat.command(Command::Preset { camera: DOME.into(), number: 1, save: true });
    let listed =
        |s: &Seat| s.platforms.presets(DOME) == Some(&[Preset { number: 1, name: "Preset1".into(), stable: true }]);
    assert!(seat.until(10, listed), "{:?}", seat.platforms.presets(DOME));
    seat.command(Command::Preset { camera: DOME.into(), number: 1, save: false });
    wvp.until(10, "preset", |e| e.len() == 2);
    let verbs: Vec<(String, i64)> = wvp
        .events("preset")
        .iter()
        .map(|e| (e["verb"].as_str().unwrap().into(), e["number"].as_i64().unwrap()))
        .collect();
    assert_eq!(verbs, [("add".to_owned(), 1), ("call".to_owned(), 1)]);

    // The token expires at the platform: the next read logs in again and goes on.
    control(&wvp, "/control/expire");
    control(&wvp, "/control/remove/34020000001310000003");
    seat.platforms.resync();
    // A channel the platform no longer lists stays, marked; the others are as they were.
    assert!(seat.until(20, |s| s.camera(RIVER).is_some_and(|c| c.presence == Presence::Gone)));
    assert_eq!(seat.camera(DOME).unwrap().presence, Presence::Online);
    assert_eq!(wvp.events("login").len(), 2, "logged in again once");
    assert!(!wvp.events("unauthorized").is_empty(), "the stale token was refused");
    let Some(FeedState::Failed { reason }) = seat.tile_state(2) else { panic!() };
    assert_eq!(reason, "已不在视频平台目录中");

    // Off the wall: after the grace the feed stops and the stream is given back, once.
    seat.core.wall.tiles[0] = None;
    assert!(seat.until(15, |_| !wvp.events("stop").is_empty()), "no stop");
    assert!(!seat.feeds.running().iter().any(|(c, _)| c == DOME), "{:?}", seat.feeds.running());
    let stops: Vec<String> = wvp.events("stop").iter().map(|e| e["channel"].as_str().unwrap().to_owned()).collect();
    assert_eq!(stops, ["34020000001310000001"]);
}

#[test]
fn a_platform_stream_that_dies_is_asked_for_anew() {
    streams::video::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cameras = [SimCamera { id: format!("{NVR}_34020000001310000001"), name: "dome".into(), ptz: false }];
    let first = CameraServer::start(&cameras, 0).unwrap();
    let base = |server: &CameraServer| server.uri("x").trim_end_matches("/x").to_owned();
    let wvp =
        PythonPeer::start(dir.path(), "wvp.py", &["--user", "linkage", "--password", "p", "--rtsp", &base(&first)]);
    let mut seat = seat(&runtime, settings(wvp.port, "p"));
    assert!(seat.until(20, |s| s.camera(DOME).is_some()));
    seat.core.wall = Wall::filled(Layout::TwoByTwo, std::iter::once(DOME.to_owned()));
    let seq = |s: &Seat| s.feeds.picture(0).and_then(|p| p.frame).map_or(0, |f| f.seq);
    assert!(seat.until(30, |s| seq(s) > 0), "{:?}", seat.tile_state(0));

    // The platform's media server goes away and comes back elsewhere: the feed cannot get the
    // stream back from the old address, so the stream is given back and asked for anew.
    drop(first);
    let second = CameraServer::start(&cameras, 0).unwrap();
    control(&wvp, &format!("/control/rtsp?base={}", base(&second)));
    let before = seq(&seat);
    assert!(seat.until(60, |s| seq(s) > before), "not playing again: {:?}", seat.tile_state(0));
    assert_eq!(wvp.events("start").len(), 2, "asked for twice");
    assert_eq!(wvp.events("stop").len(), 1, "given back once");
}

#[test]
fn a_refused_login_is_said_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let wvp =
        PythonPeer::start(dir.path(), "wvp.py", &["--user", "linkage", "--password", "right", "--rtsp", "rtsp://x"]);
    let mut seat = seat(&runtime, settings(wvp.port, "right"));
    assert!(seat.until(20, |s| s.camera(DOME).is_some()), "{:?}", seat.trouble());
    // The platform's password is changed under the seat: the next read is refused, said, and
    // the cameras of the last good read stay as they were (not "removed").
    control(&wvp, "/control/password?new=changed");
    seat.platforms.resync();
    assert!(seat.until(20, |s| s.trouble().is_some()));
    assert_eq!(seat.trouble().unwrap(), "用户名或密码错误 (100)");
    assert_eq!(seat.camera(DOME).unwrap().presence, Presence::Online);
    assert_eq!(seat.core.video_platforms[0].cameras, Some(4), "the last good read's count stays");
}

#[test]
fn five_thousand_channels_come_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let wvp = PythonPeer::start(dir.path(), "wvp.py", &["--user", "linkage", "--rtsp", "rtsp://x", "--many", "5000"]);
    let mut seat = seat(&runtime, settings(wvp.port, "admin"));
    let on_platform = |s: &Seat| s.core.cameras.iter().filter(|c| c.on_platform().is_some()).count();
    assert!(seat.until(60, |s| on_platform(s) > 0), "{:?}", seat.trouble());
    assert_eq!(on_platform(&seat), 5004);
    let offline = seat.core.cameras.iter().filter(|c| c.presence == Presence::Offline).count();
    assert_eq!(offline, 500 + 2, "every tenth, the OFF channel and the offline device's");
}

#[test]
fn the_demos_dome_turns_when_steered_through_its_platform_and_keeps_playing() {
    streams::video::init().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = CameraServer::start(&linkage::world::video_platform::cameras(), 0).unwrap();
    let (_platform, settings) = linkage::world::video_platform::start(&runtime, &server).unwrap();
    let mut seat = seat(&runtime, settings);
    assert!(seat.until(20, |s| s.core.cameras.iter().any(|c| c.ptz)), "{:?}", seat.trouble());
    let dome = seat.core.cameras.iter().find(|c| c.ptz).unwrap().id.clone();
    let stream = dome.strip_prefix("demo-wvp/").unwrap().replace('/', "_");
    seat.core.wall = Wall::filled(Layout::TwoByTwo, std::iter::once(dome.clone()));
    let seq = |s: &Seat| s.feeds.picture(0).and_then(|p| p.frame).map_or(0, |f| f.seq);
    assert!(seat.until(30, |s| seq(s) > 0), "the dome does not play: {:?}", seat.tile_state(0));

    let start = server.heads().pose(&stream).unwrap();
    seat.command(Command::Preset { camera: dome.clone(), number: 1, save: true });
    assert!(seat.until(10, |s| s.platforms.presets(&dome).is_some_and(|p| p.len() == 1)), "not listed");
    seat.steer(&dome, Motion::ZoomIn);
    assert!(seat.until(10, |_| server.heads().pose(&stream).unwrap().zoom > 1.5), "it does not zoom");
    seat.steer(&dome, Motion::Right);
    assert!(seat.until(10, |_| server.heads().pose(&stream).unwrap().pan > start.pan + 0.05), "it does not pan");
    seat.steer(&dome, Motion::Stop);
    // Stopped: it stays where it is; the picture kept coming all along, at the stream's size.
    let before = seq(&seat);
    assert!(seat.until(10, |s| seq(s) > before + 50), "the picture stopped after steering");
    let stopped = server.heads().pose(&stream).unwrap();
    seat.until(1, |_| false);
    assert_eq!(server.heads().pose(&stream).unwrap(), stopped);
    let frame = seat.feeds.picture(0).and_then(|p| p.frame).unwrap();
    assert_eq!((frame.width, frame.height), (640, 360));
    // Its preset brings it back to where it was kept.
    seat.command(Command::Preset { camera: dome.clone(), number: 1, save: false });
    assert!(seat.until(10, |_| server.heads().pose(&stream) == Some(start)), "{:?}", server.heads().pose(&stream));
}

/// The demo's 北门 dome, configured as an ONVIF camera.
fn onvif_dome() -> Camera {
    let streams =
        CameraStreams::Platform { platform: "gate-dome".into(), device: "onvif".into(), channel: String::new() };
    Camera {
        id: "gate-dome".into(),
        name: "北门球机".into(),
        lon: 120.0010,
        lat: 30.1330,
        heading: 0.0,
        fov: 60.0,
        streams,
        ptz: false,
        presence: Presence::Online,
        village: None,
    }
}

/// ipycam's position as it logged it last: (pan, tilt, zoom, moving).
fn position(camera: &PythonPeer) -> (f64, f64, f64, bool) {
    let last = camera.events("ptz").last().cloned().unwrap_or_default();
    let f = |k: &str| last[k].as_f64().unwrap_or(f64::NAN);
    (f("pan"), f("tilt"), f("zoom"), last["moving"].as_bool().unwrap_or(false))
}

#[test]
fn an_onvif_camera_plays_turns_and_keeps_presets_through_its_own_services() {
    streams::video::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let folder = dir.path().to_string_lossy().into_owned();
    // A password with characters that must be escaped in XML and in the RTSP address.
    let password = "p&ss <1>";
    let ipycam = PythonPeer::start(
        dir.path(),
        "onvif_camera.py",
        &["--dir", &folder, "--user", "admin", "--password", password],
    );
    let url = format!("http://127.0.0.1:{}/onvif/device_service", ipycam.port);
    let platform = PlatformSettings::onvif("gate-dome", "北门球机", &url, "admin", password);
    let mut seat = seat_with(&runtime, platform, Some(onvif_dome()));

    // Its profiles: one with a PTZ configuration, so the configured camera turns.
    assert!(seat.until(30, |s| s.camera("gate-dome").is_some_and(|c| c.ptz)), "{:?}", seat.trouble());
    assert_eq!(seat.camera("gate-dome").unwrap().name, "北门球机", "the configured name stays");
    seat.core.wall = Wall::filled(Layout::TwoByTwo, std::iter::once("gate-dome".to_owned()));
    let playing = |s: &Seat| s.feeds.picture(0).is_some_and(|p| p.frame.is_some());
    assert!(seat.until(60, playing), "the ONVIF stream does not play: {:?}", seat.tile_state(0));
    let frame = seat.feeds.picture(0).and_then(|p| p.frame).unwrap();
    assert_eq!((frame.width, frame.height), (320, 180), "the small tile plays the second profile");

    // ContinuousMove right until let go, then Stop: the camera's pan moved right and stays.
    seat.steer("gate-dome", Motion::Right);
    assert!(wait_for(Duration::from_secs(30), || position(&ipycam).0 > 0.2), "{:?}", position(&ipycam));
    seat.steer("gate-dome", Motion::Stop);
    assert!(wait_for(Duration::from_secs(30), || !position(&ipycam).3), "it does not stop: {:?}", position(&ipycam));
    let kept = position(&ipycam);

    // A preset kept there, then it zooms, then the preset brings it back.
    seat.command(Command::Preset { camera: "gate-dome".into(), number: 1, save: true });
    assert!(
        seat.until(10, |s| s.platforms.presets("gate-dome").is_some_and(|p| p.len() >= 2)),
        "{:?}",
        seat.platforms.presets("gate-dome")
    );
    // ONVIF names presets by tokens: the console names the one it saves by its number, so it is
    // listed as preset 1 (the camera's own "home" takes the next free number).
    let presets = seat.platforms.presets("gate-dome").unwrap_or_default().to_vec();
    assert_eq!(presets[0], Preset { number: 1, name: "1".into(), stable: true }, "{presets:?}");
    assert!(presets[1..].iter().all(|p| !p.stable), "the camera's own are numbered by place: {presets:?}");
    let saved = 1;
    seat.steer("gate-dome", Motion::ZoomIn);
    assert!(wait_for(Duration::from_secs(30), || position(&ipycam).2 > 0.2), "{:?}", position(&ipycam));
    seat.steer("gate-dome", Motion::Stop);
    seat.command(Command::Preset { camera: "gate-dome".into(), number: saved, save: false });
    let back = || {
        let now = position(&ipycam);
        (now.0 - kept.0).abs() < 0.01 && (now.2 - kept.2).abs() < 0.01
    };
    assert!(wait_for(Duration::from_secs(30), back), "not back at the preset: {:?} vs {kept:?}", position(&ipycam));
    assert!(seat.feeds.picture(0).is_some_and(|p| matches!(p.state, FeedState::Playing { .. })));

    // A wrong password: said, and the configured camera is left as configured (not turned into
    // a PTZ camera it cannot steer, not marked removed).
    let platform = PlatformSettings::onvif("gate-dome", "北门球机", &url, "admin", "wrong");
    let mut refused = seat_with(&runtime, platform, Some(onvif_dome()));
    assert!(refused.until(20, |s| s.trouble().is_some()));
    assert_eq!(refused.trouble().unwrap(), "GetCapabilities: the camera refused the user or password");
    let configured = refused.camera("gate-dome").unwrap();
    assert_eq!((configured.ptz, configured.presence), (false, Presence::Online));
}
