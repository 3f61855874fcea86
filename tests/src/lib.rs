//! End-to-end tests of linkage against real peers (see `tests/`): RTSP served by an in-process
//! gstreamer-rtsp-server, the hub over real WebSockets on loopback.

use std::time::{Duration, Instant};

pub mod barcode;
pub mod folder;
pub mod nats;

/// Polls `done` every 50 ms until it holds or `limit` passes; returns whether it held. A limit,
/// not a measurement: the test fails only when something never happens in reasonable time.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A free TCP port, below the ephemeral range like [`free_tcp_ports`].
pub fn free_tcp_port() -> u16 {
    let [port] = free_tcp_ports();
    port
}

/// `N` free TCP ports, all different, for servers that are killed and started again on the
/// same port: taken below Linux's ephemeral range (32768–60999), so that no outgoing
/// connection is given one as its source port while its server is down.
pub fn free_tcp_ports<const N: usize>() -> [u16; N] {
    let ports = free_tcp_port_list(N);
    std::array::from_fn(|i| ports[i])
}

/// `n` free TCP ports, all different (see [`free_tcp_ports`]), for as many servers as a test
/// decides at run time: taken one by one, two could be the same.
pub fn free_tcp_port_list(n: usize) -> Vec<u16> {
    // Each held until all are taken, so no two are the same.
    let (mut held, mut ports) = (vec![], vec![]);
    while ports.len() < n {
        let port = fastrand::u16(20_000..32_000);
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
            ports.push(port);
        }
    }
    ports
}

/// CPU seconds (user + system) a process has used so far; `pid` is a number or "self".
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and
    // 13th, in ticks of 1/100 s (USER_HZ).
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The machine's own IPv4 address (`ip -4 -o addr show scope global`): Janus 1.1.2 offers no
/// loopback candidate, so a meeting's media on one machine goes to this one (and never leaves
/// the machine).
pub fn own_ipv4() -> std::net::Ipv4Addr {
    let out = std::process::Command::new("ip").args(["-4", "-o", "addr", "show", "scope", "global"]).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no global IPv4 address on this machine for Janus's media: {text:?}"))
}
