//! The wire format: what travels in each WebSocket text frame.
//!
//! An [`Envelope`] wraps a [`Body`]; `kind` names the body's variant, so a frame reads
//! `{"v":1,"seq":7,"time":"…","kind":"incident_reported","body":{…}}`. Parsing is strict and
//! every failure says what was wrong ([`ParseError`]), because bad input is answered with a
//! reason, never dropped in silence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::camera_use::CameraUse;
use crate::channel_test::{ChannelTestRequest, ChannelTestResult};
use crate::handover::{DockedPeer, Handover, HandoverProgress};
use crate::meeting::{MeetingAction, MeetingCommand, MeetingEnforcement, MeetingPresence};
use crate::order::{DeliveryUpdate, DispatchRequest, Order, OrderChange, OrderEscalation, SatisfactionAsk};
use crate::roster::RosterChange;
use crate::work::{OrderProgress, UnitPosition, WorkOrder};

/// The protocol version this build speaks. A hello with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame the hub accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// One message on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Protocol version.
    pub v: u32,
    /// From the hub: the event's place in the log (0 for messages not logged, like heartbeats).
    /// From a client: its own counter.
    pub seq: u64,
    pub time: DateTime<Utc>,
    /// On a county's log: the township the event belongs to (absent for the county's own
    /// events and on a township's own log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub township: Option<String>,
    /// For an event its township numbered in its own log (a township on its own node, read
    /// from that log or from the county's that sources it): its place there. What is named
    /// after an event's place is named after this one and the township ([`Envelope::name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<u64>,
    #[serde(flatten)]
    pub body: Body,
}

/// Where the event an id was made from is logged: the township whose own log numbered it, if
/// the id names one (`t1/E000042`: a county's township that keeps its log on its own node, see
/// [`id_at`]), and its place in that log (`E000042`, `D000042`, `M000042` → 42). An id without
/// a township names a place in the log that numbered it: a township's own SQLite log, or the
/// county's stream.
pub fn logged_at(id: &str) -> Option<(Option<&str>, u64)> {
    let (township, id) = match id.rsplit_once('/') {
        Some((township, id)) if !township.is_empty() => (Some(township), id),
        Some(_) => return None,
        None => (None, id),
    };
    let digits = id.strip_prefix(['E', 'D', 'M'])?;
    let seq = digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse().ok()).flatten()?;
    Some((township, seq))
}

/// The id of kind `kind` (`E`, `D`, `M`) for the event at `seq` of the log of `township` (a
/// township keeping its own log, whose numbers overlap the county's: its name goes first), or
/// of the log that reads it (`None`).
pub fn id_at(kind: char, seq: u64, township: Option<&str>) -> String {
    match township {
        Some(township) => format!("{township}/{kind}{seq:06}"),
        None => format!("{kind}{seq:06}"),
    }
}

impl Envelope {
    pub fn new(seq: u64, body: Body) -> Envelope {
        Envelope { v: PROTOCOL_VERSION, seq, time: Utc::now(), township: None, origin: None, body }
    }

    /// This envelope as the event its place makes it ([`Envelope::name`]): an incident is
    /// named `E` + the sequence number, a meeting being opened `M` + it; every other body is
    /// as it was. A log numbers what it appends with this (the township's as it writes, the
    /// county's as it reads, since a JetStream stream gives the number only once the event is
    /// in), so every reader names alike.
    pub fn numbered(mut self) -> Envelope {
        let named = match &self.body {
            Body::IncidentReported(_) => Some(self.name('E')),
            Body::MeetingChaired(command) if matches!(command.action, MeetingAction::Open { .. }) => {
                Some(self.name('M'))
            }
            _ => None,
        };
        match (&mut self.body, named) {
            (Body::IncidentReported(incident), Some(id)) => incident.id = id,
            (Body::MeetingChaired(command), Some(id)) => command.meeting = id,
            _ => {}
        }
        self
    }

    /// The id of kind `kind` (`E` incident, `D` order, `H` hand-over, `M` meeting) named after
    /// this event's place: in its township's own log (`t1/D000042`, [`Envelope::origin`]), or
    /// in the log it is read from (`D000042`).
    pub fn name(&self, kind: char) -> String {
        id_at(kind, self.numbered_at(), self.origin.and(self.township.as_deref()))
    }

    /// The place the log that numbered this event gave it: its township's own log's
    /// ([`Envelope::origin`]), else the one it is read from — the same for every reader, where
    /// `seq` is not (what refers to an event by number refers to this).
    pub fn numbered_at(&self) -> u64 {
        self.origin.unwrap_or(self.seq)
    }

    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Envelope, ParseError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(ParseError::TooLarge { bytes: text.len() });
        }
        let envelope: Envelope = serde_json::from_str(text).map_err(|e| ParseError::Malformed(e.to_string()))?;
        if envelope.v != PROTOCOL_VERSION {
            return Err(ParseError::Version(envelope.v));
        }
        match &envelope.body {
            Body::Report(report) => report.validate()?,
            Body::IssueOrder(order) | Body::OrderIssued(order) => order.validate()?,
            Body::Progress(progress) | Body::OrderProgressed(progress) => progress.validate()?,
            Body::UpdateIncident(update) | Body::IncidentUpdated(update) => update.validate()?,
            Body::Dispatch(request) | Body::DispatchRequested(request) => request.validate()?,
            Body::ChangeOrder(change) | Body::OrderChanged(change) => change.validate()?,
            Body::OrderCreated(order) => order.validate()?,
            Body::Position(p) | Body::UnitMoved(p) => p.validate()?,
            Body::TownshipLinked(link) => check_key("township", &link.township)?,
            Body::SetRoster(r) | Body::RosterSet(r) => r.check()?,
            Body::TestChannels(t) | Body::ChannelTestRequested(t) => t.check()?,
            Body::HandOver(h) | Body::HandedOver(h) => h.check()?,
            Body::HandoverProgressed(p) => p.check()?,
            Body::UseCamera(u) | Body::CameraUsed(u) => u.check()?,
            Body::ChairMeeting(c) | Body::MeetingChaired(c) => c.check()?,
            Body::MeetingEnforced(e) => e.check()?,
            Body::MeetingPresence(p) => {
                check_key("meeting", &p.meeting)?;
                check_key("site", &p.site)?;
            }
            Body::PeersDocked { peers } => {
                if peers.len() > 50 {
                    return Err(ParseError::Invalid("at most 50 docked peers".into()));
                }
                for peer in peers {
                    check_key("peer id", &peer.id)?;
                    check_key("peer name", &peer.name)?;
                }
            }
            _ => {}
        }
        Ok(envelope)
    }

    /// The command key of a frame that is well-formed but fails the checks (a note too long, a
    /// field out of range): the refusal names it, so the sender drops the command from its
    /// durable queue instead of sending it again for ever.
    pub fn command_key_of(text: &str) -> Option<String> {
        if text.len() > MAX_FRAME_BYTES {
            return None;
        }
        serde_json::from_str::<Envelope>(text).ok()?.body.command_key()
    }

    pub fn to_text(&self) -> String {
        // Serialising our own types to JSON cannot fail: no maps with non-string keys.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a message says. The variant name is the envelope's `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Body {
    /// Client → hub, first message: who I am and the last sequence number I have.
    Hello { token: String, role: Role, since: u64 },
    /// Seat → hub, the first and only message of a login exchange: a person's name and
    /// password. The hub answers `welcome` with a `session` token (then closes), or a fatal
    /// `unauthorized` error; the seat then says `hello` with the session token as its token.
    Login { user: String, password: String },
    /// Hub → client: accepted; `head` is the newest sequence number in the log. For a person,
    /// their role at the center; after a login, the session token.
    Welcome {
        client: String,
        role: Role,
        head: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat: Option<SeatRole>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Where the hub's files endpoint is (`http(s)://host:port`): attachments go up and come
        /// down there, with the same token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files: Option<String>,
        /// For a person of a linked unit: the unit their seat works for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// Hub → client: the replay of events after `since` is complete; live events follow.
    Replayed { head: u64 },
    /// Field terminal / bridge → hub: a new incident.
    Report(IncidentReport),
    /// Hub → clients (logged): an incident was accepted into the log.
    IncidentReported(Incident),
    /// Console → hub: the duty officer has seen this incident's alarm.
    Acknowledge { incident: String },
    /// Hub → clients (logged): an alarm was acknowledged, by whom. Every console stops ringing
    /// for it, and a console that restarts does not ring for it again.
    AlarmAcknowledged { incident: String, by: String },
    /// Console → hub: the duty officer writes a note on an incident or sets its status by hand
    /// (closes a false or duplicate report, opens it again). Logged once per `key`.
    UpdateIncident(IncidentUpdate),
    /// Hub → clients (logged): the update, with `by` filled in from the sender's token.
    IncidentUpdated(IncidentUpdate),
    /// A console's dispatcher → hub: a work order for one linked unit. Logged once per `key`;
    /// the sender gets the logged `order_issued` back, also for a repeat.
    IssueOrder(WorkOrder),
    /// Hub → every console and the addressed unit's terminals (logged).
    OrderIssued(WorkOrder),
    /// Unit terminal → hub: a step on an order (received, acknowledged, on scene…).
    Progress(OrderProgress),
    /// Hub → every console (logged, once per order, unit and step).
    OrderProgressed(OrderProgress),
    /// Center → hub → clients (logged once per incident and level): no seat acknowledged an
    /// alarm in time, so the center paged the on-call officer on duty (then the leader) by SMS
    /// and radio.
    AlarmPaged(Page),
    /// Center → hub: a paged person answered the page's SMS. Logged as `alarm_acknowledged`
    /// (once per incident, like a seat's acknowledgement), `by` naming them.
    PageAnswered { incident: String, by: String },
    /// Seat → hub: a three-in-one dispatch for the center's server to carry out. Logged once per
    /// sender and `key`.
    Dispatch(DispatchRequest),
    /// Hub → clients (logged): the dispatch as asked, with `by`. The center's server answers it
    /// with `order_created`, the order's id being `D` and this event's sequence number.
    DispatchRequested(DispatchRequest),
    /// Center → hub → clients (logged once per order id): the order as the center built it —
    /// every unit, channel, deadline and text.
    OrderCreated(Order),
    /// Center → hub → clients (logged once per message key and state): a message of an order
    /// was sent, delivered, or failed (once per attempt).
    DeliveryUpdated(DeliveryUpdate),
    /// Center → hub → clients (logged once per order, unit and clock): a clock was missed (or
    /// a reminder is due) and the order went out again.
    OrderEscalated(OrderEscalation),
    /// Center → hub → clients (logged once per order): the reporter was asked by SMS for the
    /// satisfaction; the answer closes the order.
    SatisfactionAsked(SatisfactionAsk),
    /// Seat (or the center, for an SMS answer) → hub: close, reopen or archive an order.
    ChangeOrder(OrderChange),
    /// Hub → clients (logged once per sender and key): the change, with `by`. It takes effect
    /// where the order's stage allows it, the same on every seat.
    OrderChanged(OrderChange),
    /// An admin's seat → hub: a unit's duty roster (its A and B posts), replacing the one in
    /// force. Logged once per sender and key.
    SetRoster(RosterChange),
    /// Hub → clients (logged): the roster, with `by`. Every seat and the center's server take it
    /// over the config's from then on.
    RosterSet(RosterChange),
    /// A duty officer's seat (or the center's schedule) → hub: test the units' channels now.
    /// Logged once per sender and key.
    TestChannels(ChannelTestRequest),
    /// Hub → clients (logged): the test asked for, with `by`; the center's server sends each
    /// channel of each unit a test message, run `T` + this event's sequence number.
    ChannelTestRequested(ChannelTestRequest),
    /// Center → hub → clients (logged once per message and outcome): what a test message did.
    ChannelTested(ChannelTestResult),
    /// A duty officer's seat → hub: hand an incident over to a bridged system (转办 to the
    /// 12345 platform, 退回 to the 110 center it came from). Logged once per sender and key.
    HandOver(Handover),
    /// Hub → clients (logged): the hand-over, with `by`; its id is `H` + this sequence number.
    /// The center's bridge carries it to the peer.
    HandedOver(Handover),
    /// Bridge → hub → clients (logged once per hand-over and state): what the peer said of it.
    HandoverProgressed(HandoverProgress),
    /// Bridge → hub → clients (logged when the list changes): the systems the center's bridge
    /// docks with; seats offer hand-overs to these.
    PeersDocked { peers: Vec<DockedPeer> },
    /// Seat → hub: a camera was turned, or a clip of it kept (see [`crate::camera_use`]).
    /// Logged once per sender and key.
    UseCamera(CameraUse),
    /// Hub → clients (logged): the use, with `by`.
    CameraUsed(CameraUse),
    /// Seat → hub: a meeting's chair acts, or a site about itself (see [`crate::meeting`]).
    /// Logged once per sender and key.
    ChairMeeting(MeetingCommand),
    /// Hub → clients (logged): the command, with `by`; an opening names its meeting `M` + this
    /// sequence number. The center's server enforces it at the SFU.
    MeetingChaired(MeetingCommand),
    /// Center → hub → clients (logged once per command): what the SFU made of a command.
    MeetingEnforced(MeetingEnforcement),
    /// Center → hub → clients (logged): a site came into a meeting's room or left it.
    MeetingPresence(MeetingPresence),
    /// Unit terminal (or a unit's seat) → hub: where the unit (its vehicle) is now. Not logged:
    /// the hub keeps the newest per unit, takes one every few seconds per connection and passes
    /// it on as `unit_moved`.
    Position(UnitPosition),
    /// Hub → consoles and the center (not logged, `seq` 0): a unit's newest position, with the
    /// hub's time; after the replay the hub sends the newest of every unit.
    UnitMoved(UnitPosition),
    /// Hub → consoles and the center of the whole county (not logged, `seq` 0): whether a township on its own
    /// node can be reached from the county, whenever that changes; after the replay the hub
    /// sends every such township's.
    TownshipLinked(crate::TownshipLink),
    /// Hub → consoles and the center of a township on its own node (not logged, `seq` 0):
    /// whether the county hears the township, whenever that changes; after the replay the hub
    /// sends it.
    CountyLinked(crate::CountyLink),
    /// Either way, every few seconds: I am alive.
    Heartbeat,
    /// Hub → client: a refusal, with the reason. `fatal` means the hub closes the connection.
    /// `key` names the command refused (its `Body::command_key`), so a seat can tell which of
    /// its queued commands will never be logged.
    Error {
        code: ErrorCode,
        reason: String,
        fatal: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
}

impl Body {
    /// The envelope's `kind` for this body, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Hello { .. } => "hello",
            Body::Login { .. } => "login",
            Body::Welcome { .. } => "welcome",
            Body::Replayed { .. } => "replayed",
            Body::Report(_) => "report",
            Body::IncidentReported(_) => "incident_reported",
            Body::Acknowledge { .. } => "acknowledge",
            Body::AlarmAcknowledged { .. } => "alarm_acknowledged",
            Body::UpdateIncident(_) => "update_incident",
            Body::IncidentUpdated(_) => "incident_updated",
            Body::IssueOrder(_) => "issue_order",
            Body::OrderIssued(_) => "order_issued",
            Body::Progress(_) => "progress",
            Body::OrderProgressed(_) => "order_progressed",
            Body::AlarmPaged(_) => "alarm_paged",
            Body::PageAnswered { .. } => "page_answered",
            Body::Dispatch(_) => "dispatch",
            Body::DispatchRequested(_) => "dispatch_requested",
            Body::OrderCreated(_) => "order_created",
            Body::DeliveryUpdated(_) => "delivery_updated",
            Body::OrderEscalated(_) => "order_escalated",
            Body::SatisfactionAsked(_) => "satisfaction_asked",
            Body::ChangeOrder(_) => "change_order",
            Body::OrderChanged(_) => "order_changed",
            Body::TestChannels(_) => "test_channels",
            Body::ChannelTestRequested(_) => "channel_test_requested",
            Body::ChannelTested(_) => "channel_tested",
            Body::HandOver(_) => "hand_over",
            Body::HandedOver(_) => "handed_over",
            Body::HandoverProgressed(_) => "handover_progressed",
            Body::PeersDocked { .. } => "peers_docked",
            Body::UseCamera(_) => "use_camera",
            Body::CameraUsed(_) => "camera_used",
            Body::ChairMeeting(_) => "chair_meeting",
            Body::MeetingChaired(_) => "meeting_chaired",
            Body::MeetingEnforced(_) => "meeting_enforced",
            Body::MeetingPresence(_) => "meeting_presence",
            Body::SetRoster(_) => "set_roster",
            Body::RosterSet(_) => "roster_set",
            Body::Position(_) => "position",
            Body::UnitMoved(_) => "unit_moved",
            Body::TownshipLinked(_) => "township_linked",
            Body::CountyLinked(_) => "county_linked",
            Body::Heartbeat => "heartbeat",
            Body::Error { .. } => "error",
        }
    }
}

impl Body {
    /// The logged event a command is about, by its id — an incident (`E…`, acknowledged,
    /// updated, dispatched, handed over), an order (`D…`, changed, a unit's step), a meeting
    /// (`M…`, or the incident one is opened for): on a county's log the command belongs to
    /// that event's township.
    pub fn about(&self) -> Option<&str> {
        match self {
            Body::Acknowledge { incident } => Some(incident),
            Body::UpdateIncident(u) => Some(&u.incident),
            Body::Dispatch(r) => Some(&r.draft.incident),
            Body::ChangeOrder(c) => Some(&c.order),
            Body::Progress(p) => Some(&p.order),
            Body::HandOver(h) => Some(&h.incident),
            Body::ChairMeeting(c) => match &c.action {
                MeetingAction::Open { incident, .. } => incident.as_deref(),
                _ => Some(&c.meeting),
            },
            _ => None,
        }
    }
}

impl Body {
    /// A change of an order made on the order as its sender saw it: the order, and where its
    /// last change was logged then ([`OrderChange::seen`]). A log takes it only while that is
    /// still the order's last change.
    pub fn seen_change(&self) -> Option<(&str, u64)> {
        match self {
            Body::OrderChanged(c) => c.seen.map(|seen| (c.order.as_str(), seen)),
            _ => None,
        }
    }

    /// For a command a seat keeps in its durable queue until the log has it: the key that
    /// names it there (`None` for every other message).
    pub fn command_key(&self) -> Option<String> {
        match self {
            Body::Acknowledge { incident } => Some(format!("ack/{incident}")),
            Body::UpdateIncident(u) => Some(format!("update/{}", u.key)),
            Body::Dispatch(r) => Some(format!("dispatch/{}", r.key)),
            Body::ChangeOrder(c) => Some(format!("change/{}", c.key)),
            Body::Progress(p) => Some(p.command_key()),
            Body::SetRoster(r) => Some(format!("roster/{}", r.key)),
            Body::TestChannels(t) => Some(format!("test/{}", t.key)),
            Body::HandOver(h) => Some(format!("handover/{}", h.key)),
            Body::HandoverProgressed(p) => Some(p.command_key()),
            Body::UseCamera(u) => Some(format!("camera/{}", u.key)),
            Body::ChairMeeting(c) => Some(format!("meeting/{}", c.key)),
            _ => None,
        }
    }

    /// For a logged event: the key of the command it settles (see [`Body::command_key`]).
    /// An acknowledgement settles every seat's acknowledgement of that incident: the first one
    /// logged is the one that counts.
    pub fn settles(&self) -> Option<String> {
        match self {
            Body::AlarmAcknowledged { incident, .. } => Some(format!("ack/{incident}")),
            Body::IncidentUpdated(u) => Some(format!("update/{}", u.key)),
            Body::DispatchRequested(r) => Some(format!("dispatch/{}", r.key)),
            Body::OrderChanged(c) => Some(format!("change/{}", c.key)),
            Body::OrderProgressed(p) => Some(p.command_key()),
            Body::RosterSet(r) => Some(format!("roster/{}", r.key)),
            Body::ChannelTestRequested(t) => Some(format!("test/{}", t.key)),
            Body::HandedOver(h) => Some(format!("handover/{}", h.key)),
            Body::HandoverProgressed(p) => Some(p.command_key()),
            Body::CameraUsed(u) => Some(format!("camera/{}", u.key)),
            Body::MeetingChaired(c) => Some(format!("meeting/{}", c.key)),
            _ => None,
        }
    }
}

/// Who a client is; the hub checks it against the client's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A duty officer's console: reads every event.
    Console,
    /// A linked unit's terminal: receives orders, acknowledges them.
    UnitTerminal,
    /// A grid worker's handheld: reports incidents.
    FieldTerminal,
    /// A bridge from another system (110 center, hotlines): reports incidents.
    Bridge,
    /// The center's order channel: issues work orders to unit terminals, streams nothing.
    Dispatcher,
    /// The center's dispatch service: follows the whole log and logs what it does with the
    /// orders (created, delivered, escalated, closed by SMS).
    Center,
}

impl Role {
    /// Whether this role may report incidents.
    pub fn may_report(self) -> bool {
        matches!(self, Role::FieldTerminal | Role::Bridge | Role::Console)
    }

    /// Whether this role reads the whole log (replay and live).
    pub fn streams_events(self) -> bool {
        matches!(self, Role::Console | Role::Bridge | Role::Center)
    }
}

/// Who an unanswered alarm reaches, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageLevel {
    /// The on-call officer on duty at that hour.
    OnCall,
    /// The leader on duty.
    Leader,
}

/// A page: an alarm no seat acknowledged, sent to a person by SMS (and radio where they have
/// one); answering the SMS acknowledges the alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub incident: String,
    pub level: PageLevel,
    /// The person's name.
    pub to: String,
    pub mobiles: Vec<String>,
    /// Their radio gateway (talk-group), `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<String>,
}

/// What a person at a seat is at the center; the hub refuses what their role may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatRole {
    /// 值班员: watches, classifies, dispatches, follows up.
    DutyOfficer,
    /// 领导: reads the board, chairs meetings; acknowledges and writes notes, does not dispatch.
    Leader,
    /// 值守: watches tier-1 events round the clock; acknowledges and writes notes.
    OnCall,
    /// Everything a duty officer may, and the center's settings.
    Admin,
    /// 联动单位: a person at a linked unit's sub-center; their seat is their unit's (its
    /// orders, to sign for and report back on), not the center's.
    Unit,
}

impl SeatRole {
    pub const ALL: [SeatRole; 5] =
        [SeatRole::DutyOfficer, SeatRole::Leader, SeatRole::OnCall, SeatRole::Admin, SeatRole::Unit];

    pub fn code(self) -> &'static str {
        match self {
            SeatRole::DutyOfficer => "duty_officer",
            SeatRole::Leader => "leader",
            SeatRole::OnCall => "on_call",
            SeatRole::Admin => "admin",
            SeatRole::Unit => "unit",
        }
    }

    pub fn from_code(code: &str) -> Option<SeatRole> {
        SeatRole::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Dispatches, changes orders, closes incidents by hand, reports at the duty desk.
    pub fn may_dispatch(self) -> bool {
        matches!(self, SeatRole::DutyOfficer | SeatRole::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON or not a known message.
    Malformed,
    /// The frame was larger than the limit.
    TooLarge,
    /// Unknown token, or a role the token does not allow.
    Unauthorized,
    /// The first message was not `hello`, or a second `hello` came.
    Protocol,
    /// The message was well-formed but its content is refused (e.g. coordinates out of range).
    Invalid,
    /// The client is falling behind the live stream (a warning), or fell too far and is cut off
    /// (`fatal`).
    TooSlow,
    /// The client sends more messages than its token allows; the message was not logged.
    RateLimited,
    /// The hub could not store the event.
    Internal,
    /// What the command would change changed since its sender saw it (another seat changed
    /// the order first); it is not logged. The sender looks again before deciding anew.
    Conflict,
}

/// How urgent an incident is; `Critical` is what on-call staff must never miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// A grid worker's terminal.
    Field,
    /// The public-security 110 command center.
    Hotline110,
    /// The 12345 government service hotline.
    Hotline12345,
    /// A camera alarm.
    Camera,
    /// Entered at the duty desk.
    DutyDesk,
}

/// Coordinate reference of a location. GCJ-02 is what most Chinese map SDKs produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinateSystem {
    #[default]
    Wgs84,
    Gcj02,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub crs: CoordinateSystem,
}

/// A report as a terminal sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// Chosen by the sender, unique per sender: a report sent twice is logged once.
    pub report_id: String,
    /// A kind code from the incident-kind list (assets/demo/incident_kinds.toml).
    pub kind: String,
    pub severity: Severity,
    pub location: Location,
    /// The grid the reporter believes it is in; the console checks it against the map.
    #[serde(default)]
    pub grid: Option<String>,
    pub reporter: String,
    /// The reporter's mobile: the center asks there for the satisfaction when the order is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_mobile: Option<String>,
    pub source: ReportSource,
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl IncidentReport {
    /// Checks what JSON types cannot: ranges, lengths, required text.
    pub fn validate(&self) -> Result<(), ParseError> {
        let invalid = |what: &str| Err(ParseError::Invalid(what.to_owned()));
        if self.report_id.trim().is_empty() || self.report_id.len() > 128 {
            return invalid("report_id must be 1–128 characters");
        }
        if self.kind.trim().is_empty() || self.kind.len() > 64 {
            return invalid("kind must be 1–64 characters");
        }
        let Location { lon, lat, .. } = self.location;
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return invalid("location out of range (lon −180…180, lat −90…90)");
        }
        if self.text.chars().count() > 4000 {
            return invalid("text longer than 4000 characters");
        }
        if self.attachments.len() > 20 {
            return invalid("more than 20 attachments");
        }
        if let Some(m) = &self.reporter_mobile
            && (m.is_empty() || m.len() > 20 || !m.chars().all(|c| c.is_ascii_digit() || c == '+'))
        {
            return invalid("reporter_mobile must be digits (and +), at most 20");
        }
        Ok(())
    }
}

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    Dispatched,
    Handling,
    Closed,
}

/// An incident as the hub logged it: the report, an id and the time it was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub reported_at: DateTime<Utc>,
    pub status: IncidentStatus,
    #[serde(flatten)]
    pub report: IncidentReport,
}

/// A duty officer's change to an incident: a note, a status, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// The console's idempotency key: a resend after a reconnect is logged once.
    pub key: String,
    pub incident: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who made it: set by the hub from the sender's token (whatever the sender put here).
    #[serde(default)]
    pub by: String,
}

impl IncidentUpdate {
    fn validate(&self) -> Result<(), ParseError> {
        let invalid = |what: &str| Err(ParseError::Invalid(what.to_owned()));
        if self.key.trim().is_empty() || self.key.len() > 128 || self.incident.trim().is_empty() {
            return invalid("key (1–128 characters) and incident are required");
        }
        match &self.note {
            None if self.status.is_none() => invalid("an update needs a status or a note"),
            Some(note) if note.trim().is_empty() || note.chars().count() > 2000 => {
                invalid("a note must be 1–2000 characters")
            }
            _ => Ok(()),
        }
    }
}

/// The WebSocket close codes the hub ends a connection with (RFC 6455 §7.4.1). Every fatal
/// refusal is an `error` frame first, then a close with the code its [`ErrorCode::close_code`]
/// gives; the close's reason repeats the error's, cut to the 123 bytes a close frame holds.
pub mod close {
    /// A login answered (`welcome` sent), or a client silent for three heartbeats.
    pub const NORMAL: u16 = 1000;
    /// The hub is stopping; connect again (to another hub, if configured).
    pub const GOING_AWAY: u16 = 1001;
    /// A fatal refusal of what the client sent: `malformed`, `unauthorized`, `protocol`,
    /// `invalid`, `rate_limited`. Sending the same again will be refused again.
    pub const POLICY: u16 = 1008;
    /// `too_large`: a frame over the protocol's limit.
    pub const TOO_BIG: u16 = 1009;
    /// `internal`: the hub could not go on with this connection.
    pub const INTERNAL: u16 = 1011;
    /// `too_slow`: cut off for falling behind; connect again with `since`.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

impl ErrorCode {
    /// The close code that follows this refusal when it is fatal.
    pub fn close_code(self) -> u16 {
        match self {
            ErrorCode::TooLarge => close::TOO_BIG,
            ErrorCode::TooSlow => close::TRY_AGAIN_LATER,
            ErrorCode::Internal => close::INTERNAL,
            ErrorCode::Malformed
            | ErrorCode::Unauthorized
            | ErrorCode::Protocol
            | ErrorCode::Invalid
            | ErrorCode::Conflict
            | ErrorCode::RateLimited => close::POLICY,
        }
    }

    /// Whether the same message sent again can never be logged (a role that may not, content
    /// out of range); a rate limit or a store failure passes, so the message is sent again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ErrorCode::Malformed
                | ErrorCode::TooLarge
                | ErrorCode::Unauthorized
                | ErrorCode::Protocol
                | ErrorCode::Invalid
                | ErrorCode::Conflict
        )
    }
}

/// A key or id field: 1–128 characters.
pub(crate) fn check_key(name: &str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() || value.len() > 128 {
        return Err(ParseError::Invalid(format!("{name} must be 1–128 characters")));
    }
    Ok(())
}

impl DispatchRequest {
    fn validate(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        check_key("incident", &self.draft.incident)?;
        if self.draft.units.is_empty() || self.draft.units.len() > 50 {
            return Err(ParseError::Invalid("a dispatch names 1–50 units".into()));
        }
        for (unit, channels) in &self.draft.units {
            check_key("unit", unit)?;
            if channels.is_empty() {
                return Err(ParseError::Invalid(format!("unit {unit}: no channel")));
            }
        }
        let t = &self.draft.texts;
        if [&t.order, &t.sms, &t.radio].iter().any(|text| text.chars().count() > 2000) {
            return Err(ParseError::Invalid("a dispatch text is longer than 2000 characters".into()));
        }
        Ok(())
    }
}

impl OrderChange {
    fn validate(&self) -> Result<(), ParseError> {
        check_key("key", &self.key)?;
        check_key("order", &self.order)?;
        match self.change {
            crate::order::Change::Close { satisfaction } if !(1..=5).contains(&satisfaction) => {
                Err(ParseError::Invalid("satisfaction must be 1–5".into()))
            }
            _ => Ok(()),
        }
    }
}

impl Order {
    fn validate(&self) -> Result<(), ParseError> {
        check_key("order id", &self.id)?;
        check_key("incident", &self.incident)?;
        if self.units.len() > 50 {
            return Err(ParseError::Invalid("an order has at most 50 units".into()));
        }
        Ok(())
    }
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("frame of {bytes} bytes is over the limit of {MAX_FRAME_BYTES}")]
    TooLarge { bytes: usize },
    #[error("protocol version {0} is not supported (this build speaks {PROTOCOL_VERSION})")]
    Version(u32),
    #[error("invalid content: {0}")]
    Invalid(String),
}

impl ParseError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ParseError::Malformed(_) | ParseError::Version(_) => ErrorCode::Malformed,
            ParseError::TooLarge { .. } => ErrorCode::TooLarge,
            ParseError::Invalid(_) => ErrorCode::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> IncidentReport {
        IncidentReport {
            report_id: "w1-1".into(),
            kind: "dispute".into(),
            severity: Severity::Medium,
            location: Location { lon: 120.1, lat: 30.2, crs: CoordinateSystem::Wgs84 },
            grid: Some("DW-01".into()),
            reporter: "王芳".into(),
            reporter_mobile: None,
            source: ReportSource::Field,
            text: "邻里噪音纠纷".into(),
            attachments: vec![],
        }
    }

    #[test]
    fn an_envelope_survives_a_round_trip_with_kind_and_body() {
        let env = Envelope::new(3, Body::Report(report()));
        let text = env.to_text();
        assert!(text.contains(r#""kind":"report""#), "{text}");
        assert_eq!(Envelope::parse(&text).unwrap(), env);
    }

    #[test]
    fn a_change_says_where_it_saw_the_order_and_one_from_an_older_seat_says_nothing() {
        let older = r#"{"v":1,"seq":1,"time":"2026-11-28T08:00:00Z","kind":"change_order","body":{"key":"k","order":"D000046","change":"archive"}}"#;
        let Body::ChangeOrder(change) = Envelope::parse(older).unwrap().body else { panic!("not a change") };
        assert_eq!(change.seen, None);
        let seen = Envelope::new(2, Body::OrderChanged(OrderChange { seen: Some(81), ..change }));
        let text = seen.to_text();
        assert!(text.contains(r#""seen":81"#), "{text}");
        assert_eq!(Envelope::parse(&text).unwrap().body.seen_change(), Some(("D000046", 81)));
        assert!(ErrorCode::Conflict.is_final(), "a seat does not send a change made too late again");
    }

    #[test]
    fn garbage_and_unknown_kinds_are_malformed_with_a_reason() {
        assert!(matches!(Envelope::parse("{"), Err(ParseError::Malformed(_))));
        let unknown = r#"{"v":1,"seq":1,"time":"2026-11-28T08:00:00Z","kind":"nope","body":{}}"#;
        let err = Envelope::parse(unknown).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn coordinates_out_of_range_are_refused() {
        let mut bad = report();
        bad.location.lat = 91.0;
        let text = Envelope::new(1, Body::Report(bad)).to_text();
        assert_eq!(Envelope::parse(&text).unwrap_err().code(), ErrorCode::Invalid);
    }

    /// Found by the parser fuzz (streams/tests/parser_fuzz.rs): without serde_json's
    /// `float_roundtrip`, this longitude came back one unit in the last place off.
    #[test]
    fn coordinates_survive_a_round_trip_to_the_last_bit() {
        let mut r = report();
        r.location.lon = -117.38071196286425;
        let env = Envelope::new(1, Body::Report(r));
        assert_eq!(Envelope::parse(&env.to_text()).unwrap(), env);
    }

    #[test]
    fn an_id_made_from_a_place_in_the_log_gives_it_back() {
        assert_eq!(
            (logged_at("E000042"), logged_at("D1234567"), logged_at("M000001")),
            (Some((None, 42)), Some((None, 1234567)), Some((None, 1)))
        );
        // A township keeping its own log names its events after itself.
        assert_eq!(logged_at("t1/E000042"), Some((Some("t1"), 42)));
        assert_eq!(logged_at(&id_at('D', 7, Some("青溪镇"))), Some((Some("青溪镇"), 7)));
        assert_eq!(id_at('E', 42, None), "E000042");
        for not in ["E", "X000042", "E00a042", "E-1", "", "E99999999999999999999999", "/E000042", "t1/X1"] {
            assert_eq!(logged_at(not), None, "{not:?}");
        }
        let ack = Body::Acknowledge { incident: "E000042".into() };
        assert_eq!(ack.about().and_then(logged_at), Some((None, 42)));
    }

    #[test]
    fn a_log_names_incidents_and_opened_meetings_after_their_place() {
        let incident =
            Incident { id: String::new(), reported_at: Utc::now(), status: IncidentStatus::New, report: report() };
        let reported = Envelope::new(42, Body::IncidentReported(incident));
        let Body::IncidentReported(named) = reported.clone().numbered().body else { panic!() };
        assert_eq!(named.id, "E000042");
        // Numbered in its township's own log: named after that place, wherever it is read.
        let own = Envelope { seq: 900, origin: Some(42), township: Some("t1".into()), ..reported };
        assert_eq!(own.name('D'), "t1/D000042");
        let Body::IncidentReported(named) = own.numbered().body else { panic!() };
        assert_eq!(named.id, "t1/E000042");
        let command = |action| MeetingCommand { key: "k".into(), meeting: "M1".into(), action, by: "王芳".into() };
        let open = MeetingAction::Open { title: "会商".into(), incident: None, sites: vec![] };
        let Body::MeetingChaired(opened) = Envelope::new(7, Body::MeetingChaired(command(open))).numbered().body else {
            panic!()
        };
        assert_eq!(opened.meeting, "M000007");
        // Any other command keeps the meeting it names; any other body is as it was.
        let close = Body::MeetingChaired(command(MeetingAction::UnmuteAll));
        assert_eq!(Envelope::new(7, close.clone()).numbered().body, close);
        assert_eq!(Envelope::new(7, Body::Heartbeat).numbered().body, Body::Heartbeat);
    }

    #[test]
    fn another_protocol_version_is_refused() {
        let text = Envelope { v: 9, ..Envelope::new(1, Body::Heartbeat) }.to_text();
        assert_eq!(Envelope::parse(&text).unwrap_err(), ParseError::Version(9));
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let text = "x".repeat(MAX_FRAME_BYTES + 1);
        assert!(matches!(Envelope::parse(&text), Err(ParseError::TooLarge { .. })));
    }
}

#[cfg(test)]
mod docs {
    use super::*;

    /// Every ```json block in docs/protocol.md is a frame this code parses.
    #[test]
    fn docs_examples_parse() {
        let doc = include_str!("../../../docs/protocol.md");
        let blocks: Vec<&str> = doc.split("```json").skip(1).filter_map(|b| b.split("```").next()).collect();
        assert!(blocks.len() >= 9, "only {} examples", blocks.len());
        for block in blocks {
            let env = Envelope::parse(block.trim()).unwrap_or_else(|e| panic!("{e}\n{block}"));
            // And it serialises back to the same JSON value.
            let again: serde_json::Value = serde_json::from_str(&env.to_text()).unwrap();
            let original: serde_json::Value = serde_json::from_str(block.trim()).unwrap();
            assert_eq!(again["kind"], original["kind"]);
            assert_eq!(again["kind"], env.body.kind());
        }
    }
}
