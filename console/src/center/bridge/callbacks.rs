//! What the bridge owes its peers — status callbacks and hand-overs — kept in SQLite (WAL,
//! every commit fsynced) before anything is sent, and sent until the peer acknowledges it.
//!
//! Each message belongs to a *lane* (one peer's incident, or one hand-over): a lane's messages
//! go out one at a time, in the order they were written, so a peer never hears `on_scene`
//! before `dispatched`, even when the first attempt failed and the second status is already
//! due. A message not acknowledged (no 2xx) waits the next of the configured back-off steps
//! (1, 5, 10 minutes by default; the last repeats) and goes again with the same
//! `Idempotency-Key`. A message acknowledged is never sent again; one whose answer a crash cut
//! off is sent again at the next start — the peer keeps a key once.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use streams::sqlite::{Durability, open_wal};

/// The file in the bridge's folder.
pub const FILE: &str = "bridge.sqlite";

/// One message for a peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// The idempotency key: `PEER/NUMBER/STATUS` or `PEER/HANDOVER`.
    pub key: String,
    pub peer: String,
    /// Messages of one lane go in order.
    pub lane: String,
    /// The peer's path, under its base URL.
    pub path: String,
    pub body: String,
    /// The hand-over this message carries: its acknowledgement is the hand-over's `received`.
    pub handover: Option<(String, String)>,
}

/// A message due now, with its attempts so far.
pub struct Due {
    pub callback: Callback,
    pub attempts: u32,
}

pub struct Store {
    db: Connection,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, String> {
        let db = open_wal(
            dir,
            FILE,
            Durability::Full,
            "CREATE TABLE IF NOT EXISTS callbacks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                key TEXT NOT NULL UNIQUE,
                peer TEXT NOT NULL,
                lane TEXT NOT NULL,
                path TEXT NOT NULL,
                body TEXT NOT NULL,
                handover TEXT,
                incident TEXT,
                state TEXT NOT NULL DEFAULT 'queued',
                attempts INTEGER NOT NULL DEFAULT 0,
                next_at INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                updated TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS callbacks_queued ON callbacks (state, lane, id);",
        )?;
        Ok(Store { db })
    }

    /// Every key written so far (sent or not).
    pub fn keys(&self) -> Result<Vec<String>, String> {
        let mut stmt = self.db.prepare("SELECT key FROM callbacks").map_err(|e| e.to_string())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Writes the messages not written yet, in one transaction.
    pub fn put(&mut self, callbacks: &[Callback], now: DateTime<Utc>) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        for c in callbacks {
            let (handover, incident) = c.handover.clone().unzip();
            tx.execute(
                "INSERT OR IGNORE INTO callbacks (key, peer, lane, path, body, handover, incident, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![c.key, c.peer, c.lane, c.path, c.body, handover, incident, now.to_rfc3339()],
            )
            .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// The first unacknowledged message of each lane, if its wait is over (at most `limit`).
    pub fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>, String> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT key, peer, lane, path, body, handover, incident, attempts FROM callbacks
                 WHERE id IN (SELECT MIN(id) FROM callbacks WHERE state = 'queued' GROUP BY lane)
                   AND next_at <= ?1
                 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![now.timestamp_millis(), limit as i64], |r| {
                let handover: Option<String> = r.get(5)?;
                let incident: Option<String> = r.get(6)?;
                Ok(Due {
                    callback: Callback {
                        key: r.get(0)?,
                        peer: r.get(1)?,
                        lane: r.get(2)?,
                        path: r.get(3)?,
                        body: r.get(4)?,
                        handover: handover.zip(incident),
                    },
                    attempts: r.get(7)?,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// The peer acknowledged it.
    pub fn acknowledged(&mut self, key: &str, now: DateTime<Utc>) -> Result<(), String> {
        self.db
            .execute(
                "UPDATE callbacks SET state = 'sent', error = NULL, updated = ?2 WHERE key = ?1",
                params![key, now.to_rfc3339()],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// It failed: try again after `wait`.
    pub fn failed(&mut self, key: &str, error: &str, wait: Duration, now: DateTime<Utc>) -> Result<(), String> {
        let next = now.timestamp_millis().saturating_add(wait.as_millis() as i64);
        self.db
            .execute(
                "UPDATE callbacks SET attempts = attempts + 1, next_at = ?2, error = ?3, updated = ?4 WHERE key = ?1",
                params![key, next, error, now.to_rfc3339()],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Messages not yet acknowledged, per peer: how many, and the last error.
    pub fn backlog(&self) -> Result<Vec<(String, u32, Option<String>)>, String> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT peer, COUNT(*), (SELECT error FROM callbacks c2 WHERE c2.peer = c.peer AND c2.state = 'queued'
                                          AND c2.error IS NOT NULL ORDER BY c2.updated DESC LIMIT 1)
                 FROM callbacks c WHERE state = 'queued' GROUP BY peer",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(key: &str, lane: &str) -> Callback {
        Callback {
            key: key.into(),
            peer: "110".into(),
            lane: lane.into(),
            path: "/v1/x".into(),
            body: "{}".into(),
            handover: None,
        }
    }

    #[test]
    fn a_lane_waits_for_its_first_message_and_a_failure_waits_its_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let a = [callback("110/1/received", "110/1"), callback("110/1/signed_for", "110/1")];
        store.put(&a, now).unwrap();
        store.put(&[callback("110/2/received", "110/2"), callback("110/1/received", "110/1")], now).unwrap();
        let keys = |due: Vec<Due>| due.into_iter().map(|d| d.callback.key).collect::<Vec<_>>();
        assert_eq!(keys(store.due(now, 10).unwrap()), ["110/1/received", "110/2/received"], "one per lane, once");
        store.failed("110/1/received", "refused", Duration::from_secs(60), now).unwrap();
        assert_eq!(keys(store.due(now, 10).unwrap()), ["110/2/received"], "the lane waits, the next does not jump");
        let later = now + chrono::Duration::seconds(61);
        let due = store.due(later, 10).unwrap();
        assert_eq!((due[0].callback.key.as_str(), due[0].attempts), ("110/1/received", 1));
        store.acknowledged("110/1/received", later).unwrap();
        store.acknowledged("110/2/received", later).unwrap();
        assert_eq!(keys(store.due(later, 10).unwrap()), ["110/1/signed_for"]);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.keys().unwrap().len(), 3, "kept across a reopen");
        assert_eq!(store.backlog().unwrap(), [("110".to_string(), 1, None)]);
    }
}
