//! The leaders' board (考核排名): the ranking of linked units for a day, a month or a year, as
//! a table and a bar chart, red and amber for units falling behind (on a county seat, the
//! townships' ranking above it); a unit's trend over the last
//! 30 days and every order and score line behind its mark; CSV and monthly-notice exports.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use egui::RichText;
use egui_plot::{Bar, BarChart, Line, Plot};

use crate::core::score::{Outcome, Period, Rule, Standing};
use crate::core::unit::name_of;
use crate::core::{Command, Core, ExportKind};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// Which span the board ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Span {
    Day,
    #[default]
    Month,
    Year,
}

#[derive(Default)]
pub struct BoardView {
    pub open: bool,
    pub span: Span,
    /// The local day the period contains (today when `None`).
    pub date: Option<NaiveDate>,
    /// The unit drilled into.
    pub selected: Option<String>,
    worked: Option<std::sync::Arc<Worked>>,
}

/// How often an open board works the ranking out again (it scores every order of the period).
const REFRESH_SECS: i64 = 2;

/// The ranking as last worked out, and the drilled-into unit's trend: drawn every frame,
/// worked out again when the period or the unit changes, or after [`REFRESH_SECS`].
struct Worked {
    key: (Period, Option<String>, i64),
    standings: Vec<Standing>,
    /// On a county seat (orders of more than one township): the townships' ranking.
    townships: Vec<Standing>,
    trend: Vec<[f64; 2]>,
}

impl BoardView {
    pub fn period(&self, now: DateTime<Utc>) -> Period {
        let d = self.date.unwrap_or_else(|| now.with_timezone(&names::ZONE).date_naive());
        match self.span {
            Span::Day => Period::Day(d),
            Span::Month => Period::Month { year: d.year(), month: d.month() },
            Span::Year => Period::Year(d.year()),
        }
    }

    /// Moves the date one period back (−1) or forward (+1).
    fn step(&mut self, now: DateTime<Utc>, by: i32) {
        let d = self.date.unwrap_or_else(|| now.with_timezone(&names::ZONE).date_naive());
        let moved = match self.span {
            Span::Day => d.checked_add_signed(Duration::days(by as i64)),
            Span::Month => {
                if by < 0 {
                    d.checked_sub_months(chrono::Months::new(1))
                } else {
                    d.checked_add_months(chrono::Months::new(1))
                }
            }
            Span::Year => {
                if by < 0 {
                    d.checked_sub_months(chrono::Months::new(12))
                } else {
                    d.checked_add_months(chrono::Months::new(12))
                }
            }
        };
        self.date = moved.or(Some(d));
    }

    pub fn ui(&mut self, ctx: &egui::Context, core: &Core, tr: &I18n, now: DateTime<Utc>) -> Vec<Command> {
        if !self.open {
            return vec![];
        }
        let mut commands = vec![];
        let mut open = true;
        egui::Window::new(tr.t("board.title")).open(&mut open).default_size([720.0, 640.0]).show(ctx, |ui| {
            commands = self.contents(ui, core, tr, now);
        });
        self.open = open;
        commands
    }

    fn contents(&mut self, ui: &mut egui::Ui, core: &Core, tr: &I18n, now: DateTime<Utc>) -> Vec<Command> {
        let mut commands = vec![];
        ui.horizontal(|ui| {
            for (span, key) in [(Span::Day, "board.day"), (Span::Month, "board.month"), (Span::Year, "board.year")] {
                ui.radio_value(&mut self.span, span, tr.t(key));
            }
            ui.separator();
            if ui.button("◀").on_hover_text(tr.t("board.earlier")).clicked() {
                self.step(now, -1);
            }
            ui.label(RichText::new(period_name(tr, self.period(now))).strong());
            if ui.button("▶").on_hover_text(tr.t("board.later")).clicked() {
                self.step(now, 1);
            }
        });
        let period = self.period(now);
        let key = (period, self.selected.clone(), now.timestamp() / REFRESH_SECS);
        let worked = match self.worked.clone().filter(|w| w.key == key) {
            Some(w) => w,
            None => {
                let standings = core.unit_ranking(period, now);
                let townships = core.township_ranking(period, now);
                let trend = self.selected.as_deref().map(|u| trend(core, u, now)).unwrap_or_default();
                let w = std::sync::Arc::new(Worked { key, standings, townships, trend });
                self.worked = Some(w.clone());
                w
            }
        };
        let standings = &worked.standings;
        ui.horizontal(|ui| {
            if ui.button(tr.t("board.export_csv")).clicked() {
                commands.push(Command::Export { kind: ExportKind::Csv, period });
            }
            if ui.button(tr.t("board.export_notice")).clicked() {
                commands.push(Command::Export { kind: ExportKind::Notice, period });
            }
            if !core.last_export.is_empty() {
                let files = core.last_export.join(tr.t("list.separator"));
                ui.label(RichText::new(tr.f("board.exported", &[("file", &files)])).color(theme::MUTED));
            }
        });
        if standings.is_empty() {
            ui.label(RichText::new(tr.t("board.empty")).color(theme::MUTED));
            return commands;
        }
        let color = |s: &Standing| {
            if !s.decided {
                theme::MUTED
            } else if s.percent < core.scoring.red_below {
                theme::BAD
            } else if s.percent < core.scoring.amber_below {
                theme::WARN
            } else {
                theme::OK
            }
        };
        let mark =
            |s: &Standing| if s.decided { format!("{:.1}%", s.percent) } else { tr.t("board.no_mark").to_owned() };
        if !worked.townships.is_empty() {
            ui.label(RichText::new(tr.t("board.townships")).strong());
            egui::Grid::new("board townships").num_columns(4).striped(true).show(ui, |ui| {
                for key in ["board.rank", "board.township", "board.orders", "board.percent"] {
                    ui.label(RichText::new(tr.t(key)).color(theme::MUTED));
                }
                ui.end_row();
                for s in &worked.townships {
                    ui.label(s.rank.to_string());
                    ui.label(&s.unit);
                    ui.label(s.orders.to_string());
                    ui.label(RichText::new(mark(s)).color(color(s)).strong());
                    ui.end_row();
                }
            });
            ui.separator();
        }
        egui::Grid::new("board table").num_columns(5).striped(true).show(ui, |ui| {
            for key in ["board.rank", "board.unit", "board.orders", "board.points", "board.percent"] {
                ui.label(RichText::new(tr.t(key)).color(theme::MUTED));
            }
            ui.end_row();
            for s in standings {
                ui.label(s.rank.to_string());
                let picked = self.selected.as_deref() == Some(s.unit.as_str());
                if ui.selectable_label(picked, name_of(&core.units, &s.unit)).clicked() {
                    self.selected = if picked { None } else { Some(s.unit.clone()) };
                }
                ui.label(s.orders.to_string());
                ui.label(format!("{} / {}", s.points, s.max));
                ui.label(RichText::new(mark(s)).color(color(s)).strong());
                ui.end_row();
            }
        });
        let bars: Vec<Bar> = standings
            .iter()
            .enumerate()
            .map(|(i, s)| Bar::new(i as f64, s.percent).name(name_of(&core.units, &s.unit)).fill(color(s)).width(0.6))
            .collect();
        let labels: Vec<String> = standings.iter().map(|s| name_of(&core.units, &s.unit).to_owned()).collect();
        Plot::new("board bars")
            .height(180.0)
            .allow_zoom(false)
            .allow_drag(false)
            .include_y(0.0)
            .include_y(100.0)
            .x_axis_formatter(move |mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .show(ui, |plot| plot.bar_chart(BarChart::new(tr.t("board.percent"), bars)));
        if let Some(unit) = self.selected.clone()
            && let Some(s) = standings.iter().find(|s| s.unit == unit)
        {
            ui.separator();
            drill_down(ui, core, tr, s, &worked.trend);
        }
        commands
    }
}

pub fn period_name(tr: &I18n, period: Period) -> String {
    match period {
        Period::Day(d) => tr.f(
            "board.period_day",
            &[("y", &d.year().to_string()), ("m", &d.month().to_string()), ("d", &d.day().to_string())],
        ),
        Period::Month { year, month } => {
            tr.f("board.period_month", &[("y", &year.to_string()), ("m", &month.to_string())])
        }
        Period::Year(y) => tr.f("board.period_year", &[("y", &y.to_string())]),
    }
}

fn rule_name(tr: &I18n, rule: Rule) -> &str {
    tr.t(match rule {
        Rule::AcknowledgedOnTime => "score.acknowledged_on_time",
        Rule::OnSceneOnTime => "score.on_scene_on_time",
        Rule::HandledOnTime => "score.handled_on_time",
        Rule::ReportComplete => "score.report_complete",
        Rule::NotReopened => "score.not_reopened",
        Rule::Satisfaction => "score.satisfaction",
        Rule::MissedClock => "score.missed_clock",
        Rule::Escalation => "score.escalation",
    })
}

/// A unit's 30-day trend and every score line behind its mark.
/// A unit's daily mark over the last 30 days, as (days back, percent) points.
fn trend(core: &Core, unit: &str, now: DateTime<Utc>) -> Vec<[f64; 2]> {
    let today = now.with_timezone(&names::ZONE).date_naive();
    (0..30)
        .rev()
        .filter_map(|back| {
            let day = today - Duration::days(back);
            let board = core.unit_ranking(Period::Day(day), now);
            board.iter().find(|x| x.unit == unit && x.decided).map(|x| [-(back as f64), x.percent])
        })
        .collect()
}

fn drill_down(ui: &mut egui::Ui, core: &Core, tr: &I18n, s: &Standing, trend: &[[f64; 2]]) {
    ui.label(RichText::new(tr.f("board.behind", &[("unit", name_of(&core.units, &s.unit))])).strong());
    let trend = trend.to_vec();
    Plot::new(("board trend", s.unit.as_str()))
        .height(120.0)
        .allow_zoom(false)
        .allow_drag(false)
        .include_y(0.0)
        .include_y(100.0)
        .show(ui, |plot| plot.line(Line::new(tr.t("board.trend"), trend)));
    egui::ScrollArea::vertical().max_height(220.0).show(ui, |ui| {
        for sc in &s.scores {
            ui.label(
                RichText::new(format!("{} · {} · {} / {}", sc.order, sc.incident, sc.points(), sc.max())).strong(),
            );
            for line in &sc.lines {
                let outcome = tr.t(match line.outcome {
                    Outcome::Met => "score.met",
                    Outcome::Missed => "score.missed",
                    Outcome::Pending => "score.pending",
                });
                let mut text = format!("  {} · {outcome}", rule_name(tr, line.rule));
                if let Some(at) = line.at {
                    text += &format!(" · {}", names::date_time(at));
                }
                if let Some(due) = line.due {
                    text += &tr.f("score.due", &[("due", &names::date_time(due))]);
                }
                if line.count != 0 {
                    text += &format!(" ×{}", line.count);
                }
                let points = if line.points > 0 { format!(" +{}", line.points) } else { format!(" {}", line.points) };
                let colour = match line.outcome {
                    Outcome::Met => theme::OK,
                    Outcome::Missed => theme::BAD,
                    Outcome::Pending => theme::MUTED,
                };
                ui.label(RichText::new(text + &points).color(colour));
            }
        }
    });
}
