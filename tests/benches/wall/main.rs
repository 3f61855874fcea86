//! `make bench-wall`: a video wall's decode path against the decoder alone (issue #3, #12).
//!
//! A loopback RTSP server (in a child process, see `server.rs`) serves pre-encoded clips
//! (`clip.rs`) the sizes cameras send: FEEDS − 1 sub streams at D1, 704×576, 1 Mbit/s, and one
//! main stream at 1920×1080, 4 Mbit/s, H.264 at 25 fps with an IDR frame a second (FEEDS
//! defaults to 10). The bench then runs two phases of SECS (20) seconds each, one after the
//! other, each after a 2 s warm-up:
//!
//! 1. Our path: a `streams::video::VideoFeed` per stream, the code the console runs, up to the
//!    point where the frame sits in its `FrameSlot`, ready for texture upload (at the camera's
//!    size: the screen scales it on the GPU as it draws), and the waker is called.
//! 2. The floor: `streams::video::decoder` (the same `uridecodebin`, with the same jitter
//!    buffer and decoder settings) into a `fakesink`: what decoding the same streams costs at
//!    the least.
//!
//! Both sides decode in software: hardware video decoders are ranked out of this process's
//! registry first, so a machine with VA-API flatters neither side (each feed's line names the
//! decoder our path got).
//!
//! CPU is this process's user + system time over the window (from `/proc/self/stat`, in
//! 10 ms ticks) per second of wall time, in cores; the server's CPU is its own process's and
//! is printed apart, so `overhead = cpu_cores / decode_only_cores` compares the two clients
//! alone (plus the thread that reads the server's send times, alike in both). fps_min is the
//! slowest feed's rate of new frames in its slot. Latency runs from the server sending a frame
//! to our waker seeing it decoded: each picture carries its frame number as a barcode, read
//! back from the frame's luma (Y plane), and the server reports every frame's send time. The
//! first frame is timed from `VideoFeed::start`, joining mid-GOP, to the first clean picture,
//! decoded from the first IDR frame the feed got (our path shows no picture decoded without
//! its references; any that slip through are counted as `garbled`).
//!
//! Goals: fps_min ≥ 24, overhead ≤ 1.10, latency p50 ≤ 60 ms and p99 ≤ 120 ms, first frame
//! p50 ≤ 800 ms and p99 ≤ 1500 ms. Prints a line per feed, a summary, and last:
//! `wall-bench feeds=10 sub=704x576 main=1920x1080 fps_min=F cpu_cores=C decode_only_cores=D overhead=R latency_p50_ms=A latency_p99_ms=B first_frame_p50_ms=T first_frame_p99_ms=U`

mod clip;
mod server;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use streams::video::{FeedState, FrameSlot, VideoFeed, VideoFeedOptions};

use linkage_tests::cpu_seconds;
use server::Server;

/// Sub and main stream: picture size and bit rate (kbit/s), as an IP camera sends them.
const SUB: (u32, u32, u32) = (704, 576, 1024);
const MAIN: (u32, u32, u32) = (1920, 1080, 4096);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Feed 0 is the main stream, the others are sub streams.
fn stream(feed: usize) -> (u32, u32, u32) {
    if feed == 0 { MAIN } else { SUB }
}

/// What one phase measured over its window.
struct Window {
    /// The window, in µs of CLOCK_MONOTONIC.
    from: i64,
    to: i64,
    cores: f64,
    server_cores: f64,
    /// New frames a second, per feed.
    fps: Vec<f64>,
}

/// Waits out the warm-up, then counts frames (`frames` gives each feed's running count) and
/// CPU over `secs`.
fn measure(warmup: usize, secs: usize, server: &Server, frames: impl Fn() -> Vec<u64>) -> Window {
    std::thread::sleep(Duration::from_secs(warmup as u64));
    let server_pid = server.pid().to_string();
    let (start, from, cpu, server_cpu, before) =
        (Instant::now(), glib::monotonic_time(), cpu_seconds("self"), cpu_seconds(&server_pid), frames());
    std::thread::sleep(Duration::from_secs(secs as u64));
    let (wall, to, after) = (start.elapsed().as_secs_f64(), glib::monotonic_time(), frames());
    Window {
        from,
        to,
        cores: (cpu_seconds("self") - cpu) / wall,
        server_cores: (cpu_seconds(&server_pid) - server_cpu) / wall,
        fps: before.iter().zip(&after).map(|(b, a)| (a - b) as f64 / wall).collect(),
    }
}

/// A frame of our path that reached its slot.
struct Arrival {
    /// Its frame number, if the barcode read back.
    index: Option<u32>,
    /// When the waker saw it, in µs of CLOCK_MONOTONIC.
    at: i64,
}

/// One feed of our path as its waker sees it, on the decoder's thread.
#[derive(Default)]
struct Tap {
    slot: OnceLock<Arc<FrameSlot>>,
    last_seq: AtomicU64,
    arrivals: Mutex<Vec<Arrival>>,
}

impl Tap {
    /// The waker: called after each frame (and by the supervisor now and then).
    fn woken(&self) {
        let Some(frame) = self.slot.get().and_then(|slot| slot.newest()) else { return };
        if self.last_seq.swap(frame.seq, Ordering::AcqRel) != frame.seq {
            let at = glib::monotonic_time();
            self.arrivals
                .lock()
                .expect("arrivals lock")
                .push(Arrival { index: linkage_tests::barcode::read(&frame), at });
        }
    }
}

/// What one feed of our path showed.
struct FeedResult {
    /// The decoding element it got (or the state it was in instead of playing).
    decoder: String,
    /// From `VideoFeed::start` to the first clean picture.
    first_frame_ms: f64,
    /// Garbled pictures shown before it.
    garbled: usize,
    /// Send-to-slot latencies in the window, sorted.
    latency_ms: Vec<f64>,
    /// Frames after the first clean one whose barcode did not read back.
    unread: usize,
}

fn ours(server: &Server, feeds: usize, warmup: usize, secs: usize) -> (Window, Vec<FeedResult>) {
    let taps: Vec<Arc<Tap>> = (0..feeds).map(|_| Arc::default()).collect();
    let mut started = vec![];
    let running: Vec<VideoFeed> = taps
        .iter()
        .enumerate()
        .map(|(feed, tap)| {
            let waked = tap.clone();
            started.push(glib::monotonic_time());
            let options = VideoFeedOptions::default();
            let video =
                VideoFeed::start(&format!("feed{feed}"), &server.uri(feed), options, Arc::new(move || waked.woken()));
            let _ = tap.slot.set(video.slot().clone());
            video
        })
        .collect();
    // Each feed's way to playing, as the tile would have shown it: a slow start says why.
    let trails: Vec<Mutex<Vec<String>>> = (0..feeds).map(|_| Mutex::default()).collect();
    let watching = std::sync::atomic::AtomicBool::new(true);
    let window = std::thread::scope(|scope| {
        scope.spawn(|| {
            let since = Instant::now();
            while watching.load(Ordering::Acquire) {
                for (feed, trail) in running.iter().zip(&trails) {
                    let state = match feed.state() {
                        FeedState::Playing { .. } => "playing".to_string(),
                        FeedState::Stalled { frozen, .. } => format!("stalled (frozen: {frozen})"),
                        FeedState::Reconnecting { attempt, reason, .. } => format!("reconnecting #{attempt}: {reason}"),
                        other => format!("{other:?}"),
                    };
                    let mut trail = trail.lock().expect("trail lock");
                    if trail.last().is_none_or(|last| !last.ends_with(&format!(" {state}"))) {
                        trail.push(format!("{} ms {state}", since.elapsed().as_millis()));
                    }
                }
                // Ten polls a second: a hundred state reads a second for ten feeds, a few
                // microseconds each (a lock, a clone, a string), counted in our path's CPU:
                // about 0.1 % of the half core it uses.
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let window = measure(warmup, secs, server, || running.iter().map(|f| f.slot().seq()).collect());
        watching.store(false, Ordering::Release);
        window
    });
    for (feed, trail) in trails.iter().enumerate() {
        let trail = trail.lock().expect("trail lock");
        // Connecting, then playing for good: nothing to tell.
        if trail.len() > 2 {
            eprintln!("feed {feed} states: {}", trail.join(" → "));
        }
    }
    let decoders: Vec<String> = running
        .iter()
        .map(|f| match f.state() {
            FeedState::Playing { decoder, .. } => decoder,
            other => format!("{other:?}"),
        })
        .collect();
    drop(running);
    let results = taps
        .iter()
        .enumerate()
        .map(|(feed, tap)| {
            let arrivals = tap.arrivals.lock().expect("arrivals lock");
            // The first IDR frame the server sent this feed, and the first picture decoded from it.
            let idr = server::skip(feed).div_ceil(clip::FPS as u32) * clip::FPS as u32;
            let garbled = arrivals
                .iter()
                .position(|a| a.index.is_some_and(|i| i >= idr))
                .unwrap_or_else(|| panic!("feed {feed} showed no clean picture"));
            let mut latency_ms: Vec<f64> = arrivals
                .iter()
                .filter(|a| (window.from..window.to).contains(&a.at))
                .filter_map(|a| Some((a.at - server.sent_at(feed, a.index?)?) as f64 / 1000.0))
                .collect();
            latency_ms.sort_by(f64::total_cmp);
            FeedResult {
                decoder: decoders[feed].clone(),
                first_frame_ms: (arrivals[garbled].at - started[feed]) as f64 / 1000.0,
                garbled,
                latency_ms,
                unread: arrivals[garbled..].iter().filter(|a| a.index.is_none()).count(),
            }
        })
        .collect();
    (window, results)
}

fn floor(server: &Server, feeds: usize, warmup: usize, secs: usize) -> Window {
    let latency = VideoFeedOptions::default().rtsp_latency_ms;
    let counts: Vec<Arc<AtomicU64>> = (0..feeds).map(|_| Arc::default()).collect();
    let pipelines: Vec<gst::Pipeline> = counts
        .iter()
        .enumerate()
        .map(|(feed, count)| {
            let pipeline = gst::Pipeline::new();
            let decode = streams::video::decoder(&server.uri(feed), latency).expect("uridecodebin");
            let sink = gst::ElementFactory::make("fakesink").property("sync", false).build().expect("fakesink");
            pipeline.add_many([&decode, &sink]).expect("the floor pipeline");
            let count = count.clone();
            sink.static_pad("sink").expect("sink pad").add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                count.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
            let input = sink.static_pad("sink").expect("sink pad");
            decode.connect_pad_added(move |_, pad| {
                let video = pad.current_caps().and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")));
                if video == Some(true) && !input.is_linked() {
                    let _ = pad.link(&input);
                }
            });
            pipeline.set_state(gst::State::Playing).expect("the floor pipeline plays");
            pipeline
        })
        .collect();
    let window = measure(warmup, secs, server, || counts.iter().map(|c| c.load(Ordering::Relaxed)).collect());
    for pipeline in pipelines {
        if let Some(error) = pipeline.bus().and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error])) {
            panic!("floor pipeline failed: {error:?}");
        }
        let _ = pipeline.set_state(gst::State::Null);
    }
    window
}

/// Ranks every hardware video decoder out of this process's registry, so that `uridecodebin`
/// picks the software one (avdec_h264) on both sides of the comparison.
fn pin_software_decoders() {
    let registry = gst::Registry::get();
    for feature in registry.features(gst::ElementFactory::static_type()) {
        if let Ok(factory) = feature.downcast::<gst::ElementFactory>() {
            let klass = factory.metadata("klass").unwrap_or_default();
            if klass.contains("Decoder") && klass.contains("Video") && klass.contains("Hardware") {
                eprintln!("pinned out: {}", factory.name());
                factory.set_rank(gst::Rank::NONE);
            }
        }
    }
}

/// The value at quantile `q` of sorted `values` (0 when empty).
fn quantile(values: &[f64], q: f64) -> f64 {
    values.get(((values.len() as f64 * q) as usize).min(values.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

fn bitrate_kbps(path: &Path, frames: usize) -> f64 {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    bytes as f64 * 8.0 / (frames as f64 / clip::FPS as f64) / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, dir, feeds] = &args[..]
        && flag == "--serve"
    {
        server::serve(Path::new(dir), feeds.parse().expect("feeds"));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke test.
    let smoke = !args.iter().any(|a| a == "--bench");
    let feeds = if smoke { 2 } else { env_usize("FEEDS", 10).max(1) };
    let (warmup, secs) = if smoke { (1, 3) } else { (2, env_usize("SECS", 20)) };
    gst::init().expect("GStreamer");
    pin_software_decoders();

    // Each phase joins at most a GOP late and runs warm-up + window; five seconds of margin.
    let frames = (warmup + secs + 5) * clip::FPS as usize;
    let dir = tempfile::tempdir().expect("a temp dir");
    eprintln!("encoding {} s clips…", frames / clip::FPS as usize);
    std::thread::scope(|s| {
        for (feed, (width, height, kbps)) in [(0, MAIN), (1, SUB)] {
            let path = dir.path().join(server::clip_name(feed));
            s.spawn(move || clip::encode(&path, width, height, kbps, frames as u64).expect("encode a clip"));
        }
    });
    let server = Server::spawn(dir.path(), feeds);

    eprintln!("our path: {feeds} feeds, {warmup} s warm-up + {secs} s…");
    let (window, results) = ours(&server, feeds, warmup, secs);
    // Let the server tear the first phase's media down before the second phase starts.
    std::thread::sleep(Duration::from_secs(1));
    eprintln!("decoder alone: {feeds} feeds, {warmup} s warm-up + {secs} s…");
    let floor = floor(&server, feeds, warmup, secs);
    drop(server);

    for (feed, result) in results.iter().enumerate() {
        let (width, height, _) = stream(feed);
        println!(
            "feed {feed} {width}x{height} {}: fps={:.1} floor_fps={:.1} first_frame_ms={:.0} (after {} garbled) \
             latency_p50_ms={:.1} latency_p99_ms={:.1} samples={} unread={}",
            result.decoder,
            window.fps[feed],
            floor.fps[feed],
            result.first_frame_ms,
            result.garbled,
            quantile(&result.latency_ms, 0.5),
            quantile(&result.latency_ms, 0.99),
            result.latency_ms.len(),
            result.unread,
        );
    }
    let min = |fps: &[f64]| fps.iter().copied().fold(f64::INFINITY, f64::min);
    let (fps_min, floor_fps_min) = (min(&window.fps), min(&floor.fps));
    let mut all: Vec<f64> = results.iter().flat_map(|r| r.latency_ms.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let mut first: Vec<f64> = results.iter().map(|r| r.first_frame_ms).collect();
    first.sort_by(f64::total_cmp);
    println!(
        "clips: main {:.0} kbit/s, sub {:.0} kbit/s; server process: {:.2} cores with our path, {:.2} with the floor; \
         floor fps_min={floor_fps_min:.1}; first_frame_max_ms={:.0}",
        bitrate_kbps(&dir.path().join(server::clip_name(0)), frames),
        bitrate_kbps(&dir.path().join(server::clip_name(1)), frames),
        window.server_cores,
        floor.server_cores,
        first.last().copied().unwrap_or(0.0),
    );
    assert!(fps_min > 0.0 && floor_fps_min > 0.0 && !all.is_empty(), "a feed delivered nothing");
    let size = |(width, height, _): (u32, u32, u32)| format!("{width}x{height}");
    println!(
        "wall-bench feeds={feeds} sub={} main={} fps_min={fps_min:.1} cpu_cores={:.2} decode_only_cores={:.2} \
         overhead={:.2} latency_p50_ms={:.1} latency_p99_ms={:.1} first_frame_p50_ms={:.0} first_frame_p99_ms={:.0}",
        size(SUB),
        size(MAIN),
        window.cores,
        floor.cores,
        window.cores / floor.cores,
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        quantile(&first, 0.5),
        quantile(&first, 0.99),
    );
}
