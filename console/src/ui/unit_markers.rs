//! The linked units on the map: a diamond for each unit whose place is known (its terminal's
//! newest position, else its base), sized by tier, coloured by what it is doing — free, on an
//! order, on scene — and grey when its position is stale. Close up each carries its tier's
//! number. One mesh for all of them, like the cameras.

use chrono::{DateTime, Utc};
use egui::{Align2, Color32, FontId, Mesh, Pos2, Rect, vec2};

use crate::core::Core;
use crate::core::unit::{LinkedUnit, Tier};
use crate::core::whereabouts::{Activity, Place};
use crate::i18n::I18n;
use crate::ui::{names, theme};

/// Half the diagonal of a unit's diamond, by tier.
fn size(tier: Tier) -> f32 {
    match tier {
        Tier::One => 8.0,
        Tier::Two => 7.0,
        Tier::Three => 6.0,
    }
}

/// The fill of a unit's diamond.
pub fn colour(activity: Activity, stale: bool) -> Color32 {
    if stale {
        return theme::MUTED;
    }
    match activity {
        Activity::Free => theme::UNIT_FREE,
        Activity::OnOrder => theme::UNIT_ON_ORDER,
        Activity::OnScene => theme::UNIT_ON_SCENE,
    }
}

/// Draws the units (those whose diamond reaches `rect`); returns the one under the pointer.
pub fn draw<'c>(
    painter: &egui::Painter,
    core: &'c Core,
    to_screen: impl Fn(f64, f64) -> Pos2,
    (rect, pointer, close_up): (Rect, Option<Pos2>, bool),
    now: DateTime<Utc>,
) -> Option<(&'c LinkedUnit, Place)> {
    let mut mesh = Mesh::default();
    mesh.reserve_vertices(core.units.len() * 8);
    mesh.reserve_triangles(core.units.len() * 4);
    let mut hovered = None;
    let mut numbers = vec![];
    for unit in &core.units {
        let Some(place) = core.whereabouts.place_of(unit) else { continue };
        let at = to_screen(place.lon, place.lat);
        let half = size(unit.tier);
        if !rect.expand(half).contains(at) {
            continue;
        }
        let fill = colour(core.whereabouts.activity(&unit.id), place.is_stale(now));
        diamond(&mut mesh, at, half + 1.5, Color32::BLACK);
        diamond(&mut mesh, at, half, fill);
        if close_up {
            numbers.push((at, unit.tier));
        }
        if pointer.is_some_and(|p| (p.x - at.x).abs() + (p.y - at.y).abs() <= half + 2.0) {
            hovered = Some((unit, place));
        }
    }
    painter.add(mesh);
    for (at, tier) in numbers {
        painter.text(at, Align2::CENTER_CENTER, (tier as u8).to_string(), FontId::proportional(9.0), Color32::BLACK);
    }
    hovered
}

fn diamond(mesh: &mut Mesh, at: Pos2, half: f32, colour: Color32) {
    let first = mesh.vertices.len() as u32;
    for d in [vec2(0.0, -half), vec2(half, 0.0), vec2(0.0, half), vec2(-half, 0.0)] {
        mesh.colored_vertex(at + d, colour);
    }
    mesh.add_triangle(first, first + 1, first + 2);
    mesh.add_triangle(first, first + 2, first + 3);
}

/// A unit's tooltip: name, tier, what it is doing, and when its position was reported.
pub fn tip(tr: &I18n, core: &Core, unit: &LinkedUnit, place: &Place, now: DateTime<Utc>) -> String {
    let doing = tr.t(match core.whereabouts.activity(&unit.id) {
        Activity::Free => "unit.free",
        Activity::OnOrder => "unit.on_order",
        Activity::OnScene => "unit.on_scene",
    });
    let tier = tr.f("dispatch.tier", &[("tier", &(unit.tier as u8).to_string())]);
    let when = match place.at {
        Some(at) => {
            let ago = (now - at).num_minutes().max(0).to_string();
            tr.f("unit.reported", &[("at", &names::clock(at)), ("minutes", &ago)])
        }
        None => tr.t("unit.at_base").to_owned(),
    };
    format!("{} · {tier} · {doing}\n{when}", unit.name)
}
