//! The center's server as one thing to start: the hub and, for a township's config, its
//! dispatch service, with the two identities the service needs made fresh for this run (from
//! the OS's CSPRNG) and known only here. `linkage hub`, the embedded default and the tests all
//! start it this way. On a county's log (`--nats`) several servers run a township's gateway
//! side by side; one of them, the holder of the township's lease, runs its services.

use std::sync::{Arc, Mutex};

use streams::feed::jetstream::JetStreamLog;
use streams::feed::lease::{self, Lease};
use streams::feed::tls::Trust;
use streams::feed::{Grant, Hub, HubConfig, HubHandle, Role, secret_hex};

use super::bridge::Bridge;
use super::meeting::MeetingService;
use super::service::{DispatchService, HubAccess};
use crate::config::{BridgeSettings, Config, SmsGateway};

/// A running server; dropping it stops the services, then the hub.
pub struct Server {
    // Dropped first: the bridge and the services go before the hub they work for.
    services: Services,
    pub hub: HubHandle,
}

/// The township that the dispatch service works for: its config, and an SMSC and a bridge to use
/// when the config names none (the demo's simulated ones).
pub struct Township<'a> {
    pub config: &'a Config,
    pub sms: Option<SmsGateway>,
    pub bridge: Option<BridgeSettings>,
}

/// The township's services (dispatch, and the bridge and meetings where configured).
enum Services {
    None,
    /// Running for as long as the server runs (the township's own log).
    Running(Running),
    /// Started whenever this server holds the township's lease on the county's log, stopped
    /// when it loses it; a standby meanwhile.
    Leased {
        running: Arc<Mutex<Option<Running>>>,
        task: tokio::task::JoinHandle<()>,
    },
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Services::Leased { running, task } = self {
            task.abort();
            drop(running.lock().unwrap_or_else(|p| p.into_inner()).take());
        }
    }
}

/// The services while they run.
struct Running {
    meetings: Option<MeetingService>,
    bridge: Option<Bridge>,
    service: Option<DispatchService>,
    /// Their own runtime when they run under a lease: shut down after them, so that nothing
    /// of theirs (a channel's reconnecting task) goes on acting once the lease is lost.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // In this order: what is still working stops before what it reports to.
        drop(self.meetings.take());
        drop(self.bridge.take());
        drop(self.service.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Everything the services need to start, owned (a leased start happens later, on a task).
#[derive(Clone)]
struct Start {
    config: Config,
    sms: Option<SmsGateway>,
    bridged: Option<BridgeSettings>,
    identity: Option<streams::feed::tls::Identity>,
    url: String,
    /// The service's, the dispatcher's and the bridge's tokens.
    tokens: [String; 3],
    trust: Option<Trust>,
    dir: std::path::PathBuf,
}

impl Start {
    fn run(&self, runtime: &tokio::runtime::Handle) -> Result<Running, String> {
        let Start { config, sms, bridged, identity, url, tokens: [center, dispatcher, bridge], trust, dir } = self;
        // The service reaches its own hub on the address it listens on; with TLS the
        // certificate must name it (`--names 127.0.0.1,…`).
        let access = HubAccess { url, center_token: center, dispatcher_token: dispatcher, trust: trust.clone() };
        let service = DispatchService::start(config, sms.clone(), access, dir, runtime)?;
        let bridge = match bridged {
            Some(settings) => {
                let hub = (url.as_str(), bridge.as_str(), trust.clone());
                let dir = dir.join("bridge");
                Some(Bridge::start(config, (settings.clone(), identity.clone()), hub, &dir, runtime)?)
            }
            None => None,
        };
        let meetings = match &config.meeting {
            Some(settings) => {
                let hub = (url.as_str(), center.as_str(), trust.clone());
                Some(MeetingService::start(settings, hub, &dir.join("meeting"), runtime)?)
            }
            None => None,
        };
        Ok(Running { meetings, bridge, service: Some(service), runtime: None })
    }

    /// Starts the services on a runtime of their own (see [`Running::runtime`]).
    fn run_alone(&self) -> Result<Running, String> {
        let runtime =
            crate::runtime("township services").map_err(|e| format!("a runtime for the township's services: {e}"))?;
        let mut running = self.run(runtime.handle())?;
        running.runtime = Some(runtime);
        Ok(running)
    }
}

impl Server {
    /// Starts the hub of `hub`, then the dispatch service for `township` (if any), which keeps
    /// its state in `DATA/center` and, for a hub serving wss, trusts `trust`. On a county's
    /// log the services start only while this server holds the township's lease.
    pub fn start(
        mut hub: HubConfig,
        township: Option<Township<'_>>,
        trust: Option<Trust>,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<Server, String> {
        let (center, dispatcher, bridge) = (secret_hex(16)?, secret_hex(16)?, secret_hex(16)?);
        if township.is_some() {
            hub.tokens.insert(center.clone(), Grant::new(Role::Center, "center"));
            hub.tokens.insert(dispatcher.clone(), Grant::new(Role::Dispatcher, "center dispatcher"));
        }
        let bridged = township.as_ref().and_then(|t| t.bridge.clone().or_else(|| t.config.bridge.clone()));
        if bridged.is_some() {
            // The name the bridge's notes are signed with in the incidents' trails.
            hub.tokens.insert(bridge.clone(), Grant::new(Role::Bridge, "对接接口"));
        }
        let dir = hub.data_dir.join("center");
        // The bridge speaks HTTPS with the hub's identity when the hub serves wss.
        let identity = hub.tls.clone();
        let hub = runtime.block_on(Hub::start(hub))?;
        let Some(Township { config, sms, .. }) = township else {
            return Ok(Server { services: Services::None, hub });
        };
        let start = Start {
            config: config.clone(),
            sms,
            bridged,
            identity,
            url: hub.url(),
            tokens: [center, dispatcher, bridge],
            trust,
            dir,
        };
        let services = match hub.county() {
            None => Services::Running(start.run(runtime.handle())?),
            Some(county) => {
                let running = Arc::new(Mutex::new(None));
                let task = runtime.spawn(leased(county.clone(), start, running.clone()));
                Services::Leased { running, task }
            }
        };
        Ok(Server { services, hub })
    }

    /// Where the 110 / 12345 bridge listens, when the township has one.
    pub fn bridge_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.services {
            Services::None => None,
            Services::Running(running) => running.bridge.as_ref().map(Bridge::addr),
            Services::Leased { running, .. } => {
                running.lock().unwrap_or_else(|p| p.into_inner()).as_ref()?.bridge.as_ref().map(Bridge::addr)
            }
        }
    }

    /// Whether a dispatch service runs, or stands by for its lease (the hub alone builds no
    /// orders).
    pub fn dispatches(&self) -> bool {
        !matches!(self.services, Services::None)
    }
}

/// The township's services on a county's log: wait for the lease, run them while it is held
/// (renewed from the moment it is taken, also while they start), stop them when it is lost
/// (another server acts now), and wait again. Services that fail to start give the lease up.
async fn leased(county: JetStreamLog, start: Start, running: Arc<Mutex<Option<Running>>>) {
    let who = format!("{}@{}", std::process::id(), start.url);
    loop {
        let lease = match Lease::acquire(&county, "services", &who).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::error!(error = %e, "the township's lease cannot be asked for; asking again");
                tokio::time::sleep(lease::RENEW).await;
                continue;
            }
        };
        // Dropping `give_up` (this task aborted: the server stops) releases the lease too.
        let (give_up, told) = tokio::sync::oneshot::channel();
        let mut holding = tokio::spawn(lease.hold(told));
        let starting = start.clone();
        let started = tokio::task::spawn_blocking(move || starting.run_alone()).await;
        match started {
            Ok(Ok(services)) => *running.lock().unwrap_or_else(|p| p.into_inner()) = Some(services),
            failed => {
                let reason = failed.map_or_else(|e| e.to_string(), |r| r.err().unwrap_or_default());
                tracing::error!(%reason, "the township's services did not start; the lease is given up");
                let _ = give_up.send(());
                let _ = holding.await;
                tokio::time::sleep(lease::TTL).await;
                continue;
            }
        }
        let lost = (&mut holding).await.unwrap_or_else(|e| e.to_string());
        drop(give_up);
        tracing::error!(reason = %lost, "this server no longer acts for the township; standing by");
        let stopped = running.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Stopping waits for the services' own tasks: off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || drop(stopped)).await;
    }
}
