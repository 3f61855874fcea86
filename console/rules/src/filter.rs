//! Which incidents the duty officer is looking at: one filter shared by the queue and the map.
//!
//! Every field narrows; the default shows everything. Matching is pure (time enters as a
//! value), so each rule is tested without a clock.

use chrono::{DateTime, Duration, Utc};
use linkage_protocol::{IncidentStatus, Severity};
use serde::{Deserialize, Serialize};

use super::grid::GridMap;
use super::incident::TrackedIncident;
use super::kind::IncidentKinds;

/// How far back to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TimeWindow {
    #[default]
    All,
    LastHour,
    Last24Hours,
    Last7Days,
}

impl TimeWindow {
    pub const ALL: [TimeWindow; 4] =
        [TimeWindow::All, TimeWindow::LastHour, TimeWindow::Last24Hours, TimeWindow::Last7Days];

    fn span(self) -> Option<Duration> {
        match self {
            TimeWindow::All => None,
            TimeWindow::LastHour => Some(Duration::hours(1)),
            TimeWindow::Last24Hours => Some(Duration::hours(24)),
            TimeWindow::Last7Days => Some(Duration::days(7)),
        }
    }
}

/// Open or closed incidents, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StatusFilter {
    #[default]
    Any,
    Open,
    Closed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFilter {
    /// A kind code, or every kind.
    pub kind: Option<String>,
    /// This severity or worse.
    pub min_severity: Option<Severity>,
    pub status: StatusFilter,
    pub village: Option<String>,
    /// On a county seat: one township's incidents only.
    pub township: Option<String>,
    pub window: TimeWindow,
    /// Words that must all appear in the id, text, reporter, kind name, grid, village or
    /// township.
    pub search: String,
}

impl IncidentFilter {
    /// Whether the filter lets everything through (then nothing needs checking).
    pub fn is_open(&self) -> bool {
        *self == IncidentFilter::default()
    }

    pub fn matches(&self, t: &TrackedIncident, grids: &GridMap, kinds: &IncidentKinds, now: DateTime<Utc>) -> bool {
        let r = &t.incident.report;
        let grid = t.grid.map(|g| &grids.grids[g]);
        let closed = t.incident.status == IncidentStatus::Closed;
        if self.kind.as_ref().is_some_and(|k| *k != r.kind)
            || self.min_severity.is_some_and(|s| r.severity < s)
            || (self.status == StatusFilter::Open && closed)
            || (self.status == StatusFilter::Closed && !closed)
            || self.village.as_ref().is_some_and(|v| grid.is_none_or(|g| g.village != *v))
            || self.township.as_ref().is_some_and(|wanted| t.township.as_ref() != Some(wanted))
            || self.window.span().is_some_and(|span| t.incident.reported_at < now - span)
        {
            return false;
        }
        if self.search.trim().is_empty() {
            return true;
        }
        let kind = kinds.get(&r.kind);
        let haystack = [
            t.incident.id.as_str(),
            r.text.as_str(),
            r.reporter.as_str(),
            r.kind.as_str(),
            kind.map_or("", |k| k.zh.as_str()),
            kind.map_or("", |k| k.en.as_str()),
            grid.map_or("", |g| g.code.as_str()),
            grid.map_or("", |g| g.village.as_str()),
            t.township.as_deref().unwrap_or(""),
        ]
        .join(" ")
        .to_lowercase();
        self.search.to_lowercase().split_whitespace().all(|word| haystack.contains(word))
    }
}

/// Which incidents a filter lets through, one flag per incident in arrival order, computed once
/// and shared by the queue and the map. It is worked out again only when the filter, the number
/// of incidents or the minute changes — not every frame.
#[derive(Debug, Default)]
pub struct Matches {
    key: Option<(IncidentFilter, u64, i64)>,
    flags: Vec<bool>,
}

impl Matches {
    /// Brings the flags up to date; `None` means the filter is open and everything matches.
    pub fn refresh(
        &mut self,
        filter: &IncidentFilter,
        incidents: &super::incident::Incidents,
        grids: &GridMap,
        kinds: &IncidentKinds,
        now: DateTime<Utc>,
    ) -> Option<&[bool]> {
        if filter.is_open() {
            self.key = None;
            return None;
        }
        let key = (filter.clone(), incidents.version(), now.timestamp() / 60);
        if self.key.as_ref() != Some(&key) {
            self.flags = incidents.all().iter().map(|t| filter.matches(t, grids, kinds, now)).collect();
            self.key = Some(key);
        }
        Some(&self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::incident;
    use linkage_protocol::{Body, Envelope, FeedUpdate};

    fn setup() -> (GridMap, IncidentKinds) {
        (
            GridMap::from_geojson(include_str!("../../../assets/demo/grids.geojson")).unwrap(),
            IncidentKinds::from_toml(include_str!("../../../assets/demo/incident_kinds.toml")).unwrap(),
        )
    }

    fn tracked(severity: Severity, minute: u32, grids: &GridMap) -> TrackedIncident {
        let incident = incident("E000001", severity, minute);
        let loc = incident.report.location;
        TrackedIncident { grid: grids.locate(loc.lon, loc.lat), incident, seq: 1, township: None }
    }

    #[test]
    fn matches_flag_each_incident_and_an_open_filter_needs_none() {
        let (grids, kinds) = setup();
        let mut core = crate::Core { grids, kinds, ..Default::default() };
        core.on_feed(crate::tests::event(1, incident("a", Severity::Low, 1)));
        core.on_feed(crate::tests::event(2, incident("b", Severity::Critical, 2)));
        let mut matches = Matches::default();
        let now = Utc::now();
        let (i, g, k) = (&core.incidents, &core.grids, &core.kinds);
        assert!(matches.refresh(&IncidentFilter::default(), i, g, k, now).is_none());
        let severe = IncidentFilter { min_severity: Some(Severity::High), ..Default::default() };
        assert_eq!(matches.refresh(&severe, i, g, k, now), Some(&[false, true][..]));
    }

    #[test]
    fn the_default_filter_lets_everything_through() {
        let (grids, kinds) = setup();
        let f = IncidentFilter::default();
        assert!(f.is_open());
        assert!(f.matches(&tracked(Severity::Low, 0, &grids), &grids, &kinds, Utc::now()));
    }

    #[test]
    fn severity_status_village_and_kind_narrow() {
        let (grids, kinds) = setup();
        let t = tracked(Severity::Medium, 0, &grids);
        let now = Utc::now();
        let check = |f: IncidentFilter| f.matches(&t, &grids, &kinds, now);
        assert!(check(IncidentFilter { min_severity: Some(Severity::Medium), ..Default::default() }));
        assert!(!check(IncidentFilter { min_severity: Some(Severity::High), ..Default::default() }));
        assert!(!check(IncidentFilter { status: StatusFilter::Closed, ..Default::default() }));
        assert!(check(IncidentFilter { village: Some("杏林社区".into()), ..Default::default() }));
        assert!(!check(IncidentFilter { village: Some("南山村".into()), ..Default::default() }));
        assert!(!check(IncidentFilter { kind: Some("fire".into()), ..Default::default() }));
    }

    #[test]
    fn a_county_seat_narrows_to_one_township_and_lists_them_all() {
        let (grids, kinds) = setup();
        let mut core = crate::Core { grids, kinds, ..Default::default() };
        for (seq, township) in [(1, Some("青溪镇")), (2, Some("东山乡")), (3, None)] {
            let body = Body::IncidentReported(incident(&format!("e{seq}"), Severity::Low, 1));
            core.on_feed(FeedUpdate::Event(Envelope {
                township: township.map(Into::into),
                ..Envelope::new(seq, body)
            }));
        }
        assert_eq!(core.incidents.townships().collect::<Vec<_>>(), ["东山乡", "青溪镇"]);
        let mut matches = Matches::default();
        let (i, g, k) = (&core.incidents, &core.grids, &core.kinds);
        let qingxi = IncidentFilter { township: Some("青溪镇".into()), ..Default::default() };
        assert_eq!(matches.refresh(&qingxi, i, g, k, Utc::now()), Some(&[true, false, false][..]));
        let searched = IncidentFilter { search: "东山".into(), ..Default::default() };
        assert_eq!(matches.refresh(&searched, i, g, k, Utc::now()), Some(&[false, true, false][..]));
    }

    #[test]
    fn the_time_window_counts_back_from_now() {
        let (grids, kinds) = setup();
        let t = tracked(Severity::Low, 30, &grids); // reported 2026-11-28 08:30 UTC
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let f = IncidentFilter { window: TimeWindow::LastHour, ..Default::default() };
        assert!(f.matches(&t, &grids, &kinds, at("2026-11-28T09:29:00Z")));
        assert!(!f.matches(&t, &grids, &kinds, at("2026-11-28T09:31:00Z")));
    }

    #[test]
    fn search_finds_by_any_word_in_either_language() {
        let (grids, kinds) = setup();
        let t = tracked(Severity::Low, 0, &grids);
        let now = Utc::now();
        let search =
            |s: &str| IncidentFilter { search: s.into(), ..Default::default() }.matches(&t, &grids, &kinds, now);
        assert!(search("王芳"));
        assert!(search("矛盾纠纷 杏林"));
        assert!(search("DISPUTE e000001"));
        assert!(!search("火情"));
    }
}
