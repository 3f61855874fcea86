//! The meeting's media at a seat: the pictures of its panes (received only while the meeting
//! panel is open, only those shown), the seat's own picture and voice when asked — the chair's,
//! and then the surveillance cameras pulled into the meeting, passed on from their RTSP streams
//! as they come; or a unit's seat's as its unit's site, which then receives the others as
//! itself —, and in the demo the simulated sites, each a publisher with its name on a moving
//! picture and a tone, that come back by themselves when they drop.
//!
//! Peers start asynchronously (a join takes a few hundred milliseconds); [`Peers::follow`] is
//! called every frame with what is wanted and starts, keeps, or drops accordingly. A peer that
//! failed or was lost is tried again after [`RETRY`].

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use streams::feed::SiteJoin;
use streams::meeting::{CAMERA_SITE, Member, Publisher, Room, Source, Subscriber, Voice};
use tokio::sync::oneshot;

use crate::core::Core;
use crate::core::meeting::Meeting;

/// A peer on its way into the room.
type Joining<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send>>;

/// A peer that failed or was lost is tried again after this.
pub const RETRY: Duration = Duration::from_secs(3);

/// Something that joined a room and can be lost.
pub trait Peer: Send + 'static {
    fn lost(&self) -> Option<String>;
}

impl Peer for Publisher {
    fn lost(&self) -> Option<String> {
        Publisher::lost(self)
    }
}

impl Peer for Member {
    fn lost(&self) -> Option<String> {
        Member::lost(self)
    }
}

impl Peer for Subscriber {
    fn lost(&self) -> Option<String> {
        Subscriber::lost(self)
    }
}

enum Slot<T> {
    Starting(oneshot::Receiver<Result<T, String>>),
    Up(T),
    Failed { why: String, since: Instant },
}

/// Peers by key, started and dropped as wanted.
pub struct Peers<K, T> {
    slots: HashMap<K, Slot<T>>,
}

impl<K, T> Default for Peers<K, T> {
    fn default() -> Self {
        Peers { slots: HashMap::new() }
    }
}

impl<K: Eq + Hash + Clone, T: Peer> Peers<K, T> {
    /// Keeps the peers of `wanted` (started by `start` when missing, again after [`RETRY`] when
    /// failed or lost) and drops the others.
    pub fn follow<F>(&mut self, wanted: Vec<(K, F)>, runtime: &tokio::runtime::Handle)
    where
        F: std::future::Future<Output = Result<T, String>> + Send + 'static,
    {
        let keys: Vec<K> = wanted.iter().map(|(k, _)| k.clone()).collect();
        // Peers no longer wanted are stopped off the UI thread: a pipeline's way down to Null
        // waits for its streaming threads.
        let gone: Vec<K> = self.slots.keys().filter(|k| !keys.contains(k)).cloned().collect();
        let mut gone: Vec<Slot<T>> = gone.iter().filter_map(|k| self.slots.remove(k)).collect();
        for (key, start) in wanted {
            let slot = self.slots.get_mut(&key);
            let restart = match slot {
                None => true,
                Some(Slot::Starting(rx)) => {
                    match rx.try_recv() {
                        Ok(Ok(peer)) => self.slots.insert(key.clone(), Slot::Up(peer)),
                        Ok(Err(why)) => {
                            tracing::warn!(%why, "meeting: a peer could not join");
                            self.slots.insert(key.clone(), Slot::Failed { why, since: Instant::now() })
                        }
                        Err(oneshot::error::TryRecvError::Empty) => None,
                        Err(oneshot::error::TryRecvError::Closed) => {
                            let why = "stopped while joining".to_owned();
                            self.slots.insert(key.clone(), Slot::Failed { why, since: Instant::now() })
                        }
                    };
                    false
                }
                Some(Slot::Up(peer)) => {
                    if let Some(why) = peer.lost() {
                        tracing::warn!(%why, "meeting: a peer was lost");
                        gone.extend(self.slots.insert(key.clone(), Slot::Failed { why, since: Instant::now() }));
                    }
                    false
                }
                Some(Slot::Failed { since, .. }) => since.elapsed() >= RETRY,
            };
            if restart {
                let (tx, rx) = oneshot::channel();
                runtime.spawn(async move {
                    let _ = tx.send(start.await);
                });
                self.slots.insert(key, Slot::Starting(rx));
            }
        }
        if !gone.is_empty() {
            runtime.spawn_blocking(move || drop(gone));
        }
    }

    pub fn get(&self, key: &K) -> Option<&T> {
        match self.slots.get(key) {
            Some(Slot::Up(peer)) => Some(peer),
            _ => None,
        }
    }

    /// Why the peer of `key` is not up, when it failed.
    pub fn trouble(&self, key: &K) -> Option<&str> {
        match self.slots.get(key) {
            Some(Slot::Failed { why, .. }) => Some(why),
            _ => None,
        }
    }
}

/// What the seat does in the open meeting.
#[derive(Default)]
pub struct MeetingMedia {
    /// The seat's receiving participant, by room.
    members: Peers<u64, Member>,
    /// The shown sites' pictures, by room, the member they belong to (a member joined again
    /// has another private id, and Janus stopped the old one's) and participant (ids repeat
    /// from room to room).
    watching: Peers<(u64, u64, u64), Subscriber>,
    /// The seat's own picture and voice (as the chair, or as its unit's site) and the
    /// cameras it passes on, by room and participant.
    sending: Peers<(u64, u64), Publisher>,
    /// The demo's simulated sites, by meeting and site.
    simulated: Peers<(String, String), Publisher>,
    /// The seat was asked to send its own, at the last follow (what it shows depends on it).
    sending_own: bool,
}

/// The room of a meeting, once the server made it.
fn room_of(meeting: &Meeting) -> Option<Room> {
    Some(Room { sfu: meeting.sfu.clone()?, room: meeting.room? })
}

impl MeetingMedia {
    /// Brings the peers to what this seat's meeting wants: pictures when `watch` (the panel
    /// is open), the seat's own picture when `send` (as `source`) with — at the chair's seat —
    /// the cameras pulled in (their main streams, from `cameras`), and with `simulate` (the
    /// demo) every site invited as a simulated one but those it names (the units a person
    /// plays). `waker` repaints on a new picture.
    pub fn follow(
        &mut self,
        core: &Core,
        (watch, send, simulate): (bool, Option<Source>, Option<&[String]>),
        cameras: &HashMap<String, crate::core::camera::StreamUris>,
        waker: &streams::Waker,
        runtime: &tokio::runtime::Handle,
    ) {
        let meeting = core.meeting();
        let room = meeting.and_then(room_of);
        // The room lets a seat of the center receive as its member, joined with the watch
        // token. Members first: a member lost this frame takes its subscriptions with it now.
        let mut members = vec![];
        let token = meeting.and_then(|m| m.watch_join.as_ref()?.token.clone()).filter(|_| watch);
        if let (Some(room), Some(token)) = (&room, token) {
            let (joining, handle) = (room.clone(), runtime.clone());
            members.push((room.room, async move { Member::join(&joining, &token, &handle).await }));
        }
        self.members.follow(members, runtime);
        let own = meeting.and_then(|m| core.own_join(m));
        let own_site = core.desk.unit.as_deref();
        self.sending_own = send.is_some();
        let mut watched = vec![];
        let mut sent = vec![];
        let mut sites = vec![];
        if let (Some(meeting), Some(room)) = (meeting, room) {
            // A unit's seat receives whenever it is in (its panel hidden or not): it is a site.
            if let Some(receiver) = self.receiver(core, room.room, own).filter(|_| watch || own_site.is_some()) {
                for s in meeting.panes(core.viewer(send.is_some())) {
                    let Some(join) = &s.join else { continue };
                    let (room, handle, waker) = (room.clone(), runtime.clone(), waker.clone());
                    let feed = join.participant;
                    watched.push(((room.room, receiver, feed), async move {
                        Subscriber::watch(&room, (feed, receiver), Voice::Speakers, waker, &handle).await
                    }));
                }
            }
            // The cameras pulled in go in with the chair's seat that sends, once its own
            // picture is in.
            let own_in = own.is_some_and(|j| self.sending.get(&(room.room, j.participant)).is_some());
            if send.is_some() && own_in && own_site.is_none() {
                for s in meeting.taking_part().filter(|s| meeting.allowed(&s.site.id)) {
                    let (Some(camera), Some((participant, token))) =
                        (s.site.id.strip_prefix(CAMERA_SITE), publishing(s.join.as_ref()))
                    else {
                        continue;
                    };
                    let Some(uri) = cameras.get(camera).map(|u| u.main.clone()) else { continue };
                    let key = (room.room, participant);
                    let (room, handle, name) = (room.clone(), runtime.clone(), s.site.name.clone());
                    let joining: Joining<Publisher> = Box::pin(async move {
                        let relay = Source::Relay { uri };
                        Publisher::join(&room, (participant, &token, &name), &relay, &handle).await
                    });
                    sent.push((key, joining));
                }
            }
            if let (Some(source), Some((participant, token))) = (send, publishing(own)) {
                let key = (room.room, participant);
                let (room, handle) = (room.clone(), runtime.clone());
                let display = seat_name(core).to_owned();
                let joining: Joining<Publisher> =
                    Box::pin(
                        async move { Publisher::join(&room, (participant, &token, &display), &source, &handle).await },
                    );
                sent.push((key, joining));
            }
            if let Some(staffed) = simulate {
                let people = meeting
                    .taking_part()
                    .filter(|s| !s.site.id.starts_with(CAMERA_SITE) && !staffed.contains(&s.site.id));
                for s in people.filter(|s| meeting.allowed(&s.site.id)) {
                    let Some((participant, token)) = publishing(s.join.as_ref()) else { continue };
                    let (room, handle) = (room.clone(), runtime.clone());
                    let source = simulated_site(&s.site.name, participant);
                    let name = s.site.name.clone();
                    sites.push(((meeting.id.clone(), s.site.id.clone()), async move {
                        Publisher::join(&room, (participant, &token, &name), &source, &handle).await
                    }));
                }
            }
        }
        self.watching.follow(watched, runtime);
        self.sending.follow(sent, runtime);
        self.simulated.follow(sites, runtime);
    }

    /// The private id this seat receives `room` as: a seat of the center its member's; a
    /// unit's seat (a site) its own, once its own picture is in (`own`: its join).
    fn receiver(&self, core: &Core, room: u64, own: Option<&SiteJoin>) -> Option<u64> {
        match core.desk.unit {
            None => self.members.get(&room).map(|m| m.private_id),
            Some(_) => self.sending.get(&(room, own?.participant)).map(|p| p.private_id),
        }
    }

    /// What the panel shows this frame of this seat's meeting: the pictures of its panes (or
    /// why they fail) and whether the seat's own picture is in the room.
    pub fn frame(&self, core: &Core) -> crate::ui::meeting::MeetingFrame {
        let mut frame = crate::ui::meeting::MeetingFrame::default();
        let Some(meeting) = core.meeting() else { return frame };
        let room = meeting.room.unwrap_or_default();
        let own = core.own_join(meeting);
        let receiver = self.receiver(core, room, own);
        let panes = meeting.panes(core.viewer(self.sending_own));
        for participant in panes.iter().filter_map(|s| s.join.as_ref().map(|j| j.participant)) {
            // Not in the room to receive: why, for every picture.
            let Some(receiver) = receiver else {
                if let Some(why) = self.members.trouble(&room) {
                    frame.troubles.insert(participant, why.to_owned());
                }
                continue;
            };
            let key = (room, receiver, participant);
            if self.watching.get(&key).is_some_and(Subscriber::talking) {
                frame.talking.insert(participant);
            }
            if let Some(picture) = self.watching.get(&key).and_then(|s| s.slot.newest()) {
                frame.pictures.insert(participant, picture);
            } else if let Some(why) = self.watching.trouble(&key) {
                frame.troubles.insert(participant, why.to_owned());
            }
        }
        frame.sending = match own.and_then(|j| self.sending.slots.get(&(room, j.participant))) {
            Some(Slot::Up(_)) => Some(Ok(())),
            Some(Slot::Failed { why, .. }) => Some(Err(why.clone())),
            _ => None,
        };
        frame
    }
}

/// A join's participant and token, when this seat was given the token (a seat that may chair,
/// or the site's own seat).
fn publishing(join: Option<&SiteJoin>) -> Option<(u64, String)> {
    join.and_then(|join| Some((join.participant, join.token.clone()?)))
}

/// The name this seat goes by in a meeting: its unit's, or the center's.
fn seat_name(core: &Core) -> &str {
    match &core.desk.unit {
        Some(unit) => crate::core::unit::name_of(&core.units, unit),
        None => &core.center,
    }
}

/// A simulated site's picture and voice: its name on a moving picture, a tone of its own.
fn simulated_site(name: &str, participant: u64) -> Source {
    let tone_hz = 300 + 40 * (participant % 16) as u32;
    Source::Test { label: name.to_owned(), width: 480, height: 270, fps: 15, tone_hz }
}

/// The seat's own source: the machine's camera when it has one, else a test picture with the
/// seat's name (its unit's, or the center's).
pub fn own_source(core: &Core) -> Source {
    if std::path::Path::new("/dev/video0").exists() {
        Source::Camera
    } else {
        Source::Test { label: seat_name(core).to_owned(), width: 640, height: 360, fps: 25, tone_hz: 880 }
    }
}
