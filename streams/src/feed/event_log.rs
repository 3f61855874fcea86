//! The hub's append-only event log: SQLite in WAL mode, one row per event, the row id is the
//! event's sequence number. Readers (replays) and the single writer do not block each other.
//!
//! The writer appends in batches (one transaction for every report waiting), which is what
//! lets the hub ingest thousands of events a second: a commit costs the same for one row or
//! a hundred. Frames are stored as the exact text sent to clients, so a replay sends them as
//! they are, without parsing or serialising again.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::routes::{EVERY_UNIT, FOR_EVERY_UNIT};
use crate::sqlite::{Durability, open_wal};
use linkage_protocol::{Body, Envelope, ErrorCode};

/// An event as it is logged and sent: its sequence number and its frame text.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub seq: u64,
    pub frame: String,
}

/// One event to append: a dedup key (a sender's report id) that may appear once in the whole
/// log, the unit it is addressed to (a work order; `None` for events only consoles read), and
/// the body, which the log names after the sequence number it gets ([`Body::numbered`]), and
/// on a county's log the sender's township (the event goes under it when the gateway serves
/// the whole county; a township's own log has no use for it).
pub struct Pending {
    pub dedup: Option<String>,
    pub route: Option<String>,
    pub body: Body,
    pub township: Option<String>,
}

/// What became of one event handed to a log: logged, and whether it is new (`false`: its key
/// was logged already, and this is the event logged then); or why it is not in the log.
pub type Appended = Result<(Logged, bool), Unlogged>;

/// Why an event is not in the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Unlogged {
    /// The log could not take it now (its store failing, its stream not answering, the
    /// event's township not to be told): its sender may send it again.
    Failed(String),
    /// Refused for good, with its code (`key` names the sender's command, so that its seat
    /// stops sending it): by a log, a change of an order made on the order as it no longer is
    /// ([`Body::seen_change`], `conflict`); by a county's gateway placing a command, one about
    /// another township's event or about none.
    Refused { code: ErrorCode, key: Option<String>, reason: String },
}

impl Unlogged {
    /// `body` refused for good with `code`.
    pub(super) fn refused(code: ErrorCode, body: &Body, reason: String) -> Unlogged {
        Unlogged::Refused { code, key: body.settles(), reason }
    }

    /// `body`, a change of `order` made when its last change was at `seen`, found it at `last`.
    pub(super) fn late(body: &Body, order: &str, seen: u64, last: u64) -> Unlogged {
        let reason = format!(
            "order {order} was changed again (its last change is at {last}, not at {seen} where you saw it): \
             not logged; look at it again"
        );
        Unlogged::refused(ErrorCode::Conflict, body, reason)
    }
}

/// The log, opened for appending (one writer) or reading (any number of replays).
pub struct EventLog {
    db: Connection,
}

/// The log's `user_version` from which the units' steps are routed to them.
const STEPS_ROUTED: i64 = 2;
/// The log's `user_version` from which the meetings' events are routed to every unit.
const MEETINGS_ROUTED: i64 = 3;
/// The order an `order_changed` row changes, as SQL (its index and its query say it alike,
/// so that the query is answered from the index).
const CHANGED_ORDER: &str = "json_extract(frame, '$.body.order')";

impl EventLog {
    /// Opens (creating if needed) the log in `dir/events.sqlite`.
    pub fn open(dir: &Path) -> Result<EventLog, String> {
        let db = open_wal(
            dir,
            "events.sqlite",
            // An event the hub acknowledged is on disk: every batch's commit waits for the
            // fsync (one for the whole batch, so ingest stays fast).
            Durability::Full,
            "CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY,
                time TEXT NOT NULL,
                kind TEXT NOT NULL,
                dedup TEXT UNIQUE,
                frame TEXT NOT NULL
            );",
        )?;
        let path = dir.join("events.sqlite");
        // With every commit fsynced, a checkpoint (which fsyncs the database file too) every
        // 1000 pages costs ingest; every 8000 pages (32 MiB of WAL) it costs a little.
        db.pragma_update(None, "wal_autocheckpoint", 8000)
            .map_err(|e| format!("cannot prepare event log {}: {e}", path.display()))?;
        Self::upgrade(&db)
            .and_then(|_| {
                db.execute_batch(&format!(
                    "CREATE INDEX IF NOT EXISTS events_route ON events (route, seq) WHERE route IS NOT NULL;
                     CREATE INDEX IF NOT EXISTS events_order_changes ON events ({CHANGED_ORDER}, seq)
                       WHERE kind = 'order_changed';"
                ))
            })
            .map_err(|e| format!("cannot prepare event log {}: {e}", path.display()))?;
        Ok(EventLog { db })
    }

    /// Adds the `route` column (the unit a work order is for); logs written before work orders
    /// existed lack it. Routes the units' steps to them too (logs written before a unit's seat
    /// read its own steps have them unrouted), and the meetings to every unit, each once (the
    /// log's `user_version` says it is done).
    fn upgrade(db: &Connection) -> rusqlite::Result<()> {
        let has_route = db.prepare("SELECT route FROM events LIMIT 0").is_ok();
        if !has_route {
            db.execute_batch("ALTER TABLE events ADD COLUMN route TEXT;")?;
        }
        let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < STEPS_ROUTED {
            db.execute_batch(&format!(
                "UPDATE events SET route = json_extract(frame, '$.body.unit')
                   WHERE kind = 'order_progressed' AND route IS NULL;
                 PRAGMA user_version = {STEPS_ROUTED};"
            ))?;
        }
        if version < MEETINGS_ROUTED {
            let kinds = FOR_EVERY_UNIT.map(|k| format!("'{k}'")).join(", ");
            db.execute_batch(&format!(
                "UPDATE events SET route = '{EVERY_UNIT}' WHERE kind IN ({kinds}) AND route IS NULL;
                 PRAGMA user_version = {MEETINGS_ROUTED};"
            ))?;
        }
        Ok(())
    }

    /// The newest sequence number (0 for an empty log).
    pub fn head(&self) -> Result<u64, String> {
        self.db
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|s| s as u64)
            .map_err(|e| e.to_string())
    }

    /// Appends a batch in one transaction. For each item: the logged event and whether it is
    /// new (`false`: its dedup key was already in the log, and this is the event logged then),
    /// or why it is not logged (a change of an order made on it as it no longer is: one item
    /// of the batch, the rest go on). `Err`: nothing of the batch is logged.
    pub fn append_all(&mut self, batch: Vec<Pending>) -> Result<Vec<Appended>, String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        let mut next: u64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events", [], |r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())? as u64;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut existing =
                tx.prepare_cached("SELECT seq, frame FROM events WHERE dedup = ?1").map_err(|e| e.to_string())?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (seq, time, kind, dedup, frame, route) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| e.to_string())?;
            let mut last_change = tx
                .prepare_cached(&format!(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE kind = 'order_changed' AND {CHANGED_ORDER} = ?1"
                ))
                .map_err(|e| e.to_string())?;
            for Pending { dedup, route, body, .. } in batch {
                if let Some(key) = &dedup {
                    let found = existing
                        .query_row([key], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))
                        .optional()
                        .map_err(|e| e.to_string())?;
                    if let Some((seq, frame)) = found {
                        out.push(Ok((Logged { seq, frame }, false)));
                        continue;
                    }
                }
                // A repeat is answered above whatever came after it; a change made on an order
                // as it no longer is, here (the transaction sees this batch's own changes).
                if let Some((order, seen)) = body.seen_change() {
                    let last =
                        last_change.query_row([order], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string())? as u64;
                    if last != seen {
                        out.push(Err(Unlogged::late(&body, order, seen, last)));
                        continue;
                    }
                }
                let env = Envelope::new(next, body).numbered();
                let frame = env.to_text();
                insert
                    .execute(params![next as i64, env.time.to_rfc3339(), env.body.kind(), dedup, frame, route])
                    .map_err(|e| e.to_string())?;
                out.push(Ok((Logged { seq: next, frame }, true)));
                next += 1;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Events after `since`, oldest first, at most `limit` of them, as their frames: all of them,
    /// or (`route: Some(unit)`) only those addressed to one unit or to [`EVERY_UNIT`].
    pub fn after(&self, since: u64, route: Option<&str>, limit: usize) -> Result<Vec<Logged>, String> {
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT seq, frame FROM events WHERE seq > ?1 AND (?3 IS NULL OR route = ?3 OR route = ?4)
                   ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![since as i64, limit as i64, route, EVERY_UNIT], |r| {
                Ok(Logged { seq: r.get::<_, i64>(0)? as u64, frame: r.get(1)? })
            })
            .map_err(|e| e.to_string())?;
        rows.map(|r| r.map_err(|e| e.to_string())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(dedup: Option<&str>) -> Pending {
        Pending { dedup: dedup.map(str::to_owned), route: None, body: Body::Heartbeat, township: None }
    }

    #[test]
    fn a_batch_gets_consecutive_numbers_and_a_repeat_gets_the_first_event() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(dir.path()).unwrap();
        let out: Vec<(Logged, bool)> = log
            .append_all(vec![heartbeat(Some("a")), heartbeat(None), heartbeat(Some("a"))])
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let seqs: Vec<(u64, bool)> = out.iter().map(|(l, new)| (l.seq, *new)).collect();
        assert_eq!(seqs, [(1, true), (2, true), (1, false)]);
        assert_eq!(out[2].0.frame, out[0].0.frame);
        drop(log);
        // Reopened, the log continues where it was.
        let mut log = EventLog::open(dir.path()).unwrap();
        assert_eq!(log.head().unwrap(), 2);
        assert_eq!(log.append_all(vec![heartbeat(None)]).unwrap()[0].as_ref().unwrap().0.seq, 3);
        let after: Vec<u64> = log.after(1, None, 10).unwrap().iter().map(|l| l.seq).collect();
        assert_eq!(after, [2, 3]);
    }

    #[test]
    fn a_unit_replays_only_what_is_addressed_to_it_also_in_a_log_from_before_routes() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A log as the first release wrote it: no route column.
            let db = Connection::open(dir.path().join("events.sqlite")).unwrap();
            // Its steps were not routed to the unit either.
            db.execute_batch(
                r#"CREATE TABLE events (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL,
                 dedup TEXT UNIQUE, frame TEXT NOT NULL);
                 INSERT INTO events VALUES (1, 't', 'heartbeat', NULL, '{}');
                 INSERT INTO events VALUES (2, 't', 'order_progressed', NULL,
                   '{"kind":"order_progressed","body":{"order":"D1","unit":"police","step":"acknowledged"}}');
                 INSERT INTO events VALUES (3, 't', 'meeting_chaired', NULL, '{}');"#,
            )
            .unwrap();
        }
        let mut log = EventLog::open(dir.path()).unwrap();
        let to = |unit: &str| Pending { dedup: None, route: Some(unit.into()), body: Body::Heartbeat, township: None };
        log.append_all(vec![to("police"), heartbeat(None), to("fire"), to("police"), to(EVERY_UNIT)]).unwrap();
        let seqs = |route| log.after(0, route, 10).unwrap().iter().map(|l| l.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(Some("police")),
            [2, 3, 4, 7, 8],
            "the old step is the police's now, the old meeting everyone's"
        );
        assert_eq!(seqs(Some("fire")), [3, 6, 8]);
        assert_eq!(seqs(None), [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    /// A change of order `order` sent as `key`, made where its last change was at `seen`.
    fn change(key: &str, order: &str, seen: Option<u64>) -> Pending {
        let change = linkage_protocol::OrderChange {
            key: key.into(),
            order: order.into(),
            change: linkage_protocol::Change::Reopen,
            by: "值班员".into(),
            seen,
        };
        Pending { dedup: Some(format!("change/{key}")), route: None, body: Body::OrderChanged(change), township: None }
    }

    #[test]
    fn a_change_made_on_an_order_as_it_no_longer_is_is_refused_and_a_repeat_of_a_logged_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(dir.path()).unwrap();
        let places = |out: Vec<Appended>| -> Vec<Result<(u64, bool), Option<String>>> {
            out.into_iter()
                .map(|r| match r {
                    Ok((l, new)) => Ok((l.seq, new)),
                    Err(Unlogged::Refused { code: ErrorCode::Conflict, key, .. }) => Err(key),
                    Err(other) => panic!("{other:?}"),
                })
                .collect()
        };
        // Two seats saw D1 with no change; in one batch the first wins, the second is told.
        // D2's changes have their own place; an unguarded change (an SMS answer) passes.
        let out = log
            .append_all(vec![
                heartbeat(None),
                change("a", "D1", Some(0)),
                change("b", "D1", Some(0)),
                change("c", "D2", Some(0)),
                change("sms", "D1", None),
            ])
            .unwrap();
        assert_eq!(
            places(out),
            [Ok((1, true)), Ok((2, true)), Err(Some("change/b".into())), Ok((3, true)), Ok((4, true))]
        );
        // In a later batch: made on D1's last change (the SMS's, at 4) it is taken; made on
        // the one before, not; a repeat of a logged change is answered with it, whatever it saw.
        let out = log
            .append_all(vec![change("d", "D1", Some(2)), change("e", "D1", Some(4)), change("a", "D1", Some(0))])
            .unwrap();
        assert_eq!(places(out), [Err(Some("change/d".into())), Ok((5, true)), Ok((2, false))]);
        // Reopened, the log finds the last change again (from its index).
        drop(log);
        let mut log = EventLog::open(dir.path()).unwrap();
        let plan: String = log
            .db
            .query_row(
                &format!(
                    "EXPLAIN QUERY PLAN SELECT COALESCE(MAX(seq), 0) FROM events WHERE kind = 'order_changed' AND {CHANGED_ORDER} = 'D1'"
                ),
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("events_order_changes"), "{plan}");
        let out = log.append_all(vec![change("f", "D1", Some(4)), change("g", "D1", Some(5))]).unwrap();
        assert_eq!(places(out), [Err(Some("change/f".into())), Ok((6, true))]);
    }
}
