//! Who acts for a township: a lease in the county's JetStream key-value store, so that of the
//! dispatch services (and bridges, and meeting services) started beside a township's gateways
//! exactly one acts at a time, and another takes over when it dies.
//!
//! The server Debian 12 ships (2.9.10) has no per-key TTL, so the bucket's `max_age` is the
//! lease's: a holder renews (a compare-and-set on the revision it holds) every
//! [`RENEW`]; a holder that dies stops renewing, its entry ages out after [`TTL`], and a waiting
//! standby's `create` then succeeds. A holder whose renewal is refused (another holds it: it
//! was cut off longer than the TTL) has lost it and must stop acting.

use std::time::Duration;

use async_nats::jetstream::kv::Store;
use async_nats::jetstream::stream;

use super::jetstream::{County, JetStreamLog};

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(6);
/// How often a holder renews, and a standby asks.
pub const RENEW: Duration = Duration::from_secs(1);

/// A held lease.
pub struct Lease {
    store: Store,
    key: String,
    revision: u64,
    holder: String,
}

impl Lease {
    /// Waits until `holder` holds the lease named `what` (e.g. `dispatch`) for this gateway's
    /// township, asking every [`RENEW`].
    pub async fn acquire(log: &JetStreamLog, what: &str, holder: &str) -> Result<Lease, String> {
        let county = log.county();
        let store = bucket(log, county).await?;
        let key = format!("{what}.{}", county.township.as_deref().unwrap_or("county"));
        let mut told = false;
        loop {
            match store.create(&key, holder.to_owned().into()).await {
                Ok(revision) => {
                    tracing::info!(%key, holder, "lease taken");
                    return Ok(Lease { store, key, revision, holder: holder.to_owned() });
                }
                Err(e) if !told => {
                    tracing::info!(%key, holder, reason = %e, "lease held elsewhere; standing by");
                    told = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(RENEW).await;
        }
    }

    /// Keeps the lease until it is lost (returns why): renews every [`RENEW`]; a renewal the
    /// store does not answer is tried again until the lease would have run out.
    pub async fn hold(mut self) -> String {
        let mut since_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RENEW).await;
            match self.store.update(&self.key, self.holder.clone().into(), self.revision).await {
                Ok(revision) => {
                    self.revision = revision;
                    since_renewed = tokio::time::Instant::now();
                }
                Err(e) if since_renewed.elapsed() + RENEW >= TTL => {
                    return format!("lease {} lost: {e}", self.key);
                }
                Err(e) => tracing::warn!(key = %self.key, error = %e, "lease not renewed; trying again"),
            }
        }
    }
}

/// The county's lease bucket, made if it is missing. Its stream is made here the way the
/// key-value convention lays it out (`KV_<bucket>`, one message per key, rollups, direct gets):
/// the client's own `create_key_value` first asks for the account's limits in a form 2.9.10
/// does not answer in.
async fn bucket(log: &JetStreamLog, county: &County) -> Result<Store, String> {
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
