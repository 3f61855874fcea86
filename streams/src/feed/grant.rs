//! Who a client is: the [`Grant`] its token (or login) gives it — a role, a name that signs
//! what it sends, the unit of a terminal — and the rate it may send at.

use linkage_protocol::{Role, SeatRole};

use super::jetstream::County;

/// A token and what it lets its bearer be.
#[derive(Debug, Clone)]
pub struct Grant {
    pub role: Role,
    /// A name for logs ("console-1", "grid worker 东湾-03").
    pub name: String,
    /// For a unit terminal: the unit whose orders it receives and reports on.
    pub unit: Option<String>,
    /// How many messages a second the client may send on average; it may send ten seconds'
    /// worth at once (a handheld handing in what it collected offline). Beyond that each
    /// message is refused with `rate_limited` and not logged.
    pub per_second: u32,
    /// For a seat: the person's role (a console token without one counts as a duty officer).
    pub seat: Option<SeatRole>,
    /// On a county's log: the township this client works for (a token's `township`, a
    /// person's); `None`, or the county's own name (`--county`): the whole county. A gateway of
    /// the whole county keeps such a client to it, one of another township refuses it.
    pub township: Option<String>,
}

impl Grant {
    /// A grant with its role's rate: bridges (the 110 center, hotlines) carry a whole county's
    /// calls and a dispatcher resends a crash's worth of orders at once; one person's terminal
    /// or console needs far less.
    pub fn new(role: Role, name: impl Into<String>) -> Grant {
        let per_second = match role {
            Role::Bridge | Role::Dispatcher | Role::Center => 1000,
            Role::Console | Role::FieldTerminal | Role::UnitTerminal => 100,
        };
        Grant { role, name: name.into(), unit: None, per_second, seat: None, township: None }
    }

    /// The grant of a terminal of `unit`: it receives that unit's work orders.
    pub fn unit_terminal(unit: &str) -> Grant {
        Grant { unit: Some(unit.to_owned()), ..Grant::new(Role::UnitTerminal, format!("unit {unit}")) }
    }
}

impl Grant {
    /// What a seat may do: its person's role, a duty officer's for a plain console token.
    pub fn seat_role(&self) -> SeatRole {
        self.seat.unwrap_or(SeatRole::DutyOfficer)
    }

    /// Whether this client may chair a meeting: a seat of a leader, or of one who dispatches
    /// (a duty officer, an admin).
    pub fn may_chair(&self) -> bool {
        self.role == Role::Console && (self.seat_role().may_dispatch() || self.seat_role() == SeatRole::Leader)
    }

    /// The grant of a person who logged in: a seat of the center, or (a unit's person) one of
    /// their unit's terminals.
    pub fn person(person: &super::users::Person) -> Grant {
        let role = if person.unit.is_some() { Role::UnitTerminal } else { Role::Console };
        Grant {
            seat: Some(person.seat),
            unit: person.unit.clone(),
            township: Some(person.township.clone()),
            ..Grant::new(role, person.display.clone())
        }
    }

    /// The township this client is kept to on a gateway of `county`'s log, or why that gateway
    /// does not serve it. A client that names no township, or the county's own name, belongs
    /// to the whole county; one that names a township works for it. A gateway of the whole
    /// county keeps the latter to its township; a gateway of one township serves its own
    /// township's clients and the county's (keeping none further: it reads its township only),
    /// not another township's.
    pub fn kept_to(&self, county: &County) -> Result<Option<String>, String> {
        let named = self.township.as_deref().filter(|t| *t != county.county);
        match (county.township.as_deref(), named) {
            (None, named) => Ok(named.map(str::to_owned)),
            (Some(own), Some(named)) if named != own => Err(format!(
                "{} works for {named}, and this gateway serves {own}: connect to {named}'s gateway",
                self.name
            )),
            (Some(_), _) => Ok(None),
        }
    }
}

/// A token bucket: `per_second` tokens a second, holding at most ten seconds' worth.
pub(super) struct RateLimit {
    per_second: f64,
    tokens: f64,
    at: tokio::time::Instant,
    /// Messages refused in a row; a client that keeps going regardless is cut off.
    pub(super) refused_in_a_row: u32,
}

impl RateLimit {
    pub(super) fn new(per_second: u32) -> RateLimit {
        let per_second = f64::from(per_second.max(1));
        RateLimit { per_second, tokens: per_second * 10.0, at: tokio::time::Instant::now(), refused_in_a_row: 0 }
    }

    /// Takes a token if there is one.
    pub(super) fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let full = self.per_second * 10.0;
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second).min(full);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            true
        } else {
            self.refused_in_a_row += 1;
            false
        }
    }
}

/// Messages refused for rate in a row before the client is cut off.
pub(super) const RATE_REFUSALS_BEFORE_CUT: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn county(township: Option<&str>) -> County {
        County {
            urls: vec![],
            county: "c1".into(),
            township: township.map(Into::into),
            replicas: 3,
            leaves: vec![],
            access: Default::default(),
        }
    }

    fn of(township: Option<&str>) -> Grant {
        Grant { township: township.map(Into::into), ..Grant::new(Role::Console, "值班员 李娜") }
    }

    #[test]
    fn a_gateway_of_the_whole_county_keeps_a_townships_client_to_it_and_the_countys_to_none() {
        let whole = county(None);
        assert_eq!(of(Some("青溪镇")).kept_to(&whole), Ok(Some("青溪镇".into())));
        assert_eq!(of(Some("c1")).kept_to(&whole), Ok(None));
        assert_eq!(of(None).kept_to(&whole), Ok(None));
    }

    #[test]
    fn a_townships_gateway_serves_its_own_and_the_countys_clients_and_refuses_anothers() {
        let t1 = county(Some("t1"));
        for own in [Some("t1"), Some("c1"), None] {
            assert_eq!(of(own).kept_to(&t1), Ok(None), "{own:?}");
        }
        let refused = of(Some("t2")).kept_to(&t1).unwrap_err();
        assert!(refused.contains("值班员 李娜 works for t2") && refused.contains("serves t1"), "{refused}");
    }

    #[test]
    fn a_person_works_for_their_township() {
        let person = super::super::users::Person {
            user: "li".into(),
            display: "值班员 李娜".into(),
            seat: SeatRole::DutyOfficer,
            township: "t1".into(),
            unit: None,
        };
        assert_eq!(Grant::person(&person).kept_to(&county(None)), Ok(Some("t1".into())));
    }
}
