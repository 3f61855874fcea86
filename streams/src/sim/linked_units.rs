//! Simulated linked units: each unit's terminal is a real hub client with the unit-terminal
//! role, so the hub sees the township's units come on duty. Orders to them (and their
//! acknowledgements) arrive with the three-in-one dispatch; until then they keep their link
//! alive and log what the hub tells them.

use crate::feed::{ClientHandle, FeedClient, Role};

/// A unit's terminal to connect.
#[derive(Debug, Clone)]
pub struct SimUnit {
    pub id: String,
    pub token: String,
}

/// Connected terminals; dropping this disconnects them.
pub struct LinkedUnits {
    _terminals: Vec<ClientHandle>,
}

/// Connects one terminal per unit to the hub at `hub_url`.
pub fn start(hub_url: &str, units: &[SimUnit], runtime: &tokio::runtime::Handle) -> LinkedUnits {
    let (updates, mut sink) = tokio::sync::mpsc::unbounded_channel();
    runtime.spawn(async move {
        while let Some(update) = sink.recv().await {
            tracing::debug!(?update, "simulated unit terminal");
        }
    });
    let terminals = units
        .iter()
        .map(|unit| {
            FeedClient {
                url: hub_url.to_owned(),
                token: unit.token.clone(),
                role: Role::UnitTerminal,
                since: 0,
                name: format!("unit {}", unit.id),
            }
            .spawn(runtime, updates.clone(), crate::no_waker())
        })
        .collect();
    LinkedUnits { _terminals: terminals }
}
