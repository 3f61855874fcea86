//! The command room's rules, with no user interface and no I/O in them.
//!
//! [`Core`] holds what the console knows — the township's grids, cameras and units, every
//! incident and the link to the hub — and changes only in two ways: a feed update arrives
//! ([`Core::on_feed`]) or a view returns a [`Command`] ([`Core::apply`]). Views read it for one
//! frame and never change it directly, so each view can be tested alone with made-up state.

pub mod camera;
pub mod grid;
pub mod incident;
pub mod kind;
pub mod unit;

use streams::feed::{Body, Connection, Envelope, FeedUpdate};

use camera::Camera;
use grid::GridMap;
use incident::{Incidents, TrackedIncident};
use kind::IncidentKinds;
use unit::LinkedUnit;

/// What a view asks Core to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show this incident in the detail panel and highlight it on the map and in the queue.
    SelectIncident(String),
    ClearSelection,
}

/// Everything the console knows.
#[derive(Debug, Default)]
pub struct Core {
    pub grids: GridMap,
    pub kinds: IncidentKinds,
    pub cameras: Vec<Camera>,
    pub units: Vec<LinkedUnit>,
    pub incidents: Incidents,
    pub selected: Option<String>,
    pub hub: HubLink,
    /// The last hub sequence number applied; the client resumes after it.
    pub cursor: u64,
}

/// The link to the hub as the status bar shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubLink {
    pub connection: Option<Connection>,
    /// How many of our messages the hub refused, and the last reason.
    pub refused: u64,
    pub last_refusal: Option<String>,
}

impl Core {
    /// Applies one update from the hub client.
    pub fn on_feed(&mut self, update: FeedUpdate) {
        match update {
            FeedUpdate::Connection(c) => self.hub.connection = Some(c),
            FeedUpdate::Refused { reason, .. } => {
                self.hub.refused += 1;
                self.hub.last_refusal = Some(reason);
            }
            FeedUpdate::Event(env) => self.on_event(env),
        }
    }

    fn on_event(&mut self, env: Envelope) {
        self.cursor = self.cursor.max(env.seq);
        if let Body::IncidentReported(incident) = env.body {
            let loc = incident.report.location;
            let grid = self
                .grids
                .locate(loc.lon, loc.lat)
                .and_then(|g| self.grids.grids.iter().position(|x| x.code == g.code));
            self.incidents.insert(TrackedIncident {
                incident,
                grid,
                seq: env.seq,
            });
        }
    }

    /// Applies a command from a view.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::SelectIncident(id) => {
                if self.incidents.get(&id).is_some() {
                    self.selected = Some(id);
                }
            }
            Command::ClearSelection => self.selected = None,
        }
    }

    pub fn selected_incident(&self) -> Option<&TrackedIncident> {
        self.selected.as_deref().and_then(|id| self.incidents.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streams::feed::{CoordinateSystem, Incident, IncidentReport, IncidentStatus, Location, ReportSource, Severity};

    pub(crate) fn incident(id: &str, severity: Severity, minute: u32) -> Incident {
        Incident {
            id: id.into(),
            reported_at: chrono::DateTime::parse_from_rfc3339(&format!("2026-11-28T08:{minute:02}:00Z"))
                .unwrap()
                .into(),
            status: IncidentStatus::New,
            report: IncidentReport {
                report_id: id.into(),
                kind: "dispute".into(),
                severity,
                location: Location {
                    lon: 120.00262,
                    lat: 30.13669,
                    crs: CoordinateSystem::Wgs84,
                },
                grid: None,
                reporter: "王芳".into(),
                source: ReportSource::Field,
                text: "测试".into(),
                attachments: vec![],
            },
        }
    }

    fn core() -> Core {
        Core {
            grids: GridMap::from_geojson(include_str!("../../../assets/demo/grids.geojson")).unwrap(),
            ..Core::default()
        }
    }

    fn event(seq: u64, i: Incident) -> FeedUpdate {
        FeedUpdate::Event(Envelope {
            seq,
            ..Envelope::new(seq, Body::IncidentReported(i))
        })
    }

    #[test]
    fn the_queue_puts_the_most_severe_first_then_the_newest() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        core.on_feed(event(2, incident("b", Severity::Critical, 2)));
        core.on_feed(event(3, incident("c", Severity::Low, 3)));
        core.on_feed(event(4, incident("d", Severity::High, 0)));
        let order: Vec<_> = core.incidents.queue().map(|t| t.incident.id.as_str()).collect();
        assert_eq!(order, ["b", "d", "c", "a"]);
        assert_eq!(core.cursor, 4);
        assert_eq!(core.incidents.open_critical(), 1);
    }

    #[test]
    fn a_replayed_event_does_not_double_an_incident() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        assert_eq!(core.incidents.len(), 1);
    }

    #[test]
    fn an_incident_is_placed_in_the_grid_that_contains_it() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        let t = core.incidents.get("a").unwrap();
        let grid = &core.grids.grids[t.grid.expect("inside the township")];
        assert!(grid.code.starts_with("XL-"), "{}", grid.code);
    }

    #[test]
    fn selecting_an_unknown_incident_changes_nothing() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        core.apply(Command::SelectIncident("zzz".into()));
        assert_eq!(core.selected, None);
        core.apply(Command::SelectIncident("a".into()));
        assert_eq!(core.selected_incident().unwrap().incident.id, "a");
    }
}
