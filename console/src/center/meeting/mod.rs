//! The meeting service: the control plane of video linkage meetings. A client of the hub in
//! the `center` role that folds the log's meetings (`crate::core::meeting`, the same fold every
//! seat draws) and makes the SFU — Janus's VideoRoom — hold exactly that:
//!
//! - a room per open meeting (its number and secret derived from the service's key, so a
//!   restarted service finds its rooms again), destroyed when the meeting closes;
//! - the room's allowed list = the tokens of the sites [`Meeting::allowed`] lets in (not the
//!   removed ones; while locked only those that were in), so Janus itself refuses the others;
//! - a site in the room that may no longer be there is kicked;
//! - only participants receive (`require_pvtid`): a subscription belongs to a participant, and
//!   one kicked stops receiving as well as sending; the center's seats receive as participants
//!   of their own that send nothing, joined with the opening's `watch` token;
//! - every site's audio muted at the SFU (`moderate`) unless [`Meeting::audible`]: a roll-call,
//!   a mute-all, a chair's mute hold whatever the site's own software does.
//!
//! It sees the room through an observer of its own (a participant that publishes nothing): the
//! publishers coming and going (logged as `meeting_presence`) and their streams' mids, which
//! moderation names. After each `meeting_chaired` it logs `meeting_enforced`: done, or what
//! Janus refused. Every 2 s it checks the room again (a site that came back is muted again; a
//! Janus restarted gets its rooms back).

pub mod sfu;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use streams::feed::{Body, FeedUpdate, MeetingAction, MeetingEnforcement, MeetingPresence, Role, SiteJoin};
use tokio::sync::mpsc;

use self::sfu::StartedSfu;
use crate::config::{MeetingSettings, SfuSetting};
use crate::core::meeting::{CHAIR, Meeting, Meetings, WATCH};
use crate::journal::HubFeed;
use streams::janus::{JanusError, NO_SUCH_ROOM, ROOM_EXISTS, Session};

/// How often every open meeting's room is checked against the log.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// A message to the hub not back in the log after this is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(10);
/// The observer's participant id in every room.
const OBSERVER: u64 = 1;
/// The chair's seat's participant id in every room.
const CHAIR_PARTICIPANT: u64 = 2;

/// The participant id of a meeting's `index`-th site.
pub fn participant_of(index: usize) -> u64 {
    100 + index as u64
}

/// The running service; dropping it stops it (and the Janus it started, if it did).
pub struct MeetingService {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MeetingService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Derives the rooms' numbers, secrets and tokens from the service's key.
struct Keys(ring::hmac::Key);

impl Keys {
    /// The key in `DIR/meeting.key`, made (from the OS's CSPRNG) on first start.
    fn open(dir: &Path) -> Result<Keys, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join("meeting.key");
        let key = match std::fs::read_to_string(&path) {
            Ok(key) => key.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = streams::feed::secret_hex(32)?;
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                file.write_all(key.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
                key
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if key.len() < 32 {
            return Err(format!("{}: too short to be the meeting key", path.display()));
        }
        Ok(Keys(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes())))
    }

    fn hex(&self, what: &str) -> String {
        streams::http::hex(&ring::hmac::sign(&self.0, what.as_bytes()).as_ref()[..16])
    }

    /// The room's number: 48 bits of the key's hash of the meeting (a JSON number stays exact).
    fn room(&self, meeting: &str) -> u64 {
        let tag = ring::hmac::sign(&self.0, format!("room/{meeting}").as_bytes());
        tag.as_ref()[..6].iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)).max(1)
    }

    fn secret(&self, meeting: &str) -> String {
        self.hex(&format!("secret/{meeting}"))
    }

    fn token(&self, meeting: &str, site: &str) -> String {
        self.hex(&format!("token/{meeting}/{site}"))
    }

    fn observer(&self, meeting: &str) -> String {
        self.hex(&format!("observer/{meeting}"))
    }
}

/// Where the SFU is, for the service.
struct Sfu {
    url: String,
    admin_key: String,
    /// As the sites reach it.
    public_url: String,
}

/// The SFU: a site's Janus, or the one the service starts (when the first meeting needs it,
/// and again if it died).
enum SfuSource {
    Site(Sfu),
    Started {
        dir: std::path::PathBuf,
        ice_ip: Option<std::net::Ipv4Addr>,
        public_url: Option<String>,
        running: Option<(StartedSfu, Sfu)>,
        /// The API's port once chosen: a Janus started again keeps the address sites know.
        api: Option<u16>,
    },
}

impl SfuSource {
    /// The SFU to talk to, Janus started first where it is ours and not running.
    async fn get(&mut self) -> Result<&Sfu, JanusError> {
        match self {
            SfuSource::Site(sfu) => Ok(sfu),
            SfuSource::Started { dir, ice_ip, public_url, running, api } => {
                if running.as_mut().is_some_and(|(started, _)| !started.runs()) {
                    tracing::warn!("meeting service: the Janus it started stopped; starting it again");
                    *running = None;
                }
                if running.is_none() {
                    let (dir, ip, port) = (dir.clone(), *ice_ip, *api);
                    let started = tokio::task::spawn_blocking(move || StartedSfu::start(&dir, ip, port))
                        .await
                        .map_err(|e| JanusError::Link(e.to_string()))?
                        .map_err(JanusError::Link)?;
                    *api = Some(started.api);
                    let url = started.url.clone();
                    let sfu = Sfu {
                        admin_key: started.admin_key.clone(),
                        public_url: public_url.clone().unwrap_or_else(|| url.clone()),
                        url,
                    };
                    tracing::info!(url = %sfu.url, "meeting service: Janus started");
                    *running = Some((started, sfu));
                }
                running.as_ref().map(|(_, sfu)| sfu).ok_or_else(|| JanusError::Link("no Janus".into()))
            }
        }
    }

    /// Whether it is there to talk to (a site's always is; ours once started and still running).
    fn running(&mut self) -> bool {
        match self {
            SfuSource::Site(_) => true,
            SfuSource::Started { running, .. } => running.as_mut().is_some_and(|(started, _)| started.runs()),
        }
    }

    /// The SFU's address as the sites reach it, once known.
    fn public_url(&self) -> Option<String> {
        match self {
            SfuSource::Site(sfu) => Some(sfu.public_url.clone()),
            SfuSource::Started { running, .. } => running.as_ref().map(|(_, sfu)| sfu.public_url.clone()),
        }
    }
}

impl MeetingService {
    /// Starts the service, following the hub at `hub` with a `center` token; its journal and
    /// key are in `dir`. Unless `settings` name a site's Janus, it starts one of its own in
    /// `DIR/janus` when the first meeting needs it: a Janus that cannot start is the trouble
    /// of each meeting command (said on the record), not of the server.
    pub fn start(
        settings: &MeetingSettings,
        (url, token, trust): (&str, &str, Option<streams::feed::tls::Trust>),
        dir: &Path,
        runtime: &tokio::runtime::Handle,
    ) -> Result<MeetingService, String> {
        let keys = Keys::open(dir)?;
        let public_url = settings.public_url.clone();
        let sfu = match &settings.sfu {
            SfuSetting::Janus { url, admin_key } => SfuSource::Site(Sfu {
                url: url.clone(),
                admin_key: admin_key.clone(),
                public_url: public_url.unwrap_or_else(|| url.clone()),
            }),
            SfuSetting::Started { ice_ip } => {
                SfuSource::Started { dir: dir.join("janus"), ice_ip: *ice_ip, public_url, running: None, api: None }
            }
        };
        let feed = crate::journal::follow(
            &dir.join("journal"),
            (url, token, Role::Center, trust),
            runtime,
            streams::no_waker(),
        )?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let service = Service {
            meetings: Meetings::default(),
            feed,
            sfu,
            keys,
            link: None,
            events_tx,
            rooms: HashMap::new(),
            generation: 0,
            closed: BTreeSet::new(),
            published: HashMap::new(),
        };
        let task = runtime.spawn(service.run(events));
        Ok(MeetingService { task })
    }
}

/// The session with Janus: its admin handle, and the task polling its events.
struct Link {
    session: Session,
    admin: u64,
    /// Counts sessions: what an earlier session's poller still sends is not this one's.
    generation: u64,
    poller: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.poller.abort();
        // Janus leaves its rooms for it (the observers go with it): asked when a runtime is
        // there to ask it on (not when the server is going down with it).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let session = self.session.clone();
            runtime.spawn(async move { session.close().await });
        }
    }
}

/// What the poller of one session (its generation) brings: the session's events, or why it
/// stopped.
type Polled = (u64, Result<Vec<Value>, JanusError>);

/// A meeting's room as the service last saw it at the SFU.
#[derive(Default)]
struct Room {
    /// The observer's handle, once it asked to join.
    observer: Option<u64>,
    /// The observer is in: `present` is the room's truth.
    watching: bool,
    /// Janus refused the observer, why, and when: said on the record, asked again after
    /// [`CHECK_EVERY`].
    refused: Option<(JanusError, Instant)>,
    /// The allowed list as Janus last answered it.
    allowed: Option<BTreeSet<String>>,
    /// The publishers in the room: participant → the mids of its audio streams.
    present: BTreeMap<u64, Vec<String>>,
    /// What moderation was set per participant and mid.
    moderated: HashMap<(u64, String), bool>,
}

struct Service {
    meetings: Meetings,
    feed: HubFeed,
    sfu: SfuSource,
    keys: Keys,
    link: Option<Link>,
    events_tx: mpsc::UnboundedSender<Polled>,
    rooms: HashMap<String, Room>,
    /// The generation of the newest Janus session.
    generation: u64,
    /// Closed meetings whose rooms were destroyed (or found gone).
    closed: BTreeSet<String>,
    /// What was sent to the hub and is not yet back in the log, by its key, with when.
    published: HashMap<String, Instant>,
}

impl Service {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Polled>) {
        for event in std::mem::take(&mut self.feed.restored) {
            self.meetings.on_event(&event);
        }
        let mut caught_up = false;
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                update = self.feed.updates.recv() => match update {
                    None => return,
                    Some(FeedUpdate::Event(event)) => {
                        self.meetings.on_event(&event);
                        let meeting = match &event.body {
                            Body::MeetingChaired(c) => Some(c.meeting.clone()),
                            Body::MeetingEnforced(e) => {
                                self.published.remove(&format!("enforced/{}/{}", e.meeting, e.command));
                                None
                            }
                            Body::MeetingPresence(p) => {
                                self.published.remove(&format!("presence/{}/{}/{}", p.meeting, p.site, p.present));
                                None
                            }
                            _ => None,
                        };
                        if caught_up && let Some(meeting) = meeting {
                            self.enforce(&meeting).await;
                        }
                    }
                    Some(FeedUpdate::Replayed { .. }) if !caught_up => {
                        caught_up = true;
                        // Meetings whose close was carried out are done: nothing to ask Janus.
                        let done = self.meetings.list.values().filter(|m| {
                            !m.is_open() && m.record.last().is_some_and(|r| r.enforced == Some(Ok(())))
                        });
                        self.closed.extend(done.map(|m| m.id.clone()));
                        tracing::info!(meetings = self.meetings.list.len(), "meeting service caught up");
                        self.enforce_all().await;
                    }
                    Some(_) => {}
                },
                Some(polled) = events.recv() => {
                    let touched = self.on_polled(polled);
                    for meeting in touched {
                        self.enforce(&meeting).await;
                    }
                }
                _ = tick.tick(), if caught_up => self.enforce_all().await,
            }
        }
    }

    async fn enforce_all(&mut self) {
        let ids: Vec<String> = self.meetings.list.keys().filter(|m| !self.closed.contains(*m)).cloned().collect();
        for id in ids {
            self.enforce(&id).await;
        }
    }

    /// Makes the SFU hold what the log says of `meeting`, and logs what came of each command
    /// not yet enforced.
    async fn enforce(&mut self, id: &str) {
        let errors = self.reconcile(id).await;
        let Some(meeting) = self.meetings.list.get(id) else { return };
        // Done means done in the room: while the observer is not in yet (moderation and kicks
        // wait for it), a command is not said to be carried out.
        let watched = !meeting.is_open() || self.rooms.get(id).is_some_and(|r| r.watching);
        if errors.is_empty() && !watched {
            return;
        }
        let room = self.keys.room(id);
        // The SFU's address goes with every command: a Janus started again has a new one.
        let sfu = self.sfu.public_url();
        let detail: String = errors.join("; ").chars().take(900).collect();
        let mut messages = vec![];
        for record in meeting.record.iter().filter(|r| r.enforced.is_none()) {
            let mut joins: Vec<SiteJoin> = match &record.action {
                MeetingAction::Open { sites, .. } | MeetingAction::Invite { sites } => {
                    let mut at: Vec<usize> =
                        sites.iter().filter_map(|s| meeting.sites.iter().position(|m| m.site.id == s.id)).collect();
                    at.sort_unstable();
                    at.dedup();
                    at.into_iter().map(|index| self.join_of(meeting, index)).collect()
                }
                _ => vec![],
            };
            if matches!(record.action, MeetingAction::Open { .. }) {
                let token = Some(self.keys.token(id, CHAIR));
                joins.push(SiteJoin { site: CHAIR.to_owned(), participant: CHAIR_PARTICIPANT, token });
                let token = Some(self.keys.token(id, WATCH));
                joins.push(SiteJoin { site: WATCH.to_owned(), participant: 0, token });
            }
            let enforced = MeetingEnforcement {
                meeting: id.to_owned(),
                command: record.seq,
                ok: errors.is_empty(),
                detail: detail.clone(),
                room: Some(room),
                sfu: sfu.clone(),
                joins,
            };
            messages.push((format!("enforced/{id}/{}", record.seq), Body::MeetingEnforced(enforced)));
        }
        for (key, body) in messages {
            self.publish(key, body);
        }
    }

    fn join_of(&self, meeting: &Meeting, index: usize) -> SiteJoin {
        let site = &meeting.sites[index].site.id;
        let token = Some(self.keys.token(&meeting.id, site));
        SiteJoin { site: site.clone(), participant: participant_of(index), token }
    }

    /// Sends `body` to the hub unless it was sent lately and is not back yet.
    fn publish(&mut self, key: String, body: Body) {
        let now = Instant::now();
        if self.published.get(&key).is_some_and(|at| now.duration_since(*at) < RESEND_AFTER) {
            return;
        }
        self.published.insert(key, now);
        self.feed.send(body);
    }

    /// The session with Janus, opened anew when there is none.
    async fn link(&mut self) -> Result<(Session, u64), JanusError> {
        if let Some(link) = &self.link {
            return Ok((link.session.clone(), link.admin));
        }
        let url = self.sfu.get().await?.url.clone();
        let session = Session::open(&url).await?;
        let admin = session.attach().await?;
        self.generation += 1;
        let generation = self.generation;
        let poller = {
            let (session, tx) = (session.clone(), self.events_tx.clone());
            tokio::spawn(async move {
                loop {
                    let polled = session.events().await;
                    let stop = polled.is_err();
                    if tx.send((generation, polled)).is_err() || stop {
                        return;
                    }
                }
            })
        };
        tracing::info!(%url, "meeting service: Janus session open");
        // Rooms are looked at afresh through this session.
        self.rooms.clear();
        self.link = Some(Link { session: session.clone(), admin, generation, poller });
        Ok((session, admin))
    }

    /// Brings `id`'s room to what the log says; returns what Janus refused.
    async fn reconcile(&mut self, id: &str) -> Vec<String> {
        let Some(meeting) = self.meetings.list.get(id).cloned() else { return vec![] };
        if self.closed.contains(id) {
            return vec![];
        }
        // A closed meeting's room in a Janus of ours that is not running is gone with it:
        // nothing to start Janus for.
        if !meeting.is_open() && !self.sfu.running() {
            self.rooms.remove(id);
            self.closed.insert(id.to_owned());
            return vec![];
        }
        let (session, admin) = match self.link().await {
            Ok(link) => link,
            Err(e) => return vec![e.to_string()],
        };
        let admin_key = match self.sfu.get().await {
            Ok(sfu) => sfu.admin_key.clone(),
            Err(e) => return vec![e.to_string()],
        };
        let number = self.keys.room(id);
        let secret = self.keys.secret(id);
        let mut errors = vec![];
        let mut lost = false;
        let mut note = |result: Result<Value, JanusError>, what: &str| -> Option<Value> {
            match result {
                Ok(answer) => Some(answer),
                Err(e) => {
                    lost |= e == JanusError::NoSession;
                    tracing::warn!(meeting = %id, %e, "{what}");
                    errors.push(format!("{what}: {e}"));
                    None
                }
            }
        };

        if !meeting.is_open() {
            let destroyed =
                session.request(admin, json!({"request": "destroy", "room": number, "secret": secret})).await;
            match destroyed {
                Ok(_) | Err(JanusError::Refused { code: NO_SUCH_ROOM, .. }) => {
                    self.rooms.remove(id);
                    self.closed.insert(id.to_owned());
                }
                other => {
                    note(other, "destroy");
                }
            }
            return self.settle(errors, lost);
        }

        if !self.rooms.contains_key(id) {
            let create = json!({
                "request": "create",
                "admin_key": admin_key,
                "room": number,
                "secret": secret,
                "description": meeting.title,
                "is_private": true,
                "publishers": streams::feed::meeting::MAX_SITES + 1,
                "allowed": [self.keys.observer(id)],
                // Receiving too only as a participant of the room (see `WATCH`): one put out
                // stops receiving.
                "require_pvtid": true,
                "audiolevel_event": true,
                "audio_active_packets": 50,
                "audio_level_average": 40,
                "videocodec": "h264,vp8",
                "audiocodec": "opus",
            });
            match session.request(admin, create).await {
                Ok(_) | Err(JanusError::Refused { code: ROOM_EXISTS, .. }) => {
                    self.rooms.insert(id.to_owned(), Room::default());
                }
                other => {
                    note(other, "create");
                    return self.settle(errors, lost);
                }
            }
        }

        // Who may join: the sites the log lets in, and the observer.
        let mut wanted: BTreeSet<String> = meeting
            .sites
            .iter()
            .filter(|s| meeting.allowed(&s.site.id))
            .map(|s| self.keys.token(id, &s.site.id))
            .collect();
        wanted.insert(self.keys.observer(id));
        wanted.insert(self.keys.token(id, CHAIR));
        wanted.insert(self.keys.token(id, WATCH));
        let known = self.rooms.get(id).and_then(|r| r.allowed.clone());
        if known.as_ref() != Some(&wanted) {
            let add = json!({"request": "allowed", "room": number, "secret": secret, "action": "add",
                "allowed": wanted.iter().collect::<Vec<_>>()});
            if let Some(answer) = note(session.request(admin, add).await, "allowed add") {
                let now: BTreeSet<String> = answer["allowed"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
                let extra: Vec<&String> = now.difference(&wanted).collect();
                let settled = if extra.is_empty() {
                    true
                } else {
                    let remove = json!({"request": "allowed", "room": number, "secret": secret, "action": "remove", "allowed": extra});
                    note(session.request(admin, remove).await, "allowed remove").is_some()
                };
                if settled && let Some(room) = self.rooms.get_mut(id) {
                    room.allowed = Some(wanted.clone());
                }
            }
        }

        // The observer: kicked first in case an earlier session's is still in; once refused,
        // asked again only after a pause, the refusal on the record meanwhile.
        if let Some((refusal, _)) = self.rooms.get(id).and_then(|r| r.refused.clone()) {
            note(Err(refusal), "observer");
        }
        let pausing =
            self.rooms.get(id).and_then(|r| r.refused.as_ref()).is_some_and(|(_, at)| at.elapsed() < CHECK_EVERY);
        if !pausing && self.rooms.get(id).is_some_and(|r| r.observer.is_none()) {
            let _ = session
                .request(admin, json!({"request": "kick", "room": number, "secret": secret, "id": OBSERVER}))
                .await;
            if let Some(handle) = note(session.attach().await.map(Value::from), "attach").and_then(|h| h.as_u64()) {
                let join = json!({"request": "join", "ptype": "publisher", "room": number, "id": OBSERVER,
                    "display": "联动指挥台", "token": self.keys.observer(id)});
                if note(session.send(handle, join).await.map(|()| Value::Null), "observer join").is_some()
                    && let Some(room) = self.rooms.get_mut(id)
                {
                    room.observer = Some(handle);
                }
            }
        }

        let Some(room) = self.rooms.get(id) else { return self.settle(errors, lost) };
        if room.watching {
            // Out: whoever is in and may not be.
            let site_at = |participant: u64| {
                meeting.sites.iter().enumerate().find(|(i, _)| participant_of(*i) == participant).map(|(_, s)| s)
            };
            let out: Vec<u64> = room
                .present
                .keys()
                .copied()
                .filter(|p| *p != CHAIR_PARTICIPANT && !site_at(*p).is_some_and(|s| meeting.allowed(&s.site.id)))
                .collect();
            // Heard or not: every audio stream of who is in.
            let mut moderation = vec![];
            for (participant, mids) in &room.present {
                let Some(site) = site_at(*participant).filter(|_| !out.contains(participant)) else { continue };
                let mute = !meeting.audible(&site.site.id);
                for mid in mids {
                    if room.moderated.get(&(*participant, mid.clone())) != Some(&mute) {
                        moderation.push((*participant, mid.clone(), mute));
                    }
                }
            }
            // Present or away, as the log should say: every site, and the chair's seat (the
            // sites' seats show its picture while it sends).
            let mut presence = vec![];
            let chair = (CHAIR, room.present.contains_key(&CHAIR_PARTICIPANT), meeting.chair_present);
            let sites = meeting.sites.iter().enumerate().map(|(index, site)| {
                let here = room.present.contains_key(&participant_of(index)) && !out.contains(&participant_of(index));
                (site.site.id.as_str(), here, site.present)
            });
            for (site, here, logged) in std::iter::once(chair).chain(sites) {
                if here != logged {
                    presence.push(MeetingPresence { meeting: id.to_owned(), site: site.to_owned(), present: here });
                }
            }
            for participant in out {
                let kick = json!({"request": "kick", "room": number, "secret": secret, "id": participant});
                if note(session.request(admin, kick).await, "kick").is_some()
                    && let Some(room) = self.rooms.get_mut(id)
                {
                    room.present.remove(&participant);
                }
            }
            for (participant, mid, mute) in moderation {
                let moderate = json!({"request": "moderate", "room": number, "secret": secret, "id": participant, "mid": mid, "mute": mute});
                if note(session.request(admin, moderate).await, "moderate").is_some()
                    && let Some(room) = self.rooms.get_mut(id)
                {
                    room.moderated.insert((participant, mid), mute);
                }
            }
            for p in presence {
                self.publish(format!("presence/{}/{}/{}", p.meeting, p.site, p.present), Body::MeetingPresence(p));
            }
        }
        self.settle(errors, lost)
    }

    /// Forgets the session when Janus no longer knows it (the next check opens a new one).
    fn settle(&mut self, errors: Vec<String>, lost: bool) -> Vec<String> {
        if lost {
            self.link = None;
        }
        errors
    }

    /// Takes in what the observers saw; returns the meetings to check again.
    fn on_polled(&mut self, (generation, polled): Polled) -> BTreeSet<String> {
        let mut touched = BTreeSet::new();
        if self.link.as_ref().map(|l| l.generation) != Some(generation) {
            return touched;
        }
        let mut gone = vec![];
        let events = match polled {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(%e, "meeting service: Janus events stopped; a new session follows");
                self.link = None;
                return touched;
            }
        };
        for event in events {
            let sender = event["sender"].as_u64();
            let Some((id, room)) = self.rooms.iter_mut().find(|(_, r)| r.observer.is_some() && r.observer == sender)
            else {
                continue;
            };
            touched.insert(id.clone());
            if matches!(event["janus"].as_str(), Some("hangup" | "detached")) {
                room.observer = None;
                room.watching = false;
                continue;
            }
            let data = &event["plugindata"]["data"];
            match data["videoroom"].as_str() {
                Some("joined") => {
                    room.watching = true;
                    room.refused = None;
                    room.present.clear();
                    add_publishers(room, &data["publishers"]);
                }
                // The room is gone behind our back: made again at the next check.
                Some("destroyed") => gone.push(id.clone()),
                Some("event") => {
                    if let Some(code) = data["error_code"].as_i64() {
                        tracing::warn!(meeting = %id, error = %data, "meeting service: the observer was refused");
                        let reason = data["error"].as_str().unwrap_or("refused").to_owned();
                        room.refused = Some((JanusError::Refused { code, reason }, Instant::now()));
                        room.observer = None;
                        room.watching = false;
                        touched.remove(id);
                        if code == NO_SUCH_ROOM {
                            gone.push(id.clone());
                        }
                    }
                    add_publishers(room, &data["publishers"]);
                    for gone in [&data["unpublished"], &data["leaving"], &data["kicked"]] {
                        if let Some(participant) = gone.as_u64() {
                            room.present.remove(&participant);
                            room.moderated.retain(|(p, _), _| *p != participant);
                        }
                    }
                    if data["leaving"] == "ok" {
                        room.observer = None;
                        room.watching = false;
                    }
                }
                _ => {}
            }
        }
        for id in gone {
            self.rooms.remove(&id);
        }
        touched
    }
}

/// Takes in a `publishers` list: each publisher's audio mids (moderation starts afresh for a
/// publisher that comes, or comes back).
fn add_publishers(room: &mut Room, publishers: &Value) {
    for publisher in publishers.as_array().into_iter().flatten() {
        let Some(participant) = publisher["id"].as_u64().filter(|p| *p != OBSERVER) else { continue };
        let mids = publisher["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["type"] == "audio" && s["disabled"] != true)
            .filter_map(|s| s["mid"].as_str().map(str::to_owned))
            .collect();
        room.moderated.retain(|(p, _), _| *p != participant);
        room.present.insert(participant, mids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_secrets_and_tokens_are_the_keys_own_and_differ_by_meeting_and_site() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::open(dir.path()).unwrap();
        let again = Keys::open(dir.path()).unwrap();
        assert_eq!(keys.room("M000001"), again.room("M000001"), "a restarted service finds its rooms");
        assert_eq!(keys.token("M000001", "u1"), again.token("M000001", "u1"));
        assert_ne!(keys.token("M000001", "u1"), keys.token("M000001", "u2"));
        assert_ne!(keys.token("M000001", "u1"), keys.token("M000002", "u1"));
        assert_ne!(keys.secret("M000001"), keys.token("M000001", "u1"));
        assert!(keys.room("M000001") < 1 << 48);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(Keys::open(other.path()).unwrap().token("M000001", "u1"), keys.token("M000001", "u1"));
    }

    #[test]
    fn publishers_are_taken_with_their_audio_mids_and_the_observer_left_out() {
        let mut room = Room::default();
        room.moderated.insert((101, "0".into()), true);
        let publishers = json!([
            {"id": 101, "display": "a", "streams": [{"type": "audio", "mid": "0"}, {"type": "video", "mid": "1"}]},
            {"id": 1, "display": "observer", "streams": []},
        ]);
        add_publishers(&mut room, &publishers);
        assert_eq!(room.present.len(), 1);
        assert_eq!(room.present[&101], ["0"]);
        assert!(room.moderated.is_empty(), "a publisher that comes back is moderated afresh");
    }
}
