//! The console's own durable state (SQLite, WAL): the orders, the outbox and the audit log.
//!
//! The outbox is what makes a dispatch survive a crash: an order and every message of it are
//! written in one transaction *before* anything is sent; each message row keeps its
//! idempotency key, its state and the peer's receipt. After a restart, [`Store::unsent`] gives
//! exactly the messages with no receipt, and they are sent again with the same keys — the peers
//! (hub, SMSC, radio gateway) know a key they have seen, so nothing is doubled.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use streams::sqlite::{Durability, open_wal};

use crate::core::dispatch::Outgoing;
use crate::core::order::{DeliveryState, Order};

/// The file in the console's data folder that holds the store and the journal.
pub const FILE: &str = "console.sqlite";

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
        Ok(Store { db })
    }

    /// Writes an order and its messages in one transaction. A message key already in the
    /// outbox is left as it is (a dispatch written twice is written once).
    pub fn put_dispatch(&mut self, order: &Order, outgoing: &[Outgoing], now: DateTime<Utc>) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        put_order(&tx, order, now)?;
        for msg in outgoing {
            put_message(&tx, msg, now)?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Writes one message outside a unit's order (the leader's notice).
    pub fn put_message(&mut self, msg: &Outgoing, now: DateTime<Utc>) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        put_message(&tx, msg, now)?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// Stores an order's new state (closed, archived) with an audit line.
    pub fn put_order(&mut self, order: &Order, what: &str, now: DateTime<Utc>) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        put_order(&tx, order, now)?;
        audit(&tx, now, Some(&order.id), what)?;
        tx.commit().map_err(|e| e.to_string())
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

    /// Every order not archived, with each delivery's state as the outbox has it.
    pub fn orders(&self) -> Result<Vec<Order>, String> {
        let mut stmt = self.db.prepare("SELECT json FROM orders ORDER BY id").map_err(|e| e.to_string())?;
        let mut states = self
            .db
            .prepare("SELECT key, state, receipt, error, attempts FROM outbox WHERE order_id = ?1")
            .map_err(|e| e.to_string())?;
        let jsons: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let mut out = vec![];
        for json in jsons {
            let mut order: Order = serde_json::from_str(&json).map_err(|e| format!("stored order unreadable: {e}"))?;
            if order.archived.is_some() {
                continue;
            }
            let rows = states
                .query_map([&order.id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, u32>(4)?,
                    ))
                })
                .map_err(|e| e.to_string())?;
            for row in rows {
                let (key, state, receipt, error, attempts) = row.map_err(|e| e.to_string())?;
                let receipt = receipt.unwrap_or_default();
                let state = match state.as_str() {
                    "sent" => DeliveryState::Sent { receipt },
                    "delivered" => DeliveryState::Delivered { receipt },
                    "failed" => DeliveryState::Failed { error: error.unwrap_or_default(), attempts },
                    _ => DeliveryState::Queued,
                };
                if let Some(d) = order.delivery_mut(&key) {
                    d.state = state;
                }
            }
            out.push(order);
        }
        Ok(out)
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

fn put_order(tx: &rusqlite::Transaction<'_>, order: &Order, now: DateTime<Utc>) -> Result<(), String> {
    let json = serde_json::to_string(order).map_err(|e| e.to_string())?;
    tx.execute(
        "INSERT INTO orders (id, json, updated) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET json = ?2, updated = ?3",
        params![order.id, json, now.to_rfc3339()],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn put_message(tx: &rusqlite::Transaction<'_>, msg: &Outgoing, now: DateTime<Utc>) -> Result<(), String> {
    let json = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    tx.execute(
        "INSERT OR IGNORE INTO outbox (key, order_id, json, state, updated) VALUES (?1, ?2, ?3, 'queued', ?4)",
        params![msg.key, msg.order, json, now.to_rfc3339()],
    )
    .map_err(|e| e.to_string())?;
    audit(tx, now, Some(&msg.order), &format!("queued {} → {} by {}", msg.key, msg.unit, msg.channel.code()))
}

fn audit(tx: &rusqlite::Transaction<'_>, now: DateTime<Utc>, order: Option<&str>, what: &str) -> Result<(), String> {
    tx.execute("INSERT INTO audit (time, order_id, what) VALUES (?1, ?2, ?3)", params![now.to_rfc3339(), order, what])
        .map_err(|e| e.to_string())?;
    Ok(())
}
