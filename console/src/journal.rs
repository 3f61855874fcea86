//! The console's journal of hub events: every logged event it has received, kept on disk, so a
//! console that restarts shows at once what it showed before and asks the hub only for what it
//! has not seen.
//!
//! The cursor is never written on its own: it *is* the highest sequence number in the journal.
//! An event reaches the screen as soon as it arrives and is written a moment later, in a batch,
//! by a thread of the journal's own; if the console dies between the two, the event is simply
//! not in the journal, the cursor is below it, and the hub sends it again on the next start.
//! So after any crash the journal plus the hub's replay hold every event exactly once — no gap
//! (the cursor never passes an unwritten event) and no duplicate (the hub replays strictly after
//! the cursor, and a sequence number is the journal's primary key).
//!
//! [`follow`] wires it up: the journal's events first, then a [`FeedClient`] resuming after the
//! cursor, each of its events handed on and written.

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, params};
use streams::Waker;
use streams::feed::{ClientHandle, Envelope, FeedClient, FeedUpdate, Role};
use streams::sqlite::{Durability, open_wal};
use tokio::sync::mpsc;

use crate::store::FILE;

/// How many events the writer puts in one transaction at most.
const BATCH: usize = 1000;

/// The writer's end. Dropping it writes what is queued and joins the writer.
pub struct Journal {
    queue: Option<std_mpsc::Sender<(u64, String)>>,
    writer: Option<JoinHandle<()>>,
}

impl Journal {
    /// Opens the journal in `dir` and reads back every event in it, oldest first. A row that no
    /// longer parses (a journal from an older protocol) is skipped with a warning.
    pub fn open(dir: &Path) -> Result<(Journal, Vec<Envelope>), String> {
        let db = open_wal(
            dir,
            FILE,
            Durability::Normal,
            "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);",
        )?;
        let events = read_all(&db)?;
        let (queue, rx) = std_mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_batches(db, rx))
            .map_err(|e| format!("cannot start the journal writer: {e}"))?;
        Ok((Journal { queue: Some(queue), writer: Some(writer) }, events))
    }

    /// Queues a logged event for writing (events the hub did not log, seq 0, are not kept).
    pub fn keep(&self, event: &Envelope) {
        if event.seq > 0
            && let Some(queue) = &self.queue
        {
            let _ = queue.send((event.seq, event.to_text()));
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn read_all(db: &Connection) -> Result<Vec<Envelope>, String> {
    let mut stmt = db.prepare("SELECT seq, frame FROM journal ORDER BY seq").map_err(|e| e.to_string())?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?))).map_err(|e| e.to_string())?;
    let mut events = vec![];
    for row in rows {
        let (seq, frame) = row.map_err(|e| format!("journal unreadable: {e}"))?;
        match Envelope::parse(&frame) {
            Ok(event) => events.push(event),
            Err(e) => tracing::warn!(seq, error = %e, "journal row skipped"),
        }
    }
    Ok(events)
}

/// The writer thread: waits for an event, takes whatever else is queued, writes it all in one
/// transaction. A failed write (a full disk) stops the journal: writing later events would move
/// the cursor past the lost ones. The console keeps showing everything; the next start resumes
/// from the last good cursor and the hub sends the rest again.
fn write_batches(mut db: Connection, queue: std_mpsc::Receiver<(u64, String)>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let written = db.transaction().and_then(|tx| {
            {
                let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO journal (seq, frame) VALUES (?1, ?2)")?;
                for (seq, frame) in &batch {
                    insert.execute(params![seq, frame])?;
                }
            }
            tx.commit()
        });
        if let Err(e) = written {
            tracing::error!(error = %e, events = batch.len(), "journal write failed; journal stopped until restart");
            return;
        }
    }
}

/// The console's link to the hub, as its owner sees it.
pub struct HubFeed {
    /// What the journal held at start, oldest first: apply these before any update.
    pub restored: Vec<Envelope>,
    /// Updates from the hub, each event already queued for the journal.
    pub updates: mpsc::UnboundedReceiver<FeedUpdate>,
    /// Send messages to the hub with it; dropping it stops the link.
    pub client: ClientHandle,
    _journal: std::sync::Arc<Journal>,
}

/// Opens the journal in `dir` and connects to the hub, resuming after the journal's cursor.
pub fn follow(
    dir: &Path,
    url: &str,
    token: &str,
    runtime: &tokio::runtime::Handle,
    waker: Waker,
) -> Result<HubFeed, String> {
    let (journal, restored) = Journal::open(dir)?;
    let since = restored.last().map_or(0, |e| e.seq);
    tracing::info!(events = restored.len(), since, "journal read");
    let journal = std::sync::Arc::new(journal);
    let (raw_tx, mut raw) = mpsc::unbounded_channel();
    let (tx, updates) = mpsc::unbounded_channel();
    let client =
        FeedClient { url: url.into(), token: token.into(), role: Role::Console, since, name: "console".into() }.spawn(
            runtime,
            raw_tx,
            streams::no_waker(),
        );
    let keeper = journal.clone();
    runtime.spawn(async move {
        while let Some(update) = raw.recv().await {
            if let FeedUpdate::Event(event) = &update {
                keeper.keep(event);
            }
            if tx.send(update).is_err() {
                return;
            }
            waker();
        }
    });
    Ok(HubFeed { restored, updates, client, _journal: journal })
}
