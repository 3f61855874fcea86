//! The eframe application: owns Core, the views, the video feeds and the link to the hub.
//!
//! Each frame, [`App::logic`] drains the hub client's updates into Core under a time budget
//! (the UI thread never waits on I/O), and [`App::ui`] draws the views and applies what they
//! return. Background threads wake the UI: a feed update asks for a repaint at once, a video
//! frame asks for one within 40 ms, so video repaints at most about 25 times a second and an
//! idle console repaints once a second (for the clock).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::wall::clips::Clips;
use crate::wall::feeds::WallFeeds;
use streams::alarm_sound::AlarmSound;
use streams::feed::{Connection, FeedUpdate};
use tokio::sync::mpsc;

use crate::basemap::Basemap;
use crate::config::Config;
use crate::core::plan::PlanLibrary;
use crate::core::{Core, Effect};
use crate::i18n::{I18n, Lang};
use crate::journal::HubFeed;
use crate::photos::Photos;
use crate::platform::{Platforms, playing::PlatformStreams};
use crate::reports::{Endpoint, Reports};
use crate::ui::{self, Action, Views, wall};
use crate::window::screenshot::{Screenshot, ScreenshotPlan};
use crate::world::World;

/// How long `logic` may spend applying feed updates in one frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(10);
/// A platform camera's feed that failed to reconnect this many times asks the platform for
/// its stream anew.
const RENEW_AFTER_ATTEMPTS: u32 = 3;
/// A video frame asks for a repaint within this time: the wall's frame-rate cap.
const VIDEO_REPAINT: Duration = Duration::from_millis(40);

const STORAGE_VIEWS: &str = "linkage.views";
const STORAGE_LANG: &str = "linkage.lang";

/// How the app was asked to start.
pub struct StartOptions {
    pub config: Config,
    /// `--lang` wins over the config and over the language saved from the last run.
    pub lang: Option<Lang>,
    pub data_dir: Option<PathBuf>,
    pub screenshot: Option<ScreenshotPlan>,
}

pub struct LinkageApp {
    core: Core,
    tr: I18n,
    views: Views,
    /// The link to the hub: updates in, commands out through the durable queue.
    feed: HubFeed,
    /// The feeds behind the wall's tiles; they follow `core.wall`.
    feeds: WallFeeds,
    /// The site's video platforms: their cameras, and their streams for the wall.
    platforms: PlatformStreams,
    /// Evidence clips recorded from the tiles.
    clips: Clips,
    /// Asks the window for a frame (from any thread).
    repaint: streams::Waker,
    screenshot: Option<Screenshot>,
    alarm_sound: AlarmSound,
    plan_reloads: mpsc::UnboundedReceiver<Result<PlanLibrary, String>>,
    /// The raster tiles under the map, when configured.
    basemap: Option<Basemap>,
    /// The photos of reports, fetched from the hub's files endpoint.
    photos: Photos,
    /// A unit's reports back whose photos are on their way up.
    reports: Reports,
    /// When the clocks last ran.
    last_tick: Instant,
    /// Whether the demo's simulated duty officer acts.
    duty_officer: bool,
    /// The open meeting's pictures, the seat's own, and (in the demo) the simulated sites.
    meeting_media: crate::meeting_media::MeetingMedia,
    /// In the demo, the simulated sites join the meetings: every site but the units a person
    /// plays (`[simulation] staffed`), which join from their own seats.
    simulated_sites: Option<Vec<String>>,
    rng: fastrand::Rng,
    world: World,
    // Dropped last: the client and the world's tasks run on it.
    _runtime: tokio::runtime::Runtime,
}

/// What the window had saved from the last run, read when it was created.
pub struct Saved {
    pub views: Option<Views>,
    pub lang: Option<Lang>,
    /// What renders the window (the wall draws video with its shader, see [`ui::yuv`]).
    pub renderer: ui::yuv::Renderer,
}

impl Saved {
    /// Reads what the last run saved (nothing for a screenshot run, which must look the same
    /// on every machine), and sets the fonts and colours up.
    pub fn read(cc: &eframe::CreationContext<'_>, screenshot: bool) -> Saved {
        if let Err(e) = ui::fonts::install(&cc.egui_ctx) {
            tracing::error!("{e}");
        }
        cc.egui_ctx.set_visuals(ui::theme::visuals());
        let storage = cc.storage.filter(|_| !screenshot);
        Saved {
            views: storage.and_then(|s| eframe::get_value::<Views>(s, STORAGE_VIEWS)),
            lang: storage.and_then(|s| eframe::get_value::<Lang>(s, STORAGE_LANG)),
            renderer: renderer(cc),
        }
    }

    /// The language to show: `--lang`, then the config, then the last run's.
    pub fn lang(&self, options: &StartOptions) -> Lang {
        options.lang.or(options.config.lang).or(self.lang).unwrap_or_default()
    }
}

/// Which renderer eframe started; with wgpu, the wall's picture pipeline is installed into it.
fn renderer(cc: &eframe::CreationContext<'_>) -> ui::yuv::Renderer {
    if cc.gl.is_some() {
        return ui::yuv::Renderer::Glow;
    }
    #[cfg(feature = "wgpu")]
    if let Some(render_state) = &cc.wgpu_render_state {
        ui::yuv::wgpu::install(render_state);
        return ui::yuv::Renderer::Wgpu;
    }
    ui::yuv::Renderer::Other
}

impl LinkageApp {
    /// Starts the console: the world it connects to, its journal and the hub link, the wall's
    /// feeds. `session` is the token a login gave (for a remote server and a person).
    pub fn start(
        ctx: &egui::Context,
        saved: Saved,
        options: StartOptions,
        session: Option<String>,
    ) -> Result<LinkageApp, String> {
        let ctx = ctx.clone();
        let lang = saved.lang(&options);
        let mut views = saved.views.unwrap_or_default();
        views.wall.renderer(saved.renderer);
        views.meeting.renderer(saved.renderer);

        let runtime = crate::runtime("linkage io").map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        let config = options.config;
        // The demo's simulated duty officer sits at the center, not at a unit's seat.
        let duty_officer = config.simulation.as_ref().is_some_and(|s| s.duty_officer) && config.seat_unit.is_none();
        let world = World::start(&config, options.data_dir, session, &runtime)?;
        // A unit's seat reads its unit's orders as one of its terminals.
        let role = config.seat_role();

        let feed_ctx = ctx.clone();
        let mut feed = crate::journal::follow(
            &world.store_dir,
            (&world.hub_url, &world.token, role, world.trust.clone()),
            runtime.handle(),
            std::sync::Arc::new(move || feed_ctx.request_repaint()),
        )?;
        let plan_reloads = crate::center::channels::watch_plans(&config, runtime.handle());
        // A unit's seat has no wall: it reads no platform.
        let seat_platforms: &[crate::config::PlatformSettings] =
            if config.seat_unit.is_none() { &world.platforms } else { &[] };
        let platform_ctx = ctx.clone();
        let platforms = Platforms::start(
            seat_platforms,
            &config.cameras,
            runtime.handle(),
            std::sync::Arc::new(move || platform_ctx.request_repaint()),
        );
        let tiles_ctx = ctx.clone();
        let video_ctx = ctx.clone();
        let basemap = config.basemap.as_ref().and_then(|setting| {
            Basemap::start(setting, std::sync::Arc::new(move || tiles_ctx.request_repaint()))
                .inspect_err(|e| tracing::error!(error = %e, "basemap not shown"))
                .ok()
        });

        let mut core = config.core();
        core.video_platforms = seat_platforms.iter().map(crate::config::PlatformSettings::link).collect();
        for event in std::mem::take(&mut feed.restored) {
            core.on_feed(FeedUpdate::Event(event));
        }
        // Commands still queued (the seat stopped before the log had them) act here at once:
        // an acknowledged alarm does not ring again.
        for command in std::mem::take(&mut feed.queued) {
            core.remember_sent(&command);
        }
        Ok(LinkageApp {
            core,
            tr: I18n::new(lang),
            views,
            feed,
            feeds: WallFeeds::new(
                crate::wall::feeds::GRACE,
                std::sync::Arc::new(move || video_ctx.request_repaint_after(VIDEO_REPAINT)),
            ),
            platforms: PlatformStreams::new(platforms),
            clips: Clips::new(world.store_dir.join("clips")),
            repaint: {
                let ctx = ctx.clone();
                std::sync::Arc::new(move || ctx.request_repaint())
            },
            screenshot: options.screenshot.map(Screenshot::new),
            alarm_sound: AlarmSound::start(),
            plan_reloads,
            basemap,
            photos: Photos::default(),
            reports: Reports::default(),
            last_tick: Instant::now(),
            duty_officer,
            meeting_media: crate::meeting_media::MeetingMedia::default(),
            simulated_sites: config
                .simulation
                .as_ref()
                .filter(|_| config.seat_unit.is_none())
                .map(|s| s.staffed.clone()),
            rng: fastrand::Rng::new(),
            world,
            _runtime: runtime,
        })
    }

    /// Hands an effect of a command or a clock to whoever carries it out.
    fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::Send(body) => self.feed.send(body),
            Effect::SendWithPhotos { command, photos } => self.reports.submit(command, photos),
            Effect::Export { name, content } => {
                let dir = self.world.store_dir.join("exports");
                std::thread::spawn(move || {
                    let path = dir.join(&name);
                    match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, content)) {
                        Ok(()) => tracing::info!(path = %path.display(), "exported"),
                        Err(e) => tracing::error!(path = %path.display(), error = %e, "export failed"),
                    }
                });
            }
            Effect::Record { tile, camera, minutes, incident } => {
                self.clips.start(&self.feeds, (tile, &camera), minutes, incident, self.repaint.clone());
            }
            Effect::StopRecording { camera } => self.feeds.stop_recording(&camera),
            Effect::ResyncPlatforms => self.platforms.resync(),
            Effect::Preset { camera, number, save } => {
                if let Some(camera) = self.core.camera(&camera) {
                    self.platforms.preset(camera, number, save);
                }
            }
            Effect::Steer { camera, motion } => {
                if let Some(camera) = self.core.camera(&camera) {
                    self.platforms.steer(camera, motion);
                }
            }
            Effect::Snapshot { tile, camera } => {
                let Some(frame) = self.feeds.picture(tile).and_then(|p| p.frame) else {
                    tracing::warn!(%camera, "no picture to save yet");
                    return;
                };
                let dir = self.world.store_dir.join("snapshots");
                let name = format!(
                    "{camera}-{}.png",
                    chrono::Utc::now().with_timezone(&crate::core::ZONE).format("%Y%m%d-%H%M%S")
                );
                std::thread::spawn(move || match crate::wall::snapshot::save(&frame, &dir.join(&name)) {
                    Ok(()) => tracing::info!(file = %name, "snapshot saved"),
                    Err(e) => tracing::error!(file = %name, error = %e, "snapshot not saved"),
                });
            }
        }
    }
}

impl eframe::App for LinkageApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        while started.elapsed() < DRAIN_BUDGET {
            match self.feed.updates.try_recv() {
                Ok(update) => self.core.on_feed(update),
                Err(_) => break,
            }
        }
        while let Ok(reload) = self.plan_reloads.try_recv() {
            match reload {
                Ok(plans) => {
                    tracing::info!(plans = plans.plans.len(), "plan library reloaded");
                    self.core.plans = plans;
                    self.core.plans_trouble = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "plan library refused; the last good one stays");
                    self.core.plans_trouble = Some(e);
                }
            }
        }
        if self.last_tick.elapsed() >= Duration::from_secs(1) {
            self.last_tick = Instant::now();
            let now = chrono::Utc::now();
            self.core.step_tour(now);
            // Platform streams lost for good are asked for anew (looked at once a second, not
            // every frame); a feed that records keeps its recording: it is not renewed under it.
            let lost: Vec<String> =
                self.feeds.lost(RENEW_AFTER_ATTEMPTS).into_iter().filter(|c| !self.feeds.recording(c)).collect();
            for camera in self.platforms.renew(&self.core, &lost, &mut self.world.camera_uris) {
                self.feeds.drop_camera(&camera);
            }
            for effect in self.core.receipts() {
                self.carry_out(effect);
            }
            if self.duty_officer {
                for command in crate::world::duty_officer::act(&self.core, now, &mut self.rng) {
                    for effect in self.core.apply_at(command, now) {
                        self.carry_out(effect);
                    }
                }
            }
        }
        if !self.feed.updates.is_empty() {
            ctx.request_repaint();
        }
        if let Some(Connection::Connected { files: Some(files), .. }) = &self.core.hub.connection
            && self.photos.files() != Some(files.as_str())
        {
            let photos_ctx = ctx.clone();
            self.photos.connect(crate::photos::Source {
                files: files.clone(),
                token: self.world.token.clone(),
                trust: self.world.trust.clone(),
                runtime: self._runtime.handle().clone(),
                waker: std::sync::Arc::new(move || photos_ctx.request_repaint()),
            });
        }
        self.photos.pump(ctx);
        // Connected to a center that keeps no photos: the reports go without theirs.
        if let Some(Connection::Connected { files: None, .. }) = &self.core.hub.connection {
            for ready in self.reports.without_photos("the center keeps no photos (its hub has no files endpoint)") {
                self.feed.send(ready.command);
                self.views.desk.refused_photos.extend(ready.refused);
            }
        }
        if self.reports.busy() {
            let endpoint = self.photos.files().map(|files| Endpoint {
                files,
                token: &self.world.token,
                trust: self.world.trust.as_ref(),
            });
            let reports_ctx = ctx.clone();
            let waker: streams::Waker = std::sync::Arc::new(move || reports_ctx.request_repaint());
            for ready in self.reports.pump(endpoint, self._runtime.handle(), &waker) {
                self.feed.send(ready.command);
                self.views.desk.refused_photos.extend(ready.refused);
            }
        }
        let ringing =
            !self.core.alarms.is_empty() || !self.core.orders.alerts.is_empty() || !self.core.desk.ringing().is_empty();
        self.alarm_sound.set_ringing(ringing);
        for effect in self.clips.pump(&mut self.core) {
            self.carry_out(effect);
        }
        let now = Instant::now();
        self.platforms.pump(&mut self.core, &mut self.world.camera_uris);
        self.platforms.follow(&self.core, &self.feeds.running(), &mut self.world.camera_uris, now);
        self.feeds.sync(&self.core.wall, &self.world.camera_uris, now);
        let meeting_ctx = ctx.clone();
        let waker: streams::Waker = std::sync::Arc::new(move || meeting_ctx.request_repaint());
        // The seat sends only into the meeting it was asked to, also when its meeting changed
        // since the last frame.
        self.views.meeting.keep_to(&self.core);
        let own = self.views.meeting.sending.then(|| crate::meeting_media::own_source(&self.core));
        let wants = (self.views.meeting.open, own, self.simulated_sites.as_deref());
        self.meeting_media.follow(&self.core, wants, &self.world.camera_uris, &waker, self._runtime.handle());
        // What the seat is for is on screen: the center's wall plays, a unit's seat has an order.
        let ready = match self.core.desk.unit {
            Some(_) => !self.core.desk.tasks.is_empty(),
            None => self.feeds.all_playing(&self.core.wall),
        };
        if let Some(shot) = &mut self.screenshot {
            shot.step(ctx, ready);
        }
        // Tick the status-bar clock at the next whole second.
        let now = chrono::Utc::now();
        let to_next_second = 1000 - now.timestamp_subsec_millis().min(999) as u64;
        ctx.request_repaint_after(Duration::from_millis(to_next_second));
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let tiles: Vec<Option<wall::TileFeed<'_>>> = (0..self.core.wall.tiles.len())
            .map(|i| match self.feeds.picture(i) {
                Some(picture) => Some(wall::TileFeed {
                    camera: self.core.camera(&picture.camera)?,
                    state: picture.state,
                    frame: picture.frame,
                    recording: self.clips.mark(&self.feeds, &picture.camera),
                    presets: self.platforms.presets(&picture.camera),
                    notice: self.platforms.notice(&picture.camera),
                }),
                // A platform camera whose stream is not there (yet): what the platform said.
                None => {
                    let camera = self.core.camera(self.core.wall.tiles.get(i)?.as_deref()?)?;
                    let state = self.platforms.tile_state(camera, &self.tr)?;
                    Some(wall::TileFeed { camera, state, frame: None, recording: None, presets: None, notice: None })
                }
            })
            .collect();
        let meeting = self.meeting_media.frame(&self.core);
        let frame = ui::Frame {
            tiles: &tiles,
            meeting: &meeting,
            basemap: self.basemap.as_ref(),
            photos: &self.photos,
            now: chrono::Utc::now(),
        };
        let actions = ui::console(ui, &mut self.views, &self.core, &self.tr, &frame);
        drop(tiles);
        for action in actions {
            match action {
                Action::Core(command) => {
                    for effect in self.core.apply(command) {
                        self.carry_out(effect);
                    }
                }
                Action::SetLanguage(lang) => self.tr.set_lang(lang),
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.screenshot.is_none() {
            eframe::set_value(storage, STORAGE_VIEWS, &self.views);
            eframe::set_value(storage, STORAGE_LANG, &self.tr.lang());
        }
    }

    /// Recordings still running are closed, and their clips put on the record (the seat's
    /// durable queue sends them at the next start if the hub is not there now), before the seat
    /// goes: at most 20 s (a recording may take 10 s to close, then its hash).
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.feeds.stop_all_recordings();
        let until = Instant::now() + Duration::from_secs(20);
        while self.clips.recording() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
            for effect in self.clips.pump(&mut self.core) {
                self.carry_out(effect);
            }
        }
    }

    fn persist_egui_memory(&self) -> bool {
        self.screenshot.is_none()
    }
}
