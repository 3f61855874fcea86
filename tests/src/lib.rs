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
