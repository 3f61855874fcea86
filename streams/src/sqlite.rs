//! One way to open the SQLite files linkage keeps (the hub's event log, the console's store and
//! journal): create the folder, open in WAL mode (readers never block the writer), wait up to 5 s
//! for a lock held by another connection, then create the tables.
//!
//! `synchronous` is the durability asked for: `FULL` fsyncs every commit (the hub's log: an
//! acknowledged event is on disk; the center's outbox: a message marked sent is on disk before
//! the next one goes), `NORMAL` may lose the last commits on a power cut but never corrupts (a
//! seat's journal, which the hub sends again).

use std::path::Path;

use rusqlite::Connection;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Full,
    Normal,
}

/// Opens `dir/file` (creating both if needed) and runs `schema` on it. Errors name the path.
pub fn open_wal(dir: &Path, file: &str, durability: Durability, schema: &str) -> Result<Connection, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(file);
    let db = Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    db.pragma_update(None, "journal_mode", "WAL")
        .and_then(|_| db.pragma_update(None, "synchronous", synchronous))
        .and_then(|_| db.busy_timeout(std::time::Duration::from_secs(5)))
        .and_then(|_| db.execute_batch(schema))
        .map_err(|e| format!("cannot prepare {}: {e}", path.display()))?;
    Ok(db)
}
