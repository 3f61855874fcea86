//! The loopback RTSP server, in a child process of its own: the bench binary runs itself again
//! with `--serve <clip dir> <feeds>`. The parent's CPU time is then the clients' alone, with no
//! share of the server to estimate and subtract.
//!
//! Mount `/feed<n>` serves feed n's clip (feed 0 the main stream, the others sub streams):
//! `filesrc ! matroskademux ! identity sync=true ! rtph264pay`. The synchronising identity
//! releases each frame at its timestamp, so frames leave at 25 a second, as from a camera,
//! and a probe behind it reports each frame's send time on stdout as
//! `sent <feed> <frame> <µs of CLOCK_MONOTONIC>`, a clock both processes read alike.
//!
//! A viewer joins a camera whose stream is already running, somewhere in its group of
//! pictures, and sees nothing until the next IDR frame. Every client gets media of its own,
//! and feed n's media skips the first `7n mod 25` frames (and moves the timestamps of the rest
//! back, so the first frame kept leaves at once), so the feeds join at GOP phases spread over
//! a second and the first-frame times include the wait a real wall has.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

use crate::clip;

/// The clip file of a feed in the clip directory.
pub fn clip_name(feed: usize) -> &'static str {
    if feed == 0 { "main.mkv" } else { "sub.mkv" }
}

/// How many frames of its clip feed `feed` skips: where in the GOP its viewer joins.
pub fn skip(feed: usize) -> u32 {
    (feed as u32 * 7) % clip::FPS as u32
}

/// The child's side: serves until its stdin closes (the parent finished or died).
pub fn serve(dir: &Path, feeds: usize) {
    gst::init().expect("GStreamer");
    let server = rtsp::RTSPServer::new();
    server.set_address("127.0.0.1");
    server.set_service("0");
    // A camera serves its viewers alone; by default gst-rtsp-server serves every client on one
    // thread, and each DESCRIBE waits there for its media to preroll.
    if let Some(pool) = server.thread_pool() {
        pool.set_max_threads(feeds as i32);
    }
    let mounts = server.mount_points().expect("mount points");
    for feed in 0..feeds {
        let skip = skip(feed);
        let factory = rtsp::RTSPMediaFactory::new();
        factory.set_launch(&format!(
            "( filesrc location=\"{}\" ! matroskademux ! identity name=pace sync=true \
               ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
            dir.join(clip_name(feed)).display(),
        ));
        let shift = gst::ClockTime::from_nseconds(u64::from(skip) * clip::FRAME_NS);
        factory.connect_media_configure(move |_, media| {
            let pace = media.element().downcast::<gst::Bin>().ok().and_then(|bin| bin.by_name("pace"));
            let Some((sink, src)) = pace.and_then(|p| Some((p.static_pad("sink")?, p.static_pad("src")?))) else {
                return;
            };
            // Skipped frames are Handled, not Dropped: the binding then unrefs them itself (a
            // Drop makes GStreamer 1.22 unref a null pointer and log a critical).
            sink.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
                let Some(buffer) = probe.buffer_mut() else { return gst::PadProbeReturn::Ok };
                match buffer.pts() {
                    Some(pts) if pts < shift => gst::PadProbeReturn::Handled,
                    Some(pts) => {
                        let buffer = buffer.make_mut();
                        buffer.set_pts(pts - shift);
                        buffer.set_dts(buffer.dts().map(|dts| dts.saturating_sub(shift)));
                        gst::PadProbeReturn::Ok
                    }
                    None => gst::PadProbeReturn::Ok,
                }
            });
            src.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
                if let Some(pts) = probe.buffer().and_then(|b| b.pts()) {
                    let sent = glib::monotonic_time();
                    let _ = writeln!(std::io::stdout().lock(), "sent {feed} {} {sent}", clip::index_of(pts) + skip);
                }
                gst::PadProbeReturn::Ok
            });
        });
        mounts.add_factory(&format!("/feed{feed}"), factory);
    }
    let _listening = server.attach(None).expect("attach the RTSP server");
    println!("port {}", server.bound_port());
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    glib::MainLoop::new(None, false).run();
}

/// The parent's side: the child process and the send times it reports.
pub struct Server {
    child: Child,
    port: u16,
    sent: Arc<Mutex<HashMap<(usize, u32), i64>>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    pub fn spawn(dir: &Path, feeds: usize) -> Server {
        let exe = std::env::current_exe().expect("the bench knows its own path");
        let mut child = Command::new(exe)
            .arg("--serve")
            .arg(dir)
            .arg(feeds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port = first.strip_prefix("port ").and_then(|p| p.parse().ok()).expect("the server says its port");
        let sent = Arc::new(Mutex::new(HashMap::new()));
        let table = sent.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let fields: Vec<i64> = line.split(' ').skip(1).filter_map(|w| w.parse().ok()).collect();
                if let [feed, frame, at] = fields[..]
                    && let Ok(mut table) = table.lock()
                {
                    table.insert((feed as usize, frame as u32), at);
                }
            }
        });
        Server { child, port, sent, reader: Some(reader) }
    }

    pub fn uri(&self, feed: usize) -> String {
        format!("rtsp://127.0.0.1:{}/feed{feed}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When the server sent `frame` of `feed` last (µs of CLOCK_MONOTONIC).
    pub fn sent_at(&self, feed: usize, frame: u32) -> Option<i64> {
        self.sent.lock().ok()?.get(&(feed, frame)).copied()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
