//! The board's exports: the ranking as CSV (for spreadsheets) and the monthly notice (月度通报)
//! as a printable HTML page in Chinese — on a county seat with the townships' ranking too (its
//! own CSV, and a table of the notice). Pure text builders; the app writes the files.

use super::score::{Outcome, Standing};
use super::unit::{LinkedUnit, name_of};

/// Escapes a CSV field: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The ranking as CSV, UTF-8 with a BOM so that spreadsheet programs read the Chinese names.
pub fn csv(period: &str, standings: &[Standing], units: &[LinkedUnit]) -> String {
    let mut out = String::from("\u{feff}期间,名次,单位,联动等级,派单数,得分,满分,得分率%\n");
    for s in standings {
        let tier = units.iter().find(|u| u.id == s.unit).map_or(0, |u| u.tier as u8);
        out += &format!("{},{},{},{tier},{}\n", field(period), s.rank, field(name_of(units, &s.unit)), marks(s));
    }
    out
}

/// The townships' ranking (a county seat's, [`crate::Core::township_ranking`]) as CSV, like
/// the units' ([`csv`]).
pub fn townships_csv(period: &str, townships: &[Standing]) -> String {
    let mut out = String::from("\u{feff}期间,名次,乡镇,派单数,得分,满分,得分率%\n");
    for s in townships {
        out += &format!("{},{},{},{}\n", field(period), s.rank, field(&s.unit), marks(s));
    }
    out
}

/// A standing's last CSV fields: orders, points, maximum, and the percentage once decided.
fn marks(s: &Standing) -> String {
    let percent = if s.decided { format!("{:.1}", s.percent) } else { String::new() };
    format!("{},{},{},{percent}", s.orders, s.points, s.max)
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A ranking's table rows, each standing named by `name`, marked amber or red below the lines.
fn rows(standings: &[Standing], name: impl Fn(&Standing) -> String, (amber_below, red_below): (f64, f64)) -> String {
    let mut rows = String::new();
    for s in standings {
        let class = if !s.decided {
            ""
        } else if s.percent < red_below {
            "red"
        } else if s.percent < amber_below {
            "amber"
        } else {
            ""
        };
        rows += &format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>\n",
            s.rank,
            html(&name(s)),
            s.orders,
            s.points,
            s.max,
            if s.decided { format!("{:.1}%", s.percent) } else { "—".into() }
        );
    }
    rows
}

/// The monthly notice: the ranking (on a county seat the townships' first, `townships`; empty
/// elsewhere), the units below the line, and what cost them points.
pub fn monthly_notice(
    center: &str,
    period: &str,
    (standings, townships): (&[Standing], &[Standing]),
    units: &[LinkedUnit],
    amber_below: f64,
    red_below: f64,
) -> String {
    let lines = (amber_below, red_below);
    let rows = rows(standings, |s| name_of(units, &s.unit).to_owned(), lines);
    let townships = match townships {
        [] => String::new(),
        townships => format!(
            "<h2>乡镇排名</h2>\n<table><tr><th>名次</th><th>乡镇</th><th>派单数</th><th>得分</th><th>得分率</th></tr>\n{}</table>\n<h2>联动单位排名</h2>\n",
            self::rows(townships, |s| s.unit.clone(), lines)
        ),
    };
    let mut faults = String::new();
    for s in standings.iter().filter(|s| s.decided && s.percent < amber_below) {
        let missed: usize =
            s.scores.iter().flat_map(|sc| &sc.lines).filter(|l| l.outcome == Outcome::Missed && l.points <= 0).count();
        faults += &format!(
            "<li>{}：得分率 {:.1}%，失分项 {missed} 项。请限期整改。</li>\n",
            html(name_of(units, &s.unit)),
            s.percent
        );
    }
    if faults.is_empty() {
        faults = "<li>本期各联动单位均达到考核要求。</li>".into();
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{center} {period} 联动单位考核通报</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2cm; }}
h1 {{ text-align: center; font-size: 22pt; }} p.sub {{ text-align: center; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; }}
th, td {{ border: 1px solid #333; padding: 6px 10px; text-align: center; }}
tr.amber td {{ background: #fff3cd; }} tr.red td {{ background: #f8d7da; }}
@media print {{ body {{ margin: 1.5cm; }} }}
</style></head><body>
<h1>联动单位考核通报</h1>
<p class="sub">{center} · {period}</p>
<p>根据联动工作考核评分规则，对本期各联动单位签收、到场、处置、反馈及群众满意度进行自动评分，现将结果通报如下：</p>
{townships}<table><tr><th>名次</th><th>单位</th><th>派单数</th><th>得分</th><th>得分率</th></tr>
{rows}</table>
<h2>需整改单位</h2>
<ul>
{faults}</ul>
<p>黄色：得分率低于 {amber_below:.0}%；红色：低于 {red_below:.0}%。</p>
<p style="text-align:right">{center}</p>
</body></html>
"#,
        center = html(center),
        period = html(period),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(unit: &str, rank: usize, percent: f64) -> Standing {
        Standing {
            unit: unit.into(),
            rank,
            orders: 2,
            points: percent as i32,
            max: 100,
            percent,
            decided: true,
            scores: vec![],
        }
    }

    fn units() -> Vec<LinkedUnit> {
        vec![LinkedUnit {
            id: "police".into(),
            name: "青溪派出所".into(),
            tier: crate::unit::Tier::One,
            roles: vec!["police".into()],
            area: vec!["*".into()],
            contact: String::new(),
            sms: vec![],
            radio: None,
            base: None,
            posts: vec![],
        }]
    }

    #[test]
    fn the_csv_has_a_bom_a_header_and_a_row_per_unit_with_names_escaped() {
        let text = csv("2026年11月", &[standing("police", 1, 95.0), standing("x,y", 2, 50.0)], &units());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with('\u{feff}'));
        assert_eq!(lines[1], "2026年11月,1,青溪派出所,1,2,95,100,95.0");
        assert_eq!(lines[2], "2026年11月,2,\"x,y\",0,2,50,100,50.0");
    }

    #[test]
    fn the_monthly_notice_marks_units_below_the_line_and_escapes_names() {
        let page = monthly_notice(
            "青溪镇综治中心",
            "2026年11月",
            (&[standing("police", 1, 95.0), standing("<b>", 2, 50.0)], &[]),
            &units(),
            80.0,
            60.0,
        );
        assert!(page.contains("<tr class=\"\"><td>1</td><td>青溪派出所</td>"));
        assert!(page.contains("<tr class=\"red\"><td>2</td><td>&lt;b&gt;</td>"));
        assert!(page.contains("&lt;b&gt;：得分率 50.0%"));
        assert!(!page.contains("乡镇排名"), "a township's notice ranks no townships");
    }

    #[test]
    fn a_county_seats_exports_rank_the_townships_too() {
        let townships = [standing("青溪镇", 1, 90.0), standing("东山乡", 2, 55.0)];
        let text = townships_csv("2026年11月", &townships);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "\u{feff}期间,名次,乡镇,派单数,得分,满分,得分率%");
        assert_eq!(&lines[1..], ["2026年11月,1,青溪镇,2,90,100,90.0", "2026年11月,2,东山乡,2,55,100,55.0"]);
        let ranked = [standing("青溪镇 · police", 1, 95.0)];
        let page = monthly_notice("县综治中心", "2026年11月", (&ranked, &townships), &units(), 80.0, 60.0);
        let (towns, rest) = page.split_once("<h2>联动单位排名</h2>").expect("the units' ranking after the townships'");
        assert!(towns.contains("<h2>乡镇排名</h2>"));
        assert!(towns.contains("<tr class=\"\"><td>1</td><td>青溪镇</td>"));
        assert!(towns.contains("<tr class=\"red\"><td>2</td><td>东山乡</td>"));
        assert!(rest.contains("<td>1</td><td>青溪镇 · police</td>"));
    }
}
