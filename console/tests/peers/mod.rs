//! Peers and helpers for the console tests: the SMSC simulator on the npm `smpp`
//! package (run under node), a GStreamer RTP receiver in the place of a radio gateway, the
//! center's server in-process (hub + dispatch service) and headless seats that follow it.
#![allow(dead_code)] // Each test file uses its own part of these.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use streams::feed::{ClientHandle, FeedClient, FeedUpdate, Grant, HubConfig, Role};
use tokio::sync::mpsc;

pub mod county;
pub mod drill;

/// The center's server as `linkage hub --config` runs it, in this process: the hub on `listen`
/// with seat tokens `seat-1` … `seat-3` (duty officers), a field terminal `field`, a terminal
/// connected for each unit of `config` (token `t-UNIT`; what they receive comes out of
/// `received`, and `terminals` send their steps), and the dispatch service for `config`.
pub struct CenterRig {
    // Dropped in this order: the terminals, then the server they talk to.
    pub terminals: HashMap<String, ClientHandle>,
    pub received: mpsc::UnboundedReceiver<FeedUpdate>,
    pub server: linkage::center::Server,
}

impl CenterRig {
    pub fn url(&self) -> String {
        self.server.hub.url()
    }
}

pub fn center(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    listen: &str,
    config: &linkage::config::Config,
) -> CenterRig {
    center_with_tls(runtime, dir, listen, config, None)
}

/// [`center`] serving wss with `tls` (the hub's identity, and the CA its own clients trust).
pub fn center_with_tls(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    listen: &str,
    config: &linkage::config::Config,
    tls: Option<(streams::feed::tls::Identity, streams::feed::tls::Trust)>,
) -> CenterRig {
    let (identity, trust) = tls.unzip();
    let mut tokens = HashMap::from([("field".to_string(), Grant::new(Role::FieldTerminal, "field terminal"))]);
    for n in 1..=3 {
        tokens.insert(format!("seat-{n}"), Grant::new(Role::Console, format!("officer {n}")));
    }
    for u in &config.units {
        tokens.insert(format!("t-{}", u.id), Grant::unit_terminal(&u.id));
    }
    let hub = HubConfig {
        listen: listen.parse().unwrap(),
        data_dir: dir.join("hub"),
        tokens,
        limits: Default::default(),
        tls: identity,
        files: Some("127.0.0.1:0".parse().unwrap()),
        county: None,
        session_secret: None,
    };
    let township = linkage::center::Township { config, sms: None, bridge: None };
    let server = linkage::center::Server::start(hub, Some(township), trust.clone(), runtime).unwrap();
    let url = server.hub.url();
    let (tx, received) = mpsc::unbounded_channel();
    let terminals = config
        .units
        .iter()
        .map(|u| {
            let client = FeedClient {
                url: url.clone(),
                token: format!("t-{}", u.id),
                role: Role::UnitTerminal,
                since: 0,
                name: u.id.clone(),
                trust: trust.clone(),
            }
            .spawn(runtime.handle(), tx.clone(), streams::no_waker());
            (u.id.clone(), client)
        })
        .collect();
    CenterRig { terminals, received, server }
}

/// A seat without a screen: the console's rules fed by its journal and the hub, commands
/// through its durable queue — what `LinkageApp` does, minus the drawing.
pub struct Seat {
    pub core: linkage::core::Core,
    pub feed: linkage::journal::HubFeed,
    token: String,
    trust: Option<streams::feed::tls::Trust>,
    runtime: tokio::runtime::Handle,
    /// Reports whose photos are on their way up, as the app keeps them.
    reports: linkage::reports::Reports,
    /// Why photos were left out of reports sent.
    pub refused_photos: Vec<String>,
}

impl Seat {
    /// Opens the seat's journal in `dir` and follows the hub at `url` with `token`, as a
    /// console (or, for a config with a `seat_unit`, as that unit's seat).
    pub fn open(
        runtime: &tokio::runtime::Runtime,
        dir: &Path,
        url: &str,
        token: &str,
        config: &linkage::config::Config,
    ) -> Seat {
        Seat::open_trusting(runtime, dir, (url, None), token, config)
    }

    /// [`Seat::open`] on a wss:// hub, trusting `trust`.
    pub fn open_trusting(
        runtime: &tokio::runtime::Runtime,
        dir: &Path,
        (url, trust): (&str, Option<streams::feed::tls::Trust>),
        token: &str,
        config: &linkage::config::Config,
    ) -> Seat {
        let link = (url, token, config.seat_role(), trust.clone());
        let mut feed = linkage::journal::follow(dir, link, runtime.handle(), streams::no_waker()).unwrap();
        let mut core = config.core();
        for event in std::mem::take(&mut feed.restored) {
            core.on_feed(FeedUpdate::Event(event));
        }
        for command in std::mem::take(&mut feed.queued) {
            core.remember_sent(&command);
        }
        Seat {
            core,
            feed,
            token: token.to_owned(),
            trust,
            runtime: runtime.handle().clone(),
            reports: Default::default(),
            refused_photos: vec![],
        }
    }

    /// Applies a command as a view would give it, and carries out what it asks.
    pub fn apply(&mut self, command: linkage::core::Command) {
        for effect in self.core.apply(command) {
            match effect {
                linkage::core::Effect::Send(body) => self.feed.send(body),
                linkage::core::Effect::SendWithPhotos { command, photos } => self.reports.submit(command, photos),
                other => panic!("a seat in a test does not {other:?}"),
            }
        }
    }

    /// Takes in everything the hub sent so far.
    pub fn drain(&mut self) {
        while let Ok(update) = self.feed.updates.try_recv() {
            self.core.on_feed(update);
        }
    }

    /// Feeds what the hub sends until `done` holds, or panics after `secs` seconds.
    pub fn until(&mut self, secs: u64, what: &str, done: impl Fn(&linkage::core::Core) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&self.core) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {:#?}", self.core.orders.list);
            if self.reports.busy() {
                let files = match &self.core.hub.connection {
                    Some(streams::feed::Connection::Connected { files, .. }) => files.as_deref(),
                    _ => None,
                };
                let endpoint = files.map(|files| linkage::reports::Endpoint {
                    files,
                    token: &self.token,
                    trust: self.trust.as_ref(),
                });
                for ready in self.reports.pump(endpoint, &self.runtime, &streams::no_waker()) {
                    self.feed.send(ready.command);
                    self.refused_photos.extend(ready.refused);
                }
            }
            match self.feed.updates.try_recv() {
                Ok(update) => self.core.on_feed(update),
                // Fine-grained: the dispatch bench measures with this.
                Err(_) => std::thread::sleep(Duration::from_micros(500)),
            }
        }
    }
}

/// `linkage hub` as its own process on `port`, with `DIR/data` and `DIR/tokens.toml` and
/// `extra` arguments, once it listens. Its files endpoint gets a free port of its own: the
/// default, the next port, may be the source port of some outgoing connection. A county's
/// gateway listens once its stream is open, which waits up to 30 s for a cluster just started
/// to elect its leader (slower with TLS between the nodes, on a loaded machine): it is given
/// a minute.
pub fn linkage_hub(dir: &Path, port: u16, extra: &[&std::ffi::OsStr]) -> Child {
    let child = linkage_hub_command(dir, port, extra).spawn().expect("linkage hub starts");
    let until = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "linkage hub did not listen within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// The command [`linkage_hub`] runs.
pub fn linkage_hub_command(dir: &Path, port: u16, extra: &[&std::ffi::OsStr]) -> Process {
    let files = linkage_tests::free_tcp_port();
    let mut command = Process::new(env!("CARGO_BIN_EXE_linkage"));
    command
        .args(["hub", "--listen", &format!("127.0.0.1:{port}"), "--files", &format!("127.0.0.1:{files}"), "--data"])
        .arg(dir.join("data"))
        .arg("--tokens")
        .arg(dir.join("tokens.toml"))
        .args(extra)
        .env("RUST_LOG", std::env::var("HUB_LOG").unwrap_or("warn".into()));
    command
}

/// A field terminal (token `field`) on the hub at `url`; what it is told is dropped.
pub fn field_terminal(runtime: &tokio::runtime::Runtime, url: &str) -> ClientHandle {
    let client = FeedClient {
        url: url.to_owned(),
        token: "field".into(),
        role: Role::FieldTerminal,
        since: 0,
        name: "field".into(),
        trust: None,
    };
    client.spawn(runtime.handle(), mpsc::unbounded_channel().0, streams::no_waker())
}

/// The SMSC simulator, killed when dropped.
pub struct Smsc {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    pub port: u16,
    pub log: PathBuf,
}

impl Smsc {
    /// A handset sends an SMS (mobile-originated) to every bound session.
    pub fn mobile_says(&mut self, from: &str, to: &str, text: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "MO {from} {to} {text}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Smsc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo's world in `dir/data` with its SMS through `sms`, its grid workers silent and no
/// simulated duty officer (what happens is the test's, and the simulated peers'), and a seat on
/// it (`dir/seat`).
pub fn quiet_demo(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    sms: linkage::config::SimulatedSms,
) -> (linkage::world::World, Seat) {
    let mut config = linkage::config::Config::demo().unwrap();
    if let Some(sim) = config.simulation.as_mut() {
        sim.sms = sms;
        sim.mean_report_gap_secs = 3600.0;
        sim.backlog = 0;
        sim.duty_officer = false;
    }
    let world = linkage::world::World::start(&config, Some(dir.join("data")), None, runtime).unwrap();
    config.simulation = None;
    let seat = Seat::open(runtime, &dir.join("seat"), &world.hub_url, &world.token, &config);
    (world, seat)
}

/// The account the SMSC peers take (the simulated one takes any), on 127.0.0.1:`port`.
pub fn smpp_account(port: u16) -> linkage::config::SmsSettings {
    linkage::config::SmsSettings {
        address: format!("127.0.0.1:{port}"),
        system_id: "linkage".into(),
        password: "secret".into(),
        source: "10690001".into(),
    }
}

pub fn start_smsc(dir: &Path, port: u16) -> Smsc {
    start_smsc_with(dir, port, &[])
}

/// [`start_smsc`] with more of its options (`--refuse DEST:PART:TIMES`, …).
pub fn start_smsc_with(dir: &Path, port: u16, extra: &[&str]) -> Smsc {
    let peers = peers_dir();
    let log = dir.join("smsc.log");
    let mut child = Process::new("node")
        .arg(peers.join("smsc.js"))
        .args(["--port", &port.to_string(), "--log"])
        .arg(&log)
        .args(["--system-id", "linkage", "--password", "secret"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the SMSC peer (make deps installs it)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("SMSC said {line:?}")).parse().unwrap();
    let stdin = child.stdin.take();
    Smsc { child, stdin, port, log }
}

/// A GStreamer RTP G.711 receiver: the samples of every call to `port`, decoded.
pub struct RadioReceiver {
    pipeline: gst::Pipeline,
    sink: gstreamer_app::AppSink,
}

impl RadioReceiver {
    pub fn start(port: u16) -> RadioReceiver {
        gst::init().unwrap();
        let pipeline = gst::parse::launch(&format!(
            "udpsrc port={port} caps=\"application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0\" \
             ! rtpjitterbuffer ! rtppcmudepay ! mulawdec ! audioconvert ! audio/x-raw,format=S16LE,rate=8000,channels=1 \
             ! appsink name=out sync=false"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = pipeline.by_name("out").unwrap().downcast::<gstreamer_app::AppSink>().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        RadioReceiver { pipeline, sink }
    }

    /// Every sample received until `quiet` passes without one.
    pub fn samples(&self, quiet: Duration) -> Vec<i16> {
        let mut out = vec![];
        while let Some(sample) = self.sink.try_pull_sample(gst::ClockTime::from_nseconds(quiet.as_nanos() as u64)) {
            let map = sample.buffer().unwrap().map_readable().unwrap();
            out.extend(map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        }
        out
    }
}

impl Drop for RadioReceiver {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (SIGKILL) when dropped, also when a test panics.
pub struct Killed(pub Child);

impl Killed {
    /// SIGKILL now, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The submit_sm lines of the SMSC's log.
pub fn submits(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "submit")
        .collect()
}

/// A grid worker's report `r{n}` (a low dispute in 青溪镇), for the tests that stream many.
pub fn report(n: usize) -> streams::feed::Body {
    use streams::feed::{Body, CoordinateSystem, IncidentReport, Location, ReportSource, Severity};
    Body::Report(IncidentReport {
        report_id: format!("r{n}"),
        kind: "dispute".into(),
        severity: Severity::Low,
        location: Location { lon: 120.0, lat: 30.13, crs: CoordinateSystem::Wgs84 },
        grid: None,
        reporter: "张伟".into(),
        reporter_mobile: None,
        source: ReportSource::Field,
        text: format!("第{n}条"),
        attachments: vec![],
    })
}

/// The JSON lines of a peer's log (each with an `"event"`) of one kind of event.
pub fn logged(log: &Path, event: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

/// Waits (at most `secs`) until the `event`s of a peer's log satisfy `done`; else fails with
/// the last five of them.
pub fn until_logged(log: &Path, secs: u64, event: &str, done: impl Fn(&[serde_json::Value]) -> bool) {
    let happened = linkage_tests::wait_for(Duration::from_secs(secs), || done(&logged(log, event)));
    let last: Vec<serde_json::Value> = logged(log, event).into_iter().rev().take(5).collect();
    assert!(happened, "{event} in {}: {last:?}", log.display());
}

/// A peer that is a Python program of tests/peers, killed when dropped: it said where it
/// listens, and logs JSON lines.
pub struct PythonPeer {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PythonPeer {
    /// Starts `tests/peers/<script>` with `--port 0 --log DIR/<script>.log` and `args`, once it
    /// says `LISTENING <port>`.
    pub fn start(dir: &Path, script: &str, args: &[&str]) -> PythonPeer {
        let log = dir.join(format!("{script}.log"));
        let mut child = Process::new("python3")
            .arg(peers_dir().join(script))
            .args(["--port", "0", "--log"])
            .arg(&log)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 runs {script}: {e}"));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("{script} said {line:?}")).parse().unwrap();
        PythonPeer { child, port, log }
    }

    /// The JSON lines it logged of one kind of event.
    pub fn events(&self, event: &str) -> Vec<serde_json::Value> {
        logged(&self.log, event)
    }

    /// Waits (at most `secs`) until its `event`s satisfy `done`.
    pub fn until(&self, secs: u64, event: &str, done: impl Fn(&[serde_json::Value]) -> bool) {
        until_logged(&self.log, secs, event, done);
    }
}

/// Sends `msg` on an SMS `channel` until its session is up (at most `secs`): the receipt, or
/// the channel's last reason.
pub fn send_when_up(
    runtime: &tokio::runtime::Runtime,
    channel: &dyn linkage::center::channels::Channel,
    msg: &linkage::core::dispatch::Outgoing,
    secs: u64,
) -> Result<linkage::center::channels::Receipt, String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match runtime.block_on(channel.send(msg)) {
            Ok(receipt) => return Ok(receipt),
            Err(e) if Instant::now() > deadline => return Err(e.0),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The next `n` delivery receipts an SMS channel reports late (at most `secs`): each part's
/// receipt and whether it was delivered. Anything else it reports fails the test.
pub fn receipts(
    late: &mut mpsc::UnboundedReceiver<linkage::center::channels::Late>,
    n: usize,
    secs: u64,
) -> Vec<(String, bool)> {
    let mut receipts = vec![];
    let deadline = Instant::now() + Duration::from_secs(secs);
    while receipts.len() < n {
        assert!(Instant::now() < deadline, "receipts so far: {receipts:?}");
        match late.try_recv() {
            Ok(linkage::center::channels::Late::Receipt { receipt, delivered, .. }) => {
                receipts.push((receipt, delivered))
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    receipts
}

/// A dispatch of `incident` to `unit` by online order only, in the words `order` (`{unit}` for
/// the unit's name).
pub fn order_only(incident: &str, unit: &str, order: &str) -> linkage::core::dispatch::DispatchDraft {
    linkage::core::dispatch::DispatchDraft {
        incident: incident.into(),
        plan: None,
        units: vec![(unit.into(), vec![linkage::core::order::ChannelKind::Order])],
        texts: streams::feed::Texts { order: order.into(), ..Default::default() },
        clocks: Default::default(),
    }
}

/// tests/peers, where the peers that are not Rust live.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers")
}

/// An SMS of order D000042 to the police, to `mobiles`.
pub fn sms_order(text: &str, mobiles: &[&str]) -> linkage::core::dispatch::Outgoing {
    linkage::core::dispatch::Outgoing {
        key: "D000042/police/sms".into(),
        order: "D000042".into(),
        incident: "E000042".into(),
        unit: "police".into(),
        channel: linkage::core::order::ChannelKind::Sms,
        address: linkage::core::dispatch::Address::Mobiles(mobiles.iter().map(|m| m.to_string()).collect()),
        text: text.into(),
        acknowledge_by: chrono::Utc::now(),
        details: None,
    }
}
