//! Real-time transport for linkage, with no user interface in it.
//!
//! - [`video`]: camera feeds through GStreamer, each ending in a slot that always holds the
//!   newest decoded frame (a slot, not a queue: a late frame is dropped, never shown late).
//! - [`feed`]: the event protocol between the hub and its clients (consoles, grid workers'
//!   terminals, linked units), the hub itself and a resuming client.
//! - [`radio`]: radio calls — an order read aloud and sent as RTP G.711 to a gateway.
//! - [`sim`]: the demo's simulated world — cameras served over real RTSP, grid workers and
//!   linked units that speak the real protocol to the hub.

pub mod alarm_sound;
pub mod cmpp;
pub mod feed;
pub mod http;
pub mod janus;
pub mod meeting;
pub mod radio;
pub mod sim;
pub mod sip;
pub mod sms;
pub mod sqlite;
pub mod video;

/// A callback that wakes whoever draws (the console asks egui for a repaint with it).
///
/// Transport threads call it after they put something new where the UI will look.
pub type Waker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A waker that wakes nobody, for tools and tests without a screen.
pub fn no_waker() -> Waker {
    std::sync::Arc::new(|| {})
}

/// Back-off before reconnect attempt `attempt` (from 1): 0.5 s doubling up to 30 s, forever.
/// Feeds and hub clients both use it, so every link in the console recovers the same way.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let ms = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(6));
    std::time::Duration::from_millis(ms.min(30_000))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_starts_at_half_a_second_and_stops_at_thirty() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(7), Duration::from_secs(30));
        assert_eq!(backoff(100), Duration::from_secs(30));
    }
}
