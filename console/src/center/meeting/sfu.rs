//! The Janus the center's server starts itself when `[meeting]` names none: Debian's `janus`
//! with a configuration written for it into `DATA/center/janus/` (nothing under /etc/janus is
//! read), so that only the server can create rooms and nothing listens beyond loopback but
//! the media ports.
//!
//! - Only the VideoRoom plugin and the HTTP transport on 127.0.0.1; the admin API is off;
//!   rooms are created only with the VideoRoom `admin_key`, which is fresh each start and known
//!   to the server alone.
//! - No STUN or TURN, no mDNS, no IPv6; media on a 200-port range of its own.
//! - `ice_ip`: the one address Janus offers for media. Janus 1.1.2 never offers a loopback
//!   address, so a single machine (and the tests) use the machine's own IPv4 — packets to it
//!   never leave the machine.
//!
//! Dropping it stops Janus. A server killed outright (SIGKILL, a crash) cannot: its Janus goes
//! on holding the API port the next start wants (kept across restarts, see `api.port`), and
//! would answer in place of the new one, which knows another admin key. So each start writes
//! Janus's pid to `janus.pid`, and the next start first stops the Janus that file names, if it
//! still runs on this folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Janus, stopped when dropped.
pub struct StartedSfu {
    child: Child,
    /// Its HTTP API: `http://127.0.0.1:PORT/janus`.
    pub url: String,
    pub api: u16,
    pub admin_key: String,
    /// Its log file.
    pub log: PathBuf,
}

impl Drop for StartedSfu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port for the HTTP API (`api`, when it had one before: its address stays the one the log
/// gave the sites), and the first of 200 for media. Both below Linux's ephemeral range
/// (32768–60999), where no outgoing connection takes them while Janus is down.
fn ports(api: Option<u16>) -> Result<(u16, u16), String> {
    let api = match api {
        Some(api) => api,
        None => (0..100)
            .map(|_| fastrand::u16(30_000..32_700))
            .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
            .ok_or("no free port for Janus's API")?,
    };
    let media = 20_000 + 200 * fastrand::u16(0..50);
    Ok((api, media))
}

/// The configuration files, as Janus reads them from its configs folder.
fn config_files(
    dir: &Path,
    api: u16,
    media: u16,
    admin_key: &str,
    ice_ip: Option<std::net::Ipv4Addr>,
) -> Vec<(&'static str, String)> {
    let enforce = ice_ip.map(|ip| format!("\tice_enforce_list = \"{ip}\"\n")).unwrap_or_default();
    let core = format!(
        "general: {{\n\tconfigs_folder = \"{dir}\"\n\tserver_name = \"linkage\"\n\tsession_timeout = 60\n\
         \tdebug_level = 4\n\tadmin_secret = \"{admin_key}\"\n\tprotected_folders = [\"/bin\", \"/boot\", \"/dev\", \"/etc\", \
         \"/lib\", \"/proc\", \"/sbin\", \"/sys\", \"/usr\", \"/var\"]\n}}\n\
         media: {{\n\tipv6 = false\n\trtp_port_range = \"{media}-{media_end}\"\n}}\n\
         nat: {{\n\tignore_mdns = true\n\tfull_trickle = false\n\tice_lite = false\n\tice_tcp = false\n{enforce}}}\n\
         plugins: {{\n\tdisable = \"libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,\
         libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,libjanus_videocall.so,\
         libjanus_voicemail.so,libjanus_streaming.so\"\n}}\n\
         transports: {{\n\tdisable = \"libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,\
         libjanus_websockets.so\"\n}}\n\
         loggers: {{\n\tdisable = \"libjanus_jsonlog.so\"\n}}\n\
         events: {{\n\tbroadcast = false\n}}\n",
        dir = dir.display(),
        media_end = media + 199,
    );
    let http = format!(
        "general: {{\n\tjson = \"compact\"\n\tbase_path = \"/janus\"\n\thttp = true\n\tport = {api}\n\
         \tip = \"127.0.0.1\"\n\thttps = false\n}}\n\
         admin: {{\n\tadmin_http = false\n\tadmin_https = false\n}}\n"
    );
    let videoroom =
        format!("general: {{\n\tadmin_key = \"{admin_key}\"\n\tlock_rtp_forward = true\n\tstring_ids = false\n}}\n");
    vec![("janus.jcfg", core), ("janus.transport.http.jcfg", http), ("janus.plugin.videoroom.jcfg", videoroom)]
}

impl StartedSfu {
    /// Whether Janus still runs.
    pub fn runs(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Writes the configuration into `dir` and starts `janus` on it (its API on `api` when
    /// given); returns once its API answers (at most 10 s).
    pub fn start(dir: &Path, ice_ip: Option<std::net::Ipv4Addr>, api: Option<u16>) -> Result<StartedSfu, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // One spelling of the folder, for Janus's command line and for knowing it there again.
        let dir = &std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // The API's port of the last start (also before the server restarted): the address the
        // log gave the sites stays good.
        let kept = dir.join("api.port");
        let api = api.or_else(|| std::fs::read_to_string(&kept).ok()?.trim().parse().ok());
        let pid_file = dir.join("janus.pid");
        stop_left_behind(&pid_file, dir, api);
        // Whatever still answers there would answer in place of the Janus started now.
        if let Some(port) = api.filter(|port| std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok()) {
            return Err(format!(
                "127.0.0.1:{port}, the meeting SFU's API port, is taken by another program (a Janus this server did not start?)"
            ));
        }
        let (api, media) = ports(api)?;
        std::fs::write(&kept, api.to_string()).map_err(|e| format!("{}: {e}", kept.display()))?;
        let admin_key = streams::feed::secret_hex(16)?;
        for (name, text) in config_files(dir, api, media, &admin_key, ice_ip) {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let log = dir.join("janus.log");
        let mut child = Command::new("janus")
            .arg("--configs-folder")
            .arg(dir)
            .arg("--disable-colors")
            .arg("--disable-stdout")
            .arg("--log-file")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start janus (Debian package janus): {e}"))?;
        if let Err(e) = std::fs::write(&pid_file, child.id().to_string()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{}: {e}", pid_file.display()));
        }
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", api)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("janus stopped at start ({status}); see {}", log.display()));
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("janus did not listen within 10 s; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("janus stopped at start ({status}); see {}", log.display()));
        }
        Ok(StartedSfu { child, url: format!("http://127.0.0.1:{api}/janus"), api, admin_key, log })
    }
}

/// Stops the Janus that `pid_file` names if it still runs on `dir` (its command line names the
/// folder; a pid taken since by another process is left alone), and waits up to 5 s for it to
/// be gone and its API port `api` to be free.
#[allow(unsafe_code)]
fn stop_left_behind(pid_file: &Path, dir: &Path, api: Option<u16>) {
    let Some(pid) = std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok()) else { return };
    let ours = |pid: i32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.first().is_some_and(|exe| exe.ends_with(b"janus")) && args.contains(&dir.as_os_str().as_encoded_bytes())
    };
    if pid <= 0 || !ours(pid) {
        return;
    }
    tracing::warn!(pid, "meeting: stopping the Janus a server killed before left running");
    // SAFETY: kill(2) with a pid checked above to be a janus on our folder; no memory is shared.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Its command line is empty, and its main thread a zombie, while its other threads still
    // exit holding its sockets: wait for the API's port too.
    let listening = || api.is_some_and(|port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let until = Instant::now() + Duration::from_secs(5);
    while (running(pid) || listening()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` exists and has not exited (is not a zombie).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with(['Z', 'X'])))
        .unwrap_or(false)
}
