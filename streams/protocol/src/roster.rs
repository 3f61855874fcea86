//! Duty rosters on the wire: an admin's seat sets who holds a unit's A and B posts
//! (`set_roster`), the hub logs it (`roster_set`), and every seat and the center's server take
//! it from the log over the config's roster — so who gets an order at this hour is the same
//! everywhere, and every change is on record with who made it.

use serde::{Deserialize, Serialize};

use crate::message::ParseError;

/// The two posts of the A/B system (AB岗制).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PostKind {
    /// A岗: takes the order.
    A,
    /// B岗: stands in when the A post does not answer.
    B,
}

/// One person holding a post, as the wire carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterPost {
    pub post: PostKind,
    pub name: String,
    #[serde(default)]
    pub mobiles: Vec<String>,
    /// Their radio gateway, `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<String>,
    /// `HH:MM-HH:MM`, Beijing time; absent: the tier's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
}

/// A unit's whole roster, replacing the one before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterChange {
    /// The seat's idempotency key.
    pub key: String,
    pub unit: String,
    pub posts: Vec<RosterPost>,
    /// Who set it: filled in by the hub.
    #[serde(default)]
    pub by: String,
}

/// Checks `HH:MM-HH:MM`.
pub fn check_hours(text: &str) -> Result<(), String> {
    let bad = || format!("hours {text:?}: write them HH:MM-HH:MM (Beijing time)");
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    for t in [from, to] {
        chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad())?;
    }
    Ok(())
}

impl RosterChange {
    /// What JSON types cannot check: lengths, mobile numbers, the radio's address, the hours.
    pub fn check(&self) -> Result<(), ParseError> {
        let invalid = |what: String| Err(ParseError::Invalid(what));
        if self.key.trim().is_empty() || self.key.len() > 128 || self.unit.trim().is_empty() || self.unit.len() > 128 {
            return invalid("key and unit must be 1–128 characters".into());
        }
        if self.posts.len() > 20 {
            return invalid("a roster has at most 20 posts".into());
        }
        for p in &self.posts {
            p.check().map_err(ParseError::Invalid)?;
        }
        Ok(())
    }
}

impl RosterPost {
    /// A post as a person can hold it: a name, mobile numbers, a radio's address, hours.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 64 {
            return Err("a post's name must be 1–64 characters".into());
        }
        let not_mobile =
            |m: &String| m.is_empty() || m.len() > 20 || !m.chars().all(|c| c.is_ascii_digit() || c == '+');
        if self.mobiles.len() > 5 || self.mobiles.iter().any(not_mobile) {
            return Err(format!("{}: mobiles must be digits (and +), at most 5 of them", self.name));
        }
        if let Some(radio) = &self.radio
            && radio.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(format!("{}: radio {radio:?} is not host:port", self.name));
        }
        if let Some(hours) = &self.hours {
            check_hours(hours).map_err(|reason| format!("{}: {reason}", self.name))?;
        }
        Ok(())
    }
}
