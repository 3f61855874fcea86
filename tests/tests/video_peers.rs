//! Camera sources served by peers that are not ours: ffmpeg from Debian as an HLS packager
//! whose playlist and segments Python's http.server serves over loopback, and ffmpeg as an RTMP
//! server (`-listen 1`). The feed must decode both through the same path the wall uses.
//!
//! The RTMP test guards two traps (see `streams/src/video/source.rs`): rtmp2src drops every
//! media message ffmpeg's listen mode sends, and flvdemux holds back `no-more-pads` for 6 s of
//! a video-only stream, longer than the supervisor waits for a first frame.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use linkage_tests::wait_for;
use streams::video::{FeedState, VideoFeed, VideoFeedOptions};

/// A child process killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ffmpeg encoding a moving test picture (H.264, 25 fps, a keyframe a second) to `output`.
fn ffmpeg(output: &[&str]) -> Peer {
    ffmpeg_encoding(&H264, output)
}

/// ffmpeg encoding a moving test picture with `codec` (25 fps, a keyframe a second) to `output`.
fn ffmpeg_encoding(codec: &[&str], output: &[&str]) -> Peer {
    let child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
        .args(codec)
        .args(["-g", "25", "-pix_fmt", "yuv420p"])
        .args(output)
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg runs (make deps installs it)");
    Peer(child)
}

fn plays(name: &str, uri: &str, within: Duration) {
    streams::video::init().unwrap();
    let feed = VideoFeed::start(name, uri, VideoFeedOptions::default(), streams::no_waker());
    assert!(wait_for(within, || feed.slot().seq() >= 25), "{name}: fewer than 25 frames: {:?}", feed.state());
    let frame = feed.slot().newest().unwrap();
    // At the stream's own size: the screen scales on the GPU.
    assert_eq!((frame.width, frame.height), (640, 360));
    assert!(wait_for(Duration::from_secs(5), || matches!(feed.state(), FeedState::Playing { .. })), "{name}");
}

const H264: [&str; 6] = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"];

#[test]
fn an_hls_playlist_served_over_http_plays() {
    let hls = Hls::serve(&H264);
    plays("hls", &hls.uri, Duration::from_secs(30));
}

#[test]
fn an_h265_stream_plays() {
    let hls = Hls::serve(&["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]);
    plays("hls h265", &hls.uri, Duration::from_secs(30));
}

#[test]
fn a_stream_with_sound_plays_it_only_when_asked() {
    // A second input: a 440 Hz tone, encoded as AAC beside the picture.
    let with_tone =
        [&["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"][..], &H264, &["-c:a", "aac"]].concat();
    let hls = Hls::serve(&with_tone);
    streams::video::init().unwrap();
    for audio in [true, false] {
        let options = VideoFeedOptions { audio, ..VideoFeedOptions::default() };
        let feed = VideoFeed::start("tone", &hls.uri, options, streams::no_waker());
        let playing = |sound: bool| matches!(feed.state(), FeedState::Playing { sound: s, .. } if s == sound);
        assert!(wait_for(Duration::from_secs(30), || playing(audio)), "audio={audio}: {:?}", feed.state());
        // The picture plays on either way.
        let seq = feed.slot().seq();
        assert!(
            wait_for(Duration::from_secs(5), || feed.slot().seq() > seq + 10),
            "audio={audio}: the picture stopped"
        );
    }
}

/// ffmpeg packaging HLS into a folder that Python's http.server serves; both stop when dropped.
struct Hls {
    uri: String,
    _packager: Peer,
    _http: linkage_tests::folder::FolderServer,
    _dir: tempfile::TempDir,
}

impl Hls {
    /// `codec`: the encoder arguments (and any further inputs) for ffmpeg.
    fn serve(codec: &[&str]) -> Hls {
        let dir = tempfile::tempdir().unwrap();
        let playlist = dir.path().join("cam.m3u8");
        let hls = ["-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments"];
        let packager = ffmpeg_encoding(codec, &[&hls[..], &[playlist.to_str().unwrap()]].concat());
        assert!(wait_for(Duration::from_secs(20), || segments(dir.path()) >= 2), "ffmpeg wrote no HLS segments");
        let http = linkage_tests::folder::FolderServer::start(dir.path());
        Hls { uri: format!("http://127.0.0.1:{}/cam.m3u8", http.port), _packager: packager, _http: http, _dir: dir }
    }
}

#[test]
fn an_rtmp_stream_from_ffmpeg_plays() {
    flv_served_by_ffmpeg_plays("rtmp", |port| format!("rtmp://127.0.0.1:{port}/live/cam"));
}

#[test]
fn an_http_flv_stream_from_ffmpeg_plays() {
    // ffmpeg as an HTTP server streaming FLV, as many NVR gateways serve it.
    flv_served_by_ffmpeg_plays("http-flv", |port| format!("http://127.0.0.1:{port}/live.flv"));
}

/// ffmpeg serves FLV at the URL (`-listen 1`: it waits for one player, then exits).
fn flv_served_by_ffmpeg_plays(name: &str, url: impl Fn(u16) -> String) {
    let port = linkage_tests::free_tcp_port();
    let url = url(port);
    let _server = ffmpeg(&["-f", "flv", "-listen", "1", &url]);
    // Probing the port with a connection would use ffmpeg's one player up, so watch the
    // kernel's socket table for the listening socket instead.
    assert!(wait_for(Duration::from_secs(20), || listening(port)), "ffmpeg is not listening on {port}");
    plays(name, &url, Duration::from_secs(30));
}

/// Whether a TCP socket listens on 127.0.0.1:`port` (/proc/net/tcp: local address in hex,
/// state 0A is LISTEN).
fn listening(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
    })
}

fn segments(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map_or(0, |d| d.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ts"))).count())
}
