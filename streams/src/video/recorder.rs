//! Evidence clips: a feed's compressed stream kept in a Matroska file as it arrives.
//!
//! The buffers are taken where they enter the feed's decoder (a pad probe that was already
//! there to count them) and pushed into a pipeline of their own, `appsrc ! parser ! matroskamux
//! ! filesink`: nothing is encoded again and nothing decoded twice, so a recording costs a
//! copy and the disk's write. The clip starts at a keyframe; its timestamps are the stream's
//! own, moved to start at zero (and, when the feed's pipeline is rebuilt after a loss, carried
//! on from where the last life ended). Matroska survives a cut: a clip stopped by a full disk or
//! a crash still plays up to its last write.
//!
//! The recording does not hold the video: the feed's thread hands each buffer over (a full
//! queue drops it) — only at the first keyframe does it also start the clip's pipeline (a
//! parser linked, the file opened) — and a write error, a full disk, ends the recording with
//! its reason while the tile plays on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::decoder::element;

/// What was kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub path: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file, hex: what the log records, so the clip can be shown unaltered.
    pub sha256: String,
    /// The stream time it covers.
    pub seconds: f64,
    /// Why it ended before it was asked to (a full disk, a file not closed in time): it plays
    /// up to its last write.
    pub cut: Option<String>,
}

/// Told once when a recording ends: the clip, or why there is none worth keeping.
pub type ClipDone = Box<dyn FnOnce(Result<Clip, String>) + Send>;

/// How far a recording got.
#[derive(Default, Clone, PartialEq)]
enum Phase {
    /// No keyframe yet: nothing written.
    #[default]
    Waiting,
    Recording,
    /// It could not start, or its file could not be written (why): nothing more goes in.
    Failed(String),
}

/// How long a recording asked to end may take to close its file.
const CLOSING: Duration = Duration::from_secs(10);

/// Where the recording is, and where the stream's timestamps are moved to.
#[derive(Default)]
struct Timing {
    phase: Phase,
    /// The feed pipeline's life the buffers come from, and that life's first timestamp.
    life: Option<(u64, gst::ClockTime)>,
    /// Where that life starts in the clip.
    offset: gst::ClockTime,
    /// The end of the last buffer pushed, in clip time.
    end: gst::ClockTime,
    /// The caps of the buffers pushed last.
    caps: Option<gst::Caps>,
}

/// One recording in progress. The feed pushes into it; its own thread watches its pipeline,
/// ends it when its time is up or when asked, and reports the clip.
pub struct Recorder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    timing: Mutex<Timing>,
    /// Asked to end (by [`Recorder::stop`] or its time limit).
    ending: AtomicBool,
}

/// The queue between the feed and the file: enough for a few seconds of a main stream.
const QUEUE_BYTES: u64 = 16 << 20;

impl Recorder {
    /// Starts a recording into `path` (its folder must exist) for at most `limit`; `done` hears
    /// how it ended. The file is made now, and must be new (a clip already kept is never
    /// written over): a path that cannot be written is an error here. A recording that ends
    /// with nothing in it leaves no file.
    pub fn start(path: &Path, limit: Duration, done: ClipDone) -> Result<Arc<Recorder>, String> {
        // A device (/dev/full) is not a file to make, keep or hash: it is opened as it is.
        use std::os::unix::fs::FileTypeExt;
        let device = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device());
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(!device)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let started = Recorder::build(path).and_then(|recorder| {
            let watched = recorder.clone();
            let path = path.to_owned();
            std::thread::Builder::new()
                .name("clip".into())
                .spawn(move || {
                    let ended = watched.watch(limit);
                    let _ = watched.pipeline.set_state(gst::State::Null);
                    let wrote = watched.timing.lock().is_ok_and(|t| t.caps.is_some());
                    if !wrote && !device {
                        let _ = std::fs::remove_file(&path);
                    }
                    done(match ended {
                        Ok((seconds, cut)) if !device => clip(&path, seconds, cut),
                        Ok((_, Some(reason))) | Err(reason) => Err(reason),
                        Ok((_, None)) => Err(format!("{} is a device: nothing was kept", path.display())),
                    });
                })
                .map_err(|e| e.to_string())?;
            Ok(recorder)
        });
        if started.is_err() && !device {
            let _ = std::fs::remove_file(path);
        }
        started
    }

    /// The clip's pipeline, without its parser (linked at the first keyframe).
    fn build(path: &Path) -> Result<Arc<Recorder>, String> {
        let pipeline = gst::Pipeline::new();
        let appsrc = gst_app::AppSrc::builder()
            .format(gst::Format::Time)
            .is_live(true)
            .max_bytes(QUEUE_BYTES)
            .block(false)
            .leaky_type(gst_app::AppLeakyType::Upstream)
            .build();
        let mux = element("matroskamux")?;
        let sink = element("filesink")?;
        sink.set_property("location", path.to_string_lossy().as_ref());
        sink.set_property("async", false);
        pipeline.add_many([appsrc.upcast_ref(), &mux, &sink]).map_err(|e| e.to_string())?;
        mux.link(&sink).map_err(|e| e.to_string())?;
        Ok(Arc::new(Recorder { pipeline, appsrc, timing: Mutex::default(), ending: AtomicBool::new(false) }))
    }

    /// Hands one compressed buffer over, from the feed's streaming thread: `life` tells the
    /// feed's pipelines apart, `caps` are its pad's.
    pub(super) fn push(&self, life: u64, caps: Option<gst::Caps>, buffer: &gst::Buffer) {
        let Ok(mut timing) = self.timing.lock() else { return };
        let Some(pts) = buffer.pts() else { return };
        // Ended, or failed: nothing more goes in.
        if self.ending.load(Ordering::Acquire) || matches!(timing.phase, Phase::Failed(_)) {
            return;
        }
        if timing.phase == Phase::Waiting {
            // The clip starts at a keyframe, with the parser its codec needs.
            let Some(caps) = caps.filter(|_| !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)) else { return };
            if let Err(e) = self.begin(&caps) {
                tracing::warn!(error = %e, "recording not started");
                timing.phase = Phase::Failed(e);
                return;
            }
            timing.phase = Phase::Recording;
            timing.caps = Some(caps);
        } else if let Some(caps) = caps.filter(|c| timing.caps.as_ref() != Some(c)) {
            // Another life of the feed may come with other caps (new parameter sets): the
            // parser takes them in its stride.
            self.appsrc.set_caps(Some(&caps));
            timing.caps = Some(caps);
        }
        if timing.life.is_none_or(|(l, _)| l != life) {
            // A new life: it goes on where the last one ended.
            let offset = timing.end;
            timing.life = Some((life, pts));
            timing.offset = offset;
        }
        let Some((_, first)) = timing.life else { return };
        let moved = |t: gst::ClockTime| t.saturating_sub(first) + timing.offset;
        let mut out = buffer.copy();
        {
            let Some(out) = out.get_mut() else { return };
            out.set_pts(moved(pts));
            out.set_dts(buffer.dts().map(moved));
        }
        let duration = buffer.duration().unwrap_or(gst::ClockTime::from_mseconds(40));
        timing.end = timing.end.max(moved(pts) + duration);
        let _ = self.appsrc.push_buffer(out);
    }

    /// Links the parser for `caps` and starts the pipeline.
    fn begin(&self, caps: &gst::Caps) -> Result<(), String> {
        let name = caps.structure(0).map(|s| s.name().to_string()).unwrap_or_default();
        let parser = match name.as_str() {
            "video/x-h264" => "h264parse",
            "video/x-h265" => "h265parse",
            other => return Err(format!("{other} cannot be kept without re-encoding")),
        };
        let parse = element(parser)?;
        let mux = self.pipeline.iterate_elements().find(|e| e.factory().is_some_and(|f| f.name() == "matroskamux"));
        let mux = mux.ok_or("no muxer")?;
        self.pipeline.add(&parse).map_err(|e| e.to_string())?;
        self.appsrc.set_caps(Some(caps));
        gst::Element::link_many([self.appsrc.upcast_ref(), &parse, &mux]).map_err(|e| e.to_string())?;
        self.pipeline.set_state(gst::State::Playing).map_err(|_| "the recording would not start".to_string())?;
        Ok(())
    }

    /// Ends the recording: the file is closed and `done` told. Taken under the timing's lock,
    /// so that a recording starting at this moment sees it.
    pub fn stop(&self) {
        let _timing = self.timing.lock();
        self.ending.store(true, Ordering::Release);
        let _ = self.appsrc.end_of_stream();
    }

    /// Watches the pipeline until the file is closed: the stream time kept (and why it was cut
    /// short, when it was), or why nothing was kept.
    fn watch(&self, limit: Duration) -> Result<(f64, Option<String>), String> {
        let Some(bus) = self.pipeline.bus() else { return Err("the recording has no bus".into()) };
        // The clip's length counts from its first keyframe, so a clip asked for 5 s is 5 s long
        // (a keyframe may come a second after the ask); with none, the ask ends at its limit.
        let asked = Instant::now();
        let mut first_keyframe = None;
        let mut closing_since = None;
        loop {
            let phase = self.timing.lock().map_err(|_| "poisoned".to_string())?.phase.clone();
            if phase == Phase::Recording {
                first_keyframe.get_or_insert_with(Instant::now);
            }
            if !self.ending.load(Ordering::Acquire) && first_keyframe.unwrap_or(asked).elapsed() >= limit {
                self.stop();
            }
            match phase {
                Phase::Failed(reason) => return Err(reason),
                // Ended before a keyframe came: the pipeline never started, no end will flow.
                Phase::Waiting if self.ending.load(Ordering::Acquire) => {
                    return Err("no picture came to record".into());
                }
                _ => {}
            }
            let kept = || self.timing.lock().map(|t| t.end.seconds_f64()).map_err(|_| "poisoned".to_string());
            if self.ending.load(Ordering::Acquire) {
                let since = *closing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= CLOSING {
                    return Ok((kept()?, Some("the clip's file was not closed in time".into())));
                }
            }
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else { continue };
            match msg.view() {
                gst::MessageView::Eos(_) => return Ok((kept()?, None)),
                gst::MessageView::Error(err) => {
                    // The feed goes on without us: nothing more is pushed. What was written
                    // before the error is the clip.
                    let reason = err.error().to_string();
                    if let Ok(mut timing) = self.timing.lock() {
                        timing.phase = Phase::Failed(reason.clone());
                    }
                    return Ok((kept()?, Some(reason)));
                }
                _ => {}
            }
        }
    }
}

/// The clip's file, hashed as it is read.
fn clip(path: &Path, seconds: f64, cut: Option<String>) -> Result<Clip, String> {
    use std::io::Read;
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(failed)?;
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let (mut chunk, mut bytes) = (vec![0u8; 1 << 20], 0u64);
    loop {
        let n = file.read(&mut chunk).map_err(failed)?;
        if n == 0 {
            break;
        }
        hash.update(&chunk[..n]);
        bytes += n as u64;
    }
    if bytes == 0 {
        let _ = std::fs::remove_file(path);
        return Err(cut.unwrap_or_else(|| "nothing was written".into()));
    }
    let sha256 = crate::http::hex(hash.finish().as_ref());
    Ok(Clip { path: path.to_owned(), bytes, sha256, seconds, cut })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// H.264 access units as a camera sends them: 2 s at 25 fps, a keyframe a second.
    fn encoded() -> (gst::Caps, Vec<gst::Buffer>) {
        gst::init().unwrap();
        let line = "videotestsrc num-buffers=50 ! video/x-raw,width=320,height=180,framerate=25/1 \
                    ! x264enc key-int-max=25 speed-preset=ultrafast ! h264parse \
                    ! video/x-h264,stream-format=avc,alignment=au ! appsink name=out sync=false";
        let pipeline = gst::parse::launch(line).unwrap().downcast::<gst::Bin>().unwrap();
        let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut caps = None;
        let mut buffers = vec![];
        while let Ok(sample) = sink.pull_sample() {
            caps = sample.caps().map(|c| c.to_owned());
            buffers.push(sample.buffer_owned().unwrap());
        }
        pipeline.set_state(gst::State::Null).unwrap();
        (caps.unwrap(), buffers)
    }

    /// A recording into `dir`, and where its end is told.
    fn recording(dir: &Path) -> (Arc<Recorder>, std::sync::mpsc::Receiver<Result<Clip, String>>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let done: ClipDone = Box::new(move |e| tx.send(e).unwrap());
        (Recorder::start(&dir.join("c.mkv"), Duration::from_secs(60), done).unwrap(), rx)
    }

    #[test]
    fn a_clip_is_written_without_decoding_or_encoding_and_starts_at_a_keyframe() {
        let (caps, buffers) = encoded();
        let dir = tempfile::tempdir().unwrap();
        let (recorder, rx) = recording(dir.path());
        // Joining mid-GOP: the deltas before the next keyframe are not kept.
        for buffer in &buffers[10..] {
            recorder.push(0, Some(caps.clone()), buffer);
        }
        let kinds: Vec<String> = recorder
            .pipeline
            .iterate_recurse()
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.factory().map(|f| f.metadata("klass").unwrap_or_default().to_owned()))
            .collect();
        assert!(!kinds.iter().any(|k| k.contains("Decoder") || k.contains("Encoder")), "{kinds:?}");
        recorder.stop();
        let clip = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
        // From the keyframe at buffer 25 to the end: 25 frames, a second.
        assert!((clip.seconds - 1.0).abs() < 0.05, "{} s", clip.seconds);
    }

    #[test]
    fn a_codec_that_cannot_be_kept_ends_the_recording_at_once_with_why_and_leaves_no_file() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (recorder, rx) = recording(dir.path());
        let caps = gst::Caps::builder("video/x-vp8").build();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        buffer.get_mut().unwrap().set_pts(gst::ClockTime::ZERO);
        recorder.push(0, Some(caps), &buffer);
        let ended = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(ended, Err("video/x-vp8 cannot be kept without re-encoding".into()));
        assert!(!dir.path().join("c.mkv").exists(), "the empty file is gone");
    }

    #[test]
    fn a_recording_stopped_before_any_keyframe_says_so() {
        let (caps, buffers) = encoded();
        let dir = tempfile::tempdir().unwrap();
        let (recorder, rx) = recording(dir.path());
        recorder.push(0, Some(caps), &buffers[3]);
        recorder.stop();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), Err("no picture came to record".into()));
        assert!(!dir.path().join("c.mkv").exists(), "no file is left for a clip that never began");
        let refused = Recorder::start(Path::new("/nonexistent/dir/c.mkv"), Duration::from_secs(1), Box::new(|_| {}));
        assert!(refused.err().is_some_and(|e| e.starts_with("/nonexistent/dir/c.mkv")));
    }
}
