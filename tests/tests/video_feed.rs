//! A camera feed against a real RTSP server on loopback: frames arrive at the slot, and a
//! feed whose server goes away says so and plays again when the server is back.

use std::time::Duration;

use linkage_tests::wait_for;
use streams::sim::cameras::{CameraServer, SimCamera};
use streams::video::{FeedState, VideoFeed, VideoFeedOptions};

fn camera() -> Vec<SimCamera> {
    vec![SimCamera { id: "gate".into(), name: "测试大门".into(), ptz: false }]
}

#[test]
fn frames_from_a_test_rtsp_server_arrive_at_the_frame_slot() {
    streams::video::init().unwrap();
    let server = CameraServer::start(&camera(), 0).unwrap();
    let feed = VideoFeed::start("gate", &server.uri("gate"), VideoFeedOptions::default(), streams::no_waker());
    assert!(wait_for(Duration::from_secs(20), || feed.slot().seq() >= 10), "fewer than 10 frames: {:?}", feed.state());
    let frame = feed.slot().newest().unwrap();
    // The camera's own size (its sub stream): nothing is scaled on the CPU.
    assert_eq!((frame.width, frame.height), (640, 360));
    // I420: a full-size luma plane and two chroma planes of half the width and height.
    assert_eq!(frame.chroma_size(), (320, 180));
    assert!(frame.y().0.len() >= 640 && frame.y().1 >= 640);
    assert!(frame.u().1 >= 320 && frame.v().1 >= 320);
    // A real picture, not a flat fill: the test pattern and the overlays have many colours.
    let rgba = frame.to_rgba();
    assert_eq!(rgba.len(), 640 * 360 * 4);
    let mut colours: Vec<&[u8]> = rgba.chunks(4).step_by(37).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "only {} colours in the frame", colours.len());
    assert!(
        wait_for(Duration::from_secs(3), || matches!(feed.state(), FeedState::Playing { .. })),
        "{:?}",
        feed.state()
    );
    // The tile's health line has what it needs: the decoder, the bit rate, the latency the
    // console adds (the 100 ms jitter buffer and decoding; a sanity range, not a measurement).
    let FeedState::Playing { decoder, hardware, kbps, latency_ms, sound, .. } = feed.state() else {
        panic!("not playing")
    };
    assert!(decoder.starts_with("avdec_h264") && !hardware, "{decoder}");
    assert!(kbps > 0, "no bit rate");
    assert!((100..1100).contains(&latency_ms), "latency {latency_ms} ms");
    assert!(!sound, "no sound asked for");
}

#[test]
fn a_feed_whose_server_goes_away_reports_it_and_plays_again_when_it_returns() {
    streams::video::init().unwrap();
    let server = CameraServer::start(&camera(), 0).unwrap();
    let port = server.port();
    let uri = server.uri("gate");
    let feed = VideoFeed::start("gate", &uri, VideoFeedOptions::default(), streams::no_waker());
    assert!(wait_for(Duration::from_secs(20), || feed.slot().seq() >= 5));

    drop(server);
    // The bound: a stall is found within 5 s.
    let lost = wait_for(Duration::from_secs(5), || {
        matches!(feed.state(), FeedState::Stalled { .. } | FeedState::Reconnecting { .. })
    });
    assert!(lost, "the feed did not notice the server left: {:?}", feed.state());
    // The last good frame stays in the slot while the feed is down.
    let frozen = feed.slot().newest().expect("the last frame is kept");
    // Long enough down for the back-off to grow past several seconds.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(feed.slot().newest().map(|f| f.seq), Some(frozen.seq), "the frozen frame stays");

    let _back = CameraServer::start(&camera(), port).unwrap();
    // Plays again about a keyframe after the server is back (the feed knocks every 0.5 s),
    // not after the back-off: 2 s + the 1 s keyframe interval, with room for a loaded machine.
    let again = wait_for(Duration::from_secs(6), || feed.slot().seq() > frozen.seq + 5);
    assert!(again, "no frames within 6 s of the server's return: {:?}", feed.state());
}

#[test]
fn a_source_that_refuses_at_start_is_retried_until_it_comes() {
    streams::video::init().unwrap();
    let port = linkage_tests::free_tcp_port();
    // Nobody listens on the port yet: connections are refused.
    let feed = VideoFeed::start(
        "gate",
        &format!("rtsp://127.0.0.1:{port}/cam/gate"),
        VideoFeedOptions::default(),
        streams::no_waker(),
    );
    let retrying = wait_for(
        Duration::from_secs(10),
        || matches!(feed.state(), FeedState::Reconnecting { attempt, .. } if attempt >= 2),
    );
    assert!(retrying, "a refused source is not retried: {:?}", feed.state());
    let _server = CameraServer::start(&camera(), port).unwrap();
    // Back-off is at most a few seconds this early; then the first keyframe.
    assert!(wait_for(Duration::from_secs(20), || feed.slot().seq() >= 5), "{:?}", feed.state());
    assert!(wait_for(Duration::from_secs(3), || matches!(feed.state(), FeedState::Playing { .. })));
}

/// Encodes a clip with GStreamer (`elements` between the source and the file) and waits for it.
fn clip(path: &std::path::Path, pipeline: &str) {
    streams::video::init().unwrap();
    let launch = format!("{pipeline} ! filesink location={}", path.display());
    play_to_the_end(&gstreamer::parse::launch(&launch).unwrap());
}

/// Plays `pipeline` until its end of stream (an error fails the test), then stops it.
fn play_to_the_end(pipeline: &gstreamer::Element) {
    use gstreamer::prelude::*;
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("the end of the stream");
    assert_eq!(msg.type_(), gstreamer::MessageType::Eos, "{msg:?}");
    pipeline.set_state(gstreamer::State::Null).unwrap();
}

/// Encodes an H.264 clip of videotestsrc with `source` properties into `dir` and plays it.
fn play_h264_clip(dir: &std::path::Path, name: &str, source: &str) -> VideoFeed {
    play_h264_clip_as(dir, name, source, "width=320,height=180")
}

/// The same, with the raw picture's `caps` (size, colorimetry, pixel aspect) given.
fn play_h264_clip_as(dir: &std::path::Path, name: &str, source: &str, caps: &str) -> VideoFeed {
    let path = dir.join(format!("{name}.mkv"));
    clip(
        &path,
        &format!(
            "videotestsrc {source} ! video/x-raw,{caps},framerate=25/1 \
             ! x264enc speed-preset=ultrafast key-int-max=25 ! matroskamux"
        ),
    );
    VideoFeed::start(name, &format!("file://{}", path.display()), VideoFeedOptions::default(), streams::no_waker())
}

#[test]
fn a_stream_brings_its_own_colour_matrix_range_and_pixel_shape() {
    use streams::video::{Colour, Matrix};
    let dir = tempfile::tempdir().unwrap();
    // A D1 camera with 16:11 pixels (shown 16:9) coding BT.709, and a 1080p one coding BT.601
    // (as some SD-heritage encoders do): the encoder writes both into the stream (H.264 VUI),
    // the decoder reads them back, and the frame carries them to the screen.
    let cases = [
        ("d1", "width=704,height=576,colorimetry=bt709,pixel-aspect-ratio=16/11", Matrix::Bt709, 16.0 / 9.0),
        ("hd", "width=1920,height=1080,colorimetry=bt601,pixel-aspect-ratio=1/1", Matrix::Bt601, 16.0 / 9.0),
    ];
    for (name, caps, matrix, aspect) in cases {
        let feed = play_h264_clip_as(dir.path(), name, "num-buffers=50", caps);
        assert!(wait_for(Duration::from_secs(20), || feed.slot().seq() >= 3), "{name}: {:?}", feed.state());
        let frame = feed.slot().newest().unwrap();
        assert_eq!(frame.colour, Colour { matrix, full_range: false }, "{name}");
        assert!((frame.display_aspect() - aspect).abs() < 0.01, "{name}: shown at {}", frame.display_aspect());
    }
}

#[test]
fn a_picture_that_never_changes_is_a_stall_and_a_stream_without_video_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // An encoder stuck on one picture: frames keep coming, the picture never changes.
    let feed = play_h264_clip(dir.path(), "still", "num-buffers=500 pattern=solid-color foreground-color=0xff336699");
    let frozen = wait_for(Duration::from_secs(10), || matches!(feed.state(), FeedState::Stalled { frozen: true, .. }));
    assert!(frozen, "a frozen picture is not seen: {:?}", feed.state());
    assert!(feed.slot().seq() > 25, "frames kept coming all along");

    // A camera that sends only sound.
    let tone = dir.path().join("tone.ogg");
    clip(&tone, "audiotestsrc num-buffers=200 ! audioconvert ! vorbisenc ! oggmux");
    let feed = VideoFeed::start(
        "tone",
        &format!("file://{}", tone.display()),
        VideoFeedOptions::default(),
        streams::no_waker(),
    );
    let said = wait_for(
        Duration::from_secs(10),
        || matches!(feed.state(), FeedState::Reconnecting { ref reason, .. } if reason.contains("no video")),
    );
    assert!(said, "an audio-only stream is not named: {:?}", feed.state());
}

#[test]
fn a_file_plays_in_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    // Two seconds of a moving picture.
    let feed = play_h264_clip(dir.path(), "short", "num-buffers=50 pattern=ball");
    let mut left_playing = vec![];
    let looped = wait_for(Duration::from_secs(15), || {
        let state = feed.state();
        if matches!(state, FeedState::Reconnecting { .. } | FeedState::Failed { .. }) {
            left_playing.push(state);
        }
        feed.slot().seq() >= 125
    });
    assert!(looped, "a 50-frame clip gave {} frames: {:?}", feed.slot().seq(), feed.state());
    assert!(left_playing.is_empty(), "the loop tore the pipeline down: {left_playing:?}");
}

#[test]
fn a_camera_with_a_login_plays_over_udp_and_tcp_and_its_password_shows_nowhere() {
    streams::video::init().unwrap();
    let server = CameraServer::start_with_login(&camera(), 0, "admin", "Qx-7731").unwrap();
    let port = server.port();
    // rtsp:// lets rtspsrc pick UDP on loopback; rtspt:// makes it interleave over TCP.
    for scheme in ["rtsp", "rtspt"] {
        let uri = format!("{scheme}://admin:Qx-7731@127.0.0.1:{port}/cam/gate");
        let feed = VideoFeed::start("gate", &uri, VideoFeedOptions::default(), streams::no_waker());
        assert!(wait_for(Duration::from_secs(20), || feed.slot().seq() >= 10), "{scheme}: {:?}", feed.state());
    }
    // A wrong password is refused, and what the tile says does not repeat it.
    let uri = format!("rtsp://admin:wrong-Qx@127.0.0.1:{port}/cam/gate");
    let feed = VideoFeed::start("gate", &uri, VideoFeedOptions::default(), streams::no_waker());
    let refused = wait_for(Duration::from_secs(10), || matches!(feed.state(), FeedState::Reconnecting { .. }));
    assert!(refused, "a wrong password plays? {:?}", feed.state());
    assert_eq!(feed.slot().seq(), 0);
    let said = format!("{:?}", feed.state());
    assert!(!said.contains("wrong-Qx") && !said.contains("admin"), "the tile shows the login: {said}");
}

#[test]
fn a_viewer_joining_mid_gop_sees_no_picture_before_the_next_keyframe() {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    streams::video::init().unwrap();
    // 50 frames with a keyframe every 25, the first 7 cut away: what a viewer joining at frame
    // 7 gets — 18 frames that refer to pictures it never had, then a keyframe and 24 more.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mid-gop.mkv");
    let launch = format!(
        "videotestsrc num-buffers=50 pattern=ball ! video/x-raw,width=320,height=180,framerate=25/1 \
         ! x264enc speed-preset=ultrafast key-int-max=25 bframes=0 ! h264parse name=parse ! matroskamux \
         ! filesink location={}",
        path.display()
    );
    let writer = gst::parse::launch(&launch).unwrap().downcast::<gst::Bin>().unwrap();
    let cut = AtomicU32::new(0);
    writer.by_name("parse").unwrap().static_pad("src").unwrap().add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if cut.fetch_add(1, Ordering::Relaxed) < 7 { gst::PadProbeReturn::Handled } else { gst::PadProbeReturn::Ok }
    });
    play_to_the_end(writer.upcast_ref());

    // The wall's decoder shows the keyframe and what follows it, nothing before (with
    // avdec's `output-corrupt` left on, it shows all 43: 18 of them built on grey).
    let pipeline = gst::Pipeline::new();
    let decode = streams::video::decoder(&format!("file://{}", path.display()), 100).unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    pipeline.add_many([&decode, &sink]).unwrap();
    let pictures = Arc::new(AtomicU32::new(0));
    let counted = pictures.clone();
    sink.static_pad("sink").unwrap().add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        counted.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
    let target = sink.static_pad("sink").unwrap();
    decode.connect_pad_added(move |_, pad| {
        let _ = pad.link(&target);
    });
    play_to_the_end(pipeline.upcast_ref());
    assert_eq!(pictures.load(Ordering::Relaxed), 25, "pictures shown of the 43 frames received");
}

/// Records `feed` into `path` for `secs` (or until its own end); the clip or the reason, and
/// whether the feed played all along.
fn record(feed: &VideoFeed, path: &std::path::Path, limit: Duration) -> (Result<streams::video::Clip, String>, bool) {
    let (tx, rx) = std::sync::mpsc::channel();
    feed.record(path, limit, Box::new(move |ended| tx.send(ended).unwrap())).unwrap();
    let (mut always_playing, mut last_seq) = (true, feed.slot().seq());
    let ended = loop {
        if let Ok(ended) = rx.recv_timeout(Duration::from_millis(200)) {
            break ended;
        }
        let seq = feed.slot().seq();
        always_playing &= seq > last_seq && matches!(feed.state(), FeedState::Playing { .. });
        last_seq = seq;
    };
    (ended, always_playing)
}

#[test]
fn a_clip_kept_from_a_tile_is_a_valid_file_of_its_length_and_the_tile_never_stops() {
    streams::video::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = CameraServer::start(&camera(), 0).unwrap();
    let feed = VideoFeed::start("gate", &server.uri("gate"), VideoFeedOptions::default(), streams::no_waker());
    assert!(wait_for(Duration::from_secs(20), || matches!(feed.state(), FeedState::Playing { .. })));

    let path = dir.path().join("gate.mkv");
    let (clip, always_playing) = record(&feed, &path, Duration::from_secs(5));
    let clip = clip.unwrap();
    assert!(always_playing, "the tile stalled while recording: {:?}", feed.state());
    assert!(!feed.recording(), "the recording ended by itself");
    assert!((4.5..5.6).contains(&clip.seconds), "{} s", clip.seconds);
    // ffprobe (not ours) reads it: one H.264 stream of the camera's size, about 5 s long.
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe runs (make deps installs ffmpeg)");
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
    let probed: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    assert_eq!(probed["streams"][0]["codec_name"], "h264");
    assert_eq!(
        (probed["streams"][0]["width"].as_u64(), probed["streams"][0]["height"].as_u64()),
        (Some(640), Some(360))
    );
    let duration: f64 = probed["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((4.5..5.6).contains(&duration), "ffprobe says {duration} s");
    // The hash the log will carry is the file's.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(clip.bytes, bytes.len() as u64);
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    assert_eq!(clip.sha256, digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>());

    // A disk that is full ends the recording with the reason; the tile plays on.
    let (full, always_playing) = record(&feed, std::path::Path::new("/dev/full"), Duration::from_secs(30));
    let reason = full.unwrap_err();
    assert_eq!(reason, "No space left on the resource.", "GStreamer's words for a full disk");
    assert!(always_playing, "the tile stalled when the disk was full");
    assert!(!feed.recording());
    // And plays on: a second of new frames after the failure.
    let after = feed.slot().seq();
    assert!(wait_for(Duration::from_secs(3), || feed.slot().seq() >= after + 20), "the tile stopped after the failure");
    // Stopped by hand, early: a clip of what there was.
    let (tx, rx) = std::sync::mpsc::channel();
    feed.record(&dir.path().join("short.mkv"), Duration::from_secs(60), Box::new(move |e| tx.send(e).unwrap()))
        .unwrap();
    assert!(feed.record(&dir.path().join("again.mkv"), Duration::from_secs(60), Box::new(|_| {})).is_err());
    std::thread::sleep(Duration::from_secs(2));
    feed.stop_recording();
    let short = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert!((1.0..3.0).contains(&short.seconds), "{} s", short.seconds);
}
