//! `[bridge]` and its `[[bridge.peer]]`s: the systems the center docks with over the bridge
//! protocol of docs/bridge.md — the 110 command center, the 12345 / petition platform.
//!
//! ```toml
//! [bridge]
//! listen = "0.0.0.0:8790"          # where the peers POST (incidents, hand-over progress)
//! retry_secs = [60, 300, 600]      # a callback not acknowledged is sent again after these; the last repeats
//!
//! [[bridge.peer]]
//! id = "110"
//! name = "县公安局110指挥中心"
//! source = "hotline110"            # what its incidents are: hotline110 | hotline12345
//! secret = "env:LINKAGE_BRIDGE_110"
//! url = "https://110.example:9443" # where its status callbacks and hand-overs go
//! default_kind = "public_order"    # the kind of an incident whose category maps to none
//! categories = { "纠纷" = "dispute" }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use streams::feed::ReportSource;
use toml::Spanned;

use crate::core::kind::IncidentKinds;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BridgeSection {
    listen: Spanned<String>,
    #[serde(default = "retry_default")]
    retry_secs: Spanned<Vec<u64>>,
    /// How far a request's timestamp may be from this server's clock.
    #[serde(default = "window_default")]
    replay_window_secs: u64,
    #[serde(default, rename = "peer")]
    peers: Vec<Spanned<PeerSection>>,
}

fn retry_default() -> Spanned<Vec<u64>> {
    Spanned::new(0..0, vec![60, 300, 600])
}

fn window_default() -> u64 {
    300
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerSection {
    id: String,
    name: String,
    source: Spanned<String>,
    /// The shared secret, or `env:NAME`.
    secret: Spanned<String>,
    url: Spanned<String>,
    default_kind: Spanned<String>,
    #[serde(default)]
    categories: BTreeMap<String, String>,
}

/// The bridge as configured.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub listen: SocketAddr,
    /// The waits between attempts of an unacknowledged callback; the last repeats.
    pub retry: Vec<Duration>,
    pub replay_window: Duration,
    pub peers: Vec<BridgePeer>,
}

/// One docked system.
#[derive(Clone)]
pub struct BridgePeer {
    /// Short and stable: it prefixes the report ids of its incidents (`110:NUMBER`).
    pub id: String,
    pub name: String,
    pub source: ReportSource,
    pub secret: String,
    /// Its API's base, `http(s)://host:port`.
    pub url: String,
    pub default_kind: String,
    /// Its categories → our kind codes.
    pub categories: BTreeMap<String, String>,
}

impl std::fmt::Debug for BridgePeer {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BridgePeer {{ id: {}, name: {}, url: {} }}", self.id, self.name, self.url)
    }
}

impl BridgePeer {
    /// The kind an incident of `category` is here.
    pub fn kind_of(&self, category: &str, kinds: &IncidentKinds) -> String {
        let mapped = self.categories.get(category).map(String::as_str).unwrap_or(category);
        if kinds.get(mapped).is_some() { mapped.to_owned() } else { self.default_kind.clone() }
    }
}

/// Checks the section: addresses, sources, kinds, secrets, unique ids.
pub(super) fn settings(
    section: BridgeSection,
    kinds: &IncidentKinds,
    err: impl Fn(Option<std::ops::Range<usize>>, String) -> super::ConfigError,
) -> Result<BridgeSettings, super::ConfigError> {
    let listen = section.listen.get_ref().parse().map_err(|_| {
        err(Some(section.listen.span()), format!("bridge listen {:?} is not host:port", section.listen.get_ref()))
    })?;
    if section.retry_secs.get_ref().is_empty() || section.retry_secs.get_ref().contains(&0) {
        return Err(err(
            Some(section.retry_secs.span()),
            "bridge retry_secs: one or more waits of at least 1 s".into(),
        ));
    }
    let mut peers: Vec<BridgePeer> = vec![];
    for entry in section.peers {
        let span = entry.span();
        let p = entry.into_inner();
        let bad_id = p.id.is_empty() || p.id.len() > 32 || !p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if bad_id || peers.iter().any(|q| q.id == p.id) {
            return Err(err(Some(span), format!("bridge peer id {:?}: unique, 1–32 letters, digits or -", p.id)));
        }
        let source = match p.source.get_ref().as_str() {
            "hotline110" => ReportSource::Hotline110,
            "hotline12345" => ReportSource::Hotline12345,
            other => {
                let reason = format!("bridge peer source {other:?}: hotline110 or hotline12345");
                return Err(err(Some(p.source.span()), reason));
            }
        };
        let url = p.url.get_ref().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(err(Some(p.url.span()), "bridge peer url must start with http:// or https://".into()));
        }
        let known = |kind: &str| kinds.get(kind).is_some();
        if !known(p.default_kind.get_ref()) {
            let reason = format!("bridge peer default_kind {:?} is not an incident kind", p.default_kind.get_ref());
            return Err(err(Some(p.default_kind.span()), reason));
        }
        if let Some((category, kind)) = p.categories.iter().find(|(_, k)| !known(k)) {
            return Err(err(Some(span), format!("bridge peer category {category:?} maps to {kind:?}, not a kind")));
        }
        let secret = super::env_or(p.secret.get_ref()).map_err(|r| err(Some(p.secret.span()), r))?;
        if secret.len() < 16 {
            return Err(err(Some(p.secret.span()), "bridge peer secret: at least 16 characters".into()));
        }
        let default_kind = p.default_kind.into_inner();
        peers.push(BridgePeer { id: p.id, name: p.name, source, secret, url, default_kind, categories: p.categories });
    }
    Ok(BridgeSettings {
        listen,
        retry: section.retry_secs.into_inner().into_iter().map(Duration::from_secs).collect(),
        replay_window: Duration::from_secs(section.replay_window_secs.max(1)),
        peers,
    })
}
