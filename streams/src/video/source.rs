//! One camera feed: a URI, a pipeline that decodes it into a [`FrameSlot`], and a supervisor
//! thread that keeps the pipeline alive.
//!
//! The pipeline is `uridecodebin uri=… ! videoconvert ! I420 ! appsink`, the decoding half
//! set up by [`decoder`](super::decoder::decoder). I420 is what software decoders put out, so
//! videoconvert passes their pictures through untouched (it converts only what a hardware
//! decoder gives as NV12). Nothing is scaled on the CPU: the frame keeps the camera's own size
//! and the screen samples it at the tile's size on the GPU, where it also turns YUV into RGB
//! (see [`Frame`]). The appsink holds at most one buffer and drops the rest: a frame the
//! screen did not take in time is never shown late.
//!
//! Feeds that start together take turns to connect ([`start_gate`](super::start_gate)): a
//! few at a time, each until its first packet arrives (for RTSP, at the jitter buffer; else its
//! first compressed frame at the decoder).
//!
//! The supervisor pops bus messages with a short timeout and watches the slot's counter: an
//! error, an end of stream or no new frame for `stall_after` tears the pipeline down and builds
//! it again after a back-off (0.5 s doubling to 30 s), forever, until the feed is dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::decoder::{decoder, element};
use super::frame::{Frame, FrameSlot};
use super::health::FeedState;
use super::recorder::{ClipDone, Recorder};
use super::start_gate::{StartGate, Turn};
use crate::{Waker, backoff};

/// How a feed decodes and when it counts as stalled.
#[derive(Debug, Clone)]
pub struct VideoFeedOptions {
    /// rtspsrc jitter buffer; its default of 2000 ms is far too long for a live wall.
    pub rtsp_latency_ms: u32,
    /// No new frame for this long: the tile says "stalled".
    pub stalled_after: Duration,
    /// No new frame for this long: the pipeline is rebuilt.
    pub reconnect_after: Duration,
    /// No first frame for this long: the pipeline is rebuilt. Longer than `reconnect_after`:
    /// a platform's stream starts only once the device answered its invitation (wvp waits up
    /// to 10 s), and a camera that encodes per viewer starts its encoder first.
    pub first_frame_within: Duration,
    /// Play the stream's sound on this machine's default output (the focused tile's, when the
    /// officer turns it on). Without it a stream's sound is not even decoded.
    pub audio: bool,
}

impl Default for VideoFeedOptions {
    fn default() -> Self {
        VideoFeedOptions {
            rtsp_latency_ms: 100,
            stalled_after: Duration::from_secs(2),
            reconnect_after: Duration::from_secs(5),
            first_frame_within: Duration::from_secs(15),
            audio: false,
        }
    }
}

/// A running feed. Dropping it stops the pipeline (and ends its recording) and joins its
/// supervisor.
pub struct VideoFeed {
    name: String,
    slot: Arc<FrameSlot>,
    state: Arc<Mutex<FeedState>>,
    stop: Arc<AtomicBool>,
    recording: Arc<Mutex<Option<Arc<Recorder>>>>,
    supervisor: Option<JoinHandle<()>>,
}

impl VideoFeed {
    /// Starts decoding `uri` on a thread of its own. `name` is for logs and must not hold
    /// credentials; the URI is never logged.
    pub fn start(name: &str, uri: &str, options: VideoFeedOptions, waker: Waker) -> VideoFeed {
        let slot = Arc::new(FrameSlot::default());
        let state = Arc::new(Mutex::new(FeedState::Connecting));
        let stop = Arc::new(AtomicBool::new(false));
        let recording = Arc::new(Mutex::new(None));
        let supervisor = Supervisor {
            recording: recording.clone(),
            lives: AtomicU64::new(0),
            name: name.to_owned(),
            uri: uri.to_owned(),
            options,
            waker,
            slot: slot.clone(),
            state: state.clone(),
            stop: stop.clone(),
            frames: Arc::new(AtomicU64::new(0)),
        };
        let handle = std::thread::Builder::new().name(format!("feed {name}")).spawn(move || supervisor.run()).ok();
        if handle.is_none() {
            set(&state, FeedState::Failed { reason: "cannot start a thread".into() });
        }
        VideoFeed { name: name.to_owned(), slot, state, stop, recording, supervisor: handle }
    }

    /// Keeps what the feed receives in the Matroska file `path` (see [`super::recorder`]) until
    /// [`VideoFeed::stop_recording`], `limit`, a write error or the feed's end; `done` hears the
    /// clip or why there is none. One recording at a time.
    pub fn record(&self, path: &std::path::Path, limit: Duration, done: ClipDone) -> Result<(), String> {
        let mut recording = self.recording.lock().map_err(|_| "poisoned".to_string())?;
        if recording.is_some() {
            return Err("already recording".into());
        }
        // The slot frees itself when the recording ends, however it ends.
        let slot = Arc::downgrade(&self.recording);
        let done: ClipDone = Box::new(move |ended| {
            if let Some(slot) = slot.upgrade()
                && let Ok(mut recording) = slot.lock()
            {
                *recording = None;
            }
            done(ended);
        });
        *recording = Some(Recorder::start(path, limit, done)?);
        Ok(())
    }

    /// Ends the recording, if one runs: its `done` hears the clip once the file is closed.
    pub fn stop_recording(&self) {
        if let Some(recorder) = self.recording.lock().ok().and_then(|r| r.clone()) {
            recorder.stop();
        }
    }

    /// Whether a recording runs.
    pub fn recording(&self) -> bool {
        self.recording.lock().is_ok_and(|r| r.is_some())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn slot(&self) -> &Arc<FrameSlot> {
        &self.slot
    }

    pub fn state(&self) -> FeedState {
        self.state.lock().map(|s| s.clone()).unwrap_or(FeedState::Connecting)
    }
}

impl Drop for VideoFeed {
    fn drop(&mut self) {
        self.stop_recording();
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.supervisor.take() {
            let _ = handle.join();
        }
    }
}

fn set(state: &Mutex<FeedState>, new: FeedState) {
    if let Ok(mut s) = state.lock() {
        *s = new;
    }
}

struct Supervisor {
    name: String,
    uri: String,
    options: VideoFeedOptions,
    waker: Waker,
    slot: Arc<FrameSlot>,
    state: Arc<Mutex<FeedState>>,
    stop: Arc<AtomicBool>,
    /// Frames counted across pipeline rebuilds, so the slot's sequence keeps growing.
    frames: Arc<AtomicU64>,
    /// The recording the compressed buffers go to, when one runs.
    recording: Arc<Mutex<Option<Arc<Recorder>>>>,
    /// Pipelines built so far: a recording tells their buffers apart.
    lives: AtomicU64,
}

/// What the pipeline's hooks see for the supervisor; a fresh one for each life of a pipeline.
#[derive(Default)]
struct Observed {
    /// The video decoder's element name, and whether it is a hardware one.
    decoder: Mutex<Option<(String, bool)>>,
    /// Compressed bytes that went into the decoder.
    bytes: AtomicU64,
    /// The sequence number of the last frame whose picture differed from the one before.
    changed_at_seq: AtomicU64,
    /// The source finished exposing its streams and none was video (an audio-only stream).
    no_video: AtomicBool,
    /// Decoded sound that went to the speakers (only with [`VideoFeedOptions::audio`]).
    sound_bytes: AtomicU64,
    /// When each recent compressed frame reached the decoder, by its timestamp.
    into_decoder: Mutex<std::collections::VecDeque<(gst::ClockTime, Instant)>>,
    /// Microseconds from the decoder's input to the frame in the slot, smoothed.
    decode_latency_us: AtomicU64,
    /// This feed's turn to connect, given back when its first packet reaches the RTSP jitter
    /// buffer or (other sources) its first compressed frame reaches the decoder, or when it
    /// has been held too long.
    turn: Mutex<Option<Turn<'static>>>,
}

impl Observed {
    /// Connected: the next feed may start connecting.
    fn connected(&self) {
        drop(self.turn.lock().ok().and_then(|mut t| t.take()));
    }
}

/// The process's feeds take turns to connect: two at a time per core.
static GATE: std::sync::LazyLock<StartGate> = std::sync::LazyLock::new(|| {
    StartGate::new(2 * std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// How many frames' arrival times are remembered for the latency (a second and more at 25 fps).
const LATENCY_WINDOW: usize = 48;

/// A cheap fingerprint of a picture: FNV-1a over about 4000 bytes spread across it. Two
/// decoded pictures of a live scene differ in far more places than that; an encoder that
/// froze sends the very same one.
fn fingerprint(data: &[u8]) -> u64 {
    let step = (data.len() / 4096).max(1);
    data.iter().step_by(step).fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Sends a decoded sound pad to the default output: `queue ! audioconvert ! audioresample !
/// autoaudiosink`, added while the pipeline plays. The sink does not sync to the clock (the
/// picture does not either: both play as they come). On a machine with no sound device
/// autoaudiosink falls back to a silent sink, so the picture is never taken down for sound.
fn play_sound(pipeline: &gst::Pipeline, pad: &gst::Pad, heard: &Arc<Observed>) -> Result<(), String> {
    let (queue, convert, resample, sink) =
        (element("queue")?, element("audioconvert")?, element("audioresample")?, element("autoaudiosink")?);
    sink.set_property("sync", false);
    let chain = [&queue, &convert, &resample, &sink];
    pipeline.add_many(chain).map_err(|e| e.to_string())?;
    gst::Element::link_many(chain).map_err(|e| e.to_string())?;
    let counted = heard.clone();
    if let Some(input) = queue.static_pad("sink") {
        input.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                counted.sound_bytes.fetch_add(buffer.size() as u64, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
        for element in chain {
            element.sync_state_with_parent().map_err(|e| e.to_string())?;
        }
        pad.link(&input).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// How often a feed waiting to reconnect checks whether its camera answers again.
const KNOCK_EVERY: Duration = Duration::from_millis(500);

/// The TCP address a network source connects to (RTSP, RTMP, HTTP), for knocking; `None` for
/// files and for what cannot be resolved.
fn server_address(uri: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let (scheme, rest) = uri.split_once("://")?;
    let default_port = match scheme {
        "rtsp" | "rtspt" => 554,
        "rtmp" => 1935,
        "http" => 80,
        "https" | "rtsps" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let with_port = if host_port.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    with_port.to_socket_addrs().ok()?.next()
}

/// Why one life of a pipeline ended.
enum Ended {
    Stopped,
    Failed(String),
}

impl Supervisor {
    fn run(self) {
        let mut attempt = 0u32;
        while !self.stop.load(Ordering::Acquire) {
            let Some(turn) = GATE.enter(Duration::from_millis(100)) else { continue };
            let observed = Arc::new(Observed { turn: Mutex::new(Some(turn)), ..Observed::default() });
            let (reason, played) = match self.build(&observed) {
                Ok(pipeline) => {
                    let (ended, played) = self.watch(&pipeline, &observed);
                    let _ = pipeline.set_state(gst::State::Null);
                    match ended {
                        Ended::Stopped => return,
                        Ended::Failed(reason) => (reason, played),
                    }
                }
                Err(reason) => (reason, false),
            };
            attempt = if played { 1 } else { attempt + 1 };
            let next_in = backoff(attempt);
            tracing::warn!(feed = %self.name, %reason, attempt, ?next_in, "video feed lost");
            set(&self.state, FeedState::Reconnecting { attempt, next_in, reason });
            (self.waker)();
            // Wait out the back-off, but knock on the camera's port now and then: once it
            // answers again, try at once — the tile plays again about a keyframe after the
            // camera is back, not up to 30 s later. A knock is one TCP handshake.
            let server = server_address(&self.uri);
            let until = Instant::now() + next_in;
            let mut knock_at = Instant::now() + KNOCK_EVERY;
            while Instant::now() < until {
                if self.stop.load(Ordering::Acquire) {
                    return;
                }
                if let Some(addr) = server
                    && Instant::now() >= knock_at
                {
                    knock_at = Instant::now() + KNOCK_EVERY;
                    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The feed's own latency: decoder input to slot, plus the RTSP jitter buffer's delay for
    /// an RTSP source. What the camera and the network add before that is not known here.
    fn latency_ms(&self, observed: &Observed) -> u32 {
        let decode_ms = (observed.decode_latency_us.load(Ordering::Relaxed) / 1000) as u32;
        let jitter = if self.uri.starts_with("rtsp") { self.options.rtsp_latency_ms } else { 0 };
        decode_ms + jitter
    }

    /// Builds the pipeline; an element that cannot be made is an error, not a panic.
    fn build(&self, observed: &Arc<Observed>) -> Result<gst::Pipeline, String> {
        let pipeline = gst::Pipeline::new();
        let decode = decoder(&self.uri, self.options.rtsp_latency_ms)?;
        let convert = element("videoconvert")?;
        // A conversion (NV12 from a hardware decoder) needs no chroma resampling or
        // dithering on its way to the screen.
        convert.set_property_from_str("chroma-mode", "none");
        convert.set_property_from_str("dither", "none");
        let caps = gst_video::VideoCapsBuilder::new().format(gst_video::VideoFormat::I420).build();
        let is_file = self.uri.starts_with("file://");
        let sink = gst_app::AppSink::builder()
            .caps(&caps)
            .max_buffers(1)
            .drop(true)
            // Live sources are shown as they come; a file is paced by its own timestamps.
            .sync(is_file)
            .wait_on_eos(false)
            .enable_last_sample(false)
            .build();
        pipeline.add_many([&decode, &convert, sink.upcast_ref()]).map_err(|e| e.to_string())?;
        convert.link(&sink).map_err(|e| e.to_string())?;

        let seen = observed.clone();
        let recording = self.recording.clone();
        let life = self.lives.fetch_add(1, Ordering::Relaxed);
        pipeline.connect_deep_element_added(move |_, _, element| {
            // An RTSP feed has connected once its first packet reaches the jitter buffer: the
            // handshake is done, and what is left (the buffer's own delay, plugging the
            // depayloader and the decoder) the next feed's handshake can overlap.
            if element.factory().is_some_and(|f| f.name() == "rtpjitterbuffer")
                && let Some(sink) = element.static_pad("sink")
            {
                let first = seen.clone();
                sink.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, _| {
                    first.connected();
                    gst::PadProbeReturn::Remove
                });
            }
            let klass =
                element.factory().map(|f| f.metadata("klass").unwrap_or_default().to_owned()).unwrap_or_default();
            if klass.contains("Decoder") && klass.contains("Video") {
                let name = element.factory().map(|f| f.name().to_string()).unwrap_or_default();
                if let Ok(mut d) = seen.decoder.lock() {
                    *d = Some((name, klass.contains("Hardware")));
                }
                // The bit rate as the decoder gets it (every compressed buffer, counted) and
                // when each frame went in, for the latency to the slot.
                if let Some(sink) = element.static_pad("sink") {
                    let bytes = seen.clone();
                    let recording = recording.clone();
                    sink.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                        if let Some(buffer) = info.buffer() {
                            // The same buffer, kept as it came (no decode, no encode).
                            if let Some(recorder) = recording.lock().ok().and_then(|r| r.clone()) {
                                recorder.push(life, pad.current_caps(), buffer);
                            }
                            if bytes.bytes.fetch_add(buffer.size() as u64, Ordering::Relaxed) == 0 {
                                bytes.connected();
                            }
                            if let (Some(pts), Ok(mut recent)) = (buffer.pts(), bytes.into_decoder.lock()) {
                                if recent.len() == LATENCY_WINDOW {
                                    recent.pop_front();
                                }
                                recent.push_back((pts, Instant::now()));
                            }
                        }
                        gst::PadProbeReturn::Ok
                    });
                }
            }
        });
        let convert_sink = convert.static_pad("sink").ok_or("videoconvert has no sink pad")?;
        let video_sink = convert_sink.clone();
        let audio = self.options.audio;
        let bin = pipeline.downgrade();
        let heard = observed.clone();
        let name = self.name.clone();
        decode.connect_pad_added(move |_, pad| {
            let media = pad.current_caps().and_then(|c| c.structure(0).map(|s| s.name().to_string()));
            match media.as_deref() {
                Some(m) if m.starts_with("video/") && !video_sink.is_linked() => {
                    let _ = pad.link(&video_sink);
                }
                Some(m) if m.starts_with("audio/") && audio => {
                    if let Some(bin) = bin.upgrade()
                        && let Err(e) = play_sound(&bin, pad, &heard)
                    {
                        // The picture matters more: it plays on without sound.
                        tracing::warn!(feed = %name, error = %e, "no sound");
                    }
                }
                _ => {}
            }
        });
        // Every stream is out and none was video: a camera sending only sound.
        let seen = observed.clone();
        decode.connect_no_more_pads(move |_| {
            if !convert_sink.is_linked() {
                seen.no_video.store(true, Ordering::Release);
            }
        });

        let slot = self.slot.clone();
        let frames = self.frames.clone();
        let waker = self.waker.clone();
        let mut info: Option<(gst::Caps, gst_video::VideoInfo)> = None;
        let mut last_fingerprint = None;
        let seen = observed.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let caps = sample.caps().ok_or(gst::FlowError::NotNegotiated)?;
                    if info.as_ref().is_none_or(|(c, _)| c != caps) {
                        let parsed =
                            gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::NotNegotiated)?;
                        info = Some((caps.to_owned(), parsed));
                    }
                    let Some((_, vi)) = info.as_ref() else {
                        return Err(gst::FlowError::NotNegotiated);
                    };
                    let buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                    let went_in = buffer.pts().and_then(|pts| {
                        let recent = seen.into_decoder.lock().ok()?;
                        recent.iter().find(|(p, _)| *p == pts).map(|(_, at)| *at)
                    });
                    if let Some(went_in) = went_in {
                        // An exponential average over about eight frames.
                        let now_us = went_in.elapsed().as_micros() as u64;
                        let old = seen.decode_latency_us.load(Ordering::Relaxed);
                        let smoothed = if old == 0 { now_us } else { (old * 7 + now_us) / 8 };
                        seen.decode_latency_us.store(smoothed, Ordering::Relaxed);
                    }
                    let data = buffer.into_mapped_buffer_readable().map_err(|_| gst::FlowError::Error)?;
                    let seq = frames.fetch_add(1, Ordering::AcqRel) + 1;
                    let print = fingerprint(&data);
                    if last_fingerprint.replace(print) != Some(print) {
                        seen.changed_at_seq.store(seq, Ordering::Release);
                    }
                    slot.put(Frame::decoded(vi, seq, data).ok_or(gst::FlowError::Error)?);
                    waker();
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );

        pipeline.set_state(gst::State::Playing).map_err(|_| "the source refused to start".to_string())?;
        tracing::info!(feed = %self.name, "video feed connecting");
        Ok(pipeline)
    }

    /// Watches one life of a pipeline. Returns how it ended and whether it played.
    fn watch(&self, pipeline: &gst::Pipeline, observed: &Observed) -> (Ended, bool) {
        let Some(bus) = pipeline.bus() else {
            return (Ended::Failed("pipeline without a bus".into()), false);
        };
        let started = Instant::now();
        let mut last_seq = self.slot.seq();
        let mut last_frame_at = started;
        let mut played = false;
        // Since when: frames, compressed bytes, sound bytes.
        let mut window = (Instant::now(), 0u32, 0u64, 0u64);
        // When the picture last changed (not just when a frame came).
        let (mut changed_seq, mut changed_at) = (0, started);
        loop {
            if self.stop.load(Ordering::Acquire) {
                return (Ended::Stopped, played);
            }
            if let Ok(mut turn) = observed.turn.lock()
                && turn.as_ref().is_some_and(Turn::expired)
            {
                *turn = None;
            }
            if observed.no_video.load(Ordering::Acquire) {
                return (Ended::Failed("the stream has no video (sound only)".into()), played);
            }
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
                use gst::MessageView;
                match msg.view() {
                    MessageView::Error(err) => {
                        return (Ended::Failed(err.error().to_string()), played);
                    }
                    // A file plays in a loop: back to its start, without tearing anything down.
                    MessageView::Eos(_) if self.uri.starts_with("file://") => {
                        let flags = gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT;
                        if pipeline.seek_simple(flags, gst::ClockTime::ZERO).is_err() {
                            return (Ended::Failed("the file cannot be played again".into()), played);
                        }
                    }
                    MessageView::Eos(_) => return (Ended::Failed("end of stream".into()), played),
                    _ => {}
                }
            }
            let now = Instant::now();
            let seq = self.slot.seq();
            if seq != last_seq {
                window.1 += (seq - last_seq) as u32;
                last_seq = seq;
                last_frame_at = now;
                if !played {
                    tracing::info!(feed = %self.name, first_frame_ms = started.elapsed().as_millis() as u64, "video feed playing");
                    played = true;
                }
            }
            let changed = observed.changed_at_seq.load(Ordering::Acquire);
            if changed != changed_seq {
                (changed_seq, changed_at) = (changed, now);
            }
            let silent = now - last_frame_at;
            let frozen = now - changed_at;
            let patience = if played { self.options.reconnect_after } else { self.options.first_frame_within };
            if silent >= patience {
                return (Ended::Failed(format!("no frames for {} s", silent.as_secs())), played);
            }
            if played && frozen >= self.options.reconnect_after {
                return (Ended::Failed(format!("the same picture for {} s", frozen.as_secs())), played);
            }
            let elapsed = now - window.0;
            if elapsed >= Duration::from_secs(1) {
                let bytes = observed.bytes.load(Ordering::Relaxed);
                let sound = observed.sound_bytes.load(Ordering::Relaxed);
                let new_state = if played && silent >= self.options.stalled_after {
                    FeedState::Stalled { for_secs: silent.as_secs(), frozen: false }
                } else if played && frozen >= self.options.stalled_after {
                    FeedState::Stalled { for_secs: frozen.as_secs(), frozen: true }
                } else if played {
                    let (width, height) = self.slot.newest().map(|f| (f.width, f.height)).unwrap_or_default();
                    let (decoder, hardware) = observed.decoder.lock().ok().and_then(|d| d.clone()).unwrap_or_default();
                    FeedState::Playing {
                        fps: window.1 as f32 / elapsed.as_secs_f32(),
                        width,
                        height,
                        kbps: ((bytes - window.2) as f64 * 8.0 / 1000.0 / elapsed.as_secs_f64()) as u32,
                        decoder,
                        hardware,
                        sound: sound > window.3,
                        latency_ms: self.latency_ms(observed),
                    }
                } else {
                    FeedState::Connecting
                };
                set(&self.state, new_state);
                (self.waker)();
                window = (now, 0, bytes, sound);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::server_address;

    #[test]
    fn the_server_of_a_stream_is_found_behind_a_login_and_default_ports() {
        let at = |uri: &str| server_address(uri).map(|a| a.to_string());
        assert_eq!(at("rtsp://admin:p%40ss@127.0.0.1:8554/cam/1").as_deref(), Some("127.0.0.1:8554"));
        assert_eq!(at("rtsp://127.0.0.1/Streaming/Channels/101").as_deref(), Some("127.0.0.1:554"));
        assert_eq!(at("rtmp://127.0.0.1/live/cam").as_deref(), Some("127.0.0.1:1935"));
        assert_eq!(at("http://127.0.0.1:8080/cam.m3u8?token=x").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(at("file:///var/clips/a.mkv"), None);
    }
}
