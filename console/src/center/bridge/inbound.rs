//! What the peers send the bridge, checked: the signature and its time window, then every
//! field, so that a bad request is answered with the field and the reason (docs/bridge.md)
//! and nothing half-read reaches the log.

use chrono::{DateTime, Utc};
use hyper::StatusCode;
use serde_json::Value;
use streams::feed::{CoordinateSystem, HandoverState, IncidentReport, Location, Severity};

use crate::config::{BridgePeer, BridgeSettings};
use crate::core::kind::IncidentKinds;

/// A refusal: HTTP status, a code, the field at fault (if one is) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub field: Option<String>,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal { status, code, field: None, reason: reason.into() }
    }

    fn field(field: &str, reason: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            field: Some(field.to_owned()),
            reason: reason.into(),
        }
    }

    pub fn json(&self) -> Vec<u8> {
        serde_json::json!({ "error": self.code, "field": self.field, "reason": self.reason }).to_string().into_bytes()
    }
}

/// Who sent a request, from its headers: the peer it names, if the signature is that peer's
/// and its time within the window.
pub fn signed_by<'a>(
    settings: &'a BridgeSettings,
    headers: &hyper::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<&'a BridgePeer, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let unauthorized = |reason: String| Refusal::new(StatusCode::UNAUTHORIZED, "unauthorized", reason);
    let id = header("x-bridge-peer").ok_or_else(|| unauthorized("X-Bridge-Peer is missing".into()))?;
    let peer = settings.peers.iter().find(|p| p.id == id).ok_or_else(|| unauthorized(format!("no peer {id:?}")))?;
    let timestamp: i64 = header("x-bridge-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| unauthorized("X-Bridge-Timestamp must be Unix seconds".into()))?;
    let off = now.timestamp().abs_diff(timestamp);
    if off > settings.replay_window.as_secs() {
        let window = settings.replay_window.as_secs();
        return Err(unauthorized(format!("X-Bridge-Timestamp is {off} s off this server's clock (window {window} s)")));
    }
    let signature = header("x-bridge-signature").unwrap_or_default();
    if !streams::http::hmac_valid(&peer.secret, timestamp, body, signature) {
        return Err(unauthorized("X-Bridge-Signature does not match the body and timestamp".into()));
    }
    Ok(peer)
}

/// An incident as a peer pushes it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub number: String,
    pub revision: u32,
    pub report: IncidentReport,
}

fn text<'a>(json: &'a Value, field: &str, max: usize, required: bool) -> Result<Option<&'a str>, Refusal> {
    match json.get(field) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(Refusal::field(field, "required")),
        Some(Value::String(s)) if required && s.trim().is_empty() => Err(Refusal::field(field, "must not be empty")),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(Refusal::field(field, format!("at most {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refusal::field(field, "must be a string")),
    }
}

/// Reads `POST /v1/incidents` from `peer`: an incident of its numbering and revision, as the
/// report the hub logs (report id `PEER:NUMBER`).
pub fn incident(peer: &BridgePeer, kinds: &IncidentKinds, body: &[u8]) -> Result<Pushed, Refusal> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "malformed", format!("not JSON: {e}")))?;
    if !json.is_object() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "malformed", "the body must be a JSON object"));
    }
    let number = text(&json, "incident_no", 64, true)?.unwrap_or_default();
    if !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Refusal::field("incident_no", "letters, digits, - and _ only"));
    }
    let revision = match json.get("revision") {
        Some(v) => v.as_u64().filter(|r| (1..=10_000).contains(r)),
        None => Some(1),
    }
    .ok_or_else(|| Refusal::field("revision", "a whole number from 1"))? as u32;
    let reported_at = text(&json, "reported_at", 40, true)?.unwrap_or_default();
    let reported_at = DateTime::parse_from_rfc3339(reported_at).map_err(|e| {
        Refusal::field("reported_at", format!("RFC 3339 with an offset (e.g. 2026-12-06T08:00:00+08:00): {e}"))
    })?;
    let content = text(&json, "content", 4000, true)?.unwrap_or_default();
    let address = text(&json, "address", 200, false)?.unwrap_or_default();
    let category = text(&json, "category", 64, true)?.unwrap_or_default();
    let jurisdiction = text(&json, "jurisdiction", 100, false)?.unwrap_or_default();
    let caller = text(&json, "caller", 32, false)?.unwrap_or_default();
    // The caller's number reaches the center masked (139****5678): a full number is refused,
    // since every seat would show it.
    let digits = caller.chars().filter(char::is_ascii_digit).count();
    if digits > 7 {
        return Err(Refusal::field("caller", "must be masked (at most 7 digits shown, e.g. 139****5678)"));
    }
    let location = json.get("location").ok_or_else(|| Refusal::field("location", "required"))?;
    let coordinate = |name: &str, range: std::ops::RangeInclusive<f64>| {
        let field = format!("location.{name}");
        let value = location.get(name).and_then(Value::as_f64).ok_or_else(|| Refusal::field(&field, "a number"))?;
        if range.contains(&value) { Ok(value) } else { Err(Refusal::field(&field, format!("out of range {range:?}"))) }
    };
    let (lon, lat) = (coordinate("lon", -180.0..=180.0)?, coordinate("lat", -90.0..=90.0)?);
    let crs = match location.get("crs").and_then(Value::as_str) {
        None | Some("wgs84") => CoordinateSystem::Wgs84,
        Some("gcj02") => CoordinateSystem::Gcj02,
        Some(other) => return Err(Refusal::field("location.crs", format!("{other:?}: wgs84 or gcj02"))),
    };
    let severity = match json.get("severity").and_then(Value::as_str) {
        None => Severity::High,
        Some("low") => Severity::Low,
        Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        Some(other) => return Err(Refusal::field("severity", format!("{other:?}: low, medium, high or critical"))),
    };
    let mut words = format!("【{} {number}】{content}", peer.name);
    let details: Vec<String> = [("地址", address), ("报警人", caller), ("类别", category), ("辖区", jurisdiction)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}：{v}"))
        .collect();
    if !details.is_empty() {
        words += &format!("（{}）", details.join("；"));
    }
    words += &format!(" 接警 {}", reported_at.with_timezone(&streams::feed::ZONE).format("%m-%d %H:%M"));
    let report = IncidentReport {
        report_id: format!("{}:{number}", peer.id),
        kind: peer.kind_of(category, kinds),
        severity,
        location: Location { lon, lat, crs },
        grid: None,
        reporter: peer.name.clone(),
        reporter_mobile: None,
        source: peer.source,
        text: words.chars().take(4000).collect(),
        attachments: vec![],
    };
    report.validate().map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    Ok(Pushed { number: number.to_owned(), revision, report })
}

/// Reads `POST /v1/handovers/{id}/progress`: the peer's state and words.
pub fn progress(body: &[u8]) -> Result<(HandoverState, String), Refusal> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "malformed", format!("not JSON: {e}")))?;
    let state = match json.get("state").and_then(Value::as_str) {
        Some("accepted") => HandoverState::Accepted,
        Some("done") => HandoverState::Done,
        Some("refused") => HandoverState::Refused,
        _ => return Err(Refusal::field("state", "accepted, done or refused")),
    };
    let words = text(&json, "text", 2000, state == HandoverState::Refused)?.unwrap_or_default();
    Ok((state, words.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> BridgePeer {
        BridgePeer {
            id: "110".into(),
            name: "县110指挥中心".into(),
            source: streams::feed::ReportSource::Hotline110,
            secret: "0123456789abcdef".into(),
            url: "http://127.0.0.1:1".into(),
            default_kind: "public_order".into(),
            categories: [("纠纷".to_string(), "dispute".to_string())].into(),
        }
    }

    fn kinds() -> IncidentKinds {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/incident_kinds.toml");
        IncidentKinds::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn good() -> Value {
        serde_json::json!({
            "incident_no": "110-20261206-0007", "revision": 1, "reported_at": "2026-12-06T08:00:00+08:00",
            "caller": "139****5678", "content": "两户村民因宅基地争执", "address": "青溪村三组",
            "location": {"lon": 120.0, "lat": 30.1, "crs": "gcj02"}, "category": "纠纷", "jurisdiction": "青溪派出所"
        })
    }

    fn refused(change: impl Fn(&mut Value)) -> Option<String> {
        let mut json = good();
        change(&mut json);
        incident(&peer(), &kinds(), json.to_string().as_bytes()).err().map(|r| r.field.unwrap_or(r.code.into()))
    }

    #[test]
    fn an_incident_becomes_a_report_of_the_peer_with_its_category_mapped() {
        let pushed = incident(&peer(), &kinds(), good().to_string().as_bytes()).unwrap();
        assert_eq!((pushed.number.as_str(), pushed.revision), ("110-20261206-0007", 1));
        let r = &pushed.report;
        assert_eq!((r.report_id.as_str(), r.kind.as_str()), ("110:110-20261206-0007", "dispute"));
        assert_eq!(r.location.crs, CoordinateSystem::Gcj02);
        assert!(r.text.contains("139****5678") && r.text.contains("青溪村三组") && r.text.contains("12-06 08:00"));
        let mut other = good();
        other["category"] = "某种新类别".into();
        let pushed = incident(&peer(), &kinds(), other.to_string().as_bytes()).unwrap();
        assert_eq!(pushed.report.kind, "public_order", "an unknown category takes the default kind");
    }

    #[test]
    fn a_bad_field_is_named() {
        assert_eq!(refused(|j| j["location"]["lat"] = 91.0.into()).as_deref(), Some("location.lat"));
        assert_eq!(refused(|j| j["location"]["crs"] = "bd09".into()).as_deref(), Some("location.crs"));
        assert_eq!(refused(|j| j["caller"] = "13912345678".into()).as_deref(), Some("caller"));
        assert_eq!(refused(|j| j["reported_at"] = "yesterday".into()).as_deref(), Some("reported_at"));
        assert_eq!(refused(|j| j["revision"] = 0.into()).as_deref(), Some("revision"));
        assert_eq!(refused(|j| j["content"] = "".into()).as_deref(), Some("content"));
        assert_eq!(refused(|j| j["incident_no"] = "a/b".into()).as_deref(), Some("incident_no"));
        assert_eq!(refused(|j| *j = serde_json::json!([1])).as_deref(), Some("malformed"));
        assert_eq!(refused(|j| j["content"] = "长".repeat(4001).into()).as_deref(), Some("content"));
    }
}
