//! Linked units (联动单位) and their linkage tiers (联动等级).

pub use linkage_protocol::Tier;

/// A unit the center can dispatch, with its contacts per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedUnit {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    /// What the plan library asks for ("police", "fire", "medical", …).
    pub roles: Vec<String>,
    /// Villages or grid codes it covers; `*` is the whole township.
    pub area: Vec<String>,
    /// Who answers: the duty desk of a tier-1 unit, the assigned person of tier 2, the daily
    /// contact of tier 3.
    pub contact: String,
    /// Mobile numbers for SMS.
    pub sms: Vec<String>,
    /// Its talk-group: an RTP gateway `host:port` (unicast or multicast), or
    /// `sip:TALKGROUP@GATEWAY`.
    pub radio: Option<crate::radio_target::RadioTarget>,
    /// Where it is based (lon, lat, WGS-84): its place on the map until its terminal reports one.
    pub base: Option<(f64, f64)>,
    /// Its duty roster: the A and B posts and their hours (see [`super::roster`]); empty: the
    /// unit is reached at the contacts above.
    pub posts: Vec<super::roster::Post>,
}

/// A unit's name by its id (the id itself for a unit no longer configured).
pub fn name_of<'a>(units: &'a [LinkedUnit], id: &'a str) -> &'a str {
    units.iter().find(|u| u.id == id).map_or(id, |u| u.name.as_str())
}

impl LinkedUnit {
    /// Whether the unit's area covers a place given as (grid code, village).
    pub fn covers(&self, place: Option<(&str, &str)>) -> bool {
        self.area.iter().any(|a| a == "*" || place.is_some_and(|(grid, village)| a == grid || a == village))
    }
}
