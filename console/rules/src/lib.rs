//! The command room's rules, with no user interface and no I/O in them: a crate of its own,
//! so that the compiler holds it to that — it depends on the protocol's plain data, geo,
//! chrono and serde, and on neither egui, tokio nor SQLite. Every seat and the center's server
//! fold the log with it.
//!
//! [`Core`] holds what the console knows — the township's grids, cameras and units, every
//! incident and the link to the hub — and changes only in two ways: a feed update arrives
//! ([`Core::on_feed`]) or a view returns a [`Command`] ([`Core::apply`]). Views read it for one
//! frame and never change it directly, so each view can be tested alone with made-up state.

pub mod camera;
mod camera_log;
pub mod channel_health;
pub mod clock;
pub mod coords;
pub mod desk;
pub mod dispatch;
pub mod filter;
pub mod grid;
pub mod handover;
pub mod history;
pub mod incident;
pub mod kind;
pub mod meeting;
pub mod notice;
pub mod paging;
pub mod plan;
pub mod radio_target;
pub mod roster;
pub mod score;
pub mod unit;
pub mod wall;
pub mod whereabouts;

/// Orders are what the center's server logs and every seat rebuilds: their types are the protocol's.
pub use linkage_protocol::order;

/// The 1-based line of a byte offset in `text` (where a file's error is).
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

use linkage_protocol::{
    Body, Change, Connection, CoordinateSystem, DispatchRequest, Envelope, ErrorCode, FeedUpdate, IncidentStatus,
    IncidentUpdate, OrderChange, Severity,
};

use camera::Camera;
use grid::GridMap;
use incident::{Incidents, TrackedIncident};
use kind::IncidentKinds;
use unit::LinkedUnit;
use wall::{Layout, Wall};

/// What a view asks Core to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show this incident in the detail panel and highlight it on the map and in the queue.
    SelectIncident(String),
    /// The duty officer has seen this alarm: stop ringing for it.
    AcknowledgeAlarm(String),
    /// Put these cameras on the video wall (the first ones, as many as there are tiles).
    ShowOnWall(Vec<String>),
    /// Change the wall's layout; new tiles take cameras not yet up.
    SetLayout(Layout),
    /// Take the camera off this tile.
    ClearTile(usize),
    /// Show this tile alone across the wall, or (`None`) the whole layout again.
    FocusTile(Option<usize>),
    /// Put a camera on a tile (dragged from the camera list); if it is up elsewhere, the two
    /// tiles trade.
    PlaceCamera { tile: usize, camera: String },
    /// Trade the cameras of two tiles.
    SwapTiles(usize, usize),
    /// Put page N of the camera list on the wall.
    ShowPage(usize),
    /// Start (every N seconds) or stop the tour through the pages.
    SetTour(Option<u32>),
    /// Turn the focused tile's sound on or off (every other tile stays silent).
    SetSound(bool),
    /// Bring back a saved wall: its layout and its cameras.
    RestoreWall { layout: Layout, tiles: Vec<Option<String>> },
    /// Save the picture a tile shows as a PNG.
    Snapshot(usize),
    /// Start moving a PTZ camera, or (with [`camera::Motion::Stop`]) stop it.
    Steer { camera: String, motion: camera::Motion },
    /// Send a PTZ camera to its preset `number`, or (`save`) keep where it looks as that preset.
    Preset { camera: String, number: u8, save: bool },
    /// Read the video platforms' directories again now.
    ResyncPlatforms,
    /// Start (or, with `None`, give up) marking a preset's place on the map.
    PlacingPreset(Option<(String, u8)>),
    /// The map was clicked here while a preset was being marked: that is its place.
    PlacePreset { lon: f64, lat: f64 },
    /// Turn a PTZ camera to its preset and put it on the wall (from the map or an incident).
    TurnTo { camera: String, number: u8 },
    /// Keep what a tile's camera sends as an evidence clip, for at most `minutes`.
    Record { tile: usize, minutes: u32 },
    /// End a tile's recording.
    StopRecording(usize),
    /// Send a three-in-one dispatch.
    Dispatch(dispatch::DispatchDraft),
    /// Chair a meeting (`meeting` empty: open one), or act as a site of it.
    ChairMeeting { meeting: String, action: linkage_protocol::MeetingAction },
    /// Close an order with the reporter's satisfaction (1–5).
    CloseOrder { order: String, satisfaction: u8 },
    /// Open a closed order again (the reporter is not satisfied).
    ReopenOrder(String),
    /// Archive a closed order.
    ArchiveOrder(String),
    /// The officer has seen a missed-clock alert.
    DismissClockAlert(usize),
    /// Export the ranking of a period.
    Export { kind: ExportKind, period: score::Period },
    /// Write a note on an incident and/or set its status by hand.
    UpdateIncident { incident: String, status: Option<IncidentStatus>, note: Option<String> },
    /// Test the channels of one unit, or (`None`) of every unit, now.
    TestChannels(Option<String>),
    /// An admin sets a unit's duty roster (its A and B posts).
    SetRoster { unit: String, posts: Vec<linkage_protocol::RosterPost> },
    /// Hand an incident over to a bridged system (转办), or back to the one it came from (退回).
    HandOver { incident: String, to: String, reason: String },
    /// At a unit's seat: take the next step on an order (sign for, on scene, handling, report
    /// back with `note` and the photo files `photos`).
    Progress { order: String, step: linkage_protocol::Step, note: String, photos: Vec<std::path::PathBuf> },
}

/// What the board exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The ranking as CSV.
    Csv,
    /// The printable monthly notice (HTML).
    Notice,
}

/// What Core asks the world to do after a command: the app carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this command to the hub through the seat's durable queue (it goes out once the hub
    /// is there, also after a restart, and leaves the queue when the log has it).
    Send(Body),
    /// Write an export file (`name` in the console's exports folder).
    Export { name: String, content: String },
    /// Save the newest picture of the feed on this tile as a PNG (in the snapshots folder).
    Snapshot { tile: usize, camera: String },
    /// Read the video platforms' directories again.
    ResyncPlatforms,
    /// Move a PTZ camera through its platform.
    Steer { camera: String, motion: camera::Motion },
    /// Send a PTZ camera to a preset, or save one, through its platform.
    Preset { camera: String, number: u8, save: bool },
    /// Record the tile's feed into a clip; `incident` is the one selected now, which the clip
    /// is kept for.
    Record { tile: usize, camera: String, minutes: u32, incident: Option<String> },
    /// End the recordings of this camera.
    StopRecording { camera: String },
    /// Upload these photo files to the hub's files endpoint, put what was kept into the
    /// command's attachments, then send it as [`Effect::Send`] does.
    SendWithPhotos { command: Body, photos: Vec<std::path::PathBuf> },
}

/// A key for one command of this seat: the hub logs a command once per sender and key, and a
/// resend (after a reconnect or a restart) keeps its key. Time and 64 random bits: unique
/// without a counter to keep.
fn command_key(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:x}-{:016x}", now.timestamp_millis(), fastrand::u64(..))
}

pub use linkage_protocol::ZONE;

/// How far from an incident the console looks for cameras, in metres.
pub const NEAREST_CAMERA_RADIUS_M: f64 = 1500.0;

/// Everything the console knows.
#[derive(Debug, Default)]
pub struct Core {
    pub grids: GridMap,
    pub kinds: IncidentKinds,
    pub cameras: Vec<Camera>,
    /// Counts changes of `cameras`, for views that keep something built from them.
    pub cameras_changed: u64,
    /// The video platforms this seat takes cameras from, and how their directories read.
    pub video_platforms: Vec<camera::PlatformLink>,
    /// Where PTZ cameras' presets look, as marked on the map (from the log).
    pub preset_places: camera::PresetPlaces,
    /// The preset the officer is marking on the map now (the map's next click places it).
    pub placing_preset: Option<(String, u8)>,
    pub units: Vec<LinkedUnit>,
    pub incidents: Incidents,
    pub selected: Option<String>,
    pub hub: HubLink,
    /// The last hub sequence number applied (the journal keeps the one the hub client resumes
    /// from, see [`crate::journal`]).
    pub cursor: u64,
    /// Incidents that raised the alarm and nobody acknowledged yet, oldest first.
    pub alarms: Vec<String>,
    /// The cameras on the video wall.
    pub wall: Wall,
    /// The center's name, as messages sign it.
    pub center: String,
    pub plans: plan::PlanLibrary,
    /// Where the plan library came from and whether its last reload was refused (and why).
    pub plans_trouble: Option<String>,
    pub orders: dispatch::Orders,
    /// How orders are scored and units ranked.
    pub scoring: score::ScoringRules,
    /// The file names of the last export, for the board to show.
    pub last_export: Vec<String>,
    /// Mobiles of the leader on duty: missed clocks are raised to them.
    pub leader_sms: Vec<String>,
    /// Every incident's audit trail.
    pub history: history::History,
    /// Who unanswered alarms page, and when.
    pub paging: paging::Paging,
    /// The pages logged for each incident.
    pub pages: std::collections::BTreeMap<String, Vec<linkage_protocol::Page>>,
    /// At a unit's seat: its orders (empty on the center's seats).
    pub desk: desk::Desk,
    /// The share of a unit's acknowledge clock after which an order its A post has not signed
    /// for goes to its B post (`None`: [`roster::HAND_OVER_AT`]).
    pub hand_over_at: Option<f64>,
    /// Where the units are and what they are doing.
    pub whereabouts: whereabouts::Whereabouts,
    /// Rosters set from the log: unit → who set it last, and when.
    pub rosters_set: std::collections::BTreeMap<String, (String, chrono::DateTime<chrono::Utc>)>,
    /// Which of the units' channels work, from the channel tests.
    pub channel_health: channel_health::ChannelHealth,
    /// Incidents handed over to other systems, and what those said.
    pub handovers: handover::Handovers,
    /// The systems the center's bridge docks with, as it last logged them.
    pub peers: Vec<linkage_protocol::DockedPeer>,
    /// Video linkage meetings.
    pub meetings: meeting::Meetings,
}

impl HubLink {
    /// The role of the person at this seat, as the hub said at the last welcome (`None` for a
    /// machine's token, which counts as a duty officer's).
    pub fn seat(&self) -> Option<linkage_protocol::SeatRole> {
        match &self.connection {
            Some(Connection::Connected { seat, .. }) => *seat,
            _ => None,
        }
    }
}

/// The link to the hub as the status bar shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubLink {
    pub connection: Option<Connection>,
    /// How many of our messages the hub refused, and the last reason.
    pub refused: u64,
    pub last_refusal: Option<String>,
    /// The hub's replay has reached the live stream once: what the seat shows is current.
    pub caught_up: bool,
    /// How each township on its own node can be reached from the county, as the gateway of the
    /// whole county last said (a county seat's only; empty elsewhere).
    pub townships: std::collections::BTreeMap<String, linkage_protocol::TownshipLink>,
    /// On a township on its own node: whether the county hears it, as its gateway last said.
    pub county: Option<linkage_protocol::CountyLink>,
}

impl Core {
    /// The meeting this seat takes part in: for a seat of the center the open one; for a unit's
    /// seat the open one its unit is invited to (and not removed from).
    pub fn meeting(&self) -> Option<&meeting::Meeting> {
        match &self.desk.unit {
            None => self.meetings.open().next(),
            Some(unit) => self.meetings.open().find(|m| m.site(unit).is_some_and(|s| !s.removed)),
        }
    }

    /// This seat as it looks at a meeting: its unit's site, or a seat of the center
    /// (`sending`: it sends as the chair).
    pub fn viewer(&self, sending: bool) -> meeting::Viewer<'_> {
        match &self.desk.unit {
            Some(unit) => meeting::Viewer::Site(unit),
            None => meeting::Viewer::Center { chairing: sending },
        }
    }

    /// How this seat sends into `meeting`: a unit's seat as its unit's site, a seat of the
    /// center as the chair.
    pub fn own_join<'a>(&self, meeting: &'a meeting::Meeting) -> Option<&'a linkage_protocol::SiteJoin> {
        match &self.desk.unit {
            Some(unit) => meeting.site(unit)?.join.as_ref(),
            None => meeting.chair_join.as_ref(),
        }
    }

    /// Applies one update from the hub client.
    pub fn on_feed(&mut self, update: FeedUpdate) {
        match update {
            FeedUpdate::Connection(c) => {
                // How the townships are reached is the hub's word: unknown while it cannot be
                // heard (it says every township's again after the replay).
                if !matches!(c, Connection::Connected { .. }) {
                    self.hub.townships.clear();
                    self.hub.county = None;
                }
                self.hub.connection = Some(c);
            }
            FeedUpdate::Replayed { .. } => self.hub.caught_up = true,
            FeedUpdate::Refused { code, reason, key } => {
                // A dispatch or change refused for good is no longer on its way; a change made
                // on an order as it no longer is, the seat shows on the order.
                if code.is_final()
                    && let Some(key) = key
                {
                    if code == ErrorCode::Conflict
                        && let Some((order, seen)) = self.orders.sent(&key)
                    {
                        let refused = dispatch::Refused { order: order.to_owned(), why: dispatch::Refusal::Late(seen) };
                        self.orders.refused = Some(refused);
                    }
                    self.orders.settle(&key);
                    self.desk.settle(&key);
                }
                self.hub.refused += 1;
                self.hub.last_refusal = Some(reason);
            }
            FeedUpdate::Moved(position) => self.whereabouts.moved(position),
            FeedUpdate::TownshipLinked(link) => {
                self.hub.townships.insert(link.township.clone(), link);
            }
            FeedUpdate::CountyLinked(link) => self.hub.county = Some(link),
            FeedUpdate::Event(env) => self.on_event(env),
        }
    }

    fn on_event(&mut self, env: Envelope) {
        self.cursor = self.cursor.max(env.seq);
        self.history.record(&env);
        if let Body::CameraUsed(used) = &env.body {
            self.camera_used_logged(used);
        }
        self.meetings.on_event(&env);
        // A unit's seat reads no incident of the log: its orders bring what it shows on the map.
        if let Some(work) = self.desk.on_event(&env).cloned()
            && let Some(details) = work.details
        {
            let incident = desk::incident_of(&work.incident, *details);
            let grid = self.grids.locate(incident.report.location.lon, incident.report.location.lat);
            self.incidents.insert(TrackedIncident { incident, grid, seq: env.seq, township: env.township.clone() });
        }
        if self.on_order_event(&env) {
            return;
        }
        if let Body::IncidentUpdated(update) = &env.body {
            if let Some(status) = update.status {
                self.incidents.set_status_by_hand(&update.incident, status);
                if status == IncidentStatus::Closed {
                    self.alarms.retain(|a| *a != update.incident);
                }
            }
            return;
        }
        self.channel_health.since.get_or_insert(env.time);
        if let Body::RosterSet(change) = &env.body {
            self.set_roster(change, env.time);
            return;
        }
        if let Body::HandedOver(handover) = &env.body {
            self.handed_over(linkage_protocol::handover_id(&env), handover, env.time);
            return;
        }
        if let Body::HandoverProgressed(progress) = &env.body {
            self.handover_progressed(progress, env.time);
            return;
        }
        if let Body::PeersDocked { peers } = &env.body {
            self.peers = peers.clone();
            return;
        }
        if let Body::ChannelTestRequested(request) = &env.body {
            self.channel_health.requested(env.numbered_at(), request, env.time);
            return;
        }
        if let Body::ChannelTested(result) = &env.body {
            self.channel_health.tested(result, env.time);
            return;
        }
        if let Body::AlarmPaged(page) = &env.body {
            let pages = self.pages.entry(page.incident.clone()).or_default();
            if !pages.iter().any(|p| p.level == page.level) {
                pages.push(page.clone());
            }
            return;
        }
        if let Body::AlarmAcknowledged { incident, by } = &env.body {
            if let Some(at) = self.alarms.iter().position(|a| a == incident) {
                tracing::info!(%incident, %by, "alarm acknowledged");
                self.alarms.remove(at);
            }
            return;
        }
        if let Body::IncidentReported(mut incident) = env.body {
            // Everything the console keeps is WGS-84; a GCJ-02 source is converted here, once.
            let loc = &mut incident.report.location;
            if loc.crs == CoordinateSystem::Gcj02 {
                (loc.lon, loc.lat) = coords::gcj02_to_wgs84(loc.lon, loc.lat);
                loc.crs = CoordinateSystem::Wgs84;
            }
            let grid = self.grids.locate(loc.lon, loc.lat);
            let id = incident.id.clone();
            let alarming = self.raises_alarm(&incident);
            if self.incidents.insert(TrackedIncident { incident, grid, seq: env.seq, township: env.township })
                && alarming
                && self.incidents.get(&id).is_some_and(TrackedIncident::is_open)
            {
                tracing::warn!(incident = %id, "alarm raised");
                self.alarms.push(id);
            }
        }
    }

    /// Critical incidents, and high ones of an emergency kind, must not slip by unseen.
    fn raises_alarm(&self, incident: &linkage_protocol::Incident) -> bool {
        let severity = incident.report.severity;
        let emergency = self.kinds.get(&incident.report.kind).is_some_and(|k| k.emergency);
        incident.status != IncidentStatus::Closed
            && (severity == Severity::Critical || (emergency && severity >= Severity::High))
    }

    /// Applies a command from a view; returns what the app must do for it.
    pub fn apply(&mut self, command: Command) -> Vec<Effect> {
        self.apply_at(command, chrono::Utc::now())
    }

    /// [`Core::apply`] at a given time.
    pub fn apply_at(&mut self, command: Command, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
        match command {
            Command::Dispatch(draft) => {
                if draft.units.is_empty() || self.incidents.get(&draft.incident).is_none() {
                    return vec![];
                }
                let key = command_key(now);
                let command = Body::Dispatch(DispatchRequest { key, draft, by: String::new() });
                self.remember_sent(&command);
                return vec![Effect::Send(command)];
            }
            Command::CloseOrder { order, satisfaction } => {
                return self.change_order(order, Change::Close { satisfaction }, now);
            }
            Command::ChairMeeting { meeting, action } => {
                let command =
                    linkage_protocol::MeetingCommand { key: command_key(now), meeting, action, by: String::new() };
                return vec![Effect::Send(Body::ChairMeeting(command))];
            }
            Command::ReopenOrder(order) => return self.change_order(order, Change::Reopen, now),
            Command::ArchiveOrder(order) => return self.change_order(order, Change::Archive, now),
            Command::Export { kind, period } => {
                let standings = self.unit_ranking(period, now);
                let (label, title) = match period {
                    score::Period::Day(d) => (d.format("%Y-%m-%d").to_string(), d.format("%Y年%-m月%-d日").to_string()),
                    score::Period::Month { year, month } => {
                        (format!("{year}-{month:02}"), format!("{year}年{month}月"))
                    }
                    score::Period::Year(y) => (y.to_string(), format!("{y}年")),
                };
                // A county seat's exports rank its townships too (nothing elsewhere).
                let townships = self.township_ranking(period, now);
                let files = match kind {
                    ExportKind::Csv => {
                        let mut files =
                            vec![(format!("ranking-{label}.csv"), notice::csv(&title, &standings, &self.units))];
                        if !townships.is_empty() {
                            files.push((
                                format!("ranking-townships-{label}.csv"),
                                notice::townships_csv(&title, &townships),
                            ));
                        }
                        files
                    }
                    ExportKind::Notice => vec![(
                        format!("notice-{label}.html"),
                        notice::monthly_notice(
                            &self.center,
                            &title,
                            (&standings, &townships),
                            &self.units,
                            self.scoring.amber_below,
                            self.scoring.red_below,
                        ),
                    )],
                };
                self.last_export = files.iter().map(|(name, _)| name.clone()).collect();
                return files.into_iter().map(|(name, content)| Effect::Export { name, content }).collect();
            }
            Command::UpdateIncident { incident, status, note } => {
                let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
                if self.incidents.get(&incident).is_some() && (status.is_some() || note.is_some()) {
                    let key = command_key(now);
                    let update = IncidentUpdate { key, incident, status, note, by: String::new() };
                    return vec![Effect::Send(Body::UpdateIncident(update))];
                }
            }
            Command::HandOver { incident, to, reason } => {
                let handover =
                    linkage_protocol::Handover { key: command_key(now), incident, to, reason, by: String::new() };
                let known = self.peers.iter().any(|p| p.id == handover.to);
                if !known || self.incidents.get(&handover.incident).is_none() || handover.reason.trim().is_empty() {
                    tracing::warn!(incident = %handover.incident, to = %handover.to, "hand-over not sent");
                    return vec![];
                }
                let command = Body::HandOver(handover);
                self.remember_sent(&command);
                return vec![Effect::Send(command)];
            }
            Command::TestChannels(unit) => {
                let request = linkage_protocol::ChannelTestRequest { key: command_key(now), unit, by: String::new() };
                return vec![Effect::Send(Body::TestChannels(request))];
            }
            Command::SetRoster { unit, posts } => {
                let change = linkage_protocol::RosterChange { key: command_key(now), unit, posts, by: String::new() };
                match change.check() {
                    Ok(()) if self.units.iter().any(|u| u.id == change.unit) => {
                        return vec![Effect::Send(Body::SetRoster(change))];
                    }
                    Ok(()) => tracing::warn!(unit = %change.unit, "a roster for a unit this center does not have"),
                    Err(e) => tracing::warn!(unit = %change.unit, error = %e, "roster not sent"),
                }
            }
            Command::Progress { order, step, note, photos } => {
                if let Some(command) = self.desk.progress(&order, step, &note) {
                    self.remember_sent(&command);
                    if photos.is_empty() {
                        return vec![Effect::Send(command)];
                    }
                    return vec![Effect::SendWithPhotos { command, photos }];
                }
            }
            Command::DismissClockAlert(i) => {
                if i < self.orders.alerts.len() {
                    self.orders.alerts.remove(i);
                }
            }
            Command::SelectIncident(id) => {
                if self.incidents.get(&id).is_some() {
                    self.selected = Some(id);
                }
            }
            Command::ClearTile(i) => {
                if let Some(tile) = self.wall.tiles.get_mut(i) {
                    *tile = None;
                }
            }
            Command::FocusTile(tile) => self.wall.focused = tile.filter(|&i| i < self.wall.tiles.len()),
            Command::PlaceCamera { tile, camera } => {
                if self.camera(&camera).is_some() {
                    self.wall.place(tile, &camera);
                }
            }
            Command::SwapTiles(a, b) => self.wall.swap(a, b),
            Command::SetSound(on) => self.wall.sound = on,
            Command::ShowPage(page) => {
                let ids = self.camera_ids();
                self.wall.show_page(page, &ids);
            }
            Command::SetTour(every) => {
                self.wall.tour = every.filter(|s| *s > 0).map(|every_secs| wall::Tour { every_secs, last_step: now });
            }
            Command::RestoreWall { layout, tiles } => {
                let known = |c: &Option<String>| c.as_ref().filter(|id| self.camera(id).is_some()).cloned();
                let mut restored: Vec<Option<String>> = tiles.iter().map(known).collect();
                restored.resize(layout.tile_count(), None);
                self.wall = Wall { layout, tiles: restored, ..Wall::default() };
            }
            Command::Snapshot(tile) => {
                if let Some(Some(camera)) = self.wall.tiles.get(tile) {
                    return vec![Effect::Snapshot { tile, camera: camera.clone() }];
                }
            }
            Command::Steer { camera, motion } => return self.steer(camera, motion, now),
            Command::Preset { camera, number, save } => return self.preset(camera, number, save, now),
            Command::PlacingPreset(placing) => self.placing_preset = placing,
            Command::ResyncPlatforms => return vec![Effect::ResyncPlatforms],
            Command::PlacePreset { lon, lat } => return self.place_preset(lon, lat, now),
            Command::TurnTo { camera, number } => {
                let effects = self.preset(camera.clone(), number, false, now);
                if !effects.is_empty() {
                    self.wall.show(&[camera]);
                }
                return effects;
            }
            Command::Record { tile, minutes } => {
                if let Some(Some(camera)) = self.wall.tiles.get(tile) {
                    let (camera, incident) = (camera.clone(), self.selected.clone());
                    return vec![Effect::Record { tile, camera, minutes, incident }];
                }
            }
            Command::StopRecording(tile) => {
                if let Some(Some(camera)) = self.wall.tiles.get(tile) {
                    return vec![Effect::StopRecording { camera: camera.clone() }];
                }
            }
            Command::SetLayout(layout) => {
                let ids = self.camera_ids();
                self.wall.set_layout(layout, ids.into_iter());
            }
            Command::ShowOnWall(cameras) => {
                let known: Vec<String> = cameras.into_iter().filter(|c| self.camera(c).is_some()).collect();
                self.wall.show(&known);
            }
            Command::AcknowledgeAlarm(id) => {
                // Silence it here at once; the hub's log tells every console (this one too).
                if self.alarms.contains(&id) {
                    let command = Body::Acknowledge { incident: id };
                    self.remember_sent(&command);
                    return vec![Effect::Send(command)];
                }
            }
        }
        vec![]
    }

    /// At a unit's seat, what it sends by itself: each order on its screen is received (the
    /// online channel's delivery receipt for the center).
    pub fn receipts(&mut self) -> Vec<Effect> {
        let due = self.desk.receipts_due();
        due.into_iter()
            .map(|command| {
                self.remember_sent(&command);
                Effect::Send(command)
            })
            .collect()
    }

    /// What a command this seat sent and the log does not have yet already means here: an
    /// acknowledged alarm stays silent, a dispatch or a close is on its way. Core applies it
    /// when the command is given; the app again for the commands still queued at a restart.
    pub fn remember_sent(&mut self, command: &Body) {
        match command {
            Body::Acknowledge { incident } => self.alarms.retain(|a| a != incident),
            Body::Dispatch(r) => {
                self.orders.sending.insert((command.command_key().unwrap_or_default(), r.draft.incident.clone()));
            }
            Body::ChangeOrder(c) => {
                let seen = c.seen.unwrap_or_default();
                self.orders.changing.insert((command.command_key().unwrap_or_default(), c.order.clone(), seen));
            }
            Body::Progress(p) => self.desk.remember_sent(p),
            Body::HandOver(h) => {
                self.handovers.sending.push((command.command_key().unwrap_or_default(), h.incident.clone()));
            }
            _ => {}
        }
    }

    /// A change of an order, sent where the log would take it (the server's fold decides).
    fn change_order(&mut self, order: String, change: Change, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
        let Some(o) = self.orders.list.get(&order) else { return vec![] };
        if let Err(why) = o.clone().apply_change(change, now) {
            tracing::warn!(%order, why, "order not changed");
            return vec![];
        }
        // One change of an order at a time from a seat: a second click would be made on the
        // order as the first leaves it behind, and lose to it.
        if self.orders.changing(&order) {
            tracing::info!(%order, "a change of this order is on its way: not sent again");
            return vec![];
        }
        // The officer decided anew on the order as it is now.
        if self.orders.refused.as_ref().is_some_and(|r| r.order == order) {
            self.orders.refused = None;
        }
        // Made on the order as this seat has it: where its last change is.
        let seen = Some(self.orders.changes.get(&order).map_or(0, |c| c.last));
        let command = Body::ChangeOrder(OrderChange { key: command_key(now), order, change, by: String::new(), seen });
        self.remember_sent(&command);
        vec![Effect::Send(command)]
    }

    /// Steps the wall's tour when its time has come (the app calls this every second).
    pub fn step_tour(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let ids = self.camera_ids();
        self.wall.tour_step(now, &ids);
    }

    /// Every camera's id, in the config's order (the order of the wall's pages).
    fn camera_ids(&self) -> Vec<String> {
        self.cameras.iter().map(|c| c.id.clone()).collect()
    }

    /// A video platform's directory, read again (see [`camera::merge_directory`]). At the first
    /// directory of the seat, a wall with no camera on it (a site whose cameras all sit behind
    /// the platform) is filled; later reads leave the wall as the officer has it.
    pub fn platform_directory(&mut self, platform: &str, listed: Vec<Camera>) {
        // The seat's first directory: no platform has been read yet.
        let first = self.video_platforms.iter().all(|l| l.cameras.is_none());
        if let Some(link) = self.video_platforms.iter_mut().find(|l| l.id == platform) {
            (link.cameras, link.trouble) = (Some(listed.len()), None);
        }
        camera::merge_directory(&mut self.cameras, platform, listed);
        self.cameras_changed += 1;
        if first && self.desk.unit.is_none() && self.wall.tiles.iter().all(Option::is_none) {
            let online = self.cameras.iter().filter(|c| c.presence == camera::Presence::Online);
            self.wall.set_layout(self.wall.layout, online.map(|c| c.id.clone()));
        }
    }

    pub fn camera(&self, id: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.id == id)
    }

    /// The cameras near an incident, those that look at it first.
    pub fn cameras_near(&self, incident: &TrackedIncident) -> Vec<camera::NearbyCamera> {
        let loc = incident.incident.report.location;
        camera::nearest(&self.cameras, loc.lon, loc.lat, NEAREST_CAMERA_RADIUS_M)
    }

    pub fn selected_incident(&self) -> Option<&TrackedIncident> {
        self.selected.as_deref().and_then(|id| self.incidents.get(id))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use linkage_protocol::{Incident, Location};

    pub(crate) use linkage_protocol::order::fixtures::incident;

    fn core() -> Core {
        Core {
            grids: GridMap::from_geojson(include_str!("../../../assets/demo/grids.geojson")).unwrap(),
            kinds: IncidentKinds::from_toml(include_str!("../../../assets/demo/incident_kinds.toml")).unwrap(),
            ..Core::default()
        }
    }

    pub(crate) fn event(seq: u64, i: Incident) -> FeedUpdate {
        FeedUpdate::Event(Envelope { seq, ..Envelope::new(seq, Body::IncidentReported(i)) })
    }

    #[test]
    fn the_queue_puts_the_most_severe_first_then_the_newest() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        core.on_feed(event(2, incident("b", Severity::Critical, 2)));
        core.on_feed(event(3, incident("c", Severity::Low, 3)));
        core.on_feed(event(4, incident("d", Severity::High, 0)));
        let order: Vec<_> = core.incidents.queue().map(|t| t.incident.id.as_str()).collect();
        assert_eq!(order, ["b", "d", "c", "a"]);
        assert_eq!(core.cursor, 4);
        assert_eq!(core.incidents.open_critical(), 1);
    }

    #[test]
    fn only_what_nobody_has_taken_up_is_waiting() {
        let mut core = core();
        for (seq, id) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
            core.on_feed(event(seq, incident(id, Severity::High, seq as u32)));
        }
        core.incidents.set_status("b", IncidentStatus::Dispatched);
        core.incidents.set_status("c", IncidentStatus::Handling);
        core.incidents.set_status_by_hand("d", IncidentStatus::Closed);
        assert_eq!(core.incidents.waiting(), 1, "dispatched, in hand and closed incidents are not waiting");
    }

    #[test]
    fn a_replayed_event_does_not_double_an_incident() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        assert_eq!(core.incidents.len(), 1);
    }

    #[test]
    fn an_incident_is_placed_in_the_grid_that_contains_it() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        let t = core.incidents.get("a").unwrap();
        let grid = &core.grids.grids[t.grid.expect("inside the township")];
        assert!(grid.code.starts_with("XL-"), "{}", grid.code);
    }

    #[test]
    fn a_gcj02_location_is_converted_to_wgs84_before_it_is_placed() {
        let mut core = core();
        let mut i = incident("g", Severity::Low, 1);
        let (lon, lat) = coords::wgs84_to_gcj02(120.00262, 30.13669);
        i.report.location = Location { lon, lat, crs: CoordinateSystem::Gcj02 };
        core.on_feed(event(1, i));
        let loc = core.incidents.get("g").unwrap().incident.report.location;
        assert_eq!(loc.crs, CoordinateSystem::Wgs84);
        assert!((loc.lon - 120.00262).abs() < 1e-7 && (loc.lat - 30.13669).abs() < 1e-7, "{loc:?}");
    }

    #[test]
    fn a_critical_incident_rings_until_acknowledged_and_a_low_one_never_does() {
        let mut core = core();
        core.on_feed(event(1, incident("low", Severity::Low, 1)));
        core.on_feed(event(2, incident("crit", Severity::Critical, 2)));
        core.on_feed(event(2, incident("crit", Severity::Critical, 2))); // replayed twice
        assert_eq!(core.alarms, ["crit"]);
        assert!(core.apply(Command::AcknowledgeAlarm("low".into())).is_empty());
        assert_eq!(core.alarms, ["crit"]);
        let effects = core.apply(Command::AcknowledgeAlarm("crit".into()));
        assert!(core.alarms.is_empty());
        assert_eq!(effects, [Effect::Send(Body::Acknowledge { incident: "crit".into() })]);
    }

    #[test]
    fn an_acknowledgement_from_the_hub_silences_a_replayed_alarm() {
        let mut core = core();
        core.on_feed(event(1, incident("crit", Severity::Critical, 1)));
        let ack = Body::AlarmAcknowledged { incident: "crit".into(), by: "console-2".into() };
        core.on_feed(FeedUpdate::Event(Envelope::new(2, ack)));
        assert!(core.alarms.is_empty());
    }

    #[test]
    fn a_high_fire_raises_the_alarm_but_a_high_dispute_does_not() {
        let mut core = core();
        let mut fire = incident("fire", Severity::High, 1);
        fire.report.kind = "fire".into();
        core.on_feed(event(1, fire));
        core.on_feed(event(2, incident("dispute", Severity::High, 2)));
        assert_eq!(core.alarms, ["fire"]);
    }

    #[test]
    fn selecting_an_unknown_incident_changes_nothing() {
        let mut core = core();
        core.on_feed(event(1, incident("a", Severity::Low, 1)));
        let _ = core.apply(Command::SelectIncident("zzz".into()));
        assert_eq!(core.selected, None);
        let _ = core.apply(Command::SelectIncident("a".into()));
        assert_eq!(core.selected_incident().unwrap().incident.id, "a");
    }
}
