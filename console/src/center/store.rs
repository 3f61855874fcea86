//! The center's outbox store (SQLite, WAL, every commit fsynced): each message of an order with
//! its idempotency key, its state and the peer's receipt, and an audit line per change.
//!
//! The order itself lives in the hub's log; this is what makes its sending survive a crash: a
//! message is written here *before* it is sent, and a message with a receipt is never sent
//! again. After a restart the dispatch service hands every open order's messages over again;
//! those with no receipt ([`Store::unsent`]) go out again with the same keys — the peers (hub,
//! SMSC, radio gateway) know a key they have seen, so nothing is doubled.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use streams::sqlite::{Durability, open_wal};

use crate::core::dispatch::Outgoing;
use crate::core::order::DeliveryState;

/// The file in the console's data folder that holds the store and the journal.
pub const FILE: &str = "outbox.sqlite";

/// The console's database.
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (creating if needed) `dir/console.sqlite`.
    pub fn open(dir: &Path) -> Result<Store, String> {
        // FULL: a message marked sent is on disk before the next one goes.
        let db = open_wal(
            dir,
            FILE,
            Durability::Full,
            "CREATE TABLE IF NOT EXISTS orders (
                        id TEXT PRIMARY KEY,
                        json TEXT NOT NULL,
                        updated TEXT NOT NULL
                    );
                    CREATE TABLE IF NOT EXISTS outbox (
                        key TEXT PRIMARY KEY,
                        order_id TEXT NOT NULL,
                        json TEXT NOT NULL,
                        state TEXT NOT NULL,
                        receipt TEXT,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        error TEXT,
                        updated TEXT NOT NULL
                    );
                    CREATE INDEX IF NOT EXISTS outbox_receipt ON outbox (receipt);
                    CREATE TABLE IF NOT EXISTS audit (
                        id INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        order_id TEXT,
                        what TEXT NOT NULL
                    );",
        )?;
        // A radio call on the air when the process died was cut off: it is made again, whole
        // (a call counts as sent once its first packet left, delivered once read out).
        let cut = db
            .execute(
                "UPDATE outbox SET state = 'queued' WHERE state = 'sent' AND json_extract(json, '$.channel') = 'radio'",
                [],
            )
            .map_err(|e| format!("outbox: {e}"))?;
        if cut > 0 {
            tracing::warn!(calls = cut, "radio calls cut off by the last stop: they go again");
        }
        Ok(Store { db })
    }

    /// Writes the messages not stored yet, in one transaction, and gives each message's state
    /// as stored now, with the time of its last change: `Queued` for a new one.
    pub fn put_messages(
        &mut self,
        messages: &[Outgoing],
        now: DateTime<Utc>,
    ) -> Result<Vec<(DeliveryState, DateTime<Utc>)>, String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        let mut states = Vec::with_capacity(messages.len());
        for msg in messages {
            put_message(&tx, msg, now)?;
            let row: (String, Option<String>, Option<String>, u32, String) = tx
                .query_row(
                    "SELECT state, receipt, error, attempts, updated FROM outbox WHERE key = ?1",
                    [&msg.key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .map_err(|e| e.to_string())?;
            let (state, receipt, error, attempts, updated) = row;
            let at = DateTime::parse_from_rfc3339(&updated).map(|t| t.with_timezone(&Utc)).unwrap_or(now);
            states.push((state_of(&state, receipt, error, attempts), at));
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(states)
    }

    /// Records what a send attempt achieved.
    pub fn mark(&mut self, key: &str, state: &DeliveryState, now: DateTime<Utc>) -> Result<(), String> {
        let (code, receipt, error) = match state {
            DeliveryState::Queued => ("queued", None, None),
            DeliveryState::Sent { receipt } => ("sent", Some(receipt.as_str()), None),
            DeliveryState::Delivered { receipt } => ("delivered", Some(receipt.as_str()), None),
            DeliveryState::Failed { error, .. } => ("failed", None, Some(error.as_str())),
        };
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        // Never downgrade: a receipt once recorded stays.
        tx.execute(
            "UPDATE outbox SET
                state = CASE WHEN ?2 = 'failed' AND state IN ('sent', 'delivered') THEN state
                             WHEN ?2 = 'sent' AND state = 'delivered' THEN state ELSE ?2 END,
                receipt = COALESCE(?3, receipt),
                error = ?4,
                attempts = attempts + (?2 = 'failed'),
                updated = ?5
             WHERE key = ?1",
            params![key, code, receipt, error, now.to_rfc3339()],
        )
        .map_err(|e| e.to_string())?;
        let order: Option<String> = tx
            .query_row("SELECT order_id FROM outbox WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        let detail = error.or(receipt).unwrap_or("");
        audit(&tx, now, order.as_deref(), &format!("{code} {key} {detail}"))?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// The messages with no receipt yet, oldest first, with their attempts so far.
    pub fn unsent(&self) -> Result<Vec<(Outgoing, u32)>, String> {
        let mut stmt = self
            .db
            .prepare("SELECT json, attempts FROM outbox WHERE state IN ('queued', 'failed') ORDER BY rowid")
            .map_err(|e| e.to_string())?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))).map_err(|e| e.to_string())?;
        let mut out = vec![];
        for row in rows {
            let (json, attempts) = row.map_err(|e| e.to_string())?;
            let msg: Outgoing = serde_json::from_str(&json).map_err(|e| format!("outbox row unreadable: {e}"))?;
            out.push((msg, attempts));
        }
        Ok(out)
    }

    /// The key of the message a peer's receipt id belongs to (an SMSC's message id).
    pub fn key_of_receipt(&self, receipt: &str) -> Result<Option<(String, String)>, String> {
        self.db
            .query_row(
                "SELECT key, order_id FROM outbox WHERE receipt = ?1 OR receipt LIKE ?1 || ',%' OR receipt LIKE '%,' || ?1",
                [receipt],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| e.to_string())
    }

    /// The audit lines of an order, oldest first: (time, what).
    pub fn audit_of(&self, order: &str) -> Result<Vec<(String, String)>, String> {
        let mut stmt = self
            .db
            .prepare("SELECT time, what FROM audit WHERE order_id = ?1 ORDER BY id")
            .map_err(|e| e.to_string())?;
        let rows = stmt.query_map([order], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }
}

/// A stored state as the protocol names it.
fn state_of(state: &str, receipt: Option<String>, error: Option<String>, attempts: u32) -> DeliveryState {
    let receipt = receipt.unwrap_or_default();
    match state {
        "sent" => DeliveryState::Sent { receipt },
        "delivered" => DeliveryState::Delivered { receipt },
        "failed" => DeliveryState::Failed { error: error.unwrap_or_default(), attempts },
        _ => DeliveryState::Queued,
    }
}

fn put_message(tx: &rusqlite::Transaction<'_>, msg: &Outgoing, now: DateTime<Utc>) -> Result<(), String> {
    let json = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    let new = tx
        .execute(
            "INSERT OR IGNORE INTO outbox (key, order_id, json, state, updated) VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![msg.key, msg.order, json, now.to_rfc3339()],
        )
        .map_err(|e| e.to_string())?;
    if new == 0 {
        return Ok(());
    }
    audit(tx, now, Some(&msg.order), &format!("queued {} → {} by {}", msg.key, msg.unit, msg.channel.code()))
}

fn audit(tx: &rusqlite::Transaction<'_>, now: DateTime<Utc>, order: Option<&str>, what: &str) -> Result<(), String> {
    tx.execute("INSERT INTO audit (time, order_id, what) VALUES (?1, ?2, ?3)", params![now.to_rfc3339(), order, what])
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dispatch::Address;
    use crate::core::order::ChannelKind;

    fn message(key: &str, channel: ChannelKind, address: Address) -> Outgoing {
        Outgoing {
            key: key.into(),
            order: "D1".into(),
            incident: "E1".into(),
            unit: "police".into(),
            channel,
            address,
            text: "请出警".into(),
            acknowledge_by: Utc::now(),
            details: None,
        }
    }

    #[test]
    fn a_radio_call_on_the_air_at_a_stop_goes_again_and_a_sent_sms_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let radio = message("D1/police/radio", ChannelKind::Radio, Address::Radio("127.0.0.1:5004".parse().unwrap()));
        let sms = message("D1/police/sms#1", ChannelKind::Sms, Address::Mobiles(vec!["1".into()]));
        let done = message("D1/fire/radio", ChannelKind::Radio, Address::Radio("127.0.0.1:5006".parse().unwrap()));
        let mut store = Store::open(dir.path()).unwrap();
        store.put_messages(&[radio, sms, done], now).unwrap();
        let sent = |receipt: &str| DeliveryState::Sent { receipt: receipt.into() };
        store.mark("D1/police/radio", &sent("ssrc:1"), now).unwrap();
        store.mark("D1/police/sms#1", &sent("m1"), now).unwrap();
        store.mark("D1/fire/radio", &DeliveryState::Delivered { receipt: "ssrc:2".into() }, now).unwrap();
        assert!(store.unsent().unwrap().is_empty());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let again: Vec<String> = store.unsent().unwrap().into_iter().map(|(m, _)| m.key).collect();
        assert_eq!(again, ["D1/police/radio"], "only the call that was cut");
    }
}
