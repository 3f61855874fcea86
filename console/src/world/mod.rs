//! The world the console connects to: a remote center's server, or — in the embedded default —
//! the center's server started in-process on loopback (the hub and its dispatch service), with
//! the demo's simulated cameras (real RTSP), grid workers, linked units (real hub clients) and
//! SMSC around it.
//!
//! The console itself does not know the difference: it always talks to a hub URL with a token
//! and opens camera URIs; the orders it shows come from the log either way.

pub mod duty_officer;
pub mod seats;
pub mod video_platform;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use streams::feed::{Grant, HubConfig, Role};
use streams::sim::cameras::{CameraServer, SimCamera};
use streams::sim::cmpp_gateway::CmppGateway;
use streams::sim::command_center::{CommandCenter, SimPeer};
use streams::sim::grid_workers::{GridWorkerSim, SimGrid, SimKind};
use streams::sim::linked_units::{self, SimUnit};
use streams::sim::radio_gateways::RadioGateways;
use streams::sim::sip_gateway::SipGateway;
use streams::sim::sms_cloud::SmsCloud;
use streams::sim::smsc::Smsc;

use crate::center::{Server, Township};
use crate::config::{Config, Credentials, HubSetting};
use crate::config::{SimulatedSms, SmsGateway};
use crate::core::camera::{CameraStreams, StreamUris};
use crate::core::radio_target::RadioTarget;

/// What the console needs to connect, and the in-process peers kept alive while it runs.
pub struct World {
    pub hub_url: String,
    pub token: String,
    /// The site CA, for a wss:// server.
    pub trust: Option<streams::feed::tls::Trust>,
    /// Where the console keeps its own data (journal, queue, exports, snapshots).
    pub store_dir: PathBuf,
    /// Camera id → the addresses of its streams.
    pub camera_uris: HashMap<String, StreamUris>,
    /// The video platforms the seat takes cameras from: the config's, or the demo's.
    pub platforms: Vec<crate::config::PlatformSettings>,
    // Dropped first: the server goes before the simulated peers it talks to.
    _server: Option<Server>,
    /// The demo's simulated cameras, terminals and gateways, each running until dropped.
    _simulated: Vec<Box<dyn std::any::Any>>,
}

/// A fresh token, 128 bits from the operating system's CSPRNG: the embedded server's
/// clients, and the identities the server gives itself.
fn secret() -> Result<String, String> {
    streams::feed::secret_hex(16)
}

/// Where the embedded hub keeps its log when the config does not say.
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("linkage").join("hub")
}

impl World {
    /// A seat of a center that runs elsewhere: its hub, the seat's token and trust, nothing
    /// started here.
    fn seat_of(
        (hub_url, token, trust): (String, String, Option<streams::feed::tls::Trust>),
        store_dir: PathBuf,
        camera_uris: HashMap<String, StreamUris>,
        platforms: Vec<crate::config::PlatformSettings>,
    ) -> World {
        World { hub_url, token, trust, store_dir, camera_uris, platforms, _server: None, _simulated: vec![] }
    }

    /// Starts what the config asks for on `runtime`; `session` is the token a login gave.
    pub fn start(
        config: &Config,
        data_dir: Option<PathBuf>,
        session: Option<String>,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<World, String> {
        let mut camera_uris: HashMap<String, StreamUris> = config
            .cameras
            .iter()
            .filter_map(|c| match &c.streams {
                CameraStreams::Uri { main, sub } => {
                    Some((c.id.clone(), StreamUris { main: main.clone(), sub: sub.clone() }))
                }
                CameraStreams::Simulated | CameraStreams::Platform { .. } => None,
            })
            .collect();
        let (listen, config_dir) = match &config.hub {
            HubSetting::Remote { url, who, .. } => {
                let token = match (who, session) {
                    (_, Some(session)) => session,
                    (Credentials::Token(token), None) => token.clone(),
                    (Credentials::User(user), None) => return Err(format!("{user} has not logged in")),
                };
                // A unit's seat keeps its own journal: its log is its unit's, not the center's.
                let seat =
                    config.seat_unit.as_ref().map_or_else(|| "console".to_owned(), |unit| format!("unit-{unit}"));
                let store_dir = data_dir.unwrap_or_else(default_data_dir).join(seat);
                let remote = (url.clone(), token, config.hub.trust()?);
                return Ok(World::seat_of(remote, store_dir, camera_uris, config.platforms.clone()));
            }
            HubSetting::Embedded { listen, data_dir } => (listen.clone(), data_dir.clone()),
        };
        let data_dir = data_dir.or(config_dir).unwrap_or_else(default_data_dir);
        // A unit's seat beside the demo's center: it joins the center that runs, as that unit.
        if let Some(unit) = &config.seat_unit {
            let (hub_url, token) = seats::find(&data_dir, unit)?;
            let store_dir = data_dir.join(format!("unit-{unit}"));
            return Ok(World::seat_of((hub_url, token, None), store_dir, camera_uris, vec![]));
        }
        let mut rng = fastrand::Rng::new();
        let (console, field) = (secret()?, secret()?);
        let mut tokens = HashMap::from([
            // The embedded center is the operator's own: its seat is its admin (rosters).
            (
                console.clone(),
                Grant { seat: Some(streams::feed::SeatRole::Admin), ..Grant::new(Role::Console, "console") },
            ),
            (field.clone(), Grant::new(Role::FieldTerminal, "simulated grid workers")),
        ]);
        let units: Vec<SimUnit> = config
            .units
            .iter()
            .map(|u| Ok(SimUnit { id: u.id.clone(), token: secret()?, base: u.base }))
            .collect::<Result<_, String>>()?;
        for u in &units {
            tokens.insert(u.token.clone(), Grant::unit_terminal(&u.id));
        }
        let listen: std::net::SocketAddr =
            listen.parse().map_err(|_| format!("hub listen address {listen:?} is not host:port"))?;
        let store_dir = data_dir.join("console");
        // The demo's SMS gateway, when the simulation runs and the config names none: it must be
        // up before the dispatch service binds to it.
        let mut simulated: Vec<Box<dyn std::any::Any>> = vec![];
        let mut sms = None;
        let named =
            config.dispatch.sms.is_some() || config.dispatch.cmpp.is_some() || config.dispatch.http_sms.is_some();
        match config.simulation.as_ref().map(|s| s.sms).filter(|_| !named) {
            None => {}
            Some(SimulatedSms::Smpp) => {
                let started = Smsc::start(runtime.handle())?;
                sms = Some(SmsGateway::Smpp(crate::config::SmsSettings {
                    address: started.addr().to_string(),
                    system_id: "qingxi".into(),
                    password: "demo".into(),
                    source: "10690001".into(),
                }));
                simulated.push(Box::new(started));
            }
            Some(SimulatedSms::Cmpp) => {
                let (sp_id, secret) = ("901234".to_owned(), secret()?);
                let started = runtime.block_on(CmppGateway::start(&sp_id, &secret))?;
                sms = Some(SmsGateway::Cmpp(crate::center::channels::cmpp::CmppSettings {
                    address: started.addr().to_string(),
                    sp_id,
                    secret,
                    src_id: "1069000101".into(),
                    service_id: "LINKAGE".into(),
                    active_test_every: Duration::from_secs(30),
                }));
                simulated.push(Box::new(started));
            }
            Some(SimulatedSms::Http) => {
                // Where the service pushes its delivery reports: a port free now.
                let callback = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(|e| format!("SMS report callback: {e}"))?;
                let (key, secret) = ("qingxi".to_owned(), secret()?);
                let started = runtime.block_on(SmsCloud::start(&key, &secret, &format!("http://{callback}")))?;
                sms = Some(SmsGateway::Http(crate::center::channels::http_sms::HttpSmsSettings {
                    url: started.url(),
                    key,
                    secret,
                    sign_name: "青溪镇综治中心".into(),
                    template_code: "SMS_LINKAGE_ORDER".into(),
                    callback_listen: Some(callback),
                }));
                simulated.push(Box::new(started));
            }
        }
        // The files endpoint on the hub's address, a port of its own choosing: seats learn it at hello.
        let files = Some(std::net::SocketAddr::new(listen.ip(), 0));
        let hub = HubConfig {
            listen,
            data_dir: data_dir.clone(),
            tokens,
            limits: Default::default(),
            tls: None,
            files,
            county: None,
            session_secret: None,
        };
        // The demo's 110 center and 12345 platform, when the simulation runs and no [bridge] is
        // configured: up before the bridge, which calls them back.
        let mut command_center = None;
        let mut bridge = None;
        if config.simulation.is_some() && config.bridge.is_none() {
            let peers =
                [SimPeer { id: "110".into(), secret: secret()? }, SimPeer { id: "12345".into(), secret: secret()? }];
            let center = runtime.block_on(CommandCenter::start(peers.clone()))?;
            bridge = Some(demo_bridge(&peers, &center.url()));
            command_center = Some(center);
        }
        let server = Server::start(hub, Some(Township { config, sms, bridge }), None, runtime)?;
        let hub_url = server.hub.url();

        let mut world = World {
            hub_url: hub_url.clone(),
            token: console,
            trust: None,
            store_dir,
            camera_uris: HashMap::new(),
            platforms: config.platforms.clone(),
            _server: Some(server),
            _simulated: simulated,
        };
        if let Some(sim) = &config.simulation {
            let simulated: Vec<SimCamera> = config
                .cameras
                .iter()
                .filter(|c| c.streams == CameraStreams::Simulated)
                .map(|c| SimCamera { id: c.id.clone(), name: c.name.clone(), ptz: false })
                .collect();
            // The demo's video platform, when the config names none: its channels on the same
            // RTSP server.
            let demo_platform = !config.platforms.iter().any(|p| p.kind == crate::config::PlatformKind::Wvp);
            let served: Vec<SimCamera> = match demo_platform {
                true => simulated.iter().cloned().chain(video_platform::cameras()).collect(),
                false => simulated.clone(),
            };
            if !served.is_empty() {
                let server = CameraServer::start(&served, 0)?;
                for c in &simulated {
                    let uris = StreamUris { main: server.main_uri(&c.id), sub: Some(server.uri(&c.id)) };
                    camera_uris.insert(c.id.clone(), uris);
                }
                if demo_platform {
                    let (platform, settings) = video_platform::start(runtime, &server)?;
                    world.platforms.push(settings);
                    world._simulated.push(Box::new(platform));
                }
                world._simulated.push(Box::new(server));
            }
            let grids: Vec<SimGrid> = config
                .grids
                .grids
                .iter()
                .map(|g| SimGrid { code: g.code.clone(), worker: g.worker.clone(), area: g.area.clone() })
                .collect();
            let kinds = config
                .kinds
                .kinds
                .iter()
                .map(|k| SimKind {
                    code: k.code.clone(),
                    weight: k.weight,
                    severity_weights: k.severity_weights,
                    texts: k.texts.clone(),
                })
                .collect();
            let workers = GridWorkerSim {
                hub_url: hub_url.clone(),
                token: field,
                grids: grids.clone(),
                kinds,
                mean_gap: Duration::from_secs_f64(sim.mean_report_gap_secs),
                seed: rng.u64(..),
                backlog: sim.backlog,
            };
            world._simulated.push(Box::new(workers.start(runtime.handle())));
            if let (Some(mut center), Some(bridge)) =
                (command_center, world._server.as_ref().and_then(Server::bridge_addr))
            {
                // A 110 incident for about every ten of the grid workers' reports.
                let _entered = runtime.enter();
                center.push(bridge, grids, Duration::from_secs_f64(sim.mean_report_gap_secs * 10.0));
                world._simulated.push(Box::new(center));
            }
            // Units a person plays at a unit seat get no simulated terminal: their tokens are
            // published for `linkage --unit` instead.
            let (staffed, simulated): (Vec<SimUnit>, Vec<SimUnit>) =
                units.into_iter().partition(|u| sim.staffed.contains(&u.id));
            if !staffed.is_empty() {
                let tokens = staffed.into_iter().map(|u| (u.id, u.token)).collect();
                world._simulated.push(Box::new(seats::publish(&data_dir, &hub_url, tokens)?));
            }
            world._simulated.push(Box::new(linked_units::start(&hub_url, &simulated, runtime.handle())));
            // The units' radio gateways, where they are on this machine.
            let gateways: Vec<_> =
                config.units.iter().filter_map(|u| u.radio.as_ref()?.rtp()).filter(|a| a.ip().is_loopback()).collect();
            // Another console on this machine may hold the ports: its gateways hear the calls.
            match RadioGateways::start(&gateways, runtime.handle()) {
                Ok(gateways) => world._simulated.push(Box::new(gateways)),
                Err(e) => tracing::warn!(error = %e, "simulated radio gateways not started"),
            }
            // The SIP dispatch gateways of talk-groups on this machine, checking the account.
            if let Some(account) = &config.dispatch.radio_sip {
                let mut addresses: Vec<std::net::SocketAddr> = config
                    .units
                    .iter()
                    .filter_map(|u| match u.radio.as_ref()? {
                        RadioTarget::Sip { host, port, .. } => format!("{host}:{port}").parse().ok(),
                        RadioTarget::Rtp(_) => None,
                    })
                    .filter(|a: &std::net::SocketAddr| a.ip().is_loopback())
                    .collect();
                addresses.sort();
                addresses.dedup();
                for addr in addresses {
                    let login = (account.user.clone(), account.password.clone());
                    match runtime.block_on(SipGateway::start(addr, login)) {
                        Ok(gateway) => world._simulated.push(Box::new(gateway)),
                        Err(e) => tracing::warn!(error = %e, "simulated SIP gateway not started"),
                    }
                }
            }
        }
        world.camera_uris = camera_uris;
        Ok(world)
    }
}

/// The bridge of the demo: its simulated 110 center and 12345 platform at `url`.
fn demo_bridge(peers: &[SimPeer; 2], url: &str) -> crate::config::BridgeSettings {
    let peer = |p: &SimPeer, name: &str, source, categories: &[(&str, &str)]| crate::config::BridgePeer {
        id: p.id.clone(),
        name: name.into(),
        source,
        secret: p.secret.clone(),
        url: url.into(),
        default_kind: "public_order".into(),
        categories: categories.iter().map(|(c, k)| (c.to_string(), k.to_string())).collect(),
    };
    let calls = [("纠纷", "dispute"), ("治安", "public_order"), ("求助", "help_request"), ("交通", "traffic")];
    crate::config::BridgeSettings {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        retry: vec![Duration::from_secs(5), Duration::from_secs(30)],
        replay_window: Duration::from_secs(300),
        peers: vec![
            peer(&peers[0], "县公安局110指挥中心", streams::feed::ReportSource::Hotline110, &calls),
            peer(&peers[1], "12345政务服务便民热线", streams::feed::ReportSource::Hotline12345, &[]),
        ],
    }
}
