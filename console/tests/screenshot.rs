//! The real program under Xvfb: `linkage --screenshot` writes a PNG that is not blank, and two
//! screenshots taken a second apart differ inside the video wall (the video moves).
//!
//! Needs xvfb-run (make deps installs it); without it the test fails, it never skips.

use std::path::Path;
use std::process::Command;

fn shoot(dir: &Path, name: &str) -> image::RgbaImage {
    let runtime_dir = tempfile::Builder::new().prefix("xdg").tempdir().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(runtime_dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let png = dir.join(format!("{name}.png"));
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1600x900x24"])
        .arg(env!("CARGO_BIN_EXE_linkage"))
        .args(["--screenshot"])
        .arg(&png)
        .args(["--after", "40", "--data"])
        .arg(dir.join(format!("hub-{name}")))
        .env("XDG_RUNTIME_DIR", runtime_dir.path())
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .output()
        .expect("xvfb-run must be installed (make deps)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "linkage --screenshot failed: {}\n{log}", out.status);
    assert!(!log.contains("taking it anyway"), "not every tile showed video:\n{log}");
    image::open(&png).expect("a PNG was written").to_rgba8()
}

#[test]
fn screenshots_are_not_blank_and_the_wall_moves() {
    let dir = tempfile::tempdir().unwrap();
    let first = shoot(dir.path(), "first");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let second = shoot(dir.path(), "second");
    assert_eq!(first.dimensions(), second.dimensions());
    let (w, h) = first.dimensions();
    assert!(w >= 1024 && h >= 600, "{w}x{h}");

    let mut colours: Vec<[u8; 4]> = first.pixels().step_by(97).map(|p| p.0).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 200, "the window looks blank: {} colours", colours.len());

    // The wall is the top of the left column: its upper-left quarter of the window is video.
    let (x1, y1) = (w * 2 / 5, h / 2);
    let mut differing = 0u32;
    for y in (60..y1).step_by(3) {
        for x in (10..x1).step_by(3) {
            let (a, b) = (first.get_pixel(x, y).0, second.get_pixel(x, y).0);
            if a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 24) {
                differing += 1;
            }
        }
    }
    let sampled = ((y1 - 60) / 3) * ((x1 - 10) / 3);
    assert!(differing * 100 > sampled, "only {differing} of {sampled} wall pixels changed: the video does not move");
}
