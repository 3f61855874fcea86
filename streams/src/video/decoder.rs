//! The decoding half of a feed's pipeline: a `uridecodebin` set up the way a live wall needs it.
//!
//! `uridecodebin` picks the source (rtspsrc, rtmpsrc, souphttpsrc + hlsdemux, filesrc) and the
//! decoder from the URI and the stream. [`decoder`] returns one with our settings made, so
//! that the feed's pipeline and `make bench-wall`'s decoder-alone floor decode alike:
//!
//! - the RTSP jitter buffer is short (`latency`) and does not drop (see `source-setup` below);
//! - each software decoder (`avdec_*`) keeps to one thread, so that many feeds share the
//!   cores fairly, and shows no picture decoded without its reference frames;
//! - RTMP needs two nudges, explained at [`prefer_rtmpsrc`] and [`expose_flv_video_at_once`].
//!
//! The caller links the video pad `uridecodebin` adds (`pad-added`) to what comes after.

use std::sync::Once;

use gstreamer as gst;
use gstreamer::prelude::*;

/// A `uridecodebin` for `uri` with the wall's settings; `rtsp_latency_ms` is the RTSP jitter
/// buffer. An element that cannot be made is an error, not a panic.
pub fn decoder(uri: &str, rtsp_latency_ms: u32) -> Result<gst::Element, String> {
    if uri.starts_with("rtmp") {
        prefer_rtmpsrc();
    }
    let decode = element("uridecodebin")?;
    decode.set_property("uri", uri);
    decode.connect("source-setup", false, move |args| {
        if let Some(source) = args.get(1).and_then(|a| a.get::<gst::Element>().ok())
            && source.find_property("latency").is_some()
            && source.find_property("drop-on-latency").is_some()
        {
            source.set_property("latency", rtsp_latency_ms);
            // Not dropping: at start the server sends a burst, and dropping from it lost
            // first keyframes (a second more to the first picture, measured by
            // `make bench-wall`). The appsink's one-buffer slot bounds the latency.
            source.set_property("drop-on-latency", false);
        }
        None
    });
    if let Some(bin) = decode.downcast_ref::<gst::Bin>() {
        bin.connect_deep_element_added(|_, _, element| {
            let software_decoder = element.factory().is_some_and(|f| f.name().starts_with("avdec_"));
            if software_decoder && element.find_property("max-threads").is_some() {
                element.set_property("max-threads", 1i32);
            }
            // A picture decoded without its reference frames (joining mid-GOP, a lost packet)
            // is smeared: better the last good frame than that.
            if software_decoder && element.find_property("output-corrupt").is_some() {
                element.set_property("output-corrupt", false);
            }
            if element.factory().is_some_and(|f| f.name() == "flvdemux") {
                expose_flv_video_at_once(element);
            }
        });
    }
    Ok(decode)
}

/// A GStreamer element of `factory`; a missing one (a plugin not installed) is an error that
/// says which, not a panic.
pub(super) fn element(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| format!("GStreamer element {factory} is missing"))
}

/// Makes `uridecodebin` open `rtmp://` with rtmpsrc (librtmp) rather than rtmp2src.
///
/// rtmp2src ranks higher, but it only accepts media sent on the message stream its
/// `createStream` got back (1), and the minimal server in `ffmpeg -listen 1` sends audio and
/// video on stream 0: rtmp2src connects, is told "NetStream.Play.Start", then logs "Ignoring
/// video message with stream 0 != 1" for every frame and never outputs a byte. rtmpsrc takes
/// both. Ranks live in the process-wide registry, so this is done once and holds for every
/// `uridecodebin` in the process; with no rtmpsrc installed nothing changes.
fn prefer_rtmpsrc() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let (Some(rtmpsrc), Some(rtmp2src)) =
            (gst::ElementFactory::find("rtmpsrc"), gst::ElementFactory::find("rtmp2src"))
            && rtmp2src.rank() >= rtmpsrc.rank()
        {
            rtmp2src.set_rank(rtmpsrc.rank() - 1);
        }
    });
}

/// Lets decodebin show flvdemux's video as soon as it flows, not 6 s later.
///
/// decodebin hides a demuxer's pads until the demuxer says `no-more-pads`, so that a player
/// sees every stream at once; only then does `uridecodebin` add its pad and our `pad-added`
/// link it. flvdemux does not trust the FLV header's audio/video flags: if video comes and no
/// audio, it waits for 6 s of video timestamps before saying `no-more-pads`. A file gets there
/// in milliseconds; a live stream (RTMP, HTTP FLV) needs 6 real seconds. Meanwhile the bytes
/// flow, the decoder is plugged and the frames pile up unseen, and our supervisor gives up
/// after `reconnect_after` (5 s) without a frame: one second too early, every time.
///
/// The wall shows video only, so the first video buffer is all we wait for: we say
/// `no-more-pads` on flvdemux's behalf, from its streaming thread just before the buffer is
/// pushed, exactly where flvdemux itself does it when its 6 s are up. An audio pad that comes
/// later is still added by decodebin, and left unlinked by us like any other audio.
fn expose_flv_video_at_once(flvdemux: &gst::Element) {
    flvdemux.connect_pad_added(|_, pad| {
        if pad.name() == "video" {
            pad.add_probe(gst::PadProbeType::BUFFER, |pad, _| {
                if let Some(flvdemux) = pad.parent_element() {
                    flvdemux.no_more_pads();
                }
                gst::PadProbeReturn::Remove
            });
        }
    });
}
