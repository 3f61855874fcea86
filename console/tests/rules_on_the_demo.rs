//! The rules on the demo township's files (its plans, units and cameras, read by the config):
//! what the rules crate's own tests cannot reach, since it knows no config.

use std::time::Duration;

use linkage::config::Config;
use linkage::core::order::ChannelKind;
use linkage::core::plan::{Facts, PlanLibrary};
use linkage::core::wall::{Layout, Wall};
use linkage::core::{Command, Core};
use streams::feed::{Incident, Severity};

fn incident(id: &str, severity: Severity) -> Incident {
    linkage_protocol::order::fixtures::incident(id, severity, 3)
}
fn demo() -> Config {
    Config::demo().unwrap()
}

fn fire(severity: Severity) -> Incident {
    let mut i = incident("E1", severity);
    i.report.kind = "fire".into();
    i.report.text = "仓库冒烟".into();
    i
}

#[test]
fn the_most_specific_plan_wins_and_a_catch_all_takes_the_rest() {
    let c = demo();
    let plans = &c.dispatch.plans;
    assert_eq!(plans.find("fire", Severity::Low).unwrap().id, "fire", "kind beats severity-only");
    assert_eq!(plans.find("traffic", Severity::Critical).unwrap().id, "rescue", "kind and severity");
    assert_eq!(plans.find("traffic", Severity::Low).unwrap().id, "default");
    assert_eq!(plans.find("help_request", Severity::Critical).unwrap().id, "any-critical");
}

#[test]
fn a_proposal_names_units_by_role_and_area_and_fills_the_texts() {
    let c = demo();
    let incident = fire(Severity::High);
    // Inside 东湾村: its committee is the village unit; outside any grid, the township one.
    let dw = c.grids.grids.iter().position(|g| g.village == "东湾村").unwrap();
    let facts =
        Facts::gather("青溪镇综治中心", &incident, Some(dw), (&c.grids, &c.kinds), &c.units, &Default::default());
    let p = c.dispatch.plans.propose(&facts).unwrap();
    let units: Vec<&str> = p.units.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(units, ["fire", "police", "clinic", "dw-committee"]);
    assert_eq!(p.units[0].1, [ChannelKind::Order, ChannelKind::Sms, ChannelKind::Radio]);
    assert!(p.texts.sms.contains("火灾") || p.texts.sms.contains("火"), "{}", p.texts.sms);
    assert!(p.texts.sms.contains("东湾村") && p.texts.sms.contains("仓库冒烟"), "{}", p.texts.sms);
    assert!(p.texts.order.contains("{unit}"), "the unit is filled in per unit when sent");
    assert_eq!(p.clocks.acknowledge, Some(Duration::from_secs(180)));
}

#[test]
fn a_bad_plan_is_refused_with_its_place_and_reason() {
    let c = demo();
    let check = |text: &str| PlanLibrary::from_toml(text, &c.kinds, &c.units).unwrap_err();
    let plan = |extra: &str| {
        format!(
            "[[plan]]\nid = \"p\"\nname = \"P\"\n{extra}\n[[plan.unit]]\nrole = \"police\"\nchannels = [\"order\"]\n\
             [plan.text]\norder = \"{{kind}}\"\nsms = \"s\"\nradio = \"r\"\n"
        )
    };
    let (at, reason) = check(&plan("kinds = [\"volcano\"]"));
    assert!(at.is_some() && reason.contains("volcano"), "{reason}");
    let (_, reason) = check(&plan("").replace("police", "astronaut"));
    assert!(reason.contains("astronaut"), "{reason}");
    let (at, reason) = check(&plan("").replace("{kind}", "{colour}"));
    assert!(reason.contains("{colour}"), "{reason}");
    let text = plan("").replace("{kind}", "{colour}");
    assert_eq!(linkage::core::line_of(&text, at.unwrap()), 9, "the line of the template");
    let (_, reason) = check(&plan("").replace("\"order\"]", "\"pigeon\"]"));
    assert!(reason.contains("pigeon"), "{reason}");
}

#[test]
fn showing_cameras_on_the_wall_ignores_unknown_ones() {
    let mut core = Core::default();
    core.cameras = Config::demo().unwrap().cameras;
    core.wall = Wall::filled(Layout::TwoByTwo, core.cameras.iter().map(|c| c.id.clone()));
    let _ = core.apply(Command::ShowOnWall(vec!["nowhere".into(), "ns-hill".into()]));
    assert_eq!(core.wall.tiles[0].as_deref(), Some("ns-hill"));
    assert_eq!(core.wall.tiles.iter().flatten().count(), 4);
}

#[test]
fn outside_the_grids_the_nearest_village_unit_goes_by_its_last_position_else_its_base() {
    use linkage::core::whereabouts::Whereabouts;
    use streams::feed::{CoordinateSystem, Location, UnitPosition};
    let c = demo();
    // A fire just beyond 柳塘村's committee's base, in no grid: the plan's village unit is the
    // nearest one, not the first in the file.
    let mut incident = fire(Severity::High);
    let (lon, lat) = c.units.iter().find(|u| u.id == "lt-committee").unwrap().base.unwrap();
    incident.report.location = Location { lon: lon - 0.001, lat, crs: CoordinateSystem::Wgs84 };
    let village = |whereabouts: &Whereabouts| {
        let facts = Facts::gather("青溪镇综治中心", &incident, None, (&c.grids, &c.kinds), &c.units, whereabouts);
        let p = c.dispatch.plans.propose(&facts).unwrap();
        let far = facts.distance_m.get(p.units[3].0.as_str()).copied();
        (p.units[3].0.clone(), far)
    };
    let mut whereabouts = Whereabouts::default();
    let (unit, far) = village(&whereabouts);
    assert_eq!(unit, "lt-committee");
    assert!(far.is_some_and(|m| m < 150.0), "{far:?}");
    // 东湾村's committee reports a position right there: its last position beats its base.
    whereabouts.moved(UnitPosition {
        unit: "dw-committee".into(),
        location: Location { lon: lon - 0.0011, lat, crs: CoordinateSystem::Wgs84 },
        at: Some(chrono::Utc::now()),
    });
    assert_eq!(village(&whereabouts).0, "dw-committee");
}
