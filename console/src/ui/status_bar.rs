//! The status bar: the hub link (on a county seat, the links to the townships on their own
//! nodes; on such a township's seat, its link to the county), the counts that matter, the
//! cameras playing, the clock.

use egui::RichText;
use streams::feed::{Connection, Reach, TownshipLink};

use crate::core::Core;
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// Draws the bar. `cameras` is (playing, on the wall); `now` is the wall-clock time.
pub fn ui(ui: &mut egui::Ui, core: &Core, tr: &I18n, cameras: (usize, usize), now: chrono::DateTime<chrono::Utc>) {
    ui.horizontal(|ui| {
        let (state, color) = match &core.hub.connection {
            Some(Connection::Connected { .. }) => (tr.t("status_bar.connected").to_owned(), theme::OK),
            Some(Connection::Lost { retry_in, .. }) => {
                (tr.f("status_bar.lost", &[("s", &format!("{:.1}", retry_in.as_secs_f32()))]), theme::BAD)
            }
            Some(Connection::Connecting) | None => (tr.t("status_bar.connecting").to_owned(), theme::WARN),
        };
        ui.label(format!("{}:", tr.t("status_bar.hub")));
        ui.label(RichText::new(format!("● {state}")).color(color));
        townships(ui, core, tr, now);
        county(ui, core, tr, now);
        ui.separator();
        let n = |v: usize| v.to_string();
        ui.label(tr.f("status_bar.incidents", &[("n", &n(core.incidents.len()))]));
        ui.label(tr.f("status_bar.open", &[("n", &n(core.incidents.waiting()))]));
        let critical = core.incidents.open_critical();
        let critical_color = if critical > 0 { theme::BAD } else { theme::MUTED };
        ui.label(RichText::new(tr.f("status_bar.critical", &[("n", &n(critical))])).color(critical_color));
        ui.separator();
        ui.label(tr.f("status_bar.cameras", &[("n", &n(cameras.0)), ("m", &n(cameras.1))]));
        if core.hub.refused > 0 {
            ui.separator();
            let text = tr.f("status_bar.refused", &[("n", &core.hub.refused.to_string())]);
            ui.label(RichText::new(text).color(theme::WARN))
                .on_hover_text(core.hub.last_refusal.clone().unwrap_or_default());
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new(names::date_time(now)).monospace());
        });
    });
}

/// At most this many townships not reached are named on the bar; the rest are counted.
const NAMED: usize = 3;

/// On a county seat: the townships on their own nodes that the county cannot reach now, each
/// with how long (the county hears nothing of them meanwhile; the cut first, the longest cut
/// first), or that all are reached; every township with its state and since when on hover.
/// Nothing elsewhere.
fn townships(ui: &mut egui::Ui, core: &Core, tr: &I18n, now: chrono::DateTime<chrono::Utc>) {
    let links = &core.hub.townships;
    if links.is_empty() {
        return;
    }
    ui.separator();
    ui.label(format!("{}:", tr.t("status_bar.townships")));
    let line = |link: &TownshipLink| {
        let state = tr.f(reach_key(link.reach), &[("span", &span(tr, now - link.since))]);
        format!("{} {state}", link.township)
    };
    let every: Vec<String> = links
        .values()
        .map(|l| tr.f("status_bar.township_since", &[("state", &line(l)), ("since", &when(l.since, now))]))
        .collect();
    let every = every.join("\n");
    // The cut first, the longest cut first.
    let mut unreached: Vec<&TownshipLink> = links.values().filter(|l| l.reach != Reach::Linked).collect();
    unreached.sort_by_key(|l| (l.reach != Reach::Cut, l.since));
    if unreached.is_empty() {
        let all = tr.f("status_bar.townships_linked", &[("n", &links.len().to_string())]);
        ui.label(RichText::new(format!("● {all}")).color(theme::OK)).on_hover_text(&every);
    }
    for link in unreached.iter().take(NAMED) {
        let color = if link.reach == Reach::Cut { theme::BAD } else { theme::WARN };
        ui.label(RichText::new(format!("● {}", line(link))).color(color)).on_hover_text(&every);
    }
    if let Some(rest) = unreached.get(NAMED..).filter(|rest| !rest.is_empty()) {
        let more = tr.f("status_bar.townships_more", &[("n", &rest.len().to_string())]);
        let color = if rest.iter().any(|l| l.reach == Reach::Cut) { theme::BAD } else { theme::WARN };
        ui.label(RichText::new(more).color(color)).on_hover_text(&every);
    }
}

/// On a township on its own node: whether the county hears it, for how long it has not, and
/// what that means on hover. Nothing elsewhere.
fn county(ui: &mut egui::Ui, core: &Core, tr: &I18n, now: chrono::DateTime<chrono::Utc>) {
    let Some(link) = &core.hub.county else { return };
    ui.separator();
    ui.label(format!("{}:", tr.t("status_bar.county")));
    let since = when(link.since, now);
    let (state, hint, color) = match link.reach {
        Reach::Linked => (tr.t("status_bar.township_linked").to_owned(), "status_bar.county_linked_hint", theme::OK),
        _ => {
            let state = tr.f("status_bar.township_cut", &[("span", &span(tr, now - link.since))]);
            (state, "status_bar.county_cut_hint", theme::BAD)
        }
    };
    ui.label(RichText::new(format!("● {state}")).color(color)).on_hover_text(tr.f(hint, &[("since", &since)]));
}

/// When `t` was: its time of day if today (in the room's zone), else its date and time.
fn when(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let day = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&names::ZONE).date_naive();
    if day(t) == day(now) { names::clock(t) } else { names::date_time(t) }
}

/// How long, as the bar says it: under a minute, minutes, hours and minutes, days and hours.
fn span(tr: &I18n, span: chrono::TimeDelta) -> String {
    let minutes = span.num_minutes().max(0);
    let (d, h, m) = ((minutes / 1440).to_string(), (minutes / 60 % 24).to_string(), (minutes % 60).to_string());
    match minutes {
        0 => tr.t("status_bar.span_moments").to_owned(),
        1..60 => tr.f("status_bar.span_minutes", &[("m", &m)]),
        60..1440 => tr.f("status_bar.span_hours", &[("h", &h), ("m", &m)]),
        _ => tr.f("status_bar.span_days", &[("d", &d), ("h", &h)]),
    }
}

/// The table's words for how a township is reached (`{span}`: for how long).
fn reach_key(reach: Reach) -> &'static str {
    match reach {
        Reach::Linked => "status_bar.township_linked",
        Reach::Cut => "status_bar.township_cut",
        Reach::NoLog => "status_bar.township_no_log",
    }
}
