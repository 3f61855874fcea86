//! The demo's simulated duty officer: it does what an officer at the console would, through the
//! same commands — dispatches each high or critical incident by its plan a little after it
//! arrives (emergency items go out at once by the plan library, DOMAIN.md), and closes each
//! reported-back order whose reporter was not asked by SMS (or did not answer) with a
//! satisfaction. Only with `[simulation] duty_officer`.

use chrono::{DateTime, Duration, Utc};
use streams::feed::Severity;

use crate::core::dispatch::DispatchDraft;
use crate::core::order::Stage;
use crate::core::{Command, Core};

/// How long the officer takes to dispatch a new incident.
const DISPATCH_AFTER: Duration = Duration::seconds(15);
/// Incidents older than this at start are history: the officer does not dispatch them.
const HISTORY: Duration = Duration::minutes(10);
/// How long after the report back the reporter is called for satisfaction.
const CLOSE_AFTER: Duration = Duration::seconds(30);
/// How long a reporter asked by SMS has to answer before the officer calls instead.
const NO_ANSWER: Duration = Duration::minutes(5);

/// What the officer does at `now`.
pub fn act(core: &Core, now: DateTime<Utc>, rng: &mut fastrand::Rng) -> Vec<Command> {
    if !core.hub.caught_up {
        return vec![];
    }
    let mut commands = vec![];
    for t in core.incidents.all() {
        let i = &t.incident;
        let age = now - i.reported_at;
        if !t.is_open() || i.report.severity < Severity::High || age < DISPATCH_AFTER || age > HISTORY {
            continue;
        }
        if core.orders.of_incident(&i.id).next().is_some() || core.orders.pending_for(&i.id) {
            continue;
        }
        if let Some(p) = core.proposal(&i.id)
            && !p.units.is_empty()
        {
            commands.push(Command::Dispatch(DispatchDraft {
                incident: i.id.clone(),
                plan: Some(p.plan),
                units: p.units,
                texts: p.texts,
                clocks: p.clocks,
            }));
        }
    }
    let closable = |o: &&crate::core::order::Order| o.stage() == Stage::ReportedBack && !core.orders.changing(&o.id);
    for order in core.orders.list.values().filter(closable) {
        // A reporter asked by SMS answers by SMS; the officer closes the rest, and those whose
        // reporter has not answered in five minutes (a phone call, in real life).
        let wait = if order.satisfaction_asked.is_some() { NO_ANSWER } else { CLOSE_AFTER };
        let reported = order.units.iter().filter_map(|u| u.steps.get(&streams::feed::Step::ReportedBack)).max();
        if reported.is_some_and(|at| now - *at >= wait) {
            let satisfaction = match rng.u8(0..100) {
                0..5 => 2,
                5..20 => 3,
                20..55 => 4,
                _ => 5,
            };
            commands.push(Command::CloseOrder { order: order.id.clone(), satisfaction });
        }
    }
    commands
}
