//! The hub's append-only event log: SQLite in WAL mode, one row per event, the row id is the
//! event's sequence number. Readers (replays) and the single writer do not block each other.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::message::{Body, Envelope};

/// The log, opened for appending (one writer) or reading (any number of replays).
pub struct EventLog {
    db: Connection,
}

impl EventLog {
    /// Opens (creating if needed) the log in `dir/events.sqlite`.
    pub fn open(dir: &Path) -> Result<EventLog, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
        let path = dir.join("events.sqlite");
        let db = Connection::open(&path).map_err(|e| format!("cannot open event log {}: {e}", path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| db.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|_| db.busy_timeout(std::time::Duration::from_secs(5)))
            .and_then(|_| {
                db.execute_batch(
                    "CREATE TABLE IF NOT EXISTS events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        time TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        dedup TEXT UNIQUE,
                        frame TEXT NOT NULL
                    );",
                )
            })
            .map_err(|e| format!("cannot prepare event log {}: {e}", path.display()))?;
        Ok(EventLog { db })
    }

    /// The newest sequence number (0 for an empty log).
    pub fn head(&self) -> Result<u64, String> {
        self.db
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|s| s as u64)
            .map_err(|e| e.to_string())
    }

    /// Appends an event built by `make` from its new sequence number. `dedup` is a key that may
    /// appear once in the whole log (a sender's report id): a repeat returns the event already
    /// logged and `false`.
    pub fn append(&mut self, dedup: Option<&str>, make: impl FnOnce(u64) -> Body) -> Result<(Envelope, bool), String> {
        if let Some(key) = dedup {
            let existing: Option<String> = self
                .db
                .query_row("SELECT frame FROM events WHERE dedup = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|e| e.to_string())?;
            if let Some(frame) = existing {
                let env = Envelope::parse(&frame).map_err(|e| e.to_string())?;
                return Ok((env, false));
            }
        }
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        let seq: i64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        let env = Envelope::new(seq as u64, make(seq as u64));
        let kind = serde_json::to_value(&env)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO events (seq, time, kind, dedup, frame) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq, env.time.to_rfc3339(), kind, dedup, env.to_text()],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok((env, true))
    }

    /// Events after `since`, oldest first, at most `limit` of them.
    pub fn after(&self, since: u64, limit: usize) -> Result<Vec<Envelope>, String> {
        let mut stmt = self
            .db
            .prepare_cached("SELECT frame FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![since as i64, limit as i64], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        rows.map(|frame| {
            let frame = frame.map_err(|e| e.to_string())?;
            Envelope::parse(&frame).map_err(|e| format!("corrupt event in log: {e}"))
        })
        .collect()
    }
}
