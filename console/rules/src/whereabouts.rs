//! Where the linked units are and what they are doing: the newest position each unit's terminal
//! reported (else its base), whether it is free, on an order or on scene, and how far it is from
//! an incident — what the map shows and what "nearest" means to the plan library.
//!
//! Positions are live (the hub passes the newest on, it logs none); what a unit is doing comes
//! from the orders of the log. Time is a value: staleness is judged at the `now` passed in.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use linkage_protocol::{CoordinateSystem, Step, UnitPosition};

use super::camera::distance_and_bearing;
use super::order::Order;
use super::unit::LinkedUnit;

/// A position older than this is shown greyed: the terminal may be off or out of coverage.
pub const STALE_AFTER: Duration = Duration::minutes(2);

/// What a unit is doing, from its open orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Activity {
    Free,
    /// An order given and not yet on scene.
    OnOrder,
    OnScene,
}

/// Where a unit is, as far as the seat knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lon: f64,
    pub lat: f64,
    /// When its terminal reported it; `None` for the unit's base from the config.
    pub at: Option<DateTime<Utc>>,
}

impl Place {
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        self.at.is_some_and(|at| now - at > STALE_AFTER)
    }
}

#[derive(Debug, Default)]
pub struct Whereabouts {
    /// Each unit's newest reported position.
    pub positions: BTreeMap<String, UnitPosition>,
    /// Each unit's open orders and what it is doing on each.
    work: HashMap<String, BTreeMap<String, Activity>>,
}

impl Whereabouts {
    /// A position from the hub; an older one than the newest kept is ignored. Kept in WGS-84,
    /// as everything on the map (a GCJ-02 one is converted here, once).
    pub fn moved(&mut self, mut position: UnitPosition) {
        let at = &mut position.location;
        if at.crs == CoordinateSystem::Gcj02 {
            (at.lon, at.lat) = super::coords::gcj02_to_wgs84(at.lon, at.lat);
            at.crs = CoordinateSystem::Wgs84;
        }
        let newer = self.positions.get(&position.unit).is_none_or(|kept| kept.at <= position.at);
        if newer {
            self.positions.insert(position.unit.clone(), position);
        }
    }

    /// Where a unit is: its newest reported position, else its base.
    pub fn place_of(&self, unit: &LinkedUnit) -> Option<Place> {
        match self.positions.get(&unit.id) {
            Some(p) => Some(Place { lon: p.location.lon, lat: p.location.lat, at: p.at }),
            None => unit.base.map(|(lon, lat)| Place { lon, lat, at: None }),
        }
    }

    /// How far a unit is from a point, in metres, when its place is known.
    pub fn distance_to(&self, unit: &LinkedUnit, lon: f64, lat: f64) -> Option<f64> {
        self.place_of(unit).map(|p| distance_and_bearing((p.lon, p.lat), (lon, lat)).0)
    }

    /// What a unit is doing: the most of what it does on its open orders.
    pub fn activity(&self, unit: &str) -> Activity {
        self.work.get(unit).and_then(|orders| orders.values().max().copied()).unwrap_or(Activity::Free)
    }

    /// Takes an order's change into what its units are doing.
    pub(crate) fn follow(&mut self, order: &Order) {
        let open = order.closed.is_none() && order.archived.is_none();
        for u in &order.units {
            let doing = match u.step() {
                _ if !open || !u.is_active() => None,
                Some(Step::ReportedBack | Step::Returned) => None,
                Some(step) if step >= Step::OnScene => Some(Activity::OnScene),
                _ => Some(Activity::OnOrder),
            };
            let orders = self.work.entry(u.unit.clone()).or_default();
            match doing {
                Some(doing) => orders.insert(order.id.clone(), doing),
                None => orders.remove(&order.id),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::order::fixtures::{at, order};
    use linkage_protocol::{CoordinateSystem, Location};

    fn position(unit: &str, lon: f64, lat: f64, minute: i64) -> UnitPosition {
        UnitPosition {
            unit: unit.into(),
            location: Location { lon, lat, crs: CoordinateSystem::Wgs84 },
            at: Some(at(minute)),
        }
    }

    #[test]
    fn a_unit_is_on_an_order_then_on_scene_then_free_again() {
        let mut w = Whereabouts::default();
        let mut o = order(&["police", "fire"]);
        w.follow(&o);
        assert_eq!(w.activity("police"), Activity::OnOrder);
        o.record_step("police", Step::OnScene, at(10), None);
        w.follow(&o);
        assert_eq!((w.activity("police"), w.activity("fire")), (Activity::OnScene, Activity::OnOrder));
        o.record_step("police", Step::ReportedBack, at(30), None);
        o.record_step("fire", Step::Returned, at(31), Some(("不是火情".into(), vec![])));
        w.follow(&o);
        assert_eq!((w.activity("police"), w.activity("fire")), (Activity::Free, Activity::Free));
        assert_eq!(w.activity("nobody"), Activity::Free);
    }

    #[test]
    fn the_newest_position_wins_and_grows_stale_after_two_minutes() {
        let mut w = Whereabouts::default();
        w.moved(position("police", 120.0, 30.13, 5));
        w.moved(position("police", 120.1, 30.2, 3));
        let p = &w.positions["police"];
        assert_eq!(p.location.lon, 120.0, "an older position does not win");
        let place = Place { lon: 120.0, lat: 30.13, at: p.at };
        assert!(!place.is_stale(at(7)));
        assert!(place.is_stale(at(8)));
        // About 1.11 km per 0.01° of latitude.
        let d = distance_and_bearing((120.0, 30.13), (120.0, 30.14)).0;
        assert!((1100.0..1125.0).contains(&d), "{d}");
    }
}
