//! The plan library is watched: a good change is taken, a bad one is refused with file, line
//! and reason while the last good library stays in force.

use std::path::Path;
use std::time::{Duration, Instant};

use linkage::config::Config;

#[test]
fn a_changed_plan_file_is_reloaded_and_a_bad_one_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let plans = dir.path().join("plans.toml");
    std::fs::copy(demo.join("plans.toml"), &plans).unwrap();
    let config_text = std::fs::read_to_string(demo.join("linkage.toml"))
        .unwrap()
        .replace("grids.geojson", &demo.join("grids.geojson").display().to_string())
        .replace("incident_kinds.toml", &demo.join("incident_kinds.toml").display().to_string())
        .replace("basemap.pmtiles", &demo.join("basemap.pmtiles").display().to_string())
        .replace("\"scoring.toml\"", &format!("{:?}", demo.join("scoring.toml").display().to_string()));
    std::fs::write(dir.path().join("linkage.toml"), config_text).unwrap();
    let config = Config::load(&dir.path().join("linkage.toml")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut reloads = linkage::center::channels::watch_plans(&config, runtime.handle());
    let next = |reloads: &mut tokio::sync::mpsc::UnboundedReceiver<_>| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = reloads.try_recv() {
                return r;
            }
            assert!(Instant::now() < deadline, "no reload within 15 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // A bad placeholder on line 3 of an otherwise good file.
    let good = std::fs::read_to_string(&plans).unwrap();
    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    std::fs::write(&plans, good.replacen("{kind}（{severity}）", "{kind}（{colour}）", 1)).unwrap();
    let refused: Result<linkage::core::plan::PlanLibrary, String> = next(&mut reloads);
    let reason = refused.unwrap_err();
    let line = good.lines().position(|l| l.contains("{kind}（{severity}）")).unwrap() + 1;
    assert!(reason.contains(&format!("plans.toml:{line}:")), "{reason}");
    assert!(reason.contains("{colour}"), "{reason}");
    // Fixed, with one plan fewer: taken.
    std::thread::sleep(Duration::from_millis(1100));
    let cut = good.find("[[plan]]\nid = \"default\"").unwrap();
    std::fs::write(&plans, &good[..cut]).unwrap();
    let library = next(&mut reloads).unwrap();
    assert_eq!(library.plans.len(), config.dispatch.plans.plans.len() - 1);
}
