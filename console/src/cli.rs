//! The command line: which program to run and with what.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use linkage::center::{Server, Township};
use linkage::config::{Config, RendererChoice, line_of};
use linkage::i18n::Lang;
use linkage::window::app::StartOptions;
use linkage::window::screenshot::{Failure, ScreenshotPlan};
use linkage::window::shell::Shell;
use serde::Deserialize;
use streams::feed::{FeedClient, FeedUpdate, Grant, HubConfig, Role};

/// Runs what the arguments ask for.
pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("hub") => hub(&args[1..]),
        Some("tail") => tail(&args[1..]),
        Some("users") => users(&args[1..]),
        Some("--version" | "-V") => {
            println!("linkage {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            println!("{}", include_str!("usage.txt"));
            Ok(())
        }
        _ => console(args),
    }
}

/// Splits `--flag value` pairs; every flag here takes a value.
fn flags(args: &[String], known: &[&str]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if !known.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?} (see linkage --help)"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        out.insert(flag.trim_start_matches('-').to_owned(), value.clone());
    }
    Ok(out)
}

fn console(args: &[String]) -> Result<(), String> {
    let f =
        flags(args, &["--config", "--lang", "--renderer", "--data", "--screenshot", "--after", "--size", "--unit"])?;
    let mut config = match f.get("config") {
        Some(path) => Config::load(&PathBuf::from(path)),
        None => Config::demo(),
    }
    .map_err(|e| e.to_string())?;
    if let Some(unit) = f.get("unit") {
        config.seat_for_unit(unit)?;
    }
    let lang =
        f.get("lang").map(|l| Lang::parse(l).ok_or_else(|| format!("--lang {l:?}: use zh or en"))).transpose()?;
    let renderer = match f.get("renderer") {
        Some(r) => RendererChoice::parse(r).ok_or_else(|| format!("--renderer {r:?}: use glow or wgpu"))?,
        None => config.renderer,
    };
    let wait = f
        .get("after")
        .map(|s| s.parse::<f64>().map_err(|_| format!("--after {s:?}: not a number of seconds")))
        .transpose()?
        .unwrap_or(20.0);
    let failure = Failure::default();
    let screenshot = f.get("screenshot").map(|p| ScreenshotPlan {
        path: p.into(),
        wait: Duration::from_secs_f64(wait.max(0.0)),
        failure: failure.clone(),
    });
    let size = match f.get("size") {
        Some(s) => {
            let (w, h) = s.split_once('x').ok_or_else(|| format!("--size {s:?}: use WIDTHxHEIGHT"))?;
            let n = |v: &str| v.parse::<f32>().map_err(|_| format!("--size {s:?}: use WIDTHxHEIGHT"));
            Some([n(w)?, n(h)?])
        }
        None => None,
    };
    streams::video::init().map_err(|e| format!("GStreamer: {e}"))?;

    let renderer = match renderer {
        RendererChoice::Glow => eframe::Renderer::Glow,
        #[cfg(feature = "wgpu")]
        RendererChoice::Wgpu => eframe::Renderer::Wgpu,
        // wgpu roughly doubles the first build; a site with a GPU builds it in.
        #[cfg(not(feature = "wgpu"))]
        RendererChoice::Wgpu => {
            return Err("this linkage was built without the wgpu renderer: build it with \
                        `cargo build --release --features linkage/wgpu`, or use --renderer glow"
                .into());
        }
    };
    let native = eframe::NativeOptions {
        viewport: viewport(size),
        renderer,
        persist_window: screenshot.is_none(),
        ..Default::default()
    };
    let options = StartOptions { config, lang, data_dir: f.get("data").map(PathBuf::from), screenshot };
    eframe::run_native("linkage", native, Box::new(move |cc| Ok(Box::new(Shell::new(cc, options)?))))
        .map_err(|e| format!("the window could not run: {e}"))?;
    let failed = failure.lock().ok().and_then(|f| f.clone());
    failed.map_or(Ok(()), Err)
}

/// The console's window: maximized on its screen, as a command-room console runs, unless a
/// `--size` was asked for. Where the window was last (its size, its screen, maximized or not)
/// is saved on exit and wins over this on the next start.
fn viewport(size: Option<[f32; 2]>) -> egui::ViewportBuilder {
    egui::ViewportBuilder::default()
        .with_title("联动指挥台 linkage")
        .with_app_id("linkage")
        .with_inner_size(size.unwrap_or([1600.0, 900.0]))
        .with_min_inner_size([1024.0, 640.0])
        .with_maximized(size.is_none())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    /// None at all is a hub no machine may connect to yet (people still log in).
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    role: Role,
    name: String,
    /// For a unit terminal: the unit whose orders it receives.
    #[serde(default)]
    unit: Option<String>,
    /// Messages a second this client may send (default by role).
    #[serde(default)]
    per_second: Option<u32>,
    /// For a console token: the role of the person at that seat (default duty officer).
    #[serde(default)]
    seat: Option<streams::feed::SeatRole>,
    /// On a county's gateway: the township this client belongs to (it sees and writes that
    /// township's events only); none: the whole county.
    #[serde(default)]
    township: Option<String>,
}

/// `linkage hub cert --data DIR --names HOST[,HOST…]`: the site CA and the hub's certificate;
/// with `--authority AUTH` (another such data folder) a certificate of that CA instead: for a
/// second hub, or for a township's NATS node to show the county's.
fn cert(args: &[String]) -> Result<(), String> {
    let f = flags(args, &["--data", "--names", "--authority"])?;
    let dir = PathBuf::from(f.get("data").ok_or("hub cert needs --data DIR (the server's data folder)")?).join("tls");
    let names: Vec<String> = f
        .get("names")
        .ok_or("hub cert needs --names HOST[,HOST…] (the names seats connect to)")?
        .split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    match f.get("authority") {
        Some(authority) => {
            streams::feed::tls::sign_site_cert(&PathBuf::from(authority).join("tls"), &dir, &names)?;
            println!("{}: ca.pem (the authority's), server.pem, server.key", dir.display());
        }
        None => {
            streams::feed::tls::make_site_certs(&dir, &names)?;
            println!(
                "{}: ca.pem (give it to every seat: [hub] ca), ca.key (keep it safe), server.pem, server.key",
                dir.display()
            );
        }
    }
    Ok(())
}

/// `linkage hub permissions --county C --township T`: what the NATS user of township T's
/// gateways may do on the county's nodes, for its entry in their `authorization { users }`.
fn permissions(args: &[String]) -> Result<(), String> {
    let f = flags(args, &["--county", "--township"])?;
    let county = f.get("county").ok_or("hub permissions needs --county C")?;
    let township = f.get("township").ok_or("hub permissions needs --township T")?;
    print!("{}", streams::feed::nats_users::township_gateway(county, township)?);
    Ok(())
}

/// A token, never from the command line: the file `--token-file` names, or `LINKAGE_TOKEN`.
fn token(f: &HashMap<String, String>) -> Result<String, String> {
    match f.get("token-file") {
        Some(path) => std::fs::read_to_string(path).map(|t| t.trim().to_owned()).map_err(|e| format!("{path}: {e}")),
        None => {
            std::env::var("LINKAGE_TOKEN").map_err(|_| "give the token with --token-file FILE or LINKAGE_TOKEN".into())
        }
    }
}

/// The center's server: the hub, and with `--config` the dispatch service for that township.
/// `--tls DIR` serves wss only, with the identity `linkage hub cert` made in DIR.
fn hub(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("cert") => return cert(&args[1..]),
        Some("permissions") => return permissions(&args[1..]),
        _ => {}
    }
    let f = flags(
        args,
        &[
            "--listen",
            "--data",
            "--tokens",
            "--config",
            "--tls",
            "--files",
            "--nats",
            "--county",
            "--township",
            "--replicas",
            "--leaf-townships",
            "--nats-user",
            "--nats-password-file",
            "--nats-ca",
            "--session-secret-file",
        ],
    )?;
    let listen = f.get("listen").ok_or("hub needs --listen ADDR")?;
    let listen: std::net::SocketAddr = listen.parse().map_err(|_| format!("--listen {listen:?}: use host:port"))?;
    // The files endpoint (attachments): --files, else the next port on the hub's address.
    let files = match f.get("files") {
        Some(files) => files.parse().map_err(|_| format!("--files {files:?}: use host:port"))?,
        None => {
            let next = match listen.port() {
                0 => Some(0),
                port => port.checked_add(1),
            };
            let port = next.ok_or("--listen is on port 65535: give the files endpoint its own with --files ADDR")?;
            std::net::SocketAddr::new(listen.ip(), port)
        }
    };
    let data_dir = PathBuf::from(f.get("data").ok_or("hub needs --data DIR")?);
    let tokens_path = f.get("tokens").ok_or("hub needs --tokens FILE")?;
    let text = std::fs::read_to_string(tokens_path).map_err(|e| format!("{tokens_path}: {e}"))?;
    let file: TokenFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
        format!("{tokens_path}:{line}: {}", e.message())
    })?;
    let tokens: HashMap<String, Grant> = file
        .token
        .into_iter()
        .map(|t| {
            let grant = Grant { unit: t.unit, seat: t.seat, township: t.township, ..Grant::new(t.role, t.name) };
            (t.token, Grant { per_second: t.per_second.unwrap_or(grant.per_second), ..grant })
        })
        .collect();
    let (identity, trust) = match f.get("tls") {
        Some(dir) => {
            let dir = Path::new(dir);
            (Some(streams::feed::tls::identity(dir)?), Some(streams::feed::tls::trust(&dir.join("ca.pem"))?))
        }
        None => (None, None),
    };
    let config = f.get("config").map(|path| Config::load(Path::new(path))).transpose().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let county = county(&f)?;
    townships(&tokens, county.as_ref()).map_err(|e| format!("{tokens_path}: {e}"))?;
    if config.is_some() && county.as_ref().is_some_and(|c| c.township.is_none()) {
        return Err("--config runs a township's services: on a county's log give its --township too".into());
    }
    // Shared by the gateways side by side: their seats' sessions hold on each of them.
    let session_secret = f.get("session-secret-file").map(|file| session_secret(file)).transpose()?;
    let hub = HubConfig {
        listen,
        data_dir,
        tokens,
        limits: Default::default(),
        tls: identity,
        files: Some(files),
        county,
        session_secret: session_secret.map(String::into_bytes),
    };
    let township = config.as_ref().map(|config| Township { config, sms: None, bridge: None });
    let server = Server::start(hub, township, trust, &runtime)?;
    if !server.dispatches() {
        tracing::warn!("no --config: the hub runs alone and builds no orders");
    }
    let url = server.hub.url();
    println!("{url}");
    if let Some(files) = server.hub.files_url() {
        tracing::info!(%files, "attachments served");
    }
    runtime.block_on(async { tokio::signal::ctrl_c().await.map_err(|e| e.to_string()) })?;
    server.hub.stop();
    Ok(())
}

/// Checks the tokens' townships: each named (not blank, not `county`, the county's own), and
/// on a gateway of the whole county every unit terminal's given — without it, it would read
/// the work orders of every township's unit of that id; and their units' ids (none reserved).
fn townships(tokens: &HashMap<String, Grant>, county: Option<&streams::feed::jetstream::County>) -> Result<(), String> {
    for grant in tokens.values() {
        if let Some(unit) = &grant.unit {
            streams::feed::routes::check_unit_id(unit).map_err(|e| format!("token {:?}: {e}", grant.name))?;
        }
        match grant.township.as_deref() {
            // A token of the county itself names no township (a person's names the county's).
            Some(t) => streams::feed::jetstream::check_township(t, county.map(|c| c.county.as_str()))
                .map_err(|e| format!("token {:?}: {e} (a token of the county itself names none)", grant.name))?,
            None if grant.role == Role::UnitTerminal && county.is_some_and(|c| c.township.is_none()) => {
                return Err(format!(
                    "token {:?}: a unit terminal on a gateway of the whole county needs its township",
                    grant.name
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first line of `file`, given as `flag`: a secret, so the file must be its owner's alone
/// (a secret on the command line would be in every `ps`).
fn secret_line(flag: &str, file: &str) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).map_err(|e| format!("{flag} {file}: {e}"))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!("{flag} {file}: its group or others may read it (mode {:o}): chmod 600 it", mode & 0o777));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{flag} {file}: {e}"))?;
    Ok(text.lines().next().unwrap_or_default().trim_end().to_owned())
}

/// The secret on the first line of `--session-secret-file`: 32 characters at least.
fn session_secret(file: &str) -> Result<String, String> {
    let secret = secret_line("--session-secret-file", file)?;
    let least = streams::feed::SECRET_BYTES;
    if secret.len() < least {
        return Err(format!(
            "--session-secret-file {file}: its first line has {} characters, a secret {least} at least \
             (`openssl rand -hex 32` gives 64)",
            secret.len()
        ));
    }
    Ok(secret)
}

/// How the gateway is let in by the NATS nodes: `--nats-user` with the password on the first
/// line of `--nats-password-file` (a file only its owner reads: a password on the command line
/// would be in every `ps`), and `--nats-ca`, the authority that signed the nodes' certificates.
fn nats_access(f: &HashMap<String, String>) -> Result<streams::feed::jetstream::NatsAccess, String> {
    let user = match (f.get("nats-user"), f.get("nats-password-file")) {
        (Some(_), Some(_)) if !f.contains_key("nats-ca") => {
            return Err("--nats-user needs --nats-ca: the password would cross the network in the clear".into());
        }
        (Some(user), Some(file)) => {
            let password = secret_line("--nats-password-file", file)?;
            if user.trim().is_empty() || password.is_empty() {
                return Err(format!("--nats-user and the first line of {file}: neither may be empty"));
            }
            Some((user.clone(), password))
        }
        (None, None) => None,
        _ => return Err("--nats-user and --nats-password-file go together".into()),
    };
    let ca = f.get("nats-ca").map(std::path::PathBuf::from);
    if let Some(ca) = &ca {
        // Read now, to say a wrong path at start rather than as a failed handshake later.
        streams::feed::tls::trust(ca).map_err(|e| format!("--nats-ca: {e}"))?;
    }
    Ok(streams::feed::jetstream::NatsAccess { user, ca })
}

/// `--nats URL[,URL…] --county C [--township T] [--replicas N] [--leaf-townships T[,T…]]
/// [--nats-user U --nats-password-file F] [--nats-ca CA]`: the hub is a gateway of the
/// county's log (replicated 3 times unless told otherwise), let in by the nodes as U, over TLS
/// trusting CA; the townships named by `--leaf-townships` keep their log on their own leaf
/// node (a township's gateway there gives its own township among them, a county's gateway
/// every one, and its stream sources theirs); without `--nats`, its own log.
fn county(f: &HashMap<String, String>) -> Result<Option<streams::feed::jetstream::County>, String> {
    const FOR_NATS: [&str; 7] =
        ["county", "township", "replicas", "leaf-townships", "nats-user", "nats-password-file", "nats-ca"];
    let Some(urls) = f.get("nats") else {
        return match FOR_NATS.iter().find(|k| f.contains_key(**k)) {
            Some(k) => Err(format!("--{k} is for a county's gateway: give --nats URL[,URL…] too")),
            None => Ok(None),
        };
    };
    let county = streams::feed::jetstream::County {
        urls: urls.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect(),
        county: f.get("county").ok_or("--nats needs --county NAME")?.clone(),
        township: f.get("township").cloned(),
        replicas: match f.get("replicas") {
            Some(n) => n.parse().map_err(|_| format!("--replicas {n:?}: not a number"))?,
            None => 3,
        },
        access: nats_access(f)?,
        leaves: f
            .get("leaf-townships")
            .map(|l| l.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    county.check()?;
    Ok(Some(county))
}

fn tail(args: &[String]) -> Result<(), String> {
    let f = flags(args, &["--hub", "--token-file", "--since", "--journal", "--ca"])?;
    let url = f.get("hub").ok_or("tail needs --hub URL")?.clone();
    let token = token(&f)?;
    let trust = f.get("ca").map(|ca| streams::feed::tls::trust(Path::new(ca))).transpose()?;
    let since = f
        .get("since")
        .map(|s| s.parse::<u64>().map_err(|_| format!("--since {s:?}: not a number")))
        .transpose()?
        .unwrap_or(0);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    // With a journal, tail follows the hub the way the console does: it resumes after the
    // journal's cursor and keeps every event in it (and prints only the new ones).
    let (_link, mut rx): (Box<dyn std::any::Any>, _) = match f.get("journal") {
        Some(_) if f.contains_key("since") => return Err("--since and --journal exclude each other".into()),
        Some(dir) => {
            let mut feed = linkage::journal::follow(
                Path::new(dir),
                (&url, &token, Role::Console, trust),
                runtime.handle(),
                streams::no_waker(),
            )?;
            let rx = std::mem::replace(&mut feed.updates, tokio::sync::mpsc::unbounded_channel().1);
            feed.restored.clear();
            (Box::new(feed), rx)
        }
        None => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let client = FeedClient { url, token, role: Role::Console, since, name: "tail".into(), trust };
            (Box::new(client.spawn(runtime.handle(), tx, streams::no_waker())), rx)
        }
    };
    runtime.block_on(async move {
        while let Some(update) = rx.recv().await {
            match update {
                FeedUpdate::Event(env) => println!("{}", env.to_text()),
                other => eprintln!("{other:?}"),
            }
        }
    });
    Ok(())
}

/// A password, never from the command line: asked for on a terminal (not echoed), else the
/// first line of standard input.
fn read_password(prompt: &str) -> Result<String, String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map_err(|e| e.to_string());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `linkage users add|passwd|disable|enable|list`: the people of the center's server.
fn users(args: &[String]) -> Result<(), String> {
    use streams::feed::{Person, SeatRole, Users};
    let usage = "linkage users add NAME --role ROLE --township T [--display D] [--unit ID] --data DIR | passwd NAME --data DIR | disable NAME --data DIR | enable NAME --data DIR | township NAME --township T --data DIR | list --data DIR";
    let (action, rest) = args.split_first().ok_or(usage)?;
    let (name, rest) = match action.as_str() {
        "list" => (None, rest),
        _ => rest.split_first().map(|(n, r)| (Some(n.clone()), r)).ok_or(usage)?,
    };
    let f = flags(rest, &["--data", "--role", "--township", "--display", "--unit"])?;
    let dir = PathBuf::from(f.get("data").ok_or("users needs --data DIR (the server's data folder)")?);
    let mut users = Users::open(&dir)?;
    match (action.as_str(), name) {
        ("add", Some(user)) => {
            let role = f.get("role").ok_or("users add needs --role duty_officer|leader|on_call|admin|unit")?;
            let seat = SeatRole::from_code(role)
                .ok_or_else(|| format!("--role {role:?}: use duty_officer, leader, on_call, admin or unit"))?;
            let township =
                f.get("township").ok_or("users add needs --township (the township the user works for)")?.clone();
            let display = f.get("display").cloned().unwrap_or_else(|| user.clone());
            let password = read_password(&format!("password for {user}: "))?;
            let unit = f.get("unit").cloned();
            users.add(&Person { user: user.clone(), display, seat, township, unit }, &password)?;
            println!("added {user} ({})", seat.code());
        }
        ("passwd", Some(user)) => {
            let password = read_password(&format!("new password for {user}: "))?;
            users.set_password(&user, &password)?;
            println!("password of {user} set; its sessions ended");
        }
        ("disable", Some(user)) => {
            users.set_disabled(&user, true)?;
            println!("{user} disabled; its sessions ended");
        }
        ("enable", Some(user)) => {
            users.set_disabled(&user, false)?;
            println!("{user} enabled");
        }
        ("township", Some(user)) => {
            let township = f.get("township").ok_or("users township needs --township T")?;
            users.set_township(&user, township)?;
            println!("{user} works for {township} now; its sessions ended");
        }
        ("list", None) => {
            for (p, disabled) in users.list()? {
                let state = if disabled { " (disabled)" } else { "" };
                let unit = p.unit.map(|u| format!("\t{u}")).unwrap_or_default();
                println!("{}\t{}\t{}\t{}{unit}{state}", p.user, p.seat.code(), p.township, p.display);
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_console_opens_maximized_unless_a_size_is_asked_for() {
        let default = super::viewport(None);
        assert_eq!(default.maximized, Some(true));
        let sized = super::viewport(Some([1280.0, 720.0]));
        assert_eq!((sized.maximized, sized.inner_size), (Some(false), Some(egui::vec2(1280.0, 720.0))));
    }

    #[test]
    fn hub_permissions_needs_the_county_and_the_township_and_refuses_a_bad_name() {
        let args = |words: &[&str]| -> Vec<String> { words.iter().map(|w| w.to_string()).collect() };
        assert!(super::permissions(&args(&["--county", "c1"])).unwrap_err().contains("--township"));
        assert!(super::permissions(&args(&["--county", "c 1", "--township", "t1"])).unwrap_err().contains("county"));
        super::permissions(&args(&["--county", "c1", "--township", "青溪镇"])).unwrap();
    }

    #[test]
    fn hub_cert_makes_a_site_authority_and_with_authority_another_certificate_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let args = |words: &[&str]| -> Vec<String> { words.iter().map(|w| w.to_string()).collect() };
        let (county, leaf) = (dir.path().join("county"), dir.path().join("leaf-t1"));
        let (county, leaf) = (county.to_str().unwrap(), leaf.to_str().unwrap());
        super::cert(&args(&["--data", county, "--names", "10.8.0.11,10.8.0.12"])).unwrap();
        super::cert(&args(&["--data", leaf, "--names", "10.9.0.5", "--authority", county])).unwrap();
        let read = |path: String| std::fs::read(path).unwrap();
        assert_eq!(read(format!("{leaf}/tls/ca.pem")), read(format!("{county}/tls/ca.pem")));
        assert!(std::path::Path::new(&format!("{leaf}/tls/server.key")).exists());
        let said = super::cert(&args(&["--data", leaf, "--names", "x", "--authority", leaf])).unwrap_err();
        assert!(said.contains("ca.key"), "a folder without the authority's key signs nothing: {said}");
    }

    #[test]
    fn a_gateways_nats_password_goes_with_tls_and_comes_from_a_file_only_its_owner_reads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "s3cret\n").unwrap();
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        streams::feed::tls::make_site_certs(&dir.path().join("tls"), &["127.0.0.1".into()]).unwrap();
        let ca = dir.path().join("tls/ca.pem");
        let flags = |pairs: &[(&str, &std::path::Path)]| -> std::collections::HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.display().to_string())).collect()
        };
        let user = std::path::Path::new("gateway");
        let all = flags(&[("nats-user", user), ("nats-password-file", &password), ("nats-ca", &ca)]);
        let access = super::nats_access(&all).unwrap();
        assert_eq!(access.user, Some(("gateway".into(), "s3cret".into())));
        assert!(!format!("{access:?}").contains("s3cret"), "the password is never printed");
        let clear = flags(&[("nats-user", user), ("nats-password-file", &password)]);
        assert!(super::nats_access(&clear).unwrap_err().contains("--nats-ca"));
        let alone = flags(&[("nats-user", user), ("nats-ca", &ca)]);
        assert!(super::nats_access(&alone).unwrap_err().contains("go together"));
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(super::nats_access(&all).unwrap_err().contains("chmod 600"));
        let no_ca = flags(&[("nats-ca", &dir.path().join("missing.pem"))]);
        assert!(super::nats_access(&no_ca).unwrap_err().contains("--nats-ca"));
    }

    #[test]
    fn a_session_secret_is_the_owners_alone_and_long_enough() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("session.secret");
        let at = file.display().to_string();
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(super::session_secret(&at), Ok("0123456789abcdef0123456789abcdef".into()));
        std::fs::write(&file, "too short\n").unwrap();
        assert!(super::session_secret(&at).unwrap_err().contains("32 at least"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(super::session_secret(&at).unwrap_err().contains("chmod 600"));
        assert!(super::session_secret(&format!("{at}.missing")).unwrap_err().contains("--session-secret-file"));
    }

    #[test]
    fn a_tokens_township_is_named_a_county_gateways_unit_terminals_have_one_and_no_unit_a_reserved_id() {
        use streams::feed::{Grant, jetstream::County};
        let county = |township: Option<&str>| County {
            urls: vec!["nats://127.0.0.1:4222".into()],
            county: "c1".into(),
            township: township.map(Into::into),
            replicas: 3,
            access: Default::default(),
            leaves: vec![],
        };
        let tokens = |grant: Grant| std::collections::HashMap::from([("t".to_string(), grant)]);
        let police = Grant::unit_terminal("police");
        // A unit terminal without a township: fine on a township's gateway or its own log…
        assert!(super::townships(&tokens(police.clone()), Some(&county(Some("t1")))).is_ok());
        assert!(super::townships(&tokens(police.clone()), None).is_ok());
        // …refused on the whole county's, where it would read every township's police orders.
        let refused = super::townships(&tokens(police.clone()), Some(&county(None))).unwrap_err();
        assert!(refused.contains("needs its township"), "{refused}");
        let kept = Grant { township: Some("t1".into()), ..police };
        assert!(super::townships(&tokens(kept.clone()), Some(&county(None))).is_ok());
        for bad in ["", " ", "county"] {
            let grant = Grant { township: Some(bad.into()), ..kept.clone() };
            assert!(super::townships(&tokens(grant), None).is_err(), "{bad:?}");
        }
        // Nor the county's own name: such a token would be the whole county's.
        let own = Grant { township: Some("c1".into()), ..kept.clone() };
        assert!(super::townships(&tokens(own), Some(&county(None))).unwrap_err().contains("county's own"));
        // A unit may not take the name of a meeting's chair (it would be given the chair's token).
        let refused = super::townships(&tokens(Grant::unit_terminal("chair")), None).unwrap_err();
        assert!(refused.contains("reserved"), "{refused}");
    }
}
