//! Evaluation (考核): every key step of every unit's order scored from its timestamps against the
//! unit's clocks, plus the public's satisfaction, by the rules of `scoring.toml`; and the ranking
//! of units for a day, a month or a year (Beijing time).
//!
//! Each score explains itself: a [`ScoreLine`] per rule says what was measured (the step's time
//! and its deadline), whether it was met, missed or is still pending, and the points. A step whose
//! deadline has not come yet is *pending*: no points, and it does not count towards the maximum
//! either, so an order in progress is neither rewarded nor punished for what it may still do.
//! A unit's mark for a period is its points as a percentage of the maximum over every decided
//! rule of every order it had in the period; ranks are shared on ties (1, 1, 3).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use linkage_protocol::Step;
use serde::Deserialize;

use super::order::{Order, UnitOrder};
use super::unit::Tier;

/// Points of each rule for one tier.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRules {
    pub acknowledged_on_time: i32,
    pub on_scene_on_time: i32,
    pub handled_on_time: i32,
    pub report_complete: i32,
    pub not_reopened: i32,
    pub satisfaction_per_star: i32,
    pub missed_clock_penalty: i32,
    pub escalation_penalty: i32,
}

/// The rule file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringRules {
    pub tiers: [TierRules; 3],
    /// Below this percentage a unit shows amber, below `red_below` red.
    pub amber_below: f64,
    pub red_below: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tier: BTreeMap<String, toml::Spanned<TierRules>>,
    board: Board,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Board {
    amber_below: f64,
    red_below: f64,
}

impl Default for ScoringRules {
    /// The rules of `assets/demo/scoring.toml` (a test keeps the two the same).
    fn default() -> Self {
        let tier = |steps: [i32; 3], rest: [i32; 2], penalties: [i32; 2]| TierRules {
            acknowledged_on_time: steps[0],
            on_scene_on_time: steps[1],
            handled_on_time: steps[2],
            report_complete: rest[0],
            not_reopened: rest[1],
            satisfaction_per_star: 3,
            missed_clock_penalty: penalties[0],
            escalation_penalty: penalties[1],
        };
        ScoringRules {
            tiers: [
                tier([20, 25, 20], [10, 10], [5, 5]),
                tier([25, 0, 30], [15, 15], [5, 5]),
                tier([25, 0, 30], [15, 15], [3, 3]),
            ],
            amber_below: 80.0,
            red_below: 60.0,
        }
    }
}

impl ScoringRules {
    /// Parses `scoring.toml`: `[tier.1]`, `[tier.2]`, `[tier.3]` and `[board]`. Errors carry the
    /// byte offset of the fault, if known, and the reason.
    pub fn from_toml(text: &str) -> Result<ScoringRules, (Option<usize>, String)> {
        let file: File = toml::from_str(text).map_err(|e| (e.span().map(|s| s.start), e.message().to_owned()))?;
        let mut tiers = vec![];
        for n in ["1", "2", "3"] {
            let rules = file.tier.get(n).ok_or((None, format!("[tier.{n}] is missing")))?;
            let r = rules.get_ref();
            let positive =
                [r.acknowledged_on_time, r.on_scene_on_time, r.handled_on_time, r.report_complete, r.not_reopened];
            if positive
                .iter()
                .chain([&r.satisfaction_per_star, &r.missed_clock_penalty, &r.escalation_penalty])
                .any(|p| *p < 0)
            {
                return Err((Some(rules.span().start), format!("[tier.{n}]: points are given as numbers ≥ 0")));
            }
            tiers.push(*r);
        }
        if let Some(extra) = file.tier.keys().find(|k| !["1", "2", "3"].contains(&k.as_str())) {
            return Err((None, format!("[tier.{extra}]: tiers are 1, 2 and 3")));
        }
        let b = file.board;
        if !(0.0..=100.0).contains(&b.red_below) || !(b.red_below..=100.0).contains(&b.amber_below) {
            return Err((None, "[board]: need 0 ≤ red_below ≤ amber_below ≤ 100".into()));
        }
        Ok(ScoringRules { tiers: [tiers[0], tiers[1], tiers[2]], amber_below: b.amber_below, red_below: b.red_below })
    }

    pub fn for_tier(&self, tier: Tier) -> &TierRules {
        &self.tiers[tier as usize - 1]
    }
}

/// Which rule a line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    AcknowledgedOnTime,
    OnSceneOnTime,
    HandledOnTime,
    ReportComplete,
    NotReopened,
    Satisfaction,
    MissedClock,
    Escalation,
}

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Rule::AcknowledgedOnTime => "acknowledged_on_time",
            Rule::OnSceneOnTime => "on_scene_on_time",
            Rule::HandledOnTime => "handled_on_time",
            Rule::ReportComplete => "report_complete",
            Rule::NotReopened => "not_reopened",
            Rule::Satisfaction => "satisfaction",
            Rule::MissedClock => "missed_clock",
            Rule::Escalation => "escalation",
        }
    }
}

/// How a rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Met,
    Missed,
    /// Not decided yet (the deadline has not come, the order is not closed).
    Pending,
}

/// One rule's result, with what it was measured on.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLine {
    pub rule: Rule,
    pub outcome: Outcome,
    /// When the step happened, if it did.
    pub at: Option<DateTime<Utc>>,
    pub due: Option<DateTime<Utc>>,
    /// A number that goes with the rule: stars, missed clocks, escalations.
    pub count: i32,
    pub points: i32,
    /// What the line could have given (0 for pending lines and penalties).
    pub max: i32,
}

/// One unit's score on one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub order: String,
    pub incident: String,
    pub unit: String,
    pub created: DateTime<Utc>,
    pub lines: Vec<ScoreLine>,
}

impl Score {
    pub fn points(&self) -> i32 {
        self.lines.iter().map(|l| l.points).sum()
    }

    pub fn max(&self) -> i32 {
        self.lines.iter().map(|l| l.max).sum()
    }
}

/// Scores one unit's part of an order at `now`.
pub fn score(order: &Order, u: &UnitOrder, rules: &TierRules, now: DateTime<Utc>) -> Score {
    let mut lines = vec![];
    let mut missed_clocks = 0;
    // A step against its deadline: met if done by it, missed if done late or not done by it,
    // pending while the deadline is ahead and the step not done.
    let mut timed = |rule: Rule, step: Step, due: Option<DateTime<Utc>>, points: i32| {
        let Some(due) = due else { return };
        let at = u.steps.get(&step).copied();
        let outcome = match at {
            Some(at) if at <= due => Outcome::Met,
            Some(_) => Outcome::Missed,
            None if now > due => Outcome::Missed,
            None => Outcome::Pending,
        };
        if outcome == Outcome::Missed {
            missed_clocks += 1;
        }
        let (points, max) = match outcome {
            Outcome::Met => (points, points),
            Outcome::Missed => (0, points),
            Outcome::Pending => (0, 0),
        };
        lines.push(ScoreLine { rule, outcome, at, due: Some(due), count: 0, points, max });
    };
    timed(Rule::AcknowledgedOnTime, Step::Acknowledged, Some(u.acknowledge_by), rules.acknowledged_on_time);
    timed(Rule::OnSceneOnTime, Step::OnScene, u.on_scene_by, rules.on_scene_on_time);
    timed(Rule::HandledOnTime, Step::ReportedBack, u.report_back_by, rules.handled_on_time);

    let reported = u.steps.get(&Step::ReportedBack).copied();
    let complete = u.report.as_ref().is_some_and(|(text, evidence)| !text.trim().is_empty() && !evidence.is_empty());
    let (outcome, points, max) = match (reported, complete) {
        (Some(_), true) => (Outcome::Met, rules.report_complete, rules.report_complete),
        (Some(_), false) => (Outcome::Missed, 0, rules.report_complete),
        (None, _) => (Outcome::Pending, 0, 0),
    };
    lines.push(ScoreLine { rule: Rule::ReportComplete, outcome, at: reported, due: None, count: 0, points, max });

    // Closing decides "not reopened" and the satisfaction.
    match order.closed {
        Some((stars, at)) => {
            let (outcome, points) =
                if order.reopened == 0 { (Outcome::Met, rules.not_reopened) } else { (Outcome::Missed, 0) };
            lines.push(ScoreLine {
                rule: Rule::NotReopened,
                outcome,
                at: Some(at),
                due: None,
                count: order.reopened as i32,
                points,
                max: rules.not_reopened,
            });
            lines.push(ScoreLine {
                rule: Rule::Satisfaction,
                outcome: Outcome::Met,
                at: Some(at),
                due: None,
                count: stars as i32,
                points: stars as i32 * rules.satisfaction_per_star,
                max: 5 * rules.satisfaction_per_star,
            });
        }
        None => {
            for rule in [Rule::NotReopened, Rule::Satisfaction] {
                let count = if rule == Rule::NotReopened { order.reopened as i32 } else { 0 };
                lines.push(ScoreLine {
                    rule,
                    outcome: Outcome::Pending,
                    at: None,
                    due: None,
                    count,
                    points: 0,
                    max: 0,
                });
            }
        }
    }
    if missed_clocks > 0 {
        lines.push(ScoreLine {
            rule: Rule::MissedClock,
            outcome: Outcome::Missed,
            at: None,
            due: None,
            count: missed_clocks,
            points: -missed_clocks * rules.missed_clock_penalty,
            max: 0,
        });
    }
    let escalations = u.escalated.iter().filter(|e| !e.starts_with("remind/")).count() as i32;
    if escalations > 0 {
        lines.push(ScoreLine {
            rule: Rule::Escalation,
            outcome: Outcome::Missed,
            at: None,
            due: None,
            count: escalations,
            points: -escalations * rules.escalation_penalty,
            max: 0,
        });
    }
    Score {
        order: order.id.clone(),
        incident: order.incident.clone(),
        unit: u.unit.clone(),
        created: order.created,
        lines,
    }
}

/// A span of local days the board ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day(NaiveDate),
    Month { year: i32, month: u32 },
    Year(i32),
}

impl Period {
    /// Whether an instant falls in the period, by the calendar of `tz`.
    pub fn contains(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        let d = t.with_timezone(&tz).date_naive();
        match *self {
            Period::Day(day) => d == day,
            Period::Month { year, month } => d.year() == year && d.month() == month,
            Period::Year(year) => d.year() == year,
        }
    }
}

/// One unit's place on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub unit: String,
    pub rank: usize,
    pub orders: usize,
    pub points: i32,
    pub max: i32,
    /// Points as a percentage of the maximum; 0 while nothing is decided (see `decided`).
    pub percent: f64,
    /// Whether any line was decided: a unit whose orders are all still running has no mark yet
    /// and comes after the ranked ones.
    pub decided: bool,
    pub scores: Vec<Score>,
}

/// Ranks every unit that had an order in `period`, best first; equal percentages share a rank.
/// `orders` come with the township to name their units by ([`unit_key`]; `""`: none).
pub fn rank<'a>(
    orders: impl IntoIterator<Item = (&'a Order, &'a str)>,
    rules: &ScoringRules,
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<Standing> {
    ranked(scored(orders, |township, u| unit_key(township, &u.unit), rules, (period, tz, now)))
}

/// What a ranking calls `unit` of `township`: the unit's id, or (a county seat's ranking of
/// several townships, whose units may share ids) the township and the id, `青溪镇 · police`.
pub fn unit_key(township: &str, unit: &str) -> String {
    match township {
        "" => unit.to_owned(),
        township => format!("{township} · {unit}"),
    }
}

/// Ranks the county's townships by their units' work in `period`, best first: each
/// township's points over the maximum of every decided line of every unit's order, as a
/// [`Standing`] whose `unit` is the township's name. `orders` come with their township.
pub fn rank_townships<'a>(
    orders: impl IntoIterator<Item = (&'a Order, &'a str)>,
    rules: &ScoringRules,
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<Standing> {
    ranked(scored(orders, |township, _| township.to_owned(), rules, (period, tz, now)))
}

/// The score of every active unit of every order made in `period`, under the name `by` gives
/// it (from the order's township and the unit). An order a unit handed back as not theirs is
/// not held against it (the trail keeps the reason, for the center to judge).
fn scored<'a>(
    orders: impl IntoIterator<Item = (&'a Order, &'a str)>,
    by: impl Fn(&str, &UnitOrder) -> String,
    rules: &ScoringRules,
    (period, tz, now): (Period, Tz, DateTime<Utc>),
) -> BTreeMap<String, Vec<Score>> {
    let mut scores: BTreeMap<String, Vec<Score>> = BTreeMap::new();
    for (order, township) in orders.into_iter().filter(|(o, _)| period.contains(o.created, tz)) {
        for u in order.units.iter().filter(|u| u.is_active()) {
            scores.entry(by(township, u)).or_default().push(score(order, u, rules.for_tier(u.tier), now));
        }
    }
    scores
}

/// Each one's scores summed to a mark, best first; equal marks share a rank (1, 1, 3).
fn ranked(scores: BTreeMap<String, Vec<Score>>) -> Vec<Standing> {
    let mut standings: Vec<Standing> = scores
        .into_iter()
        .map(|(unit, scores)| {
            let points: i32 = scores.iter().map(Score::points).sum();
            let max: i32 = scores.iter().map(Score::max).sum();
            // Rounded to a tenth, so that equal work ranks equal despite float noise.
            let decided = max > 0;
            let percent = if decided { (points as f64 * 1000.0 / max as f64).round() / 10.0 } else { 0.0 };
            Standing { unit, rank: 0, orders: scores.len(), points, max, percent, decided, scores }
        })
        .collect();
    standings.sort_by(|a, b| {
        b.decided.cmp(&a.decided).then(b.percent.total_cmp(&a.percent)).then_with(|| a.unit.cmp(&b.unit))
    });
    for i in 0..standings.len() {
        let (this, before) = (&standings[i], i.checked_sub(1).map(|j| &standings[j]));
        let tied = before.is_some_and(|b| b.decided == this.decided && b.percent == this.percent);
        standings[i].rank = if tied { standings[i - 1].rank } else { i + 1 };
    }
    standings
}

impl super::Core {
    /// The units' ranking for `period`: by unit id on one township's seat; on a county seat
    /// holding orders of several townships, by township and unit ([`unit_key`]: two
    /// townships' `police` are two units).
    pub fn unit_ranking(&self, period: Period, now: DateTime<Utc>) -> Vec<Standing> {
        let townships: BTreeSet<&String> = self.orders.townships.values().collect();
        let several = townships.len() > 1;
        let placed = self.orders.list.values().map(|o| {
            let township = self.orders.townships.get(&o.id).filter(|_| several);
            (o, township.map_or("", String::as_str))
        });
        rank(placed, &self.scoring, period, crate::ZONE, now)
    }

    /// On a county seat (orders of more than one township): the townships ranked by their
    /// units' work in `period` ([`rank_townships`]); empty elsewhere.
    pub fn township_ranking(&self, period: Period, now: DateTime<Utc>) -> Vec<Standing> {
        let placed = self.orders.list.values().filter_map(|o| Some((o, self.orders.townships.get(&o.id)?.as_str())));
        let townships = rank_townships(placed, &self.scoring, period, crate::ZONE, now);
        if townships.len() > 1 { townships } else { vec![] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::order::fixtures::order;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn rules() -> ScoringRules {
        ScoringRules::from_toml(include_str!("../../../assets/demo/scoring.toml")).unwrap()
    }

    /// The units ranked on 28 November 2026 in Beijing, at [`at`]`(min)`, none named by a
    /// township.
    fn board_at(orders: &[Order], min: i64) -> Vec<Standing> {
        rank(orders.iter().map(|o| (o, "")), &rules(), nov28(), SHANGHAI, at(min))
    }

    /// 28 November 2026, the day of [`at`].
    fn nov28() -> Period {
        Period::Day(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
    }

    /// 2026-11-28 08:00 UTC (16:00 in Beijing) plus minutes.
    fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T08:00:00Z").unwrap().with_timezone(&Utc)
            + chrono::Duration::minutes(min)
    }

    /// An order to `unit`: acknowledge by +5, on scene by +30, report back by +240 minutes.
    fn dispatched(id: &str, unit: &str) -> Order {
        let mut o = order(&[unit]);
        o.id = id.into();
        o.units[0].report_back_by = Some(at(240));
        o
    }

    fn perfect(id: &str, unit: &str) -> Order {
        let mut o = dispatched(id, unit);
        o.record_step(unit, Step::Acknowledged, at(3), None);
        o.record_step(unit, Step::OnScene, at(20), None);
        o.record_step(unit, Step::ReportedBack, at(60), Some(("已处置".into(), vec!["https://p/1.jpg".into()])));
        o.close(5, at(90)).unwrap();
        o
    }

    fn total(o: &Order, now: DateTime<Utc>) -> (i32, i32) {
        let s = score(o, &o.units[0], rules().for_tier(Tier::One), now);
        (s.points(), s.max())
    }

    #[test]
    fn a_perfect_order_scores_every_point() {
        // 20 + 25 + 20 + 10 + 10 + 5 × 3
        assert_eq!(total(&perfect("D1", "police"), at(100)), (100, 100));
    }

    #[test]
    fn a_late_acknowledgement_an_incomplete_report_and_an_escalation_cost_their_points() {
        let mut o = dispatched("D2", "police");
        o.record_step("police", Step::Acknowledged, at(7), None);
        o.record_step("police", Step::OnScene, at(25), None);
        o.record_step("police", Step::ReportedBack, at(120), Some(("已处置".into(), vec![])));
        o.units[0].escalated = vec!["acknowledge".into()];
        o.close(3, at(130)).unwrap();
        // ack 0 + on scene 25 + handled 20 + complete 0 + not reopened 10 + 3 × 3
        // − 5 (one missed clock) − 5 (one escalation) = 54 of 100.
        assert_eq!(total(&o, at(200)), (54, 100));
        let s = score(&o, &o.units[0], rules().for_tier(Tier::One), at(200));
        let ack = &s.lines[0];
        assert_eq!(
            (ack.rule, ack.outcome, ack.at, ack.due),
            (Rule::AcknowledgedOnTime, Outcome::Missed, Some(at(7)), Some(at(5)))
        );
    }

    #[test]
    fn a_reopened_order_loses_the_not_reopened_points() {
        let mut o = perfect("D3", "police");
        o.reopen().unwrap();
        o.close(4, at(120)).unwrap();
        // 20 + 25 + 20 + 10 + 0 + 4 × 3
        assert_eq!(total(&o, at(200)), (87, 100));
    }

    #[test]
    fn an_order_in_progress_counts_only_what_is_decided() {
        let mut o = dispatched("D4", "police");
        o.record_step("police", Step::Acknowledged, at(2), None);
        assert_eq!(total(&o, at(10)), (20, 20), "on scene is due at +30: pending");
    }

    #[test]
    fn missing_steps_past_their_deadlines_are_missed_and_penalised() {
        let o = dispatched("D5", "police");
        // Nothing done by +300: three clocks missed (−15); report and closing still pending.
        assert_eq!(total(&o, at(300)), (-15, 65));
    }

    #[test]
    fn equal_marks_share_a_rank_and_the_next_rank_skips() {
        let mut late = dispatched("D6", "clinic");
        late.record_step("clinic", Step::Acknowledged, at(7), None);
        let orders = [perfect("D1", "police"), perfect("D2", "fire"), late];
        let board = board_at(&orders, 10);
        let places: Vec<(&str, usize)> = board.iter().map(|s| (s.unit.as_str(), s.rank)).collect();
        assert_eq!(places, [("fire", 1), ("police", 1), ("clinic", 3)]);
        // A unit whose only order is still running has no mark yet: after the ranked ones.
        let running = dispatched("D8", "water");
        let mut with_running = orders.to_vec();
        with_running.push(running);
        let board = board_at(&with_running, 2);
        let last = board.last().unwrap();
        assert_eq!((last.unit.as_str(), last.decided, last.rank), ("water", false, 4));
        // clinic: ack missed (0 of 20) − 5 for the missed clock; on scene still pending.
        assert_eq!((board[2].points, board[2].max, board[2].percent), (-5, 20, -25.0));
    }

    #[test]
    fn townships_rank_by_all_their_units_work() {
        let mut late = dispatched("D6", "police");
        late.record_step("police", Step::Acknowledged, at(7), None);
        let (good, also_good) = (perfect("D1", "police"), perfect("D2", "fire"));
        // 东山乡's police was late; 青溪镇's police and fire were perfect.
        let orders = [(&good, "青溪镇"), (&also_good, "青溪镇"), (&late, "东山乡")];
        let board = rank_townships(orders, &rules(), nov28(), SHANGHAI, at(10));
        let places: Vec<(&str, usize, usize)> = board.iter().map(|s| (s.unit.as_str(), s.rank, s.orders)).collect();
        assert_eq!(places, [("青溪镇", 1, 2), ("东山乡", 2, 1)]);
        assert_eq!((board[1].points, board[1].max), (-5, 20));
        // The units, named by their township: the two townships' police are two units.
        let units = rank(orders, &rules(), nov28(), SHANGHAI, at(10));
        let places: Vec<(&str, usize)> = units.iter().map(|s| (s.unit.as_str(), s.rank)).collect();
        assert_eq!(places, [("青溪镇 · fire", 1), ("青溪镇 · police", 1), ("东山乡 · police", 3)]);
    }

    #[test]
    fn orders_count_in_the_local_day_month_and_year_they_were_made() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let day = |y, m, d| Period::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        // 23:59 on 30 November in Beijing, and two minutes later, already December.
        let before = utc("2026-11-30T15:59:00Z");
        let after = utc("2026-11-30T16:01:00Z");
        assert!(day(2026, 11, 30).contains(before, SHANGHAI));
        assert!(day(2026, 12, 1).contains(after, SHANGHAI));
        assert!(Period::Month { year: 2026, month: 11 }.contains(before, SHANGHAI));
        assert!(Period::Month { year: 2026, month: 12 }.contains(after, SHANGHAI));
        assert!(!Period::Month { year: 2026, month: 11 }.contains(after, SHANGHAI));
        // New Year's Eve 00:30 in Beijing is still 31 December in UTC.
        assert!(Period::Year(2027).contains(utc("2026-12-31T16:30:00Z"), SHANGHAI));
        // An order made before midnight and closed after it counts on the day it was made.
        let mut o = perfect("D7", "police");
        o.created = before;
        let board = rank([(&o, "")], &rules(), day(2026, 11, 30), SHANGHAI, after);
        assert_eq!(board.len(), 1);
        assert!(rank([(&o, "")], &rules(), day(2026, 12, 1), SHANGHAI, after).is_empty());
    }

    #[test]
    fn the_built_in_rules_are_the_demo_file() {
        assert_eq!(rules(), ScoringRules::default());
    }

    #[test]
    fn a_bad_rule_file_is_refused_with_a_reason() {
        let text = include_str!("../../../assets/demo/scoring.toml");
        let (at, reason) = ScoringRules::from_toml(&text.replace("not_reopened = 10", "not_reopend = 10")).unwrap_err();
        assert!(at.is_some() && reason.contains("not_reopend"), "{reason}");
        let (_, reason) = ScoringRules::from_toml(&text.replace("[tier.3]", "[tier.4]")).unwrap_err();
        assert!(reason.contains("tier.3"), "{reason}");
        let (_, reason) = ScoringRules::from_toml(&text.replace("red_below = 60", "red_below = 90")).unwrap_err();
        assert!(reason.contains("red_below"), "{reason}");
    }
}
