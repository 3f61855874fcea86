//! Design tokens: every colour and size the views use, in one place. Views never write a
//! colour themselves, so the room's visual language (severity red, tier colours) stays one.

use egui::{Color32, Visuals};
use streams::feed::{IncidentStatus, Severity};

/// The console's dark theme: a command room is dim, and video reads best on near-black.
pub fn visuals() -> Visuals {
    let mut v = Visuals::dark();
    v.panel_fill = Color32::from_rgb(0x14, 0x18, 0x20);
    v.window_fill = Color32::from_rgb(0x1a, 0x1f, 0x2a);
    v.extreme_bg_color = Color32::from_rgb(0x0b, 0x0e, 0x13);
    v.selection.bg_fill = Color32::from_rgb(0x1f, 0x5f, 0xa8);
    v
}

pub const MAP_BACKGROUND: Color32 = Color32::from_rgb(0x10, 0x1a, 0x22);
pub const GRID_OUTLINE: Color32 = Color32::from_rgba_premultiplied(0x9a, 0xb4, 0xc8, 0x90);
pub const VILLAGE_LABEL: Color32 = Color32::from_rgb(0xe8, 0xee, 0xf4);
pub const GRID_LABEL: Color32 = Color32::from_rgb(0x8c, 0xa0, 0xb0);
pub const RIVER: Color32 = Color32::from_rgb(0x3a, 0x7c, 0xc4);
pub const ROAD: Color32 = Color32::from_rgb(0x8a, 0x7a, 0x5a);
pub const CAMERA: Color32 = Color32::from_rgb(0x5c, 0xd6, 0xe6);
pub const SELECTION: Color32 = Color32::WHITE;
pub const TILE_BACKGROUND: Color32 = Color32::from_rgb(0x05, 0x06, 0x08);
pub const TILE_TEXT: Color32 = Color32::from_rgb(0xf0, 0xf0, 0xf0);
pub const TILE_SHADE: Color32 = Color32::from_rgba_premultiplied(0, 0, 0, 0xa0);
pub const OK: Color32 = Color32::from_rgb(0x4c, 0xc3, 0x6a);
pub const WARN: Color32 = Color32::from_rgb(0xf0, 0xb0, 0x30);
pub const BAD: Color32 = Color32::from_rgb(0xe5, 0x48, 0x48);
/// The alarm banner: unmistakable, and the same red as a critical incident's marker.
pub const ALARM: Color32 = Color32::from_rgb(0xb0, 0x12, 0x1e);
/// The banner of a meeting a unit's seat is invited to: plain to see, and not an alarm.
pub const INVITATION: Color32 = Color32::from_rgb(0x1c, 0x4e, 0x8a);
pub const MUTED: Color32 = Color32::from_rgb(0x90, 0x98, 0xa4);
/// Linked units on the map, by what they are doing.
pub const UNIT_FREE: Color32 = Color32::from_rgb(0x4c, 0xc3, 0x6a);
pub const UNIT_ON_ORDER: Color32 = Color32::from_rgb(0xf0, 0xb0, 0x30);
pub const UNIT_ON_SCENE: Color32 = Color32::from_rgb(0x5a, 0x9c, 0xff);

/// Village fills, soft and distinct, in the order villages appear in the grid file.
const VILLAGE_FILLS: [Color32; 6] = [
    Color32::from_rgb(0x2a, 0x3d, 0x4f),
    Color32::from_rgb(0x2f, 0x47, 0x36),
    Color32::from_rgb(0x4a, 0x3f, 0x2c),
    Color32::from_rgb(0x3d, 0x33, 0x4d),
    Color32::from_rgb(0x2c, 0x46, 0x48),
    Color32::from_rgb(0x48, 0x33, 0x38),
];

pub fn village_fill(index: usize) -> Color32 {
    VILLAGE_FILLS[index % VILLAGE_FILLS.len()]
}

pub fn severity(s: Severity) -> Color32 {
    match s {
        Severity::Low => Color32::from_rgb(0x5a, 0xa9, 0xe6),
        Severity::Medium => Color32::from_rgb(0xf2, 0xc1, 0x4e),
        Severity::High => Color32::from_rgb(0xf2, 0x7a, 0x2e),
        Severity::Critical => Color32::from_rgb(0xff, 0x2e, 0x3e),
    }
}

pub fn status(s: IncidentStatus) -> Color32 {
    match s {
        IncidentStatus::New => WARN,
        IncidentStatus::Dispatched | IncidentStatus::Handling => Color32::from_rgb(0x5a, 0xa9, 0xe6),
        IncidentStatus::Closed => MUTED,
    }
}

/// Marker radius on the map, in points, by severity.
pub fn marker_radius(s: Severity) -> f32 {
    match s {
        Severity::Low => 4.0,
        Severity::Medium => 5.0,
        Severity::High => 6.0,
        Severity::Critical => 7.5,
    }
}

/// A grid carries its code on the map once it is this wide on screen, in points.
pub const GRID_LABEL_MIN_WIDTH: f32 = 90.0;

/// Default panel sizes for a 1920×1080 command-room screen.
pub const DETAIL_WIDTH: f32 = 340.0;
/// The meeting panel, between the map and the detail.
pub const MEETING_WIDTH: f32 = 380.0;
/// The wall-and-queue column takes this share of the window at first (then the user's size).
pub const LEFT_COLUMN_SHARE: f32 = 0.55;
