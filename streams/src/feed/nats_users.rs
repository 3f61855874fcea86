//! What a township's gateway may do on the county's NATS nodes: the `permissions` of the user
//! it connects with (`--nats-user`), for the nodes' `authorization { users: [...] }`.
//!
//! By its own messages a township's gateway with such a user writes its township's events and
//! leases only, and asks the JetStream API for nothing but reading the county's stream (its
//! information, one event, consumers) and the leases: it may not make, change or delete a
//! stream (the county's gateway makes the county's stream and the leases' bucket).
//!
//! What this does not do, on nats-server 2.9: keep a hostile gateway in. It may read every
//! township's events (an event by its number, a consumer with any filter); and a consumer it
//! makes may deliver into any subject — the server does not check a consumer's delivery
//! subject against its maker's permissions (2.9.10's `checkConsumerCfg` checks wildcards,
//! validity and cycles only) — so into the leases' bucket or the JetStream API as well; and it
//! may delete other gateways' consumers. Keeping a township out of the others' would need an
//! account per township.
//!
//! `linkage hub permissions --county C --township T` prints the block (docs/deployment.md).

use super::jetstream::{check_names, token};

/// The `permissions` block of the user of township `township`'s gateways in `county`: a
/// gateway serving that township on the county's stream (not one on the township's own node,
/// which has a node of its own); refused for a name a county or a township may not have.
pub fn township_gateway(county: &str, township: &str) -> Result<String, String> {
    check_names(county, std::iter::once(&township.to_owned()))?;
    let t = token(township);
    let stream = format!("LK_{county}");
    let leases = format!("LK_{county}_leases");
    let publish = [
        // Its events, and only its township's.
        format!("lk.{county}.{t}.>"),
        // Reading the county's stream: what it is, one event, consumers.
        format!("$JS.API.STREAM.INFO.{stream}"),
        format!("$JS.API.STREAM.MSG.GET.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}.>"),
        format!("$JS.API.CONSUMER.INFO.{stream}.>"),
        format!("$JS.API.CONSUMER.DELETE.{stream}.>"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.>"),
        // The leases: the bucket (the county's gateway makes it), its own keys only.
        format!("$JS.API.STREAM.INFO.KV_{leases}"),
        format!("$JS.API.STREAM.MSG.GET.KV_{leases}"),
        format!("$JS.API.DIRECT.GET.KV_{leases}"),
        format!("$JS.API.DIRECT.GET.KV_{leases}.>"),
        format!("$KV.{leases}.*.{t}"),
    ];
    let quoted = |subjects: &[String]| subjects.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    Ok(format!(
        "permissions {{\n  publish {{ allow: [{}] }}\n  subscribe {{ allow: [\"_INBOX.>\"] }}\n}}\n",
        quoted(&publish)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_townships_gateway_writes_under_its_own_subjects_and_leases_only() {
        let block = township_gateway("c1", "青溪镇").unwrap();
        let t = token("青溪镇");
        assert!(block.contains(&format!("\"lk.c1.{t}.>\"")), "{block}");
        assert!(block.contains(&format!("\"$KV.LK_c1_leases.*.{t}\"")), "{block}");
        assert!(!block.contains("lk.c1.>") && !block.contains("$KV.LK_c1_leases.>"), "{block}");
        assert!(!block.contains("STREAM.CREATE") && !block.contains("STREAM.DELETE"), "{block}");
        assert!(township_gateway("c.1", "t1").unwrap_err().contains("county \"c.1\""));
        assert!(township_gateway("c1", "county").unwrap_err().contains("township \"county\""));
        assert!(township_gateway("c1", "c1").unwrap_err().contains("the county's own (c1)"));
    }
}
