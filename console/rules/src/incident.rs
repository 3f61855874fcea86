//! The incidents the console has seen, kept in the order a duty officer works them.
//!
//! The queue is sorted by urgency — open before closed, then most severe first, then newest
//! first — and kept sorted on insert (a binary search), so drawing it costs nothing extra.

use std::cmp::Reverse;
use std::collections::HashMap;

use linkage_protocol::{Incident, IncidentStatus, Severity};

/// An incident with what the console worked out about it.
#[derive(Debug, Clone)]
pub struct TrackedIncident {
    pub incident: Incident,
    /// Index into the grid map of the grid that contains the location, if any.
    pub grid: Option<usize>,
    /// The hub's sequence number of the event that brought it.
    pub seq: u64,
    /// On a county's log: the township it was reported in.
    pub township: Option<String>,
}

impl TrackedIncident {
    pub fn is_open(&self) -> bool {
        self.incident.status != IncidentStatus::Closed
    }

    fn urgency(&self) -> (bool, Reverse<Severity>, Reverse<chrono::DateTime<chrono::Utc>>, u64) {
        (!self.is_open(), Reverse(self.incident.report.severity), Reverse(self.incident.reported_at), self.seq)
    }
}

/// Where an incident is and how urgent, packed small for the map: drawing 100 000 markers walks
/// this array (32 bytes each) instead of the incidents themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkerPoint {
    pub lon: f64,
    pub lat: f64,
    /// Larger is more urgent: open before closed, then severity, then newer.
    pub urgency: u64,
    /// Index into [`Incidents::all`].
    pub index: u32,
}

impl TrackedIncident {
    fn marker_point(&self, index: usize) -> MarkerPoint {
        let report = &self.incident.report;
        let millis = self.incident.reported_at.timestamp_millis().max(0) as u64 & ((1 << 61) - 1);
        MarkerPoint {
            lon: report.location.lon,
            lat: report.location.lat,
            urgency: (u64::from(self.is_open()) << 63) | ((report.severity as u64) << 61) | millis,
            index: index as u32,
        }
    }
}

#[derive(Debug, Default)]
pub struct Incidents {
    list: Vec<TrackedIncident>,
    /// One per incident, in arrival order.
    points: Vec<MarkerPoint>,
    by_id: HashMap<String, usize>,
    /// Indices into `list`, most urgent first.
    queue: Vec<usize>,
    /// Counts every change, so views can tell when to look again.
    version: u64,
    /// The townships the incidents come from (a county seat's), in name order.
    townships: std::collections::BTreeSet<String>,
}

impl Incidents {
    /// Adds an incident; an id already known is ignored (returns false).
    pub fn insert(&mut self, tracked: TrackedIncident) -> bool {
        if self.by_id.contains_key(&tracked.incident.id) {
            return false;
        }
        let key = tracked.urgency();
        let at = self.queue.partition_point(|&i| self.list[i].urgency() < key);
        let index = self.list.len();
        self.by_id.insert(tracked.incident.id.clone(), index);
        self.points.push(tracked.marker_point(index));
        if let Some(township) = &tracked.township
            && !self.townships.contains(township)
        {
            self.townships.insert(township.clone());
        }
        self.list.push(tracked);
        self.queue.insert(at, index);
        self.version += 1;
        true
    }

    /// The townships the incidents come from, in name order (none on a township's own log).
    pub fn townships(&self) -> impl Iterator<Item = &str> {
        self.townships.iter().map(String::as_str)
    }

    /// Moves an incident to `status` (its orders say how far it got); a closed one goes down
    /// the queue. Never moves a status back, except a reopened order taking it out of closed.
    pub fn set_status(&mut self, id: &str, status: IncidentStatus) {
        let Some(&index) = self.by_id.get(id) else { return };
        let rank = |s: IncidentStatus| match s {
            IncidentStatus::New => 0,
            IncidentStatus::Dispatched => 1,
            IncidentStatus::Handling => 2,
            IncidentStatus::Closed => 3,
        };
        let old = self.list[index].incident.status;
        let reopened = old == IncidentStatus::Closed && status == IncidentStatus::Handling;
        if rank(status) <= rank(old) && !reopened {
            return;
        }
        self.move_to(index, status);
    }

    /// Every unit handed the incident's order back: it waits for a dispatch again (unless it
    /// was closed meanwhile).
    pub fn handed_back(&mut self, id: &str) {
        if let Some(&index) = self.by_id.get(id)
            && matches!(self.list[index].incident.status, IncidentStatus::Dispatched | IncidentStatus::Handling)
        {
            self.move_to(index, IncidentStatus::New);
        }
    }

    /// Sets the status the duty officer chose, whatever it was (a false report closed without
    /// a dispatch, a closed incident opened again).
    pub fn set_status_by_hand(&mut self, id: &str, status: IncidentStatus) {
        if let Some(&index) = self.by_id.get(id)
            && self.list[index].incident.status != status
        {
            self.move_to(index, status);
        }
    }

    /// Changes the status and keeps the queue sorted and the marker current.
    fn move_to(&mut self, index: usize, status: IncidentStatus) {
        if let Some(pos) = self.queue.iter().position(|&i| i == index) {
            self.queue.remove(pos);
        }
        self.list[index].incident.status = status;
        self.points[index] = self.list[index].marker_point(index);
        let key = self.list[index].urgency();
        let at = self.queue.partition_point(|&i| self.list[i].urgency() < key);
        self.queue.insert(at, index);
        self.version += 1;
    }

    /// Changes so far (inserts and status changes).
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn get(&self, id: &str) -> Option<&TrackedIncident> {
        self.by_id.get(id).map(|&i| &self.list[i])
    }

    /// Most urgent first.
    pub fn queue(&self) -> impl ExactSizeIterator<Item = &TrackedIncident> {
        self.queue.iter().map(|&i| &self.list[i])
    }

    /// Indices into [`Incidents::all`], most urgent first.
    pub fn queue_indices(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.queue.iter().copied()
    }

    /// In arrival order.
    pub fn all(&self) -> &[TrackedIncident] {
        &self.list
    }

    /// Position and urgency of every incident, in arrival order (see [`MarkerPoint`]).
    pub fn points(&self) -> &[MarkerPoint] {
        &self.points
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Incidents still waiting for the duty officer (待处置): reported, neither dispatched, in
    /// hand nor closed. The queue shows the others as 已派单 / 处置中.
    pub fn waiting(&self) -> usize {
        self.list.iter().filter(|t| t.incident.status == IncidentStatus::New).count()
    }

    pub fn open_critical(&self) -> usize {
        self.list.iter().filter(|t| t.is_open() && t.incident.report.severity == Severity::Critical).count()
    }
}
