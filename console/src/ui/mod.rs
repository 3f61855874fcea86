//! The views. Each is a function of a read-only [`Core`] plus its own view state, and returns
//! what it wants done; [`console`] lays them out for a command-room screen:
//!
//! ```text
//! ┌ title · menu ───────────────────────────────────────────────┐
//! │ video wall (2×2)        │                        │ incident │
//! │                         │     live grid map      │ detail   │
//! │ incident queue          │                        │          │
//! └ status bar: hub · counts · cameras · clock ─────────────────┘
//! ```
//! Each region is a named node in the accessibility tree (role `Region`), which is how tests
//! and screen readers find it.

pub mod alarm;
pub mod at_risk;
pub mod basemap;
pub mod board;
pub mod camera_list;
pub mod desk;
pub mod detail;
pub mod dispatch;
pub mod fonts;
pub mod login;
pub mod map;
pub mod markers;
pub mod meeting;
pub mod names;
pub mod on_call;
pub mod photos;
pub mod queue;
pub mod roster;
pub mod status_bar;
pub mod theme;
pub mod trail;
pub mod unit_markers;
pub mod units;
pub mod wall;
pub mod yuv;

use egui::accesskit::Role;
use egui::{Panel, UiBuilder};
use serde::{Deserialize, Serialize};

use crate::core::filter::{IncidentFilter, Matches};
use crate::core::{self, Command, Core};
use crate::i18n::{I18n, Lang};
use streams::feed::SeatRole;

/// What the views ask for: a change to Core, or a change of presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Core(Command),
    SetLanguage(Lang),
}

/// The state of every view, kept between frames (and, for what is serialisable, between runs).
#[derive(Default, Serialize, Deserialize)]
pub struct Views {
    #[serde(skip)]
    pub wall: wall::WallView,
    /// Walls saved under a name.
    #[serde(default)]
    pub saved_walls: Vec<wall::SavedWall>,
    pub map: map::MapView,
    #[serde(skip)]
    pub queue: queue::QueueView,
    /// What the queue and the map show.
    pub filter: IncidentFilter,
    /// The incidents the filter lets through, shared by the queue and the map.
    #[serde(skip)]
    pub matches: Matches,
    #[serde(skip)]
    pub detail: detail::DetailView,
    #[serde(skip)]
    pub dispatch: dispatch::DispatchView,
    #[serde(skip)]
    pub board: board::BoardView,
    /// A unit seat's desk.
    #[serde(skip)]
    pub desk: desk::DeskView,
    /// The photo shown large.
    #[serde(skip)]
    pub photo: photos::PhotoViewer,
    /// The duty rosters, for an admin.
    #[serde(skip)]
    pub roster: roster::RosterView,
    /// The linked units and their channels' tests.
    #[serde(skip)]
    pub units: units::UnitsView,
    /// The video linkage meeting panel, beside the map.
    #[serde(skip)]
    pub meeting: meeting::MeetingView,
    /// The board was opened for a leader's seat (it opens once, then it is theirs to close).
    #[serde(skip)]
    pub board_shown_to_leader: bool,
    /// The meeting whose opening showed the meeting panel (it shows once per meeting).
    #[serde(skip)]
    pub meeting_seen: Option<String>,
}

/// What the console shows this frame besides Core.
pub struct Frame<'a> {
    pub tiles: &'a [Option<wall::TileFeed<'a>>],
    /// The open meeting's pictures and the seat's own sending.
    pub meeting: &'a meeting::MeetingFrame,
    /// The raster tiles under the map, when configured.
    pub basemap: Option<&'a crate::basemap::Basemap>,
    /// The photos of reports, as far as they have arrived.
    pub photos: &'a crate::photos::Photos,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Runs `content` inside a region named `label` in the accessibility tree.
fn region<R>(ui: &mut egui::Ui, label: &str, content: impl FnOnce(&mut egui::Ui) -> R) -> R {
    ui.scope_builder(UiBuilder::new().accessibility_label(label).accessibility_role(Role::Region), content).inner
}

/// What the view menu offers besides resetting the map.
#[derive(Clone, Copy)]
struct Menu {
    /// The board (a seat of the center).
    board: bool,
    /// The duty rosters (an admin's seat).
    rosters: bool,
    /// The meeting panel (a seat of the center, a unit's seat).
    meeting: bool,
}

/// The title bar: the seat's name, the language and the view menu.
fn title_bar(ui: &mut egui::Ui, views: &mut Views, tr: &I18n, title: &str, menu: Menu) -> Vec<Action> {
    let mut actions = vec![];
    Panel::top("title").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.label(egui::RichText::new(title).strong().size(16.0));
            ui.separator();
            ui.menu_button(tr.t("menu.language"), |ui| {
                for (lang, key) in [(Lang::Zh, "lang.zh"), (Lang::En, "lang.en")] {
                    if ui.radio(tr.lang() == lang, tr.t(key)).clicked() {
                        actions.push(Action::SetLanguage(lang));
                        ui.close();
                    }
                }
            });
            ui.menu_button(tr.t("menu.view"), |ui| {
                if ui.button(tr.t("menu.reset_map")).clicked() {
                    views.map.reset();
                    ui.close();
                }
                if menu.board && ui.button(tr.t("menu.board")).clicked() {
                    views.board.open = true;
                    ui.close();
                }
                if menu.board && ui.button(tr.t("menu.units")).clicked() {
                    views.units.open = true;
                    ui.close();
                }
                if menu.meeting && ui.button(tr.t("menu.meeting")).clicked() {
                    views.meeting.open = true;
                    ui.close();
                }
                if menu.rosters && ui.button(tr.t("menu.rosters")).clicked() {
                    views.roster.open = true;
                    ui.close();
                }
            });
        });
    });
    actions
}

/// Draws the whole console and returns what the user asked for.
pub fn console(ui: &mut egui::Ui, views: &mut Views, core: &Core, tr: &I18n, frame: &Frame<'_>) -> Vec<Action> {
    if let Some(unit) = &core.desk.unit {
        return unit_seat(ui, views, core, tr, frame, unit);
    }
    let rosters = core.hub.seat() == Some(SeatRole::Admin);
    let mut actions = title_bar(ui, views, tr, tr.t("app.title"), Menu { board: true, rosters, meeting: true });
    let mut commands = vec![];
    if !core.alarms.is_empty() {
        let banner = egui::Frame::default().fill(theme::ALARM).inner_margin(8.0);
        Panel::top("alarm").frame(banner).show(ui, |ui| {
            commands.extend(region(ui, tr.t("region.alarm"), |ui| alarm::ui(ui, core, tr)));
        });
    }
    let risky = at_risk::risky(core, frame.now);
    if at_risk::needed(core, &risky) {
        let strip = egui::Frame::default().fill(theme::TILE_BACKGROUND).inner_margin(6.0);
        Panel::top("orders at risk").frame(strip).show(ui, |ui| {
            commands.extend(region(ui, tr.t("region.at_risk"), |ui| at_risk::ui(ui, core, tr, &risky)));
        });
    }
    let playing =
        frame.tiles.iter().flatten().filter(|t| matches!(t.state, streams::video::FeedState::Playing { .. })).count();
    let on_wall = frame.tiles.iter().flatten().count();
    Panel::bottom("status bar").show(ui, |ui| {
        region(ui, tr.t("region.status"), |ui| status_bar::ui(ui, core, tr, (playing, on_wall), frame.now));
    });
    Panel::right("detail").resizable(true).default_size(theme::DETAIL_WIDTH).show(ui, |ui| {
        commands.extend(region(ui, tr.t("region.detail"), |ui| {
            views.detail.ui(ui, core, tr, &mut views.dispatch, (frame.photos, &mut views.photo))
        }));
    });
    commands.extend(meeting_panel(ui, views, core, tr, frame));
    let seat = core.hub.seat();
    // A leader's seat opens on the board, once.
    if seat == Some(SeatRole::Leader) && !views.board_shown_to_leader {
        views.board.open = true;
        views.board_shown_to_leader = true;
    }
    // The on-call seat: the tier-1 view in the place of the wall and the queue.
    if seat == Some(SeatRole::OnCall) {
        Panel::left("on call").resizable(true).default_size(ui.available_width() * theme::LEFT_COLUMN_SHARE).show(
            ui,
            |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    commands.extend(region(ui, tr.t("region.on_call"), |ui| on_call::ui(ui, core, tr, frame.now)));
                });
            },
        );
    } else {
        Panel::left("wall and queue")
            .resizable(true)
            .default_size(ui.available_width() * theme::LEFT_COLUMN_SHARE)
            .show(ui, |ui| {
                // 16:9 tiles in every layout, plus the two rows of controls; at most 70 % of the column.
                let wall_height = (ui.available_width() * 9.0 / 16.0 + 56.0).min(ui.available_height() * 0.7);
                Panel::top("wall").exact_size(wall_height).show(ui, |ui| {
                    commands.extend(region(ui, tr.t("region.wall"), |ui| {
                        views.wall.ui(ui, core, tr, &mut views.saved_walls, frame.tiles)
                    }));
                });
                egui::CentralPanel::default().show(ui, |ui| {
                    commands.extend(region(ui, tr.t("region.queue"), |ui| {
                        views.queue.ui(ui, core, tr, &mut views.filter, &mut views.matches, frame.now)
                    }));
                });
            });
    }
    egui::CentralPanel::default().frame(egui::Frame::NONE).show(ui, |ui| {
        commands.extend(region(ui, tr.t("region.map"), |ui| {
            let matches = views.matches.refresh(&views.filter, &core.incidents, &core.grids, &core.kinds, frame.now);
            views.map.ui(ui, core, tr, matches, (frame.basemap, frame.now))
        }));
    });
    commands.extend(views.dispatch.ui(ui.ctx(), core, tr, frame.now));
    commands.extend(views.board.ui(ui.ctx(), core, tr, frame.now));
    if rosters {
        commands.extend(views.roster.ui(ui.ctx(), core, tr));
    }
    commands.extend(views.units.ui(ui.ctx(), core, tr, frame.now));
    views.photo.ui(ui.ctx(), frame.photos, tr);
    actions.extend(commands.into_iter().map(Action::Core));
    actions
}

/// The meeting panel, beside the map: it shows when this seat's meeting opens (once per
/// meeting: on every seat of the center, and on the seats of the units invited) and stays while
/// the person keeps it.
fn meeting_panel(ui: &mut egui::Ui, views: &mut Views, core: &Core, tr: &I18n, frame: &Frame<'_>) -> Vec<Command> {
    if let Some(meeting) = core.meeting().filter(|m| Some(m.id.as_str()) != views.meeting_seen.as_deref()) {
        views.meeting_seen = Some(meeting.id.clone());
        views.meeting.open = true;
    }
    let mut commands = vec![];
    if views.meeting.open {
        Panel::right("meeting").resizable(true).default_size(theme::MEETING_WIDTH).show(ui, |ui| {
            commands = region(ui, tr.t("region.meeting"), |ui| views.meeting.ui(ui, core, tr, frame.meeting));
        });
    }
    commands
}

/// A linked unit's seat (联动分中心): the banner of orders not yet signed for and of a meeting
/// it is invited to, the unit's desk on the left, the map around its incidents in the middle,
/// the meeting beside it.
fn unit_seat(
    ui: &mut egui::Ui,
    views: &mut Views,
    core: &Core,
    tr: &I18n,
    frame: &Frame<'_>,
    unit: &str,
) -> Vec<Action> {
    let name = core::unit::name_of(&core.units, unit);
    let menu = Menu { board: false, rosters: false, meeting: true };
    let mut actions = title_bar(ui, views, tr, &tr.f("desk.title", &[("unit", name)]), menu);
    let mut commands = vec![];
    if !core.desk.ringing().is_empty() {
        let banner = egui::Frame::default().fill(theme::ALARM).inner_margin(8.0);
        Panel::top("new orders").frame(banner).show(ui, |ui| {
            commands.extend(region(ui, tr.t("region.new_orders"), |ui| desk::banner(ui, core, tr)));
        });
    }
    // Invited to a meeting it may join and not in it: said across the window until it joins.
    if let Some(invited) = core.meeting().filter(|m| !views.meeting.sending && meeting::site_may_join(core, m)) {
        let banner = egui::Frame::default().fill(theme::INVITATION).inner_margin(8.0);
        Panel::top("meeting invitation").frame(banner).show(ui, |ui| {
            region(ui, tr.t("region.invitation"), |ui| {
                ui.horizontal(|ui| {
                    let words = tr.f("meeting.invited", &[("title", &invited.title), ("chair", &invited.chair)]);
                    ui.label(egui::RichText::new(words).strong().size(16.0).color(egui::Color32::WHITE));
                    if ui.button(egui::RichText::new(tr.t("meeting.site_join")).strong()).clicked() {
                        views.meeting.sending = true;
                        views.meeting.open = true;
                    }
                });
            });
        });
    }
    Panel::bottom("status bar").show(ui, |ui| {
        region(ui, tr.t("region.status"), |ui| status_bar::ui(ui, core, tr, (0, 0), frame.now));
    });
    commands.extend(meeting_panel(ui, views, core, tr, frame));
    Panel::left("desk").resizable(true).default_size(ui.available_width() * theme::LEFT_COLUMN_SHARE).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            commands.extend(region(ui, tr.t("region.desk"), |ui| views.desk.ui(ui, core, tr, frame.now)));
        });
    });
    egui::CentralPanel::default().frame(egui::Frame::NONE).show(ui, |ui| {
        commands.extend(region(ui, tr.t("region.map"), |ui| {
            let matches = views.matches.refresh(&views.filter, &core.incidents, &core.grids, &core.kinds, frame.now);
            views.map.ui(ui, core, tr, matches, (frame.basemap, frame.now))
        }));
    });
    actions.extend(commands.into_iter().map(Action::Core));
    actions
}
