//! Who acts for a township: a lease in the county's JetStream key-value store, so that of the
//! dispatch services (and bridges, and meeting services) started beside a township's gateways
//! exactly one acts at a time, and another takes over when it dies.
//!
//! The server Debian 12 ships (2.9.10) has no per-key TTL, so the bucket's `max_age` is the
//! lease's: a holder renews (a compare-and-set on the revision it holds) every
//! [`RENEW`]; a holder that dies stops renewing, its entry ages out after [`TTL`], and a waiting
//! standby's `create` then succeeds. A holder counts its lease lost some time before it could
//! run out, or at once when another holds it, and must then stop acting.

use std::time::Duration;

use async_nats::jetstream::kv::{Store, UpdateErrorKind};
use async_nats::jetstream::stream;

use super::jetstream::{County, JetStreamLog};

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(6);
/// How often a holder renews, and a standby asks.
pub const RENEW: Duration = Duration::from_secs(1);
/// A holder counts its lease lost this long before the store would let it run out: its
/// services are stopped before a standby can take over.
const MARGIN: Duration = Duration::from_secs(2);

/// A held lease.
pub struct Lease {
    store: Store,
    key: String,
    revision: u64,
    /// Who holds it: unique to this holder (a process id alone may repeat across machines).
    holder: String,
    /// When the newest renewal that the store took was sent: the lease runs from then.
    renewed: tokio::time::Instant,
}

impl Lease {
    /// Waits until this process holds the lease named `what` (e.g. `services`) for this
    /// gateway's township, asking every [`RENEW`]. `who` names the holder in the logs.
    pub async fn acquire(log: &JetStreamLog, what: &str, who: &str) -> Result<Lease, String> {
        let county = log.county();
        let store = bucket(log, county).await?;
        let key = format!("{what}.{}", super::jetstream::token(county.township.as_deref().unwrap_or("county")));
        let holder = format!("{who}#{:016x}", fastrand::u64(..));
        let mut told = false;
        loop {
            let asked = tokio::time::Instant::now();
            match store.create(&key, holder.clone().into()).await {
                Ok(revision) => {
                    tracing::info!(%key, %holder, "lease taken");
                    return Ok(Lease { store, key, revision, holder, renewed: asked });
                }
                Err(e) if !told => {
                    tracing::info!(%key, %holder, reason = %e, "lease held elsewhere; standing by");
                    told = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(RENEW).await;
        }
    }

    /// Keeps the lease until it is lost, and says why: renews every [`RENEW`]; lost when
    /// another holds it, or when no renewal was taken for [`TTL`] less a margin (so the
    /// holder stops before a standby may start). Given up (released at once) when `give_up`
    /// fires or its sender is dropped.
    pub async fn hold(mut self, mut give_up: tokio::sync::oneshot::Receiver<()>) -> String {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RENEW) => {}
                _ = &mut give_up => {
                    let key = self.key.clone();
                    self.release().await;
                    return format!("lease {key} given up");
                }
            }
            let deadline = self.renewed + TTL - MARGIN;
            let asked = tokio::time::Instant::now();
            let renewal = self.store.update(&self.key, self.holder.clone().into(), self.revision);
            match tokio::time::timeout_at(deadline, renewal).await {
                Ok(Ok(revision)) => {
                    self.revision = revision;
                    self.renewed = asked;
                }
                Ok(Err(e)) if e.kind() == UpdateErrorKind::WrongLastRevision => {
                    // Our own renewal whose answer was lost moved the revision on: adopt it.
                    match self.store.entry(&self.key).await {
                        Ok(Some(entry)) if entry.value.as_ref() == self.holder.as_bytes() => {
                            self.revision = entry.revision;
                            self.renewed = asked;
                        }
                        _ => return format!("lease {} lost: another holds it", self.key),
                    }
                }
                Ok(Err(e)) => tracing::warn!(key = %self.key, error = %e, "lease not renewed; trying again"),
                Err(_) => return format!("lease {} lost: not renewed in time", self.key),
            }
            if tokio::time::Instant::now() >= self.renewed + TTL - MARGIN {
                return format!("lease {} lost: not renewed in time", self.key);
            }
        }
    }

    /// Gives the lease up at once (a standby need not wait for it to run out).
    async fn release(self) {
        if let Err(e) = self.store.delete(&self.key).await {
            tracing::warn!(key = %self.key, error = %e, "lease not released; it runs out by itself");
        }
    }
}

/// The county's lease bucket, made if it is missing. Its stream is made here the way the
/// key-value convention lays it out (`KV_<bucket>`, one message per key, rollups, direct gets):
/// the client's own `create_key_value` first asks for the account's limits in a form 2.9.10
/// does not answer in.
pub(super) async fn bucket(log: &JetStreamLog, county: &County) -> Result<Store, String> {
    let name = format!("LK_{}_leases", county.county);
    let js = log.context();
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: TTL,
        storage: stream::StorageType::File,
        num_replicas: county.replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|e| format!("the county's leases ({name}): {e}"))?;
    js.get_key_value(&name).await.map_err(|e| format!("the county's leases ({name}): {e}"))
}
