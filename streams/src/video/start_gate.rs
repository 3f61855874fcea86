//! Feeds that start together take turns to connect.
//!
//! Opening a camera is a burst of work: the RTSP handshake, typefinding, plugging a demuxer
//! and a decoder (GStreamer's plugin loading takes a process-wide lock), and the camera
//! preparing its media. When a wall of 16 opens at once, all of that lands on the same
//! moment and every feed waits for the slowest: `make bench-wall` measured a first-frame p99
//! of 1.8 s with 16 feeds. The gate lets a few feeds connect at a time; a feed holds its turn
//! until its first packet arrives (connecting is done; what is left is the jitter buffer's
//! delay, plugging the decoder, waiting for a keyframe and decoding, which feeds do well side
//! by side) or `HOLD_AT_MOST`,
//! whichever comes first, so a camera that never answers delays the others by that much at
//! most.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long one feed may keep its turn.
pub const HOLD_AT_MOST: Duration = Duration::from_millis(600);

/// Up to `turns` holders at once.
pub struct StartGate {
    turns: usize,
    holders: Mutex<usize>,
    freed: Condvar,
}

/// One feed's turn; dropping it lets the next one in.
pub struct Turn<'g> {
    gate: &'g StartGate,
    since: Instant,
}

impl StartGate {
    pub fn new(turns: usize) -> StartGate {
        StartGate { turns, holders: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits for a turn, for at most `patience`; `None` if none came by then (the caller
    /// checks whether it should still start and asks again).
    pub fn enter(&self, patience: Duration) -> Option<Turn<'_>> {
        let deadline = Instant::now() + patience;
        let mut holders = self.lock();
        while *holders >= self.turns.max(1) {
            let left = deadline.checked_duration_since(Instant::now())?;
            holders = self.freed.wait_timeout(holders, left).map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
        *holders += 1;
        Some(Turn { gate: self, since: Instant::now() })
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.holders.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Turn<'_> {
    /// The turn has been held as long as one may.
    pub fn expired(&self) -> bool {
        self.since.elapsed() >= HOLD_AT_MOST
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.gate.lock() -= 1;
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_so_many_hold_a_turn_and_a_dropped_one_lets_the_next_in() {
        let gate = StartGate::new(2);
        let a = gate.enter(Duration::ZERO).expect("first");
        let _b = gate.enter(Duration::ZERO).expect("second");
        assert!(gate.enter(Duration::from_millis(20)).is_none(), "a third must wait");
        std::thread::scope(|s| {
            let waiting = s.spawn(|| gate.enter(Duration::from_secs(10)).is_some());
            std::thread::sleep(Duration::from_millis(50));
            drop(a);
            assert!(waiting.join().unwrap(), "the waiting one got the freed turn");
        });
        assert!(gate.enter(Duration::ZERO).is_some(), "its turn ended with it");
    }

    #[test]
    fn a_turn_expires() {
        let gate = StartGate::new(1);
        let turn = gate.enter(Duration::ZERO).unwrap();
        assert!(!turn.expired());
        std::thread::sleep(HOLD_AT_MOST);
        assert!(turn.expired());
    }
}
