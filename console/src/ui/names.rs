//! Names of domain values in the language in force, in one place for every view.

use chrono::{DateTime, Utc};
use streams::feed::{IncidentStatus, ReportSource, Severity, Step};

use crate::core::Core;
use crate::core::incident::TrackedIncident;
use crate::i18n::I18n;

/// The time zone the room works in. Times on screen are local to it.
pub use crate::core::ZONE;

pub fn severity(tr: &I18n, s: Severity) -> &str {
    tr.t(match s {
        Severity::Low => "severity.low",
        Severity::Medium => "severity.medium",
        Severity::High => "severity.high",
        Severity::Critical => "severity.critical",
    })
}

pub fn status(tr: &I18n, s: IncidentStatus) -> &str {
    tr.t(match s {
        IncidentStatus::New => "status.new",
        IncidentStatus::Dispatched => "status.dispatched",
        IncidentStatus::Handling => "status.handling",
        IncidentStatus::Closed => "status.closed",
    })
}

pub fn step(tr: &I18n, step: Step) -> &str {
    tr.t(match step {
        Step::Received => "step.received",
        Step::Acknowledged => "step.acknowledged",
        Step::OnScene => "step.on_scene",
        Step::Handling => "step.handling",
        Step::ReportedBack => "step.reported_back",
        Step::Returned => "step.returned",
    })
}

pub fn handover_state(tr: &I18n, state: streams::feed::HandoverState) -> &str {
    use streams::feed::HandoverState as S;
    tr.t(match state {
        S::Received => "handover.received",
        S::Accepted => "handover.accepted",
        S::Done => "handover.done",
        S::Refused => "handover.refused",
    })
}

pub fn source(tr: &I18n, s: ReportSource) -> &str {
    tr.t(match s {
        ReportSource::Field => "source.field",
        ReportSource::Hotline110 => "source.hotline_110",
        ReportSource::Hotline12345 => "source.hotline_12345",
        ReportSource::Camera => "source.camera",
        ReportSource::DutyDesk => "source.duty_desk",
    })
}

/// A kind code's name from the kind list, or the code itself when the list lacks it.
pub fn kind<'a>(tr: &I18n, core: &'a Core, code: &'a str) -> &'a str {
    core.kinds.get(code).map_or(code, |k| tr.pick(&k.zh, &k.en))
}

/// An incident in one line: `E000042 [特别严重] 火情 · 南山村 · 08:03:11`.
pub fn incident_line(tr: &I18n, core: &Core, t: &TrackedIncident) -> String {
    let r = &t.incident.report;
    let place = t.grid.map_or_else(|| tr.t("detail.outside_grids"), |g| core.grids.grids[g].village.as_str());
    format!(
        "{} [{}] {} · {place} · {}",
        t.incident.id,
        severity(tr, r.severity),
        kind(tr, core, &r.kind),
        clock(t.incident.reported_at)
    )
}

/// `HH:MM:SS` in the room's zone.
pub fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&ZONE).format("%H:%M:%S").to_string()
}

/// `YYYY-MM-DD HH:MM:SS` in the room's zone.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&ZONE).format("%Y-%m-%d %H:%M:%S").to_string()
}
