//! The alarm sound: a two-tone chime that repeats while something is unacknowledged.
//!
//! A GStreamer pipeline (`audiotestsrc ! volume ! autoaudiosink`) is built when ringing starts
//! and torn down when it stops; a thread gates the volume on and off for the rhythm. A machine
//! without an audio device cannot ring: that is logged once a minute and the console's banner
//! (which never dismisses itself) carries the alarm alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

/// Rings while [`AlarmSound::set_ringing`] says so. Dropping it silences it.
pub struct AlarmSound {
    ringing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One beat of the rhythm: tone on, tone off.
const ON: Duration = Duration::from_millis(350);
const OFF: Duration = Duration::from_millis(650);

impl AlarmSound {
    pub fn start() -> AlarmSound {
        let ringing = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (ringing.clone(), stop.clone());
        let thread = std::thread::Builder::new().name("alarm sound".into()).spawn(move || ring(&r, &s)).ok();
        AlarmSound { ringing, stop, thread }
    }

    pub fn set_ringing(&self, on: bool) {
        self.ringing.store(on, Ordering::Release);
    }
}

impl Drop for AlarmSound {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn build() -> Result<(gst::Pipeline, gst::Element), String> {
    gst::init().map_err(|e| e.to_string())?;
    let pipeline = gst::parse::launch(
        "audiotestsrc is-live=true wave=sine freq=880 volume=0.6 ! audioconvert ! audioresample \
         ! volume name=gate mute=true ! autoaudiosink",
    )
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    let gate = pipeline.by_name("gate").ok_or("no volume element")?;
    pipeline.set_state(gst::State::Playing).map_err(|_| "no audio output".to_string())?;
    Ok((pipeline, gate))
}

fn ring(ringing: &AtomicBool, stop: &AtomicBool) {
    let mut pipeline: Option<(gst::Pipeline, gst::Element)> = None;
    let mut failed_at: Option<Instant> = None;
    let mut beat = Instant::now();
    while !stop.load(Ordering::Acquire) {
        let want = ringing.load(Ordering::Acquire);
        if want && pipeline.is_none() && failed_at.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            match build() {
                Ok(p) => {
                    pipeline = Some(p);
                    failed_at = None;
                    beat = Instant::now();
                }
                Err(reason) => {
                    tracing::warn!(%reason, "alarm sound unavailable; the banner carries the alarm");
                    failed_at = Some(Instant::now());
                }
            }
        }
        if !want && let Some((p, _)) = pipeline.take() {
            let _ = p.set_state(gst::State::Null);
        }
        if let Some((p, gate)) = &pipeline {
            let errored = p.bus().and_then(|b| b.pop_filtered(&[gst::MessageType::Error])).is_some();
            if errored {
                tracing::warn!("alarm sound output failed");
                let _ = p.set_state(gst::State::Null);
                pipeline = None;
                failed_at = Some(Instant::now());
                continue;
            }
            let phase = beat.elapsed().as_millis() % (ON + OFF).as_millis();
            gate.set_property("mute", phase >= ON.as_millis());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some((p, _)) = pipeline {
        let _ = p.set_state(gst::State::Null);
    }
}
