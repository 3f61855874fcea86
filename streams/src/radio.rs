//! Radio calls: an order read aloud and sent to a radio-over-IP gateway as RTP G.711.
//!
//! Text to speech is espeak-ng (its Mandarin voice `cmn`, Debian package `espeak-ng`); the
//! speech goes through GStreamer: `wavparse ! audioconvert ! audioresample` to 8 kHz mono,
//! `mulawenc` (G.711 µ-law), `rtppcmupay` with exactly 20 ms per packet (160 samples), and
//! `udpsink` at real-time pace to the gateway's address — unicast, or multicast for a
//! talk-group.
//!
//! PTT framing: one call is one RTP stream with its own SSRC, derived from the message's
//! idempotency key, so a gateway (and our tests) can tell a resent call from a new one. The
//! first packet carries the marker bit (start of a talk-spurt, RFC 3551 §4.1); the gateway keys
//! the transmitter on the first packet and releases it when packets stop for longer than its
//! hang time. Half a second of silence leads the speech so the key-up does not clip the first
//! word.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

/// Sample rate of G.711.
pub const RATE: u32 = 8000;
/// Milliseconds of audio per RTP packet.
pub const PTIME_MS: u64 = 20;

/// G.711 as both ends may speak it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// A-law, payload type 8: China's (and Europe's) telephone networks.
    Pcma,
    /// µ-law, payload type 0: what a plain RTP gateway is sent.
    Pcmu,
}

impl Codec {
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcma => 8,
            Codec::Pcmu => 0,
        }
    }

    /// The GStreamer encoder and payloader.
    fn elements(self) -> (&'static str, &'static str) {
        match self {
            Codec::Pcma => ("alawenc", "rtppcmapay"),
            Codec::Pcmu => ("mulawenc", "rtppcmupay"),
        }
    }
}

/// How a call's RTP goes: in which codec, and from which local port (the one a SIP offer named;
/// `None`: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub codec: Codec,
    pub from_port: Option<u16>,
}

impl Media {
    /// Plain RTP: µ-law from any port.
    pub const PLAIN: Media = Media { codec: Codec::Pcmu, from_port: None };
}

/// The SSRC of a call: a stable hash (FNV-1a) of its idempotency key.
pub fn ssrc_for(key: &str) -> u32 {
    key.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Speaks `text` into a WAV file at `path` with espeak-ng's `voice`.
pub fn speak(text: &str, voice: &str, path: &Path) -> Result<(), String> {
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(path)
        .arg("--")
        .arg(text)
        .output()
        .map_err(|e| format!("cannot run espeak-ng (Debian package espeak-ng): {e}"))?;
    if !out.status.success() {
        return Err(format!("espeak-ng failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// What a finished call reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub ssrc: u32,
    /// How long the transmission took (real time: the sink keeps pace).
    pub took: Duration,
}

/// A call on the air: the first packet has left; [`OnAir::finish`] waits for the last.
pub struct OnAir {
    pipeline: gst::Pipeline,
    ssrc: u32,
    to: SocketAddr,
    started: Instant,
    _wav: Option<TempWav>,
}

/// Reads `text` out with `voice` and starts transmitting it to `to` as one RTP call; returns
/// once the first packet is on the air. `key` names the call (its SSRC).
pub fn call(text: &str, voice: &str, to: SocketAddr, key: &str, media: Media) -> Result<OnAir, String> {
    let wav = TempWav::new(key);
    speak(text, voice, &wav.0)?;
    let mut on_air = transmit(&wav.0, to, ssrc_for(key), media)?;
    on_air._wav = Some(wav);
    Ok(on_air)
}

impl OnAir {
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// A handle that ends the transmission early (the far end hung up): [`OnAir::finish`] then
    /// returns as if the speech had ended.
    pub fn cutter(&self) -> Cutter {
        Cutter(self.pipeline.clone())
    }

    /// Blocks until the last packet left (about the length of the speech).
    pub fn finish(self) -> Result<Call, String> {
        let bus = self.pipeline.bus().ok_or("radio pipeline has no bus")?;
        let result = loop {
            let Some(message) = bus.timed_pop(gst::ClockTime::from_seconds(300)) else {
                break Err("radio call did not finish within 300 s".to_string());
            };
            match message.view() {
                gst::MessageView::Eos(_) => break Ok(Call { ssrc: self.ssrc, took: self.started.elapsed() }),
                gst::MessageView::Error(e) => break Err(format!("radio call to {}: {}", self.to, e.error())),
                _ => {}
            }
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}

/// Ends a call's transmission early.
pub struct Cutter(gst::Pipeline);

impl Cutter {
    pub fn cut(&self) {
        self.0.send_event(gst::event::Eos::new());
    }
}

impl Drop for OnAir {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Starts transmitting a WAV file as RTP G.711 (`media`), 20 ms packets, with half a second of
/// silence first; returns when the first packet has left.
pub fn transmit(wav: &Path, to: SocketAddr, ssrc: u32, media: Media) -> Result<OnAir, String> {
    crate::video::init().map_err(|e| format!("GStreamer: {e}"))?;
    let (encoder, payloader) = media.codec.elements();
    let description = format!(
        "audiotestsrc wave=silence num-buffers=25 samplesperbuffer=160 ! audio/x-raw,rate={RATE},channels=1,format=S16LE ! c.sink_0 \
         filesrc name=file ! wavparse ! audioconvert ! audioresample ! audio/x-raw,rate={RATE},channels=1,format=S16LE ! c.sink_1 \
         concat name=c ! {encoder} ! {payloader} name=pay pt={pt} min-ptime={p} max-ptime={p} ptime-multiple={p} \
         ! udpsink name=sink sync=true async=false",
        p = PTIME_MS * 1_000_000,
        pt = media.codec.payload_type(),
    );
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| format!("radio pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "radio pipeline is not a pipeline".to_string())?;
    let by_name = |name: &str| pipeline.by_name(name).ok_or_else(|| format!("radio pipeline has no {name}"));
    by_name("file")?.set_property("location", wav.to_string_lossy().as_ref());
    by_name("pay")?.set_property("ssrc", ssrc);
    let sink = by_name("sink")?;
    sink.set_property("host", to.ip().to_string());
    sink.set_property("port", to.port() as i32);
    if let Some(port) = media.from_port {
        sink.set_property("bind-port", port as i32);
    }
    // The first buffer reaching the sink is the call going on the air.
    let (first, on_air) = std::sync::mpsc::sync_channel::<()>(1);
    let pad = sink.static_pad("sink").ok_or("udpsink has no sink pad")?;
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let _ = first.try_send(());
        gst::PadProbeReturn::Remove
    });
    let started = Instant::now();
    let call = OnAir { pipeline, ssrc, to, started, _wav: None };
    call.pipeline.set_state(gst::State::Playing).map_err(|e| format!("radio pipeline cannot start: {e}"))?;
    let bus = call.pipeline.bus().ok_or("radio pipeline has no bus")?;
    let deadline = started + Duration::from_secs(10);
    loop {
        if on_air.try_recv().is_ok() {
            return Ok(call);
        }
        if Instant::now() > deadline {
            return Err(format!("radio call to {to} did not start within 10 s"));
        }
        if let Some(message) = bus.timed_pop_filtered(gst::ClockTime::from_mseconds(5), &[gst::MessageType::Error])
            && let gst::MessageView::Error(e) = message.view()
        {
            return Err(format!("radio call to {to}: {}", e.error()));
        }
    }
}

/// A temporary WAV path, removed when dropped.
struct TempWav(PathBuf);

impl TempWav {
    fn new(key: &str) -> TempWav {
        let name = format!("linkage-call-{}-{:08x}-{}.wav", std::process::id(), ssrc_for(key), fastrand::u32(..));
        TempWav(std::env::temp_dir().join(name))
    }
}

impl Drop for TempWav {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_always_gives_the_same_ssrc_and_keys_differ() {
        assert_eq!(ssrc_for("D1/police/radio"), ssrc_for("D1/police/radio"));
        assert_ne!(ssrc_for("D1/police/radio"), ssrc_for("D1/fire/radio"));
    }
}
