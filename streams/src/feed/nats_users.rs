//! What a township's gateway may do on the county's NATS nodes: the `permissions` of the user
//! it connects with (`--nats-user`), for the nodes' `authorization { users: [...] }`.
//!
//! A township's gateway writes its township's events and nothing else: it publishes under its
//! township's subjects only (`lk.<county>.<township>.>`), takes and renews only its township's
//! leases, and may not create, change or delete a stream or a consumer of another stream. What
//! it reads is not kept to its township by the nodes: nats-server 2.9 names a consumer's filter
//! in the request's body, which permissions do not see (2.10 names it in the subject), so a
//! gateway that may read the county's stream at all may read all of it — its seats are kept
//! to the township by the gateway itself.
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
        // Reading the county's stream: what it is, one event, a consumer of its own.
        "$JS.API.INFO".to_owned(),
        format!("$JS.API.STREAM.INFO.{stream}"),
        format!("$JS.API.STREAM.MSG.GET.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}.>"),
        format!("$JS.API.CONSUMER.INFO.{stream}.>"),
        format!("$JS.API.CONSUMER.DELETE.{stream}.>"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.>"),
        // The leases: the bucket (made by whichever gateway comes first), its own keys only.
        format!("$JS.API.STREAM.INFO.KV_{leases}"),
        format!("$JS.API.STREAM.CREATE.KV_{leases}"),
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
        assert!(!block.contains("STREAM.CREATE.LK_c1\"") && !block.contains("DELETE.LK_c1\""), "{block}");
        assert!(township_gateway("c.1", "t1").unwrap_err().contains("county \"c.1\""));
        assert!(township_gateway("c1", "county").unwrap_err().contains("township \"county\""));
    }
}
