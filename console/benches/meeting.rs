//! `make bench-meeting`: what a meeting costs the console.
//!
//! Debian's Janus is started the way the center's server starts it. A second process of this
//! bench (`--sites`) joins six sites, each sending 640×360 at 25 fps (H.264 + Opus, the
//! console's own sender), with the time each picture was taken drawn into it
//! ([`linkage_tests::barcode`], milliseconds of the system clock modulo 2^16) and a 100 ms tone
//! burst every 500 ms of the system clock in its voice. This process is the console: it sends
//! its own 640×360 picture at 25 fps and receives the six sites — pictures decoded to I420
//! into the frame slots the screen draws from, voices decoded — so its CPU is the console's
//! receive path up to the frame ready for upload plus its send path with the encoder; Janus
//! and the sites' process are apart.
//!
//! - `join_to_frame`: from asking Janus for a site's feed (as the console's receiving
//!   participant, joined once before the six, its join printed apart) to its first decoded
//!   picture;
//! - `glass_to_glass`: a picture's arrival in the slot minus the time drawn into it;
//! - `mouth_to_ear`: a burst's onset in the decoded voice minus the 500 ms mark it began at;
//! - `cpu_cores`: this process's CPU seconds per second over the window;
//! - `fps_min`: the slowest site's decoded pictures per second.
//!
//! Goals: J ≤ 1000, L ≤ 200, M ≤ 200, C ≤ 0.5, F ≥ 24. Last line, exactly:
//! `meeting-bench sites=6 join_to_frame_p50_ms=J glass_to_glass_p95_ms=L mouth_to_ear_p95_ms=M cpu_cores=C fps_min=F`

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use serde_json::json;
use streams::meeting::{Member, Publisher, Room, Source, Subscriber, Voice};

const SITES: u64 = 6;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 25;
const WARMUP: Duration = Duration::from_secs(3);
const WINDOW: Duration = Duration::from_secs(20);
/// A burst every this many ms of the system clock, this long.
const BURST_EVERY_MS: u64 = 500;
const BURST_MS: u64 = 100;

/// Milliseconds of the system clock.
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn source(label: &str, tone_hz: u32) -> Source {
    Source::Test { label: label.to_owned(), width: WIDTH, height: HEIGHT, fps: FPS, tone_hz }
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(((values.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN)
}

/// The sites' process: joins `SITES` publishers that stamp their pictures and burst their
/// voices, says `ready`, and runs until its stdin closes.
fn sites(sfu: &str, room: u64) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let room = Room { sfu: sfu.to_owned(), room };
    let mut publishers = vec![];
    for n in 1..=SITES {
        let publisher = runtime
            .block_on(Publisher::join(
                &room,
                (10 + n, "", &format!("site {n}")),
                &source(&format!("村{n}"), 440),
                runtime.handle(),
            ))
            .expect("a site joins");
        let (picture, voice) = publisher.raw_pads();
        stamp_pictures(&picture.expect("the raw picture's pad"));
        burst_voice(&voice.expect("the raw voice's pad"));
        publishers.push(publisher);
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// Draws the time each picture passes (ms of the system clock, modulo 2^16) into it.
fn stamp_pictures(pad: &gst::Pad) {
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, WIDTH, HEIGHT).build().expect("I420 info");
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
        if let Some(buffer) = probe.buffer_mut()
            && let Ok(mut frame) = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer.make_mut(), &info)
        {
            linkage_tests::barcode::draw(&mut frame, (now_ms() & 0xffff) as u32);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Makes the voice silence with a 1 kHz burst for the first `BURST_MS` of every
/// `BURST_EVERY_MS` of the system clock. A buffer is taken to come as a microphone's does: its
/// last sample spoken just now, the others before it at 48 kHz.
fn burst_voice(pad: &gst::Pad) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
        let Some(buffer) = probe.buffer_mut() else { return gst::PadProbeReturn::Ok };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        if let Ok(mut map) = buffer.make_mut().map_writable() {
            let count = map.len() / 2;
            for (i, sample) in map.as_mut_slice().chunks_exact_mut(2).enumerate() {
                let at = now - (count - 1 - i) as f64 / 48.0;
                let phase = at.rem_euclid(BURST_EVERY_MS as f64);
                let value =
                    if phase < BURST_MS as f64 { (20000.0 * (at * std::f64::consts::TAU).sin()) as i16 } else { 0 };
                sample.copy_from_slice(&value.to_le_bytes());
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// Burst onsets heard in one site's decoded voice: the delay after their 500 ms mark, in ms.
#[derive(Default)]
struct Ear {
    quiet_for: usize,
    delays: Vec<f64>,
}

impl Ear {
    fn hear(&mut self, samples: &[i16]) {
        let arrived = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        for (i, s) in samples.iter().enumerate() {
            if s.unsigned_abs() > 6000 {
                // An onset after at least 200 ms of quiet.
                if self.quiet_for > 48 * 200 {
                    let onset = arrived - (samples.len() - i) as f64 / 48.0;
                    self.delays.push(onset.rem_euclid(BURST_EVERY_MS as f64));
                }
                self.quiet_for = 0;
            } else {
                self.quiet_for += 1;
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    streams::video::init().expect("GStreamer");
    if let Some(at) = args.iter().position(|a| a == "--sites") {
        let sfu = &args[at + 1];
        let room = args[at + 2].parse().expect("a room number");
        return sites(sfu, room);
    }
    let ip = linkage_tests::own_ipv4();
    let dir = tempfile::tempdir().expect("a temp dir");
    let janus = linkage::center::meeting::sfu::StartedSfu::start(&dir.path().join("janus"), Some(ip), None)
        .expect("Janus starts");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let number = 4242;
    runtime.block_on(async {
        let session = streams::janus::Session::open(&janus.url).await.expect("a Janus session");
        let admin = session.attach().await.expect("a handle");
        // Receivers join as participants first, as in a meeting's room (`require_pvtid`).
        let create = json!({"request": "create", "admin_key": janus.admin_key, "room": number, "publishers": 16,
            "videocodec": "h264", "audiocodec": "opus", "is_private": true, "require_pvtid": true});
        session.request(admin, create).await.expect("the room");
    });
    let room = Room { sfu: janus.url.clone(), room: number };

    let exe = std::env::current_exe().expect("the bench knows its path");
    let mut sites = Command::new(exe)
        .args(["--sites", &janus.url, &number.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sites' process");
    let mut said = String::new();
    BufReader::new(sites.stdout.take().expect("its stdout")).read_line(&mut said).expect("the sites say ready");
    assert_eq!(said.trim(), "ready", "the sites' process");

    // The console: its own picture out, the six sites in.
    let _own = runtime
        .block_on(Publisher::join(&room, (30, "", "console"), &source("青溪镇综治中心", 880), runtime.handle()))
        .expect("the console sends");
    // The console's place in the room for receiving, joined once for all six.
    let asked = Instant::now();
    let member = runtime.block_on(Member::join(&room, "", runtime.handle())).expect("the console joins to receive");
    let member_ms = asked.elapsed().as_secs_f64() * 1000.0;
    let mut joins = vec![];
    let mut watching = vec![];
    let ears: Vec<Arc<Mutex<Ear>>> = (0..SITES).map(|_| Arc::default()).collect();
    for (n, ear) in (1..=SITES).zip(&ears) {
        let ear = ear.clone();
        let voice = Voice::Samples(Arc::new(move |samples: &[i16]| {
            if let Ok(mut ear) = ear.lock() {
                ear.hear(samples);
            }
        }));
        let asked = Instant::now();
        let subscriber = runtime
            .block_on(Subscriber::watch(
                &room,
                (10 + n, member.private_id),
                voice,
                streams::no_waker(),
                runtime.handle(),
            ))
            .expect("the console receives a site");
        while subscriber.frames.load(Ordering::Acquire) == 0 {
            assert!(asked.elapsed() < Duration::from_secs(10), "no picture of site {n} in 10 s");
            std::thread::sleep(Duration::from_millis(1));
        }
        joins.push(asked.elapsed().as_secs_f64() * 1000.0);
        watching.push(subscriber);
    }

    std::thread::sleep(WARMUP);
    for ear in &ears {
        if let Ok(mut ear) = ear.lock() {
            ear.delays.clear();
        }
    }
    let frames_from: Vec<u64> = watching.iter().map(|s| s.frames.load(Ordering::Acquire)).collect();
    let cpu_from = linkage_tests::cpu_seconds("self");
    let started = Instant::now();
    let mut seen: Vec<u64> = vec![0; watching.len()];
    let mut glass = vec![];
    let mut unread = 0;
    while started.elapsed() < WINDOW {
        for (s, last) in watching.iter().zip(seen.iter_mut()) {
            let Some(frame) = s.slot.newest() else { continue };
            if frame.seq == *last {
                continue;
            }
            *last = frame.seq;
            let arrived = frame.received.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
            match linkage_tests::barcode::read(&frame) {
                Some(taken) => glass.push(((arrived & 0xffff) as i64 - i64::from(taken)).rem_euclid(1 << 16) as f64),
                None => unread += 1,
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let seconds = started.elapsed().as_secs_f64();
    let cores = (linkage_tests::cpu_seconds("self") - cpu_from) / seconds;
    let fps: Vec<f64> = watching
        .iter()
        .zip(&frames_from)
        .map(|(s, from)| (s.frames.load(Ordering::Acquire) - from) as f64 / seconds)
        .collect();
    let mut ear: Vec<f64> = ears.iter().filter_map(|e| e.lock().ok()).flat_map(|e| e.delays.clone()).collect();
    drop(sites.stdin.take());
    let _ = sites.wait();

    let fps_min = fps.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "per site fps {fps:.1?}; member joined in {member_ms:.0} ms; joins {joins:.0?} ms; pictures read {} (unread {unread}); bursts heard {}",
        glass.len(),
        ear.len()
    );
    println!(
        "meeting-bench sites={SITES} join_to_frame_p50_ms={:.0} glass_to_glass_p95_ms={:.1} mouth_to_ear_p95_ms={:.1} cpu_cores={:.2} fps_min={:.1}",
        quantile(&mut joins, 0.5),
        quantile(&mut glass, 0.95),
        quantile(&mut ear, 0.95),
        cores,
        fps_min
    );
}
