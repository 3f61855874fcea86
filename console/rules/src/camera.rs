//! Cameras as the console knows them: where they stand, where they look, how to reach them.

/// One camera. Its stream addresses may hold credentials, so they are never shown or logged:
/// the console speaks of a camera by its `id` and `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    pub id: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    /// Direction of view, degrees clockwise from north.
    pub heading: f32,
    /// Width of the field of view, degrees.
    pub fov: f32,
    pub streams: CameraStreams,
    /// Whether it pans, tilts and zooms on command.
    pub ptz: bool,
    pub presence: Presence,
    /// The village it belongs to when its position does not say (a platform's channel with no
    /// position, by its civil code as the config maps it).
    pub village: Option<String>,
}

/// Whether a camera can be played, as its source last said. A configured camera is always
/// [`Presence::Online`] (its feed's health says the rest); a platform's camera is what the
/// platform's directory said at its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Presence {
    #[default]
    Online,
    /// The platform lists it but says it is offline.
    Offline,
    /// It was in the platform's directory and is no longer: kept, marked, never silently
    /// dropped (a tile showing it says so).
    Gone,
}

/// Where a camera's video comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraStreams {
    /// Served by the demo's in-process RTSP server.
    Simulated,
    /// A real camera: a main (full) stream and an optional sub (small) stream.
    Uri { main: String, sub: Option<String> },
    /// A channel of a video platform (GB/T 28181): its stream address is asked for when the
    /// wall shows it, and given back when the wall no longer does.
    Platform { platform: String, device: String, channel: String },
}

impl Camera {
    /// Where a platform's camera is there: the platform, the device and the channel.
    pub fn on_platform(&self) -> Option<(&str, &str, &str)> {
        match &self.streams {
            CameraStreams::Platform { platform, device, channel } => Some((platform, device, channel)),
            _ => None,
        }
    }
}

/// A position a PTZ camera keeps, as its platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// 1–255.
    pub number: u8,
    pub name: String,
    /// Whether the number stays this preset's when the camera's list changes (a platform's
    /// preset id; an ONVIF preset the console saved and named by its number): only such a
    /// preset may be marked on the map.
    pub stable: bool,
}

/// The number a new preset takes: the first of 1–255 not in use.
pub fn free_preset(presets: &[Preset]) -> Option<u8> {
    (1..=255).find(|n| !presets.iter().any(|p| p.number == *n))
}

/// A video platform the seat takes cameras from, as its last directory read went.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformLink {
    pub id: String,
    pub name: String,
    /// Cameras its last good read listed (`None`: not read yet).
    pub cameras: Option<usize>,
    /// Why its last read failed (the cameras of the last good one stay).
    pub trouble: Option<String>,
}

/// Where the presets of PTZ cameras look, as marked on the map: camera → preset → (lon, lat).
pub type PresetPlaces = std::collections::BTreeMap<String, std::collections::BTreeMap<u8, (f64, f64)>>;

/// How near an incident a preset must look to offer turning the camera there, in metres.
pub const TURN_TO_WITHIN_M: f64 = 150.0;

/// A PTZ camera that can be turned to look at a point: its preset nearest the point.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnTo {
    /// Index into the camera list.
    pub camera: usize,
    pub preset: u8,
    /// From the preset's mark to the point.
    pub distance_m: f64,
}

/// The PTZ cameras within their view range of a point that have a preset marked within
/// [`TURN_TO_WITHIN_M`] of it, each with its nearest such preset; nearest first.
pub fn turn_to(cameras: &[Camera], places: &PresetPlaces, lon: f64, lat: f64) -> Vec<TurnTo> {
    let mut found: Vec<TurnTo> = cameras
        .iter()
        .enumerate()
        .filter(|(_, c)| c.ptz && c.presence == Presence::Online)
        .filter(|(_, c)| distance_and_bearing((c.lon, c.lat), (lon, lat)).0 <= VIEW_RANGE_M)
        .filter_map(|(i, c)| {
            let presets = places.get(&c.id)?;
            presets
                .iter()
                .map(|(n, at)| TurnTo { camera: i, preset: *n, distance_m: distance_and_bearing(*at, (lon, lat)).0 })
                .filter(|t| t.distance_m <= TURN_TO_WITHIN_M)
                .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m))
        })
        .collect();
    found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    found
}

/// A PTZ camera's movement: it goes on until [`Motion::Stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Motion {
    Left,
    Right,
    Up,
    Down,
    ZoomIn,
    ZoomOut,
    Stop,
}

/// Puts a platform's directory in place of what it said last: cameras it lists now are updated
/// where they stand (the wall's pages keep their order) or come in at the end; cameras it listed
/// before and no longer does stay, marked [`Presence::Gone`], so a tile or a list showing one
/// says so instead of losing it. Other cameras are untouched.
pub fn merge_directory(cameras: &mut Vec<Camera>, platform: &str, listed: Vec<Camera>) {
    let by_id: std::collections::HashMap<&str, &Camera> = listed.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut placed = std::collections::HashSet::new();
    for camera in cameras.iter_mut().filter(|c| c.on_platform().map(|(p, ..)| p) == Some(platform)) {
        match by_id.get(camera.id.as_str()) {
            Some(now) => {
                *camera = (*now).clone();
                placed.insert(camera.id.clone());
            }
            None => camera.presence = Presence::Gone,
        }
    }
    // The new ones, in the platform's order.
    cameras.extend(listed.into_iter().filter(|c| !placed.contains(&c.id)));
}

/// How far a camera sees, for deciding whether its field of view covers a point.
pub const VIEW_RANGE_M: f64 = 300.0;

/// A camera near a point: how far, and whether it looks at the point.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyCamera {
    /// Index into the camera list.
    pub camera: usize,
    pub distance_m: f64,
    /// The point lies inside the camera's field-of-view wedge and within its view range.
    pub covers: bool,
}

/// Distance (m) and bearing (degrees clockwise from north) from one point to another, on a
/// local flat approximation — exact to well under a metre at township scale.
pub fn distance_and_bearing(from: (f64, f64), to: (f64, f64)) -> (f64, f64) {
    let cos_lat = ((from.1 + to.1) / 2.0).to_radians().cos();
    let east = (to.0 - from.0) * 111_320.0 * cos_lat;
    let north = (to.1 - from.1) * 110_540.0;
    let bearing = east.atan2(north).to_degrees().rem_euclid(360.0);
    (east.hypot(north), bearing)
}

/// The cameras within `radius_m` of a point, those that look at it first, then by distance.
pub fn nearest(cameras: &[Camera], lon: f64, lat: f64, radius_m: f64) -> Vec<NearbyCamera> {
    let mut near: Vec<NearbyCamera> = cameras
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let (distance_m, bearing) = distance_and_bearing((c.lon, c.lat), (lon, lat));
            if distance_m > radius_m {
                return None;
            }
            // Angle between where the camera looks and where the point is, in −180…180.
            let off_axis = ((bearing - c.heading as f64 + 540.0).rem_euclid(360.0) - 180.0).abs();
            let covers = distance_m <= VIEW_RANGE_M && (off_axis <= c.fov as f64 / 2.0 || distance_m < 5.0);
            Some(NearbyCamera { camera: i, distance_m, covers })
        })
        .collect();
    near.sort_by(|a, b| b.covers.cmp(&a.covers).then(a.distance_m.total_cmp(&b.distance_m)));
    near
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(id: &str, lon: f64, lat: f64, heading: f32) -> Camera {
        Camera {
            id: id.into(),
            name: id.into(),
            lon,
            lat,
            heading,
            fov: 60.0,
            streams: CameraStreams::Simulated,
            ptz: false,
            presence: Presence::Online,
            village: None,
        }
    }

    fn on_platform(id: &str, presence: Presence) -> Camera {
        let streams = CameraStreams::Platform { platform: "wvp".into(), device: "d".into(), channel: id.into() };
        Camera { streams, presence, ..camera(&format!("wvp/d/{id}"), 120.0, 30.0, 0.0) }
    }

    #[test]
    fn a_camera_the_platform_no_longer_lists_stays_marked_gone() {
        let mut cameras = vec![camera("own", 120.0, 30.0, 0.0), on_platform("1", Presence::Online)];
        merge_directory(&mut cameras, "wvp", vec![on_platform("2", Presence::Offline)]);
        let seen: Vec<(&str, Presence)> = cameras.iter().map(|c| (c.id.as_str(), c.presence)).collect();
        assert_eq!(seen, [("own", Presence::Online), ("wvp/d/1", Presence::Gone), ("wvp/d/2", Presence::Offline)]);
        // Listed again: back where it was, and only once.
        merge_directory(
            &mut cameras,
            "wvp",
            vec![on_platform("2", Presence::Online), on_platform("1", Presence::Online)],
        );
        let seen: Vec<(&str, Presence)> = cameras.iter().map(|c| (c.id.as_str(), c.presence)).collect();
        assert_eq!(seen, [("own", Presence::Online), ("wvp/d/1", Presence::Online), ("wvp/d/2", Presence::Online)]);
    }

    #[test]
    fn a_dome_with_a_preset_marked_near_an_incident_offers_to_turn_there() {
        let dome = Camera { ptz: true, ..camera("dome", 120.0, 30.0, 0.0) };
        let fixed = camera("fixed", 120.0, 30.0, 0.0);
        let far = Camera { ptz: true, ..camera("far", 120.01, 30.0, 0.0) };
        let mut places = PresetPlaces::new();
        // Preset 1 about 111 m north of the camera, preset 2 about 222 m.
        places.insert("dome".into(), [(1, (120.0, 30.001)), (2, (120.0, 30.002))].into());
        places.insert("fixed".into(), [(1, (120.0, 30.002))].into());
        places.insert("far".into(), [(1, (120.0, 30.002))].into());
        let found = turn_to(&[dome, fixed, far], &places, 120.0, 30.0019);
        assert_eq!(found.len(), 1, "{found:?}: not the fixed camera, not the one out of range");
        assert_eq!((found[0].camera, found[0].preset), (0, 2));
        assert!(found[0].distance_m < 15.0);
        assert!(turn_to(&[Camera { ptz: true, ..camera("dome", 120.0, 30.0, 0.0) }], &places, 120.0, 29.99).is_empty());
    }

    #[test]
    fn bearing_is_clockwise_from_north() {
        let (_, east) = distance_and_bearing((120.0, 30.0), (120.001, 30.0));
        let (d, south) = distance_and_bearing((120.0, 30.0), (120.0, 29.999));
        assert!((east - 90.0).abs() < 0.01 && (south - 180.0).abs() < 0.01);
        assert!((d - 110.54).abs() < 0.1, "{d}");
    }

    #[test]
    fn a_camera_looking_at_the_point_ranks_before_a_nearer_one_looking_away() {
        // The point is 100 m north of both; "away" is closer but looks south.
        let cams = [
            camera("looking", 120.0, 30.0, 0.0),
            camera("away", 120.0, 30.0003, 180.0),
            camera("far", 120.05, 30.0, 0.0),
        ];
        let near = nearest(&cams, 120.0, 30.0009, 1000.0);
        let order: Vec<(&str, bool)> = near.iter().map(|n| (cams[n.camera].id.as_str(), n.covers)).collect();
        assert_eq!(order, [("looking", true), ("away", false)]);
    }
}

/// The addresses of a camera's streams, as the wall opens them. They may hold credentials:
/// never shown, never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamUris {
    pub main: String,
    pub sub: Option<String>,
}

impl StreamUris {
    /// The address of a stream; a camera without a sub stream plays its main one everywhere.
    pub fn of(&self, quality: super::wall::Quality) -> &str {
        match quality {
            super::wall::Quality::Main => &self.main,
            super::wall::Quality::Sub => self.sub.as_deref().unwrap_or(&self.main),
        }
    }
}
