//! The Debian package (`make deb`): built from this test build's binary by the same script, it
//! holds the program, the township to start from, the server's systemd unit and default
//! settings (kept across upgrades), depends on the runtime packages of `make deps`, and the
//! program it installs runs (`linkage --version`) from a root it is unpacked into.

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_package_holds_the_server_and_its_program_runs_where_it_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/deb.sh");
    let built =
        run(Command::new(&script).arg(env!("CARGO_BIN_EXE_linkage")).arg(dir.path()).env("DEB_COMPRESSION", "none"));
    let deb = built.trim();
    assert!(deb.ends_with(&format!("linkage_{}_amd64.deb", env!("CARGO_PKG_VERSION"))), "{deb}");

    let files = run(Command::new("dpkg-deb").args(["-c", deb]));
    for path in [
        "./usr/bin/linkage",
        "./lib/systemd/system/linkage-hub.service",
        "./etc/default/linkage",
        "./etc/linkage/tokens.toml",
        "./usr/share/linkage/township/linkage.toml",
        "./usr/share/linkage/township/grids.geojson",
        "./usr/share/doc/linkage/deployment.md",
    ] {
        assert!(files.lines().any(|l| l.ends_with(path)), "{path} missing from the package:\n{files}");
    }
    assert!(files.lines().all(|l| l.contains(" root/root ")), "files not owned by root:\n{files}");
    let control = run(Command::new("dpkg-deb").args(["-f", deb, "Depends"]));
    for package in ["gstreamer1.0-plugins-good", "gstreamer1.0-nice", "libsqlite3-0", "fonts-noto-cjk"] {
        assert!(control.contains(package), "Depends lacks {package}: {control}");
    }
    let control_dir = dir.path().join("control");
    run(Command::new("dpkg-deb").args(["-e", deb]).arg(&control_dir));
    let kept = std::fs::read_to_string(control_dir.join("conffiles")).unwrap();
    assert_eq!(kept.lines().collect::<Vec<_>>(), ["/etc/default/linkage", "/etc/linkage/tokens.toml"]);

    let root = dir.path().join("root");
    run(Command::new("dpkg-deb").args(["-x", deb]).arg(&root));
    let version = run(Command::new(root.join("usr/bin/linkage")).arg("--version"));
    assert_eq!(version.trim(), format!("linkage {}", env!("CARGO_PKG_VERSION")));
    // The unit starts the server with the settings file's listen address and arguments.
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/linkage-hub.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/linkage hub --listen ${LINKAGE_LISTEN}"), "{unit}");
    // An installed, empty tokens file is one the server accepts.
    let tokens = root.join("etc/linkage/tokens.toml");
    let port = linkage_tests::free_tcp_port();
    let data = dir.path().join("data");
    let mut hub = Command::new(root.join("usr/bin/linkage"))
        .args(["hub", "--listen", &format!("127.0.0.1:{port}"), "--files", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--tokens")
        .arg(&tokens)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let listening = linkage_tests::wait_for(std::time::Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let _ = hub.kill();
    let _ = hub.wait();
    assert!(listening, "the installed server did not start on the installed tokens file");
}
