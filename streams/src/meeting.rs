//! A seat's own media in a meeting: GStreamer's webrtcbin talking to Janus's VideoRoom with
//! our signalling ([`crate::janus`]).
//!
//! - [`Publisher`] joins a room as a site (its participant id and token) and sends a picture and
//!   a voice: H.264 (x264, zero latency, constrained baseline — what every VideoRoom subscriber
//!   decodes) and Opus. The source is a test picture with the site's name and a tone (the demo's
//!   simulated sites, the benchmark), or the machine's camera and microphone.
//! - [`Subscriber`] receives one publisher's feed: its pictures decoded to I420 into a
//!   [`FrameSlot`] the way the wall's feeds are (the screen converts them on the GPU), its voice
//!   played (or dropped, headless). A meeting's room lets only its participants receive
//!   (`require_pvtid`): a seat joins once as a [`Member`] that sends nothing, with a token the
//!   room allows, and subscribes to each feed as that participant, so one put out of the room
//!   stops receiving too.
//!
//! Signalling is not trickled: each side's SDP carries its candidates (webrtcbin waits for
//! gathering to complete; Janus answers with its own). There is no STUN or TURN: Janus and the
//! sites are on the center's network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_sdp as gst_sdp;
use gstreamer_video as gst_video;
use gstreamer_webrtc as gst_webrtc;
use serde_json::{Value, json};

use crate::janus::{JanusError, Session};
use crate::video::{Frame, FrameSlot};

/// Where a peer joins: the SFU's HTTP API and the room.
#[derive(Debug, Clone)]
pub struct Room {
    pub sfu: String,
    pub room: u64,
}

/// What a publisher sends.
#[derive(Debug, Clone)]
pub enum Source {
    /// A moving test picture with `label` written on it, and a tone of `tone_hz`.
    Test { label: String, width: u32, height: u32, fps: u32, tone_hz: u32 },
    /// The machine's camera (v4l2) and its default microphone.
    Camera,
    /// A surveillance camera's H.264 RTSP stream, passed on as it comes: depayloaded and
    /// payloaded again, not decoded, not encoded. No voice.
    Relay { uri: String },
}

/// The prefix of a site that is a surveillance camera pulled into a meeting (`camera:ID`).
pub const CAMERA_SITE: &str = "camera:";

/// A pipeline stopped when dropped.
struct Running(gst::Pipeline);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// A peer's session with Janus, ended when dropped (also when joining failed half way): Janus
/// lets its participant id go at once, not after its 60 s session timeout.
struct Leaving {
    session: Session,
    runtime: tokio::runtime::Handle,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        let session = self.session.clone();
        self.runtime.spawn(async move { session.close().await });
    }
}

/// Keeps polling the session (which keeps it alive) until the peer is dropped; says when Janus
/// hung up on it.
struct Listening {
    task: tokio::task::JoinHandle<()>,
    lost: Arc<Mutex<Option<String>>>,
    _leaving: Leaving,
}

impl Listening {
    fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Also watches the peer's pipeline, if it has one: a camera or a relayed stream that fails (an
/// error, an end) loses the peer as Janus hanging up does, so it is tried again; a received
/// voice's loudness (the `level` element's messages) says whether the site is talking.
fn listen(leaving: Leaving, pipeline: Option<&gst::Pipeline>, talking: Option<Arc<AtomicU64>>) -> Listening {
    use futures_util::StreamExt;
    let lost = Arc::new(Mutex::new(None));
    let said = lost.clone();
    let session = leaving.session.clone();
    const KINDS: &[gst::MessageType] = &[gst::MessageType::Error, gst::MessageType::Eos, gst::MessageType::Element];
    let mut bus = pipeline.and_then(|p| p.bus()).map(|b| b.stream_filtered(KINDS));
    let task = leaving.runtime.spawn(async move {
        loop {
            let failed = async {
                match bus.as_mut() {
                    Some(bus) => bus.next().await,
                    None => std::future::pending().await,
                }
            };
            let why = tokio::select! {
                events = session.events() => match events {
                    Ok(events) => events.iter().find_map(|e| match e["janus"].as_str() {
                        Some("hangup") => Some(format!("hung up: {}", e["reason"].as_str().unwrap_or("no reason"))),
                        _ if e["plugindata"]["data"]["leaving"] == "ok" => Some("put out of the room".to_owned()),
                        _ => None,
                    }),
                    Err(e) => Some(e.to_string()),
                },
                // The speakers failing (a machine without sound) loses the voice, not the peer.
                Some(message) = failed => match message.view() {
                    gst::MessageView::Element(e) => {
                        let level = e.structure().filter(|s| s.name() == "level");
                        if let (Some(talking), Some(true)) = (&talking, level.map(loud)) {
                            talking.store(now_ms(), Ordering::Release);
                        }
                        None
                    }
                    _ if message.src().is_some_and(|s| s.path_string().contains("audiosink")) => None,
                    gst::MessageView::Error(e) => Some(format!("media: {}", e.error())),
                    _ => Some("media: the stream ended".to_owned()),
                },
            };
            if let Some(why) = why {
                if let Ok(mut slot) = said.lock() {
                    *slot = Some(why);
                }
                return;
            }
        }
    });
    Listening { task, lost, _leaving: leaving }
}

/// Louder than this (RMS, dB below full scale) is talking; a quiet room is about -60.
const TALKING_DB: f64 = -40.0;

/// Milliseconds of the system clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Whether a `level` message says the voice is loud enough to be talking.
fn loud(level: &gst::StructureRef) -> bool {
    level
        .get::<gst::glib::ValueArray>("rms")
        .is_ok_and(|rms| rms.as_slice().iter().filter_map(|v| v.get::<f64>().ok()).any(|db| db > TALKING_DB))
}

/// A pipeline from a launch line, and its webrtcbin (named `webrtc`).
fn pipeline(line: &str) -> Result<(gst::Pipeline, gst::Element), String> {
    crate::video::init().map_err(|e| format!("GStreamer: {e}"))?;
    // A line of one element (a receiver's lone webrtcbin) parses to the element itself.
    let pipeline =
        match gst::parse::launch(line).map_err(|e| format!("meeting pipeline: {e}"))?.downcast::<gst::Pipeline>() {
            Ok(pipeline) => pipeline,
            Err(element) => {
                let pipeline = gst::Pipeline::new();
                pipeline.add(&element).map_err(|e| format!("meeting pipeline: {e}"))?;
                pipeline
            }
        };
    let webrtc = pipeline.by_name("webrtc").ok_or("meeting pipeline: no webrtcbin")?;
    Ok((pipeline, webrtc))
}

/// The webrtcbin line: one bundle, no STUN.
const WEBRTCBIN: &str = "webrtcbin name=webrtc bundle-policy=max-bundle latency=100";

/// Asks webrtcbin for an offer or an answer (`signal` `create-offer` / `create-answer`).
async fn create(
    webrtc: &gst::Element,
    signal: &str,
    kind: &'static str,
) -> Result<gst_webrtc::WebRTCSessionDescription, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let description = match reply {
            Ok(Some(reply)) => reply.get::<gst_webrtc::WebRTCSessionDescription>(kind).map_err(|e| e.to_string()),
            Ok(None) => Err("no reply".to_owned()),
            Err(e) => Err(format!("{e:?}")),
        };
        let _ = tx.send(description);
    });
    webrtc.emit_by_name::<()>(signal, &[&None::<gst::Structure>, &promise]);
    let description = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .map_err(|_| format!("webrtcbin: no {kind} in 10 s"))?
        .map_err(|_| format!("webrtcbin: no {kind}"))?
        .map_err(|e| format!("webrtcbin {kind}: {e}"))?;
    Ok(description)
}

/// Makes `description` webrtcbin's local one.
fn set_local(webrtc: &gst::Element, description: &gst_webrtc::WebRTCSessionDescription) {
    webrtc.emit_by_name::<()>("set-local-description", &[description, &None::<gst::Promise>]);
}

/// The answer as DTLS server (`a=setup:passive`): Janus, the client then, says hello once its
/// ICE is done. As client, webrtcbin's first hello could come before and be lost, and its
/// retry a second later made one join in two take 1.4 s instead of 0.4.
fn passive(answer: &gst_webrtc::WebRTCSessionDescription) -> Result<gst_webrtc::WebRTCSessionDescription, String> {
    let text = answer.sdp().as_text().map_err(|e| e.to_string())?.replace("a=setup:active", "a=setup:passive");
    let sdp = gst_sdp::SDPMessage::parse_buffer(text.as_bytes()).map_err(|e| format!("our answer: {e}"))?;
    Ok(gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Answer, sdp))
}

/// Waits until every stream going into webrtcbin has its caps (the encoder's profile, the
/// payloader's SSRC): an offer made before says neither, and Janus drops what it cannot place.
async fn negotiated(webrtc: &gst::Element) -> Result<(), String> {
    for _ in 0..500 {
        if webrtc.sink_pads().iter().all(|pad| pad.current_caps().is_some()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("the meeting's sender: no picture or voice to send within 10 s".into())
}

/// The local SDP once ICE gathering is complete (its candidates in it), as text.
async fn gathered(webrtc: &gst::Element) -> Result<String, String> {
    for _ in 0..500 {
        if webrtc.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
            == gst_webrtc::WebRTCICEGatheringState::Complete
        {
            let local = webrtc.property::<Option<gst_webrtc::WebRTCSessionDescription>>("local-description");
            return local.ok_or("webrtcbin: no local description")?.sdp().as_text().map_err(|e| e.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("webrtcbin: ICE gathering not done in 10 s".into())
}

/// Sets the remote SDP (`jsep` from Janus) of type `kind`.
fn set_remote(webrtc: &gst::Element, jsep: &Value, kind: gst_webrtc::WebRTCSDPType) -> Result<(), String> {
    let text = jsep["sdp"].as_str().ok_or("Janus sent no SDP")?;
    let sdp = gst_sdp::SDPMessage::parse_buffer(text.as_bytes()).map_err(|e| format!("Janus's SDP: {e}"))?;
    let description = gst_webrtc::WebRTCSessionDescription::new(kind, sdp);
    webrtc.emit_by_name::<()>("set-remote-description", &[&description, &None::<gst::Promise>]);
    Ok(())
}

fn janus(e: JanusError) -> String {
    e.to_string()
}

/// Takes decoded samples as they arrive.
pub type Samples = Arc<dyn Fn(&[i16]) + Send + Sync>;

/// What becomes of a received voice.
#[derive(Clone)]
pub enum Voice {
    /// Played on the machine's speakers.
    Speakers,
    /// Not played (a headless seat): only its loudness is kept (talking or not).
    Dropped,
    /// Decoded to 48 kHz mono S16 and handed over as it arrives: for measuring.
    Samples(Samples),
}

/// Joins `room` as a publisher — participant `id` (0: Janus picks), with `token`, shown as
/// `display` — on a session of its own: the session, its leaving, the handle and what Janus
/// answered (`id`, `private_id`, the publishers in the room).
async fn join_as_publisher(
    room: &Room,
    (id, token, display): (u64, &str, &str),
    runtime: &tokio::runtime::Handle,
) -> Result<(Session, Leaving, u64, Value), String> {
    let session = Session::open(&room.sfu).await.map_err(janus)?;
    let leaving = Leaving { session: session.clone(), runtime: runtime.clone() };
    let handle = session.attach().await.map_err(janus)?;
    let mut join =
        json!({"request": "join", "ptype": "publisher", "room": room.room, "display": display, "token": token});
    if id != 0 {
        join["id"] = json!(id);
    }
    let joined = session.ask(handle, join, None).await.map_err(janus)?;
    Ok((session, leaving, handle, joined["plugindata"]["data"].clone()))
}

/// A site's upload into a room; dropping it leaves the room.
pub struct Publisher {
    listening: Listening,
    running: Running,
    /// Janus's participant id.
    pub participant: u64,
    /// What a subscription names to belong to it: a site receives the others as itself (see
    /// [`Subscriber::watch`]).
    pub private_id: u64,
}

impl Publisher {
    /// Joins `room` as participant `id` (0: Janus picks) with `token`, and sends `source`.
    pub async fn join(
        room: &Room,
        (id, token, display): (u64, &str, &str),
        source: &Source,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Publisher, String> {
        let (session, leaving, handle, joined) = join_as_publisher(room, (id, token, display), runtime).await?;
        let participant = joined["id"].as_u64().unwrap_or(id);
        let private_id = joined["private_id"].as_u64().ok_or("Janus gave no private id")?;

        let (pipeline, webrtc) = pipeline(&format!("{WEBRTCBIN} {}", source_line(source)))?;
        if let (Source::Test { label, .. }, Some(overlay)) = (source, pipeline.by_name("label")) {
            overlay.set_property("text", label);
        }
        let running = Running(pipeline);
        running.0.set_state(gst::State::Playing).map_err(|_| "the meeting's sender did not start".to_string())?;
        negotiated(&webrtc).await?;
        set_local(&webrtc, &create(&webrtc, "create-offer", "offer").await?);
        let offer = gathered(&webrtc).await?;
        let configure = json!({"request": "configure", "audio": true, "video": true});
        let jsep = json!({"type": "offer", "sdp": offer, "trickle": false});
        let configured = session.ask(handle, configure, Some(jsep)).await.map_err(janus)?;
        set_remote(&webrtc, &configured["jsep"], gst_webrtc::WebRTCSDPType::Answer)?;
        Ok(Publisher { listening: listen(leaving, Some(&running.0), None), running, participant, private_id })
    }

    /// Where the raw picture (I420) and the raw voice (S16) pass before they are encoded, for
    /// a test source: a probe there can mark what is sent (the benchmark stamps the time).
    pub fn raw_pads(&self) -> (Option<gst::Pad>, Option<gst::Pad>) {
        let pad = |name: &str| self.running.0.by_name(name).and_then(|e| e.static_pad("src"));
        (pad("label"), pad("voice"))
    }

    /// Why Janus no longer takes it, if it does not (put out, Janus gone).
    pub fn lost(&self) -> Option<String> {
        self.listening.lost()
    }
}

/// The sending half of the launch line.
fn source_line(source: &Source) -> String {
    let (video, audio) = match source {
        Source::Relay { uri } => {
            let uri = uri.replace('"', "%22");
            return format!(
                "rtspsrc location=\"{uri}\" latency=100 protocols=tcp ! rtph264depay ! h264parse config-interval=-1 \
                 ! rtph264pay config-interval=-1 pt=96 aggregate-mode=zero-latency \
                 ! application/x-rtp,media=video,encoding-name=H264,payload=96 ! webrtc."
            );
        }
        Source::Test { width, height, fps, tone_hz, .. } => (
            format!(
                "videotestsrc is-live=true pattern=ball background-color=0xff1c3a5a \
                 ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 \
                 ! textoverlay name=label font-desc=\"Noto Sans CJK SC 28\" valignment=top halignment=left ! videoconvert"
            ),
            format!(
                "audiotestsrc name=voice is-live=true wave=sine freq={tone_hz} volume=0.2 \
                 ! audio/x-raw,format=S16LE,rate=48000,channels=1"
            ),
        ),
        Source::Camera => (
            "v4l2src ! videoconvert ! videoscale ! video/x-raw,width=640,height=360 ! videorate ! video/x-raw,framerate=25/1"
                .to_owned(),
            "autoaudiosrc".to_owned(),
        ),
    };
    format!(
        "{video} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=800 \
         ! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=96 \
         ! application/x-rtp,media=video,encoding-name=H264,payload=96 ! webrtc. \
         {audio} ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 \
         ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc."
    )
}

/// One publisher's feed received; dropping it unsubscribes.
pub struct Subscriber {
    listening: Listening,
    _running: Running,
    /// Its newest picture.
    pub slot: Arc<FrameSlot>,
    /// Pictures decoded so far.
    pub frames: Arc<AtomicU64>,
    /// When its voice was last loud (ms of the system clock; its loudness every 0.2 s).
    loud_at: Arc<AtomicU64>,
}

/// A seat's place in a room for receiving: a participant that sends nothing (Janus picks its
/// id; the server's observer does not count it as a site), joined with a token the room
/// allows. Every feed the seat receives is subscribed as this participant (its private id), so
/// one participant serves all of a seat's pictures, and when Janus puts it out they all stop.
pub struct Member {
    listening: Listening,
    /// What a subscription names to belong to it.
    pub private_id: u64,
}

impl Member {
    /// Joins `room` with `token`.
    pub async fn join(room: &Room, token: &str, runtime: &tokio::runtime::Handle) -> Result<Member, String> {
        let (_, leaving, _, joined) = join_as_publisher(room, (0, token, "receiver"), runtime).await?;
        let private_id = joined["private_id"].as_u64().ok_or("Janus gave no private id")?;
        Ok(Member { listening: listen(leaving, None, None), private_id })
    }

    /// Why Janus no longer has it in the room, if it does not (put out, Janus gone).
    pub fn lost(&self) -> Option<String> {
        self.listening.lost()
    }
}

impl Subscriber {
    /// Subscribes to participant `feed` of `room` as the participant whose private id is
    /// `member` (a seat's [`Member`], or a site's own [`Publisher`]); the feed's voice goes to
    /// `voice`. `waker` is called for every new picture.
    pub async fn watch(
        room: &Room,
        (feed, member): (u64, u64),
        voice: Voice,
        waker: crate::Waker,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Subscriber, String> {
        let session = Session::open(&room.sfu).await.map_err(janus)?;
        let leaving = Leaving { session: session.clone(), runtime: runtime.clone() };
        let handle = session.attach().await.map_err(janus)?;
        let join = json!({"request": "join", "ptype": "subscriber", "room": room.room, "private_id": member,
            "streams": [{"feed": feed}]});
        let attached = session.ask(handle, join, None).await.map_err(janus)?;

        let (pipeline, webrtc) = pipeline(WEBRTCBIN)?;
        let slot = Arc::new(FrameSlot::default());
        let frames = Arc::new(AtomicU64::new(0));
        let weak = pipeline.downgrade();
        let (into, count) = (slot.clone(), frames.clone());
        webrtc.connect_pad_added(move |_, pad| {
            let Some(pipeline) = weak.upgrade() else { return };
            if let Err(e) = decode(&pipeline, pad, &voice, (into.clone(), count.clone(), waker.clone())) {
                tracing::warn!(error = %e, "meeting: a received stream not shown");
            }
        });
        let running = Running(pipeline);
        running.0.set_state(gst::State::Playing).map_err(|_| "the meeting's receiver did not start".to_string())?;
        set_remote(&webrtc, &attached["jsep"], gst_webrtc::WebRTCSDPType::Offer)?;
        set_local(&webrtc, &passive(&create(&webrtc, "create-answer", "answer").await?)?);
        let answer = gathered(&webrtc).await?;
        let jsep = json!({"type": "answer", "sdp": answer, "trickle": false});
        session.ask(handle, json!({"request": "start"}), Some(jsep)).await.map_err(janus)?;
        let loud_at = Arc::new(AtomicU64::new(0));
        let listening = listen(leaving, Some(&running.0), Some(loud_at.clone()));
        Ok(Subscriber { listening, _running: running, slot, frames, loud_at })
    }

    /// Why Janus no longer sends it, if it does not.
    pub fn lost(&self) -> Option<String> {
        self.listening.lost()
    }

    /// Whether the site is talking: its voice was loud within the last 0.6 s (a muted site's
    /// voice stops coming at all).
    pub fn talking(&self) -> bool {
        now_ms().saturating_sub(self.loud_at.load(Ordering::Acquire)) < 600
    }
}

/// Decodes what a new pad of webrtcbin brings: pictures into the slot, the voice to the
/// speakers or nowhere.
fn decode(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    voice: &Voice,
    (slot, frames, waker): (Arc<FrameSlot>, Arc<AtomicU64>, crate::Waker),
) -> Result<(), String> {
    let caps = pad.current_caps();
    let field = |name: &str| caps.as_ref().and_then(|c| c.structure(0)?.get::<String>(name).ok());
    const PICTURES: &str =
        "videoconvert ! video/x-raw,format=I420 ! appsink name=pictures max-buffers=1 drop=true sync=false";
    // No decodebin: its pads come late, and the codecs a VideoRoom forwards are few.
    let line = match (field("media").as_deref(), field("encoding-name").as_deref()) {
        (Some("video"), Some("H264")) => format!("rtph264depay ! h264parse ! avdec_h264 ! {PICTURES}"),
        (Some("video"), Some("VP8")) => format!("rtpvp8depay ! vp8dec ! {PICTURES}"),
        (Some("audio"), Some("OPUS")) => match voice {
            Voice::Speakers => {
                "rtpopusdepay ! opusdec ! audioconvert ! level interval=200000000 ! audioresample ! autoaudiosink"
                    .to_owned()
            }
            Voice::Samples(_) => "rtpopusdepay ! opusdec ! audioconvert ! audioresample \
                 ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=samples sync=false"
                .to_owned(),
            Voice::Dropped => {
                "rtpopusdepay ! opusdec ! audioconvert ! level interval=200000000 ! fakesink sync=false".to_owned()
            }
        },
        _ => "fakesink sync=false".to_owned(),
    };
    let line = line.as_str();
    let bin = gst::parse::bin_from_description(line, true).map_err(|e| e.to_string())?;
    pipeline.add(&bin).map_err(|e| e.to_string())?;
    if let Some(sink) = bin.by_name("pictures").and_then(|s| s.downcast::<gst_app::AppSink>().ok()) {
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let caps = sample.caps().ok_or(gst::FlowError::NotNegotiated)?;
                    let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::NotNegotiated)?;
                    let buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                    let data = buffer.into_mapped_buffer_readable().map_err(|_| gst::FlowError::Error)?;
                    let seq = frames.fetch_add(1, Ordering::AcqRel) + 1;
                    slot.put(Frame::decoded(&info, seq, data).ok_or(gst::FlowError::Error)?);
                    waker();
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    if let (Some(sink), Voice::Samples(hand)) =
        (bin.by_name("samples").and_then(|s| s.downcast::<gst_app::AppSink>().ok()), voice)
    {
        let hand = hand.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let samples: Vec<i16> =
                        map.as_slice().chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                    hand(&samples);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    bin.sync_state_with_parent().map_err(|e| e.to_string())?;
    let sink = bin.static_pad("sink").ok_or("no sink pad")?;
    pad.link(&sink).map_err(|e| format!("{line}: {e:?}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_camera_pulled_into_a_meeting_is_passed_on_neither_decoded_nor_encoded() {
        let line = source_line(&Source::Relay { uri: "rtsp://127.0.0.1:8554/cam/a".into() });
        assert!(line.contains("rtph264depay") && line.contains("rtph264pay"), "{line}");
        let elements: Vec<&str> = line.split('!').filter_map(|e| e.split_whitespace().next()).collect();
        let coders =
            |e: &&str| e.ends_with("dec") || e.ends_with("enc") || e.contains("convert") || e.contains("decodebin");
        assert!(!elements.iter().any(coders), "{elements:?}");
        let test = source_line(&Source::Test { label: "村".into(), width: 640, height: 360, fps: 25, tone_hz: 440 });
        assert!(test.contains("x264enc") && test.contains("opusenc"), "{test}");
    }
}
