//! The two logs a hub can keep, behind one face: a township's own (SQLite beside the hub, the
//! default) or a county's (a JetStream stream shared by every gateway, `--nats`).
//!
//! With its own log the hub's writer broadcasts what it appends; with the county's, other
//! gateways append too, so every gateway follows the stream and broadcasts what it reads
//! (its writer only answers the senders).

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::event_log::{Appended, EventLog, Logged, Pending, Unlogged};
use super::jetstream::JetStreamLog;

/// Where the writer appends.
pub(super) enum Writer {
    Township(EventLog),
    /// The county's stream, driven from the writer's thread on the hub's runtime.
    County(Box<JetStreamLog>, tokio::runtime::Handle),
}

impl Writer {
    /// Appends a batch in order; for each item what [`EventLog::append_all`] says, or why it
    /// is not in the log (the township's log refuses one item — a change made too late — or,
    /// failing, the whole batch).
    pub(super) fn append_all(&mut self, batch: Vec<Pending>) -> Vec<Appended> {
        match self {
            Writer::Township(log) => {
                let n = batch.len();
                log.append_all(batch).unwrap_or_else(|e| (0..n).map(|_| Err(Unlogged::Failed(e.clone()))).collect())
            }
            Writer::County(log, runtime) => runtime.block_on(log.append_all(batch)),
        }
    }

    /// Whether the writer broadcasts what it appended (else the stream's follower does).
    pub(super) fn broadcasts(&self) -> bool {
        matches!(self, Writer::Township(_))
    }
}

/// One client's read side: a read connection to the township's log (WAL: it does not block the
/// writer), or the county's stream.
pub(super) enum Reader {
    Township(Arc<Mutex<EventLog>>),
    County(Box<JetStreamLog>),
}

impl Reader {
    /// Opens the township's log in `dir` (off the sockets' threads), or reads the county's.
    pub(super) async fn open(dir: &Path, county: Option<&JetStreamLog>) -> Result<Reader, String> {
        if let Some(county) = county {
            return Ok(Reader::County(Box::new(county.clone())));
        }
        let dir = dir.to_owned();
        let log = tokio::task::spawn_blocking(move || EventLog::open(&dir)).await.map_err(|e| e.to_string())??;
        Ok(Reader::Township(Arc::new(Mutex::new(log))))
    }

    /// The newest sequence number.
    pub(super) async fn head(&self) -> Result<u64, String> {
        match self {
            Reader::Township(log) => {
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.lock().map_err(|_| poisoned())?.head())
                    .await
                    .map_err(|e| e.to_string())?
            }
            Reader::County(log) => log.head().await,
        }
    }

    /// Events after `since`, oldest first, at most `limit`: every one this hub serves, or
    /// (`route: Some(unit)`) those addressed to one unit.
    pub(super) async fn after(&self, since: u64, route: Option<&str>, limit: usize) -> Result<Vec<Logged>, String> {
        match self {
            Reader::Township(log) => {
                let (log, route) = (log.clone(), route.map(str::to_owned));
                tokio::task::spawn_blocking(move || {
                    log.lock().map_err(|_| poisoned())?.after(since, route.as_deref(), limit)
                })
                .await
                .map_err(|e| e.to_string())?
            }
            Reader::County(log) => log.after(since, route, limit).await,
        }
    }
}

fn poisoned() -> String {
    "event log lock poisoned".to_string()
}
