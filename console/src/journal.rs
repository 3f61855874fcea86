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
//! The same file keeps the seat's *durable queue* of commands (an acknowledgement, a note, a
//! dispatch, a close): a command is written there when the officer gives it, sent, sent again
//! after every reconnect, and leaves the queue when the log has it (the event that settles its
//! key, see `Body::settles`). A seat restarted while the hub is down sends its queue when the
//! hub is back; the hub logs each command once per sender and key.
//!
//! [`follow`] wires it up: the journal's events and queue first, then a [`FeedClient`] resuming
//! after the cursor, each of its events handed on and written.

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use streams::Waker;
use streams::feed::{Body, ClientHandle, Connection as Link, Envelope, FeedClient, FeedUpdate, Role};
use streams::sqlite::{Durability, open_wal};
use tokio::sync::mpsc;

/// The file in a seat's (or the center's) data folder that holds the journal and the queue.
pub const FILE: &str = "console.sqlite";

/// The commands queued and not yet logged, by their key.
pub type Queue = BTreeMap<String, Body>;

/// One write for the journal's thread.
enum Write {
    Event(u64, String),
    Queue(String, String),
    Settle(String),
}

/// How many events the writer puts in one transaction at most.
const BATCH: usize = 1000;

/// The writer's end. Dropping it writes what is queued and joins the writer.
pub struct Journal {
    queue: Option<std_mpsc::Sender<Write>>,
    writer: Option<JoinHandle<()>>,
}

impl Journal {
    /// Opens the journal in `dir` and reads back every event in it, oldest first, and the
    /// queued commands. A row that no longer parses (a journal from an older protocol) is
    /// skipped with a warning.
    pub fn open(dir: &Path) -> Result<(Journal, Vec<Envelope>, Queue), String> {
        let db = open_wal(
            dir,
            FILE,
            Durability::Normal,
            "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS queued (key TEXT PRIMARY KEY, body TEXT NOT NULL);",
        )?;
        let events = read_all(&db)?;
        let queued = read_queue(&db)?;
        let (queue, rx) = std_mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_batches(db, rx))
            .map_err(|e| format!("cannot start the journal writer: {e}"))?;
        Ok((Journal { queue: Some(queue), writer: Some(writer) }, events, queued))
    }

    fn write(&self, write: Write) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(write);
        }
    }

    /// Queues a logged event for writing (events the hub did not log, seq 0, are not kept).
    pub fn keep(&self, event: &Envelope) {
        if event.seq > 0 {
            self.write(Write::Event(event.seq, event.to_text()));
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

fn read_queue(db: &Connection) -> Result<Queue, String> {
    let mut stmt = db.prepare("SELECT key, body FROM queued").map_err(|e| e.to_string())?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| e.to_string())?;
    let mut queued = BTreeMap::new();
    for row in rows {
        let (key, body) = row.map_err(|e| format!("queue unreadable: {e}"))?;
        match serde_json::from_str::<Body>(&body) {
            Ok(body) => {
                queued.insert(key, body);
            }
            Err(e) => tracing::warn!(%key, error = %e, "queued command skipped"),
        }
    }
    Ok(queued)
}

/// The writer thread: waits for a write, takes whatever else is queued, writes it all in one
/// transaction. A failed write (a full disk) stops the journal: writing later events would move
/// the cursor past the lost ones. The console keeps showing everything; the next start resumes
/// from the last good cursor and the hub sends the rest again.
fn write_batches(mut db: Connection, queue: std_mpsc::Receiver<Write>) {
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
                let mut enqueue = tx.prepare_cached("INSERT OR IGNORE INTO queued (key, body) VALUES (?1, ?2)")?;
                let mut settle = tx.prepare_cached("DELETE FROM queued WHERE key = ?1")?;
                for write in &batch {
                    match write {
                        Write::Event(seq, frame) => insert.execute(params![seq, frame])?,
                        Write::Queue(key, body) => enqueue.execute(params![key, body])?,
                        Write::Settle(key) => settle.execute(params![key])?,
                    };
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
    /// The commands queued and not yet logged, as the journal held them at start.
    pub queued: Vec<Body>,
    /// Updates from the hub, each event already queued for the journal.
    pub updates: mpsc::UnboundedReceiver<FeedUpdate>,
    sender: Sender,
}

/// The sending half: the client and the queue of commands it must get logged.
#[derive(Clone)]
struct Sender {
    client: Arc<ClientHandle>,
    journal: Arc<Journal>,
    queued: Arc<Mutex<Queue>>,
}

impl Sender {
    fn send(&self, body: Body) {
        if let Some(key) = body.command_key() {
            let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
            if queued.insert(key.clone(), body.clone()).is_none() {
                self.journal.write(Write::Queue(key, serde_json::to_string(&body).unwrap_or_default()));
            }
        }
        self.client.send(body);
    }

    /// The log has `event`: the command it settles leaves the queue.
    fn settle(&self, event: &Envelope) {
        let Some(key) = event.body.settles() else { return };
        if self.queued.lock().unwrap_or_else(|p| p.into_inner()).remove(&key).is_some() {
            self.journal.write(Write::Settle(key));
        }
    }

    /// A command the hub refused for good: it leaves the queue.
    fn drop_refused(&self, key: &str) {
        if self.queued.lock().unwrap_or_else(|p| p.into_inner()).remove(key).is_some() {
            tracing::warn!(%key, "the hub refused a queued command for good; it is dropped");
            self.journal.write(Write::Settle(key.to_owned()));
        }
    }

    /// Sends every queued command again (the hub keeps each once).
    fn resend(&self) {
        let queued: Vec<Body> = self.queued.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        if !queued.is_empty() {
            tracing::info!(commands = queued.len(), "sending the queued commands again");
        }
        for body in queued {
            self.client.send(body);
        }
    }
}

impl HubFeed {
    /// Sends a message to the hub; a command waits in the durable queue until the log has it.
    pub fn send(&self, body: Body) {
        self.sender.send(body);
    }
}

/// Opens the journal in `dir` and connects to the hub as `role`, resuming after the journal's
/// cursor. Queued commands go out on every connect until the log settles them.
pub fn follow(
    dir: &Path,
    (url, token, role, trust): (&str, &str, Role, Option<streams::feed::tls::Trust>),
    runtime: &tokio::runtime::Handle,
    waker: Waker,
) -> Result<HubFeed, String> {
    let (journal, restored, queued) = Journal::open(dir)?;
    let since = restored.last().map_or(0, |e| e.seq);
    tracing::info!(events = restored.len(), queued = queued.len(), since, "journal read");
    let journal = Arc::new(journal);
    let (raw_tx, mut raw) = mpsc::unbounded_channel();
    let (tx, updates) = mpsc::unbounded_channel();
    let name = format!("{role:?}").to_lowercase();
    let client = FeedClient { url: url.into(), token: token.into(), role, since, name, trust }.spawn(
        runtime,
        raw_tx,
        streams::no_waker(),
    );
    let sender = Sender { client: Arc::new(client), journal, queued: Arc::new(Mutex::new(queued.clone())) };
    // What the journal holds may settle what the queue holds (the console died between the two).
    for event in &restored {
        sender.settle(event);
    }
    let keeper = sender.clone();
    runtime.spawn(async move {
        while let Some(update) = raw.recv().await {
            match &update {
                FeedUpdate::Event(event) => {
                    keeper.journal.keep(event);
                    keeper.settle(event);
                }
                FeedUpdate::Connection(Link::Connected { .. }) => keeper.resend(),
                // A command the hub will never log leaves the queue (the seat is told why).
                FeedUpdate::Refused { code, key: Some(key), .. } if code.is_final() => keeper.drop_refused(key),
                _ => {}
            }
            if tx.send(update).is_err() {
                return;
            }
            waker();
        }
    });
    let queued = sender.queued.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
    Ok(HubFeed { restored, queued, updates, sender })
}
