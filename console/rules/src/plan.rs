//! The plan library (预案库): for each kind and severity of incident, a prepared response —
//! which linked units go (by role and area), by which channels, with which words, on which
//! clocks. The duty officer starts from the plan's [`Proposal`] and may change any of it.
//!
//! A plan matches an incident when its `kinds` (if given) contain the incident's kind and its
//! `severity` (if given) contains the incident's severity. The most specific match wins: kinds
//! and severity both given beats kinds only, which beats severity only, which beats a catch-all
//! plan; among equals, the first in the file. The file format is in docs/plans.md.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use linkage_protocol::{Incident, Severity};
use serde::Deserialize;
use toml::Spanned;

use super::grid::GridMap;
use super::kind::IncidentKinds;
use super::order::ChannelKind;
pub use super::order::{PlanClocks, Texts};
use super::unit::{LinkedUnit, Tier};
use super::whereabouts::Whereabouts;

/// The placeholders a message template may use.
pub const PLACEHOLDERS: [&str; 9] =
    ["center", "incident", "kind", "severity", "village", "grid", "text", "time", "unit"];

/// One prepared response.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub kinds: Vec<String>,
    pub severities: Vec<Severity>,
    pub units: Vec<UnitRule>,
    pub texts: Texts,
    /// Overrides of the tier clocks for this plan.
    pub clocks: PlanClocks,
}

/// Which units a plan sends: `count` units of a role, chosen by area.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRule {
    pub role: String,
    pub area: AreaRule,
    pub count: usize,
    pub channels: Vec<ChannelKind>,
}

/// Where a plan looks for its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaRule {
    /// Units whose area covers the incident's grid or village; if none has the role, the
    /// township-wide ones (the nearest that can go).
    Grid,
    /// Any unit with the role.
    Township,
}

/// What the plan proposes for one incident: units with channels, and the filled-in texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub plan: String,
    pub plan_name: String,
    pub units: Vec<(String, Vec<ChannelKind>)>,
    pub texts: Texts,
    pub clocks: PlanClocks,
    /// Roles the plan asks for that no configured unit has.
    pub missing_roles: Vec<String>,
}

/// The whole library, checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanLibrary {
    pub plans: Vec<Plan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "plan")]
    plans: Vec<Spanned<PlanEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanEntry {
    id: String,
    name: String,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(rename = "unit")]
    units: Vec<Spanned<UnitEntry>>,
    text: TextEntry,
    #[serde(default)]
    clock: ClockEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitEntry {
    role: String,
    #[serde(default = "grid_area")]
    area: AreaRule,
    #[serde(default = "one")]
    count: usize,
    channels: Vec<ChannelKind>,
}

fn grid_area() -> AreaRule {
    AreaRule::Grid
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextEntry {
    order: Spanned<String>,
    sms: Spanned<String>,
    radio: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClockEntry {
    acknowledge_min: Option<u64>,
    on_scene_min: Option<u64>,
    report_back_min: Option<u64>,
}

/// A refused plan file: the byte offset of the fault (if known) and the reason.
pub type PlanError = (Option<usize>, String);

impl PlanLibrary {
    /// Parses and checks a plan file. `kinds` and `units` are the configured ones: a plan that
    /// names an unknown kind, or a role no unit has, is refused.
    pub fn from_toml(text: &str, kinds: &IncidentKinds, units: &[LinkedUnit]) -> Result<PlanLibrary, PlanError> {
        let file: File = toml::from_str(text).map_err(|e| (e.span().map(|s| s.start), e.message().to_owned()))?;
        let mut plans: Vec<Plan> = vec![];
        for entry in file.plans {
            let at = Some(entry.span().start);
            let p = entry.into_inner();
            if plans.iter().any(|x| x.id == p.id) {
                return Err((at, format!("plan id {:?} appears twice", p.id)));
            }
            if let Some(kind) = p.kinds.iter().find(|k| kinds.get(k).is_none()) {
                return Err((at, format!("plan {}: unknown incident kind {kind:?}", p.id)));
            }
            let mut rules = vec![];
            for u in p.units {
                let at = Some(u.span().start);
                let u = u.into_inner();
                if !units.iter().any(|x| x.roles.contains(&u.role)) {
                    return Err((at, format!("plan {}: no linked unit has the role {:?}", p.id, u.role)));
                }
                if u.channels.is_empty() || u.count == 0 {
                    return Err((at, format!("plan {}: a unit rule needs a count ≥ 1 and a channel", p.id)));
                }
                rules.push(UnitRule { role: u.role, area: u.area, count: u.count, channels: u.channels });
            }
            for template in [&p.text.order, &p.text.sms, &p.text.radio] {
                check_template(template.get_ref()).map_err(|e| (Some(template.span().start), e))?;
            }
            let minutes = |m: Option<u64>| m.map(|m| Duration::from_secs(m * 60));
            plans.push(Plan {
                id: p.id,
                name: p.name,
                kinds: p.kinds,
                severities: p.severity,
                units: rules,
                texts: Texts {
                    order: p.text.order.into_inner(),
                    sms: p.text.sms.into_inner(),
                    radio: p.text.radio.into_inner(),
                },
                clocks: PlanClocks {
                    acknowledge: minutes(p.clock.acknowledge_min),
                    on_scene: minutes(p.clock.on_scene_min),
                    report_back: minutes(p.clock.report_back_min),
                },
            });
        }
        Ok(PlanLibrary { plans })
    }

    /// The plan for an incident: the most specific match (see the module doc).
    pub fn find(&self, kind: &str, severity: Severity) -> Option<&Plan> {
        self.plans
            .iter()
            .filter(|p| p.kinds.is_empty() || p.kinds.iter().any(|k| k == kind))
            .filter(|p| p.severities.is_empty() || p.severities.contains(&severity))
            // max_by_key keeps the last of equals; reversing keeps the first in the file.
            .rev()
            .max_by_key(|p| (!p.kinds.is_empty()) as u8 * 2 + (!p.severities.is_empty()) as u8)
    }

    /// What the matching plan proposes for `incident`, with every text filled in.
    pub fn propose(&self, facts: &Facts<'_>) -> Option<Proposal> {
        let incident = facts.incident;
        let plan = self.find(&incident.report.kind, incident.report.severity)?;
        let mut units: Vec<(String, Vec<ChannelKind>)> = vec![];
        let mut missing_roles = vec![];
        // The nearest first (by the unit's last position, else its base); units whose place is
        // unknown after them, in the config's order.
        let mut by_distance: Vec<&LinkedUnit> = facts.units.iter().collect();
        let far = |u: &LinkedUnit| facts.distance_m.get(u.id.as_str()).copied().unwrap_or(f64::INFINITY);
        by_distance.sort_by(|a, b| far(a).total_cmp(&far(b)));
        for rule in &plan.units {
            let with_role = |u: &&&LinkedUnit| u.roles.contains(&rule.role) && !units.iter().any(|(id, _)| id == &u.id);
            let local: Vec<&LinkedUnit> = match rule.area {
                AreaRule::Grid => {
                    by_distance.iter().filter(with_role).filter(|u| u.covers(facts.grid)).copied().collect()
                }
                AreaRule::Township => vec![],
            };
            let chosen: Vec<&LinkedUnit> = if local.is_empty() {
                by_distance.iter().filter(with_role).take(rule.count).copied().collect()
            } else {
                local.into_iter().take(rule.count).collect()
            };
            if chosen.is_empty() {
                missing_roles.push(rule.role.clone());
            }
            units.extend(chosen.into_iter().map(|u| (u.id.clone(), rule.channels.clone())));
        }
        let fill = |t: &str| fill(t, facts);
        Some(Proposal {
            plan: plan.id.clone(),
            plan_name: plan.name.clone(),
            units,
            texts: Texts { order: fill(&plan.texts.order), sms: fill(&plan.texts.sms), radio: fill(&plan.texts.radio) },
            clocks: plan.clocks,
            missing_roles,
        })
    }
}

/// What a template can say about an incident, gathered once.
pub struct Facts<'a> {
    pub center: &'a str,
    pub incident: &'a Incident,
    pub kind_name: &'a str,
    pub severity_name: &'a str,
    /// The incident's (grid code, village), if it is inside a grid.
    pub grid: Option<(&'a str, &'a str)>,
    pub units: &'a [LinkedUnit],
    /// The incident's report time, already as local "HH:MM".
    pub time: String,
    /// How far each unit whose place is known is from the incident, in metres.
    pub distance_m: HashMap<&'a str, f64>,
}

impl Facts<'_> {
    /// Gathers the facts from the map and the kinds.
    pub fn gather<'a>(
        center: &'a str,
        incident: &'a Incident,
        grid: Option<usize>,
        (map, kinds): (&'a GridMap, &'a IncidentKinds),
        units: &'a [LinkedUnit],
        whereabouts: &Whereabouts,
    ) -> Facts<'a> {
        // Messages go out in Chinese whatever language the console shows.
        let severity_name = match incident.report.severity {
            Severity::Low => "一般",
            Severity::Medium => "较重",
            Severity::High => "严重",
            Severity::Critical => "特别严重",
        };
        let kind_name = kinds.get(&incident.report.kind).map(|k| k.zh.as_str()).unwrap_or(&incident.report.kind);
        let grid = grid.and_then(|i| map.grids.get(i)).map(|g| (g.code.as_str(), g.village.as_str()));
        let time = incident.reported_at.with_timezone(&super::ZONE).format("%H:%M").to_string();
        let at = incident.report.location;
        let distance_m =
            units.iter().filter_map(|u| Some((u.id.as_str(), whereabouts.distance_to(u, at.lon, at.lat)?))).collect();
        Facts { center, incident, kind_name, severity_name, grid, units, time, distance_m }
    }
}

/// Checks that every `{name}` in a template is a known placeholder and braces are balanced.
fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("template has a '{{' without '}}': {template:?}"));
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("unknown placeholder {{{name}}}; known: {}", PLACEHOLDERS.join(", ")));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}

/// Fills a checked template. `{unit}` stays for the sender to fill per unit.
fn fill(template: &str, f: &Facts<'_>) -> String {
    let (grid, village) = f.grid.unwrap_or(("", ""));
    template
        .replace("{center}", f.center)
        .replace("{incident}", &f.incident.id)
        .replace("{kind}", f.kind_name)
        .replace("{severity}", f.severity_name)
        .replace("{village}", village)
        .replace("{grid}", grid)
        .replace("{text}", &f.incident.report.text)
        .replace("{time}", &f.time)
}

/// The tier defaults of the three clocks, from DOMAIN.md: tier 1 acknowledges within 5 minutes
/// and goes at once; tier 2 replies within 24 hours; tier 3's daily contact confirms within the
/// day.
pub fn tier_clocks(tier: Tier) -> PlanClocks {
    let min = |m: u64| Some(Duration::from_secs(m * 60));
    match tier {
        Tier::One => PlanClocks { acknowledge: min(5), on_scene: min(30), report_back: min(4 * 60) },
        Tier::Two => PlanClocks { acknowledge: min(24 * 60), on_scene: None, report_back: min(72 * 60) },
        Tier::Three => PlanClocks { acknowledge: min(24 * 60), on_scene: None, report_back: min(7 * 24 * 60) },
    }
}

/// The plan's clock where it sets one, else the tier's; as a deadline from `from`.
pub fn deadline(plan: Option<Duration>, tier: Option<Duration>, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    plan.or(tier).and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| from + d)
}
