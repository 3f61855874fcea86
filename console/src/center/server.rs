//! The center's server as one thing to start: the hub and, for a township's config, its
//! dispatch service, with the two identities the service needs made fresh for this run (from
//! the OS's CSPRNG) and known only here. `linkage hub`, the embedded default and the tests all
//! start it this way.

use streams::feed::tls::Trust;
use streams::feed::{Grant, Hub, HubConfig, HubHandle, Role, secret_hex};

use super::bridge::Bridge;
use super::meeting::MeetingService;
use super::service::{DispatchService, HubAccess};
use crate::config::{BridgeSettings, Config, SmsGateway};

/// A running server; dropping it stops the service, then the hub.
pub struct Server {
    // Dropped first: the bridge and the services go before the hub they work for.
    _meetings: Option<MeetingService>,
    bridge: Option<Bridge>,
    service: Option<DispatchService>,
    pub hub: HubHandle,
}

/// The township the dispatch service works for: its config, and an SMSC and a bridge to use
/// when the config names none (the demo's simulated ones).
pub struct Township<'a> {
    pub config: &'a Config,
    pub sms: Option<SmsGateway>,
    pub bridge: Option<BridgeSettings>,
}

impl Server {
    /// Starts the hub of `hub`, then the dispatch service for `township` (if any), which keeps
    /// its state in `DATA/center` and, for a hub serving wss, trusts `trust`.
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
        let url = hub.url();
        let (service, bridge, meetings) = match township {
            Some(Township { config, sms, .. }) => {
                // The service reaches its own hub on the address it listens on; with TLS the
                // certificate must name it (`--names 127.0.0.1,…`).
                let access =
                    HubAccess { url: &url, center_token: &center, dispatcher_token: &dispatcher, trust: trust.clone() };
                let service = DispatchService::start(config, sms, access, &dir, runtime.handle())?;
                let bridge = match bridged {
                    Some(settings) => {
                        let hub = (url.as_str(), bridge.as_str(), trust.clone());
                        let dir = dir.join("bridge");
                        Some(Bridge::start(config, (settings, identity), hub, &dir, runtime.handle())?)
                    }
                    None => None,
                };
                let meetings = match &config.meeting {
                    Some(settings) => {
                        let hub = (url.as_str(), center.as_str(), trust);
                        Some(MeetingService::start(settings, hub, &dir.join("meeting"), runtime.handle())?)
                    }
                    None => None,
                };
                (Some(service), bridge, meetings)
            }
            None => (None, None, None),
        };
        Ok(Server { _meetings: meetings, bridge, service, hub })
    }

    /// Where the 110 / 12345 bridge listens, when the township has one.
    pub fn bridge_addr(&self) -> Option<std::net::SocketAddr> {
        self.bridge.as_ref().map(Bridge::addr)
    }

    /// Whether a dispatch service runs (the hub alone builds no orders).
    pub fn dispatches(&self) -> bool {
        self.service.is_some()
    }
}
