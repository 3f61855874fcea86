//! Who a client is: the [`Grant`] its token (or login) gives it — a role, a name that signs
//! what it sends, the unit of a terminal — and the rate it may send at.

use linkage_protocol::{Role, SeatRole};

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
    /// On a gateway of a whole county: the one township this client is kept to (a token's
    /// `township`); `None`: the whole county. (A person's township in the user store is free
    /// text, not yet tied to the county's township names: people are not kept to one.)
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
        Grant { seat: Some(person.seat), unit: person.unit.clone(), ..Grant::new(role, person.display.clone()) }
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
