//! End-to-end tests of linkage against real peers (see `tests/`): RTSP served by an in-process
//! gstreamer-rtsp-server, the hub over real WebSockets on loopback.

use std::time::{Duration, Instant};

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
    let mut held = vec![];
    while held.len() < N {
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", fastrand::u16(20_000..32_000))) {
            held.push(listener);
        }
    }
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}
