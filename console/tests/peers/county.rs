//! A county's gateways (`linkage hub --nats`) for the county tests and `make bench-county`.

use std::path::Path;
use std::process::Child;

use streams::feed::{ClientHandle, FeedClient, FeedUpdate, Role};
use tokio::sync::mpsc;

/// A seat (`console`) and a grid worker's terminal (`field`) of the whole county; of each
/// township `t0`–`t10`, for a county's gateway to keep to it (`console-t1`, `field-t1`); and
/// t2's police station's terminal (`unit-t2`, unit `police`). All
/// may send 2000 messages a second (the benchmark's load). Every township's terminal signs as
/// the same name, so that two townships' reports with one id share a sender's key.
fn tokens() -> String {
    let entry = |token: &str, name: &str, role: &str, township: Option<&str>| {
        let township = township.map(|t| format!("township = \"{t}\"\n")).unwrap_or_default();
        format!("[[token]]\ntoken = \"{token}\"\nrole = \"{role}\"\nname = \"{name}\"\nper_second = 2000\n{township}\n")
    };
    let mut text =
        entry("console", "县级席位", "console", None) + &entry("field", "网格员终端", "field_terminal", None);
    for t in (0..=10).map(|t| format!("t{t}")) {
        text += &entry(&format!("console-{t}"), "乡镇席位", "console", Some(&t));
        text += &entry(&format!("field-{t}"), "网格员终端", "field_terminal", Some(&t));
    }
    // t2's police station's terminal.
    text += &entry("unit-t2", "派出所终端", "unit_terminal", Some("t2")).replacen(
        "[[token]]\n",
        "[[token]]\nunit = \"police\"\n",
        1,
    );
    text
}

/// A gateway's process, killed when the test ends however it ends.
pub struct Gateway(Child);

impl Gateway {
    pub fn new(child: Child) -> Gateway {
        Gateway(child)
    }

    /// SIGKILL: no clean shutdown.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A gateway of county `c1` (township `township`, or the whole county) on `port`, its own
/// folder under `dir`, signing its sessions with the secret every such gateway shares.
pub fn gateway(dir: &Path, name: &str, port: u16, nats: &str, township: Option<&str>) -> Gateway {
    let folder = gateway_folder(dir, name);
    let secret = folder.join("session.secret");
    let mut args = gateway_args(nats, township);
    args.extend::<[&std::ffi::OsStr; 2]>(["--session-secret-file".as_ref(), secret.as_os_str()]);
    Gateway(super::linkage_hub(&folder, port, &args))
}

/// The folder of gateway `name` under `dir`, with the drill's tokens and the gateways' shared
/// session secret (its owner's alone).
pub fn gateway_folder(dir: &Path, name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tokens.toml"), tokens()).unwrap();
    let secret = dir.join("session.secret");
    std::fs::write(&secret, "the county drill's session secret, shared by its gateways\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

/// `linkage hub`'s arguments for a gateway of county `c1` (township `township`, or the whole
/// county) on the nodes `nats`.
pub fn gateway_args<'a>(nats: &'a str, township: Option<&'a str>) -> Vec<&'a std::ffi::OsStr> {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--nats".as_ref(), nats.as_ref(), "--county".as_ref(), "c1".as_ref()];
    if let Some(township) = township {
        args.extend::<[&std::ffi::OsStr; 2]>(["--township".as_ref(), township.as_ref()]);
    }
    args
}

/// A client of the hub at `url` (one or several gateways) with `token` as `role`, and what it
/// is told.
pub fn client(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    token: &str,
    role: Role,
) -> (ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = FeedClient { url: url.into(), token: token.into(), role, since: 0, name: token.into(), trust: None };
    (client.spawn(runtime.handle(), tx, streams::no_waker()), rx)
}
