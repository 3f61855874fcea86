//! Simulated cameras served over real RTSP by an in-process gst-rtsp-server.
//!
//! Each camera has two mounts, as a real camera has two streams: `/cam/<id>` (the sub stream,
//! 640×360) and `/cam/<id>/main` (1280×720). Each is a live test picture with the camera's
//! name and a running Beijing-time clock drawn in (as cameras in China are set, whatever this
//! machine's time zone), encoded as H.264 (one keyframe a second) and
//! packetised as RTP. Media are shared: many viewers of one camera cost one encoder, and a
//! camera nobody watches costs nothing.
//!
//! gst-rtsp-server serves only while a GLib main loop runs on the context it is attached to,
//! so the server owns a context and a thread that runs the loop until the server is dropped.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

use super::ptz::{PtzHeads, SCENE};

/// One simulated camera: an id for its mount and the name drawn into its picture; a PTZ
/// camera looks into a larger scene and can be steered ([`super::ptz`]).
#[derive(Debug, Clone)]
pub struct SimCamera {
    pub id: String,
    pub name: String,
    pub ptz: bool,
}

/// A running RTSP server on 127.0.0.1 with one mount per camera. Dropping it closes every
/// client session and the listening socket, like a camera that loses power.
pub struct CameraServer {
    port: u16,
    server: rtsp::RTSPServer,
    listening: Option<glib::SourceId>,
    main_loop: glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
    heads: PtzHeads,
}

/// The test pictures the cameras cycle through, so neighbouring tiles look different. Each
/// moves (a bouncing ball, or a pattern scrolling sideways), as a live camera's picture does.
const PATTERNS: [&str; 4] = [
    "pattern=ball motion=wavy background-color=0xff203040",
    "pattern=smpte75 horizontal-speed=3",
    "pattern=pinwheel horizontal-speed=2",
    "pattern=spokes horizontal-speed=-2",
];

impl CameraServer {
    /// Starts serving `cameras` on a free loopback port (or `port`, when not 0).
    pub fn start(cameras: &[SimCamera], port: u16) -> Result<CameraServer, String> {
        CameraServer::serve(cameras, port, None)
    }

    /// Like [`CameraServer::start`], but a client must log in (RTSP basic authentication) with
    /// `user` and `password`, as real cameras ask.
    pub fn start_with_login(
        cameras: &[SimCamera],
        port: u16,
        user: &str,
        password: &str,
    ) -> Result<CameraServer, String> {
        CameraServer::serve(cameras, port, Some((user, password)))
    }

    fn serve(cameras: &[SimCamera], port: u16, login: Option<(&str, &str)>) -> Result<CameraServer, String> {
        gst::init().map_err(|e| format!("GStreamer: {e}"))?;
        for needed in ["x264enc", "rtph264pay", "textoverlay", "videotestsrc", "videocrop", "videoscale"] {
            if gst::ElementFactory::find(needed).is_none() {
                return Err(format!("GStreamer element {needed} is missing (run `make deps`)"));
            }
        }
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let mounts = server.mount_points().ok_or("the RTSP server has no mount points")?;
        // With a login, only the "viewer" role (what the login grants) may open the media.
        let viewer = login.map(|(user, password)| {
            let auth = rtsp::RTSPAuth::new();
            let token = rtsp::RTSPToken::builder().field(rtsp::RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer").build();
            auth.add_basic(rtsp::RTSPAuth::make_basic(user, password).as_str(), &token);
            server.set_auth(Some(&auth));
            gst::Structure::builder("viewer")
                .field(rtsp::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
                .field(rtsp::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
                .build()
        });
        let heads = PtzHeads::default();
        for (i, camera) in cameras.iter().enumerate() {
            if camera.ptz {
                heads.add(&camera.id);
            }
            for (path, size, kbits) in [("", (640, 360), 800), ("/main", (1280, 720), 2500)] {
                let factory = rtsp::RTSPMediaFactory::new();
                factory.set_launch(&launch_line(camera, PATTERNS[i % PATTERNS.len()], size, kbits));
                factory.set_shared(true);
                let (heads, id) = (heads.clone(), camera.id.clone());
                factory.connect_media_configure(move |_, media| {
                    let Some(bin) = media.element().downcast::<gst::Bin>().ok() else { return };
                    if let Some(clock) = bin.by_name("clock") {
                        keep_beijing_time(&clock);
                    }
                    if let Some(crop) = bin.by_name("ptz") {
                        heads.attach(&id, &crop);
                    }
                });
                if let Some(viewer) = &viewer {
                    factory.add_role_from_structure(viewer);
                }
                mounts.add_factory(&format!("/cam/{}{path}", camera.id), factory);
            }
        }
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let listening = server.attach(Some(&context)).map_err(|e| format!("cannot attach the RTSP server: {e}"))?;
        // The PTZ heads move ten times a second, on the server's own loop.
        let moving = heads.clone();
        let step = std::time::Duration::from_millis(100);
        glib::timeout_source_new(step, Some("ptz heads"), glib::Priority::DEFAULT, move || {
            moving.tick(step.as_secs_f64());
            glib::ControlFlow::Continue
        })
        .attach(Some(&context));
        let port = u16::try_from(server.bound_port()).map_err(|_| "the RTSP server has no port".to_string())?;
        let looped = main_loop.clone();
        let thread = std::thread::Builder::new()
            .name("rtsp server".into())
            .spawn(move || looped.run())
            .map_err(|e| e.to_string())?;
        tracing::info!(port, cameras = cameras.len(), "simulated camera RTSP server listening");
        Ok(CameraServer { port, server, listening: Some(listening), main_loop, thread: Some(thread), heads })
    }

    /// The PTZ cameras' heads, to steer them.
    pub fn heads(&self) -> PtzHeads {
        self.heads.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The RTSP URI of a camera's sub stream (640×360).
    pub fn uri(&self, camera_id: &str) -> String {
        format!("rtsp://127.0.0.1:{}/cam/{camera_id}", self.port)
    }

    /// The RTSP URI of a camera's main stream (1280×720).
    pub fn main_uri(&self, camera_id: &str) -> String {
        format!("{}/main", self.uri(camera_id))
    }
}

impl Drop for CameraServer {
    fn drop(&mut self) {
        // Close every client (and with it its session and media), then stop listening.
        self.server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
        // The source lives on our own context, not the default one `SourceId::remove` uses.
        if let Some(source) = self.listening.take().and_then(|id| self.main_loop.context().find_source_by_id(&id)) {
            source.destroy();
        }
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A camera's clock as it reads at `at`: Beijing time, to the second.
fn beijing_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&linkage_protocol::ZONE).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Keeps the text of the `clock` overlay on Beijing time: each frame, on its way into the
/// overlay, brings the text up to the second. (GStreamer's clockoverlay draws the machine's
/// local time, which on a server is often UTC.)
fn keep_beijing_time(clock: &gst::Element) {
    let Some(pad) = clock.static_pad("video_sink") else { return };
    let overlay = clock.downgrade();
    let shown = std::sync::Mutex::new(String::new());
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let now = beijing_time(chrono::Utc::now());
        let mut shown = shown.lock().unwrap_or_else(|p| p.into_inner());
        if *shown != now
            && let Some(overlay) = overlay.upgrade()
        {
            overlay.set_property("text", &now);
            *shown = now;
        }
        gst::PadProbeReturn::Ok
    });
}

/// The media pipeline of one camera, as gst-launch syntax for the factory.
fn launch_line(camera: &SimCamera, pattern: &str, (width, height): (u32, u32), kbits: u32) -> String {
    // Quotes inside a name would end the property value early; drop them.
    let name: String = camera.name.chars().filter(|c| *c != '"' && *c != '\\').collect();
    // A PTZ camera crops its window out of a larger scene and scales it to the stream's size.
    let picture = match camera.ptz {
        false => {
            format!("videotestsrc is-live=true {pattern} ! video/x-raw,width={width},height={height},framerate=25/1")
        }
        true => format!(
            "videotestsrc is-live=true pattern=spokes horizontal-speed=1 \
             ! video/x-raw,width={},height={},framerate=25/1 \
             ! videocrop name=ptz ! videoscale ! video/x-raw,width={width},height={height}",
            SCENE.0, SCENE.1
        ),
    };
    format!(
        "( {picture} \
           ! textoverlay text=\"{name}\" valignment=bottom halignment=right \
             font-desc=\"Noto Sans CJK SC, 18\" shaded-background=true \
           ! textoverlay name=clock valignment=top halignment=right \
             font-desc=\"Monospace, 16\" shaded-background=true \
           ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate={kbits} \
           ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_beijing_time() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T23:30:05Z").unwrap().to_utc();
        assert_eq!(beijing_time(at), "2026-12-02 07:30:05");
    }

    #[test]
    fn a_running_camera_draws_beijing_time_whatever_the_machines_zone() {
        gst::init().unwrap();
        let camera = SimCamera { id: "c1".into(), name: "东湾村口".into(), ptz: false };
        // The factory's pipeline, with a sink in the place of the RTSP payloader.
        let line = launch_line(&camera, PATTERNS[0], (320, 180), 300);
        let line = line
            .trim_start_matches("( ")
            .replace("! rtph264pay name=pay0 pt=96 config-interval=-1 )", "! fakesink sync=true");
        let pipeline = gst::parse::launch(&line).unwrap().downcast::<gst::Bin>().unwrap();
        let clock = pipeline.by_name("clock").unwrap();
        keep_beijing_time(&clock);
        pipeline.set_state(gst::State::Playing).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut text = String::new();
        while text.is_empty() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(50));
            text = clock.property::<String>("text");
        }
        pipeline.set_state(gst::State::Null).unwrap();
        let now = chrono::Utc::now();
        let near = [beijing_time(now), beijing_time(now - chrono::Duration::seconds(1))];
        assert!(near.iter().any(|n| n[..16] == text[..16.min(text.len())]), "drawn {text:?}, Beijing time is {near:?}");
    }
}
