//! The wall's feeds against the in-process RTSP server (each simulated camera serves a sub
//! stream at 640×360 and a main stream at 1280×720): a focused tile switches to the main stream
//! without ever showing no picture, tiles hidden or paged off stop decoding after the grace,
//! and a tile whose camera goes away keeps its last picture; a feed that records an evidence
//! clip outlives the grace until its recording ends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use linkage::core::Effect;
use linkage::core::camera::StreamUris;
use linkage::core::wall::{Layout, Quality, Wall};
use linkage::wall::clips::{Clips, RecordingMark};
use linkage::wall::feeds::WallFeeds;
use streams::feed::{Body, CameraAction};
use streams::sim::cameras::{CameraServer, SimCamera};
use streams::video::FeedState;

const GRACE: Duration = Duration::from_secs(1);

struct Rig {
    feeds: WallFeeds,
    wall: Wall,
    uris: HashMap<String, StreamUris>,
}

impl Rig {
    /// Syncs every 50 ms until `done` holds (or `limit` passes), checking `always` on each pass.
    fn until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&WallFeeds) -> bool,
        always: impl Fn(&WallFeeds),
    ) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            self.feeds.sync(&self.wall, &self.uris, Instant::now());
            always(&self.feeds);
            if done(&self.feeds) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

fn size(feeds: &WallFeeds, tile: usize) -> Option<(u32, u32)> {
    feeds.picture(tile)?.frame.map(|f| (f.width, f.height))
}

/// Cameras a and b on the in-process RTSP server, and a wall of `layout` showing `shown`.
fn cameras_a_and_b(layout: Layout, shown: &[&str]) -> (CameraServer, Rig) {
    streams::video::init().unwrap();
    let cameras = ["a", "b"].map(|id| SimCamera { id: id.into(), name: id.into(), ptz: false });
    let server = CameraServer::start(&cameras, 0).unwrap();
    let uris = ["a", "b"]
        .into_iter()
        .map(|id| (id.to_string(), StreamUris { main: server.main_uri(id), sub: Some(server.uri(id)) }))
        .collect();
    let wall = Wall::filled(layout, shown.iter().map(|c| c.to_string()));
    (server, Rig { feeds: WallFeeds::new(GRACE, streams::no_waker()), wall, uris })
}

fn sorted(mut v: Vec<(String, Quality)>) -> Vec<(String, Quality)> {
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

#[test]
fn focus_switches_to_main_without_a_gap_and_what_is_off_screen_stops_after_the_grace() {
    let (server, mut rig) = cameras_a_and_b(Layout::TwoByTwo, &["a", "b"]);

    // Small tiles play the sub streams.
    let both = |f: &WallFeeds| size(f, 0) == Some((640, 360)) && size(f, 1) == Some((640, 360));
    assert!(rig.until(Duration::from_secs(20), both, |_| {}), "the sub streams do not play");
    assert_eq!(sorted(rig.feeds.running()), [("a".into(), Quality::Sub), ("b".into(), Quality::Sub)]);

    // Focus tile 0: its main stream comes; until then the sub stream's last picture stays.
    rig.wall.focused = Some(0);
    let never_empty = |f: &WallFeeds| assert!(size(f, 0).is_some(), "tile 0 showed no picture during the switch");
    assert!(rig.until(Duration::from_secs(20), |f| size(f, 0) == Some((1280, 720)), never_empty), "no main stream");
    // Hidden tile 1 and a's sub stream are parked, then stopped after the grace.
    assert!(
        rig.until(Duration::from_secs(5), |f| f.running() == [("a".into(), Quality::Main)], never_empty),
        "still running: {:?}",
        rig.feeds.running()
    );

    // Back to the layout: the sub stream starts again, the main stream's picture bridges.
    rig.wall.focused = None;
    let back = |f: &WallFeeds| size(f, 0) == Some((640, 360)) && size(f, 1) == Some((640, 360));
    assert!(rig.until(Duration::from_secs(20), back, never_empty), "the layout did not come back");

    // The camera server goes away: the tiles keep their last pictures and say so.
    drop(server);
    let lost = |f: &WallFeeds| f.picture(0).is_some_and(|p| !matches!(p.state, FeedState::Playing { .. }));
    assert!(rig.until(Duration::from_secs(15), lost, never_empty), "the lost feed still says playing");
    let frozen = rig.feeds.picture(0).unwrap();
    assert!(frozen.frame.is_some(), "the last good frame is kept");
}

#[test]
fn a_recording_tile_keeps_recording_off_screen_and_its_clip_goes_on_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut rig) = cameras_a_and_b(Layout::One, &["a"]);
    assert!(rig.until(Duration::from_secs(20), |f| size(f, 0).is_some(), |_| {}), "a does not play");

    let mut core = linkage::config::Config::demo().unwrap().core();
    core.cameras
        .push(linkage::core::camera::Camera { id: "a".into(), name: "村口".into(), ..core.cameras[0].clone() });
    let mut clips = Clips::new(dir.path().join("clips"));
    clips.start(&rig.feeds, (0, "a"), 1, Some("E000009".into()), streams::no_waker());
    assert!(matches!(clips.mark(&rig.feeds, "a"), Some(RecordingMark::Since(_))));

    // The officer puts another camera on the tile: a's feed leaves the screen but records on,
    // past the grace.
    rig.wall.tiles[0] = Some("b".into());
    let recording_a = |f: &WallFeeds| f.running().iter().any(|(c, _)| c == "a");
    assert!(!rig.until(GRACE * 3, |f| !recording_a(f), |_| {}), "a stopped while recording");
    rig.feeds.stop_recording("a");
    let mut effects = vec![];
    assert!(rig.until(
        Duration::from_secs(10),
        |_| {
            effects.extend(clips.pump(&mut core));
            !effects.is_empty()
        },
        |_| {}
    ));
    // Then it goes, as any feed off screen does.
    assert!(rig.until(GRACE * 3, |f| !recording_a(f), |_| {}), "a still runs after its recording");
    let [Effect::Send(Body::UseCamera(used))] = effects.as_slice() else { panic!("{effects:?}") };
    let CameraAction::Clip { file, sha256, seconds, .. } = &used.action else { panic!("{used:?}") };
    assert_eq!(
        (used.camera.as_str(), used.camera_name.as_str(), used.incident.as_deref()),
        ("a", "村口", Some("E000009"))
    );
    let bytes = std::fs::read(dir.path().join("clips").join(file)).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    assert_eq!(*sha256, digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>());
    assert!(*seconds > GRACE.as_secs_f64() * 2.0, "{seconds} s");
}
