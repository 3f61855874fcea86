//! The live grid map: the township's grids filled by village, rivers and roads under them,
//! cameras with their field of view, and every incident as a marker coloured by severity.
//!
//! Offline and vector-only: no tile server is needed. The projection is a local
//! equirectangular one around the township (metres east/north of a centre point), exact
//! enough at township scale. Grids are drawn as one mesh from triangles cut at load time.
//! Drag to pan, scroll to zoom, click a marker to select its incident.

use egui::{Align2, Color32, FontId, Mesh, Pos2, Rect, Sense, Shape, Stroke, vec2};
use serde::{Deserialize, Serialize};

use crate::basemap::Basemap;
use crate::core::camera::{Camera, VIEW_RANGE_M};
use crate::core::grid::LineKind;
use crate::core::{Command, Core};
use crate::i18n::I18n;
use crate::ui::basemap::{TileLayer, View};
use crate::ui::markers::{CELL, Marker, Sprites, Stamps, cluster};
use crate::ui::{names, theme, unit_markers};

/// Metres per degree of latitude; of longitude it is this times cos(latitude).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// The closest zoom: a fifth of a metre a point.
const MIN_METRES_PER_POINT: f64 = 0.2;
/// Closer than this a unit's diamond carries its tier's number.
const UNIT_NUMBERS_BELOW: f64 = 4.0;
/// The margin kept around the township's grids, as a share of its size: the view pans and
/// zooms out up to there and no further (the demo's basemap is painted that far and beyond).
const MARGIN: f64 = 0.15;

/// The part of the world the map may show: the township's grids and a margin around them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Area {
    lo: [f64; 2],
    hi: [f64; 2],
    cos_lat: f64,
}

impl Area {
    /// The box from `lo` to `hi` with `margin` (a share of its size) added on every side.
    fn around(lo: [f64; 2], hi: [f64; 2], cos_lat: f64, margin: f64) -> Area {
        let pad = [(hi[0] - lo[0]) * margin, (hi[1] - lo[1]) * margin];
        Area { lo: [lo[0] - pad[0], lo[1] - pad[1]], hi: [hi[0] + pad[0], hi[1] + pad[1]], cos_lat }
    }

    fn middle(&self) -> [f64; 2] {
        [(self.lo[0] + self.hi[0]) / 2.0, (self.lo[1] + self.hi[1]) / 2.0]
    }

    /// The scale (metres a point) at which the whole area just fits a panel of `size`.
    fn fitting(&self, size: egui::Vec2) -> f64 {
        let w = (self.hi[0] - self.lo[0]) * METRES_PER_DEGREE * self.cos_lat;
        let h = (self.hi[1] - self.lo[1]) * METRES_PER_DEGREE;
        (w / f64::from(size.x.max(1.0))).max(h / f64::from(size.y.max(1.0)))
    }

    /// The centre nearest `centre` whose view (at `metres_per_point`, on a panel of `size`)
    /// stays inside the area; along a side where the view is wider than the area, its middle.
    fn keep(&self, centre: [f64; 2], metres_per_point: f64, size: egui::Vec2) -> [f64; 2] {
        let half = [
            f64::from(size.x) / 2.0 * metres_per_point / (METRES_PER_DEGREE * self.cos_lat),
            f64::from(size.y) / 2.0 * metres_per_point / METRES_PER_DEGREE,
        ];
        let mid = self.middle();
        std::array::from_fn(|k| {
            let (lo, hi) = (self.lo[k] + half[k], self.hi[k] - half[k]);
            if lo >= hi || !centre[k].is_finite() { mid[k] } else { centre[k].clamp(lo, hi) }
        })
    }
}

/// Where the map looks: a centre in lon/lat and a scale. Kept between runs.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct MapView {
    /// `None` until the first frame fits the township into the panel.
    centre: Option<[f64; 2]>,
    metres_per_point: f64,
    /// The alarm the map last centred on; a newer one moves the map to it.
    #[serde(skip)]
    followed_alarm: Option<String>,
    /// Laid-out cluster counts, kept between frames: laying text out is the dearest part of
    /// drawing thousands of clusters. Cleared when the scale changes or it grows large.
    #[serde(skip)]
    counts: CountLabels,
    /// The incidents' clusters, kept while only the view's position changes.
    #[serde(skip)]
    clusters: Clusters,
    /// The raster tiles' textures, when a basemap is configured.
    #[serde(skip)]
    tiles: TileLayer,
    /// The markers' pictures, drawn once for the screen's scale.
    #[serde(skip)]
    sprites: Option<Sprites>,
}

/// Converts between lon/lat and screen points for one frame.
struct Projection {
    rect: Rect,
    centre: [f64; 2],
    metres_per_point: f64,
    cos_lat: f64,
    /// The north-west corner of the area the map may show: the origin of township points.
    origin: [f64; 2],
}

impl Projection {
    /// "Township points": points at this frame's scale from the area's north-west corner. They
    /// do not move when the map pans; the screen is a window onto them (see
    /// [`Projection::shift`]). Small numbers, so `f32` keeps them exact to far below a pixel.
    fn to_township(&self, lon: f64, lat: f64) -> Pos2 {
        Pos2::ZERO + self.points_from(self.origin, lon, lat)
    }

    /// Township points minus this is screen points.
    fn shift(&self) -> egui::Vec2 {
        self.to_township(self.centre[0], self.centre[1]) - self.rect.center()
    }

    fn to_screen(&self, lon: f64, lat: f64) -> Pos2 {
        self.rect.center() + self.points_from(self.centre, lon, lat)
    }

    /// From `from` to lon/lat in points at this frame's scale, east and south positive.
    fn points_from(&self, from: [f64; 2], lon: f64, lat: f64) -> egui::Vec2 {
        let x = (lon - from[0]) * METRES_PER_DEGREE * self.cos_lat / self.metres_per_point;
        let y = (from[1] - lat) * METRES_PER_DEGREE / self.metres_per_point;
        vec2(x as f32, y as f32)
    }

    fn to_lonlat(&self, p: Pos2) -> [f64; 2] {
        let d = p - self.rect.center();
        [
            self.centre[0] + d.x as f64 * self.metres_per_point / (METRES_PER_DEGREE * self.cos_lat),
            self.centre[1] - d.y as f64 * self.metres_per_point / METRES_PER_DEGREE,
        ]
    }
}

impl MapView {
    /// Forgets pan and zoom; the next frame fits the township again.
    pub fn reset(&mut self) {
        self.centre = None;
    }

    /// `matches` flags the incidents the shared filter lets through (`None`: all of them).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        core: &Core,
        tr: &I18n,
        matches: Option<&[bool]>,
        (basemap, now): (Option<&Basemap>, chrono::DateTime<chrono::Utc>),
    ) -> Vec<Command> {
        let mut commands = vec![];
        let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, tr.t("map.canvas")));
        let rect = response.rect;
        painter.rect_filled(rect, 0.0, theme::MAP_BACKGROUND);
        let Some((lo, hi)) = core.grids.bounds() else {
            return commands;
        };
        let cos_lat = ((lo[1] + hi[1]) / 2.0).to_radians().cos();
        let township = Area::around(lo, hi, cos_lat, 0.0);
        let area = Area::around(lo, hi, cos_lat, MARGIN);
        if self.centre.is_none() || self.metres_per_point <= 0.0 {
            self.centre = Some(township.middle());
            self.metres_per_point = township.fitting(rect.size()) * 1.08;
            // Alarms that rang before the map was first drawn are on the strip; the map starts
            // on the whole township and moves only for the next one.
            self.followed_alarm = core.alarms.last().cloned();
        }
        if let Some(id) = core.alarms.last()
            && self.followed_alarm.as_ref() != Some(id)
            && let Some(t) = core.incidents.get(id)
        {
            self.centre = Some([t.incident.report.location.lon, t.incident.report.location.lat]);
            self.followed_alarm = Some(id.clone());
        }
        let mut proj = Projection {
            rect,
            centre: self.centre.unwrap_or_default(),
            metres_per_point: self.metres_per_point,
            cos_lat,
            origin: [area.lo[0], area.hi[1]],
        };

        // Pan and zoom (around the pointer).
        if response.dragged() {
            let d = response.drag_delta();
            let moved = proj.to_lonlat(rect.center() - d);
            proj.centre = moved;
        }
        if let Some(pointer) = response.hover_pos() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                let before = proj.to_lonlat(pointer);
                proj.metres_per_point *= (-scroll as f64 / 200.0).exp();
                let after = proj.to_lonlat(pointer);
                proj.centre = [proj.centre[0] + before[0] - after[0], proj.centre[1] + before[1] - after[1]];
            }
        }
        // However it got there (a drag, a zoom, an alarm, a view saved on another screen), the
        // view stays on the township.
        let widest = area.fitting(rect.size()).max(MIN_METRES_PER_POINT);
        proj.metres_per_point = proj.metres_per_point.clamp(MIN_METRES_PER_POINT, widest);
        proj.centre = area.keep(proj.centre, proj.metres_per_point, rect.size());
        self.centre = Some(proj.centre);
        self.metres_per_point = proj.metres_per_point;

        if let Some(basemap) = basemap {
            let view = View {
                rect,
                to_screen: &|lon, lat| proj.to_screen(lon, lat),
                to_lonlat: &|p| proj.to_lonlat(p),
                metres_per_pixel: proj.metres_per_point / f64::from(ui.ctx().pixels_per_point()),
            };
            self.tiles.draw(ui.ctx(), &painter, basemap, &view);
        }
        self.draw_grids(&painter, core, &proj, basemap.is_some());
        let pointer = response.hover_pos();
        let camera = self.draw_cameras(&painter, core, &proj, pointer);
        let close_up = proj.metres_per_point < UNIT_NUMBERS_BELOW;
        let to_screen = |lon, lat| proj.to_screen(lon, lat);
        // A unit's seat is not told where the units are: it draws none.
        let unit = match core.desk.unit {
            None => unit_markers::draw(&painter, core, to_screen, (rect, pointer, close_up), now),
            Some(_) => None,
        };
        let preset = draw_presets(&painter, core, &proj, pointer);
        let hovered = self.draw_incidents(&painter, core, &proj, pointer, matches);
        // Marking where a preset looks: the next click is its place; Esc gives up.
        if let Some((camera, number)) = &core.placing_preset {
            let name = core.camera(camera).map_or(camera.as_str(), |c| c.name.as_str());
            let hint = tr.f("map.placing_preset", &[("camera", name), ("n", &number.to_string())]);
            let galley = painter.layout_no_wrap(hint, egui::FontId::proportional(15.0), theme::TILE_TEXT);
            let at = rect.center_top() + egui::vec2(-galley.size().x / 2.0, 12.0);
            painter.rect_filled(
                Rect::from_min_size(at - egui::vec2(8.0, 4.0), galley.size() + egui::vec2(16.0, 8.0)),
                4.0,
                theme::TILE_SHADE,
            );
            painter.galley(at, galley, theme::TILE_TEXT);
            if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                commands.push(Command::PlacingPreset(None));
            } else if response.clicked()
                && let Some(at) = response.interact_pointer_pos()
            {
                let [lon, lat] = proj.to_lonlat(at);
                commands.push(Command::PlacePreset { lon, lat });
            }
            return commands;
        }
        if let (None, Some((camera, number))) = (&hovered, &preset) {
            let name = core.camera(camera).map_or(camera.as_str(), |c| c.name.as_str());
            response
                .clone()
                .on_hover_text_at_pointer(tr.f("map.preset_hint", &[("camera", name), ("n", &number.to_string())]));
            if response.clicked() {
                commands.push(Command::TurnTo { camera: camera.clone(), number: *number });
            }
            return commands;
        }
        if let (None, Some((unit, place))) = (&hovered, unit) {
            response.clone().on_hover_text_at_pointer(unit_markers::tip(tr, core, unit, &place, now));
        }

        if let (None, None, Some(cam)) = (&hovered, unit, camera) {
            response.clone().on_hover_text_at_pointer(tr.f("map.camera_hint", &[("name", &cam.name)]));
            if response.clicked() {
                commands.push(Command::ShowOnWall(vec![cam.id.clone()]));
            }
        }
        match hovered {
            Some(m) if m.count == 1 => {
                let first = &core.incidents.all()[m.first as usize];
                let report = &first.incident.report;
                let kind = names::kind(tr, core, &report.kind);
                let tip = format!("{kind} · {}\n{}", names::severity(tr, report.severity), report.text);
                response.clone().on_hover_text_at_pointer(tip);
                if response.clicked() {
                    commands.push(Command::SelectIncident(first.incident.id.clone()));
                }
            }
            Some(m) => {
                response.clone().on_hover_text_at_pointer(tr.f("map.cluster_hint", &[("n", &m.count.to_string())]));
                if response.clicked() {
                    // A cluster opens by zooming in around it.
                    self.centre = Some(proj.to_lonlat(m.at));
                    self.metres_per_point = (proj.metres_per_point / 2.5).max(0.2);
                }
            }
            None => {}
        }
        commands
    }
}

/// Where PTZ cameras' presets look, as marked: a thin line from the camera to a small numbered
/// ring. Returns the preset under the pointer.
fn draw_presets(
    painter: &egui::Painter,
    core: &Core,
    proj: &Projection,
    pointer: Option<Pos2>,
) -> Option<(String, u8)> {
    let mut hovered = None;
    for (camera, presets) in &core.preset_places {
        let Some(cam) = core.camera(camera) else { continue };
        let from = proj.to_screen(cam.lon, cam.lat);
        for (number, (lon, lat)) in presets {
            let at = proj.to_screen(*lon, *lat);
            if !proj.rect.expand(12.0).contains(at) {
                continue;
            }
            painter.line_segment([from, at], egui::Stroke::new(1.0, theme::CAMERA.gamma_multiply(0.6)));
            painter.circle(at, 8.0, theme::TILE_SHADE, egui::Stroke::new(1.5, theme::CAMERA));
            painter.text(
                at,
                egui::Align2::CENTER_CENTER,
                number.to_string(),
                egui::FontId::proportional(10.0),
                theme::TILE_TEXT,
            );
            if pointer.is_some_and(|p| p.distance(at) <= 9.0) {
                hovered = Some((camera.clone(), *number));
            }
        }
    }
    hovered
}

impl MapView {
    /// Grids (one mesh for all fills), rivers and roads, outlines, and grid codes where a grid
    /// is large enough on screen to carry one. Grids outside the view are skipped.
    /// Over raster tiles the grids are only tinted, so the tiles show through.
    fn draw_grids(&self, painter: &egui::Painter, core: &Core, proj: &Projection, over_tiles: bool) {
        let grids = &core.grids;
        let on_screen = |g: &crate::core::grid::Grid| {
            let (min, max) = (g.bounds.min(), g.bounds.max());
            Rect::from_two_pos(proj.to_screen(min.x, min.y), proj.to_screen(max.x, max.y)).intersects(proj.rect)
        };
        let visible: Vec<&crate::core::grid::Grid> = grids.grids.iter().filter(|g| on_screen(g)).collect();
        let mut mesh = Mesh::default();
        for grid in &visible {
            let fill = theme::village_fill(grid.village_index);
            let fill = if over_tiles { fill.gamma_multiply(0.3) } else { fill };
            for tri in &grid.triangles {
                let base = mesh.vertices.len() as u32;
                for c in tri {
                    mesh.colored_vertex(proj.to_screen(c.x, c.y), fill);
                }
                mesh.add_triangle(base, base + 1, base + 2);
            }
        }
        painter.add(Shape::mesh(mesh));
        for line in &grids.lines {
            let (color, width) = match line.kind {
                LineKind::River => (theme::RIVER, 4.0),
                LineKind::Road => (theme::ROAD, 2.0),
            };
            let points = line.path.coords().map(|c| proj.to_screen(c.x, c.y)).collect();
            painter.add(Shape::line(points, Stroke::new(width, color)));
        }
        for ring in
            visible.iter().flat_map(|g| &g.area).flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        {
            let ring: Vec<Pos2> = ring.coords().map(|c| proj.to_screen(c.x, c.y)).collect();
            painter.add(Shape::closed_line(ring, Stroke::new(1.0, theme::GRID_OUTLINE)));
        }
        for grid in &visible {
            let (min, max) = (grid.bounds.min(), grid.bounds.max());
            let width = (proj.to_screen(max.x, min.y).x - proj.to_screen(min.x, min.y).x).abs();
            if width >= theme::GRID_LABEL_MIN_WIDTH {
                let at = proj.to_screen(grid.centroid.x(), grid.centroid.y());
                painter.text(at, Align2::CENTER_CENTER, &grid.code, FontId::proportional(11.0), theme::GRID_LABEL);
            }
        }
        for village in &grids.villages {
            let at = proj.to_screen(village.label_at.x(), village.label_at.y());
            painter.text(at, Align2::CENTER_CENTER, &village.name, FontId::proportional(17.0), theme::VILLAGE_LABEL);
        }
    }

    /// Draws each camera with its field of view (to its view range); returns the camera under
    /// the pointer.
    fn draw_cameras<'c>(
        &self,
        painter: &egui::Painter,
        core: &'c Core,
        proj: &Projection,
        pointer: Option<Pos2>,
    ) -> Option<&'c Camera> {
        let reach = (VIEW_RANGE_M / proj.metres_per_point).clamp(8.0, 240.0) as f32;
        // Thousands of cameras: one mesh of plain triangles (the wedges, then the squares on
        // top), built here, so tessellating the frame costs nothing for them. Cameras whose
        // wedge cannot reach the panel are left out.
        let reaches = proj.rect.expand(reach);
        let wedge_colour = theme::CAMERA.gamma_multiply(0.18);
        // The wedge's arc in as few chords as keep it within a quarter point of the circle:
        // a small wedge (the township seen whole) needs two or three, a near one eight.
        let chord_angle = 2.0 * (1.0 - 0.25 / reach).acos();
        let mut mesh = Mesh::default();
        mesh.reserve_vertices(core.cameras.len() * 14);
        mesh.reserve_triangles(core.cameras.len() * 10);
        let mut shown = vec![];
        let mut hovered = None;
        for cam in &core.cameras {
            let at = proj.to_screen(cam.lon, cam.lat);
            if !reaches.contains(at) {
                continue;
            }
            // Field-of-view wedge: heading is clockwise from north, screen y grows downwards.
            let steps = (cam.fov.to_radians() / chord_angle).ceil().clamp(2.0, 8.0) as u32;
            let apex = mesh.vertices.len() as u32;
            mesh.colored_vertex(at, wedge_colour);
            for s in 0..=steps {
                let deg = cam.heading - cam.fov / 2.0 + cam.fov * s as f32 / steps as f32;
                let rad = deg.to_radians();
                mesh.colored_vertex(at + vec2(rad.sin(), -rad.cos()) * reach, wedge_colour);
            }
            for s in 0..steps {
                mesh.add_triangle(apex, apex + 1 + s, apex + 2 + s);
            }
            shown.push((at, cam.presence == crate::core::camera::Presence::Online));
            if pointer.is_some_and(|p| p.distance(at) <= 7.0) {
                hovered = Some(cam);
            }
        }
        // A camera its platform calls offline, or no longer lists, is grey.
        for (at, online) in shown {
            let colour = if online { theme::CAMERA } else { theme::MUTED };
            mesh.add_colored_rect(Rect::from_center_size(at, vec2(8.0, 8.0)), colour);
        }
        painter.add(mesh);
        hovered
    }

    /// Draws the incidents, clustered, most urgent on top; returns the marker under the pointer.
    fn draw_incidents(
        &mut self,
        painter: &egui::Painter,
        core: &Core,
        proj: &Projection,
        pointer: Option<Pos2>,
        matches: Option<&[bool]>,
    ) -> Option<Marker> {
        let shift = proj.shift();
        let markers = self.clusters.of(core, proj, matches);
        let sprites = Sprites::for_scale(&mut self.sprites, painter.ctx(), painter.pixels_per_point());
        let mut stamps = Stamps::new(sprites, markers.len());
        let mut labels = vec![];
        let mut hovered: Option<(f32, &Marker)> = None;
        // Clusters reach at most half a cell beyond their cell; farther ones are off the panel.
        let shown = proj.rect.expand(CELL);
        for m in markers {
            let at = m.at - shift;
            if !shown.contains(at) {
                continue;
            }
            let first = &core.incidents.all()[m.first as usize];
            let severity = first.incident.report.severity;
            let fill = if first.is_open() { theme::severity(severity) } else { theme::MUTED };
            let radius = if m.count == 1 {
                theme::marker_radius(severity)
            } else {
                (theme::marker_radius(severity) + 3.0 + 2.0 * (m.count as f32).log2()).min(CELL / 2.0 + 3.0)
            };
            stamps.disc(at, radius, fill);
            if severity == streams::feed::Severity::Critical && first.is_open() {
                stamps.ring(at, radius + 4.0, fill);
            }
            if m.count > 1 {
                labels.push((at, m.count));
            }
            if let Some(p) = pointer {
                let d = p.distance(at);
                if d <= radius + 4.0 && hovered.is_none_or(|(best, _)| d < best) {
                    hovered = Some((d, m));
                }
            }
        }
        painter.add(stamps.into_mesh());
        for (at, count) in labels {
            let galley = self.counts.get(painter, count);
            painter.galley(at - galley.size() / 2.0, galley, Color32::BLACK);
        }
        if let Some(t) = core.selected_incident() {
            let at = proj.to_screen(t.incident.report.location.lon, t.incident.report.location.lat);
            painter.circle_stroke(
                at,
                theme::marker_radius(t.incident.report.severity) + 7.0,
                Stroke::new(2.0, theme::SELECTION),
            );
        }
        hovered.map(|(_, m)| Marker { at: m.at - shift, ..m.clone() })
    }
}

/// The incidents' clusters in township points, made for one scale, one version of the
/// incidents and one answer of the filter, over the view and a panel's size around it. A drag
/// inside that domain reuses them; a zoom, a new or changed incident, another filter or a drag
/// beyond re-makes them.
#[derive(Debug, Clone)]
struct Clusters {
    /// Incidents' version, scale, origin and the filter's answer they were made for.
    made_for: Option<MadeFor>,
    domain: Rect,
    markers: Vec<Marker>,
}

/// What a set of clusters was made for: the incidents' version, the scale, the origin of
/// township points, and the filter's answer (`None`: no filter).
type MadeFor = (u64, f64, [f64; 2], Option<Vec<bool>>);

impl Default for Clusters {
    fn default() -> Self {
        Clusters { made_for: None, domain: Rect::NOTHING, markers: vec![] }
    }
}

impl Clusters {
    fn of(&mut self, core: &Core, proj: &Projection, matches: Option<&[bool]>) -> &[Marker] {
        let view = proj.rect.translate(proj.shift());
        let same = self.made_for.as_ref().is_some_and(|(version, scale, origin, made_with)| {
            *version == core.incidents.version()
                && *scale == proj.metres_per_point
                && *origin == proj.origin
                && made_with.as_deref() == matches
        });
        if !same || !self.domain.contains_rect(view) {
            // A panel's size on every side, its corners on the cell grid, so that cells stay
            // where they were across re-makes.
            let wide = view.expand2(view.size());
            let snap = |v: f32, round: fn(f32) -> f32| round(v / CELL) * CELL;
            self.domain = Rect::from_min_max(
                Pos2::new(snap(wide.min.x, f32::floor), snap(wide.min.y, f32::floor)),
                Pos2::new(snap(wide.max.x, f32::ceil), snap(wide.max.y, f32::ceil)),
            );
            let points = core.incidents.points().iter().filter(|p| matches.is_none_or(|m| m[p.index as usize]));
            self.markers = cluster(points, |lon, lat| proj.to_township(lon, lat), self.domain);
            self.made_for =
                Some((core.incidents.version(), proj.metres_per_point, proj.origin, matches.map(<[bool]>::to_vec)));
        }
        &self.markers
    }
}

/// Cluster counts laid out once and drawn many times.
#[derive(Debug, Clone, Default)]
struct CountLabels {
    pixels_per_point: f32,
    galleys: std::collections::HashMap<u32, std::sync::Arc<egui::Galley>>,
}

impl CountLabels {
    fn get(&mut self, painter: &egui::Painter, count: u32) -> std::sync::Arc<egui::Galley> {
        let ppp = painter.pixels_per_point();
        if ppp != self.pixels_per_point || self.galleys.len() > 4096 {
            self.galleys.clear();
            self.pixels_per_point = ppp;
        }
        self.galleys
            .entry(count)
            .or_insert_with(|| painter.layout_no_wrap(count.to_string(), FontId::proportional(11.0), Color32::BLACK))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::grid::GridMap;
    use linkage_protocol::order::fixtures::incident;
    use linkage_protocol::{Body, Envelope, FeedUpdate, Severity};

    const PANEL: egui::Vec2 = vec2(900.0, 800.0);

    fn township() -> Core {
        let grids = GridMap::from_geojson(include_str!("../../../assets/demo/grids.geojson")).unwrap();
        Core { grids, ..Core::default() }
    }

    /// An alarm for an incident at lon/lat.
    fn alarm(core: &mut Core, id: &str, seq: u64, lon: f64, lat: f64) {
        let mut i = incident(id, Severity::Critical, 1);
        i.report.location.lon = lon;
        i.report.location.lat = lat;
        core.on_feed(FeedUpdate::Event(Envelope { seq, ..Envelope::new(seq, Body::IncidentReported(i)) }));
        core.alarms.push(id.into());
    }

    /// One frame of the map on a panel of [`PANEL`], with `events` (a drag, a scroll).
    fn frame(ctx: &egui::Context, map: &mut MapView, core: &Core, events: Vec<egui::Event>) {
        let tr = I18n::new(crate::i18n::Lang::Zh);
        let input =
            egui::RawInput { screen_rect: Some(Rect::from_min_size(Pos2::ZERO, PANEL)), events, ..Default::default() };
        let output = ctx.run_ui(input, |ui| {
            let _ = map.ui(ui, core, &tr, None, (None, chrono::Utc::now()));
        });
        output.drop_without_applying_deltas();
    }

    fn area(core: &Core) -> Area {
        let (lo, hi) = core.grids.bounds().unwrap();
        Area::around(lo, hi, ((lo[1] + hi[1]) / 2.0).to_radians().cos(), MARGIN)
    }

    /// Whether the whole view lies inside the area, along each side where it is narrower.
    fn view_inside(map: &MapView, area: &Area) -> bool {
        let [lon, lat] = map.centre.unwrap();
        let half_lon = f64::from(PANEL.x) / 2.0 * map.metres_per_point / (METRES_PER_DEGREE * area.cos_lat);
        let half_lat = f64::from(PANEL.y) / 2.0 * map.metres_per_point / METRES_PER_DEGREE;
        let inside = |c: f64, half: f64, lo: f64, hi: f64| {
            (hi - lo) <= 2.0 * half + 1e-9 || (c - half >= lo - 1e-9 && c + half <= hi + 1e-9)
        };
        inside(lon, half_lon, area.lo[0], area.hi[0]) && inside(lat, half_lat, area.lo[1], area.hi[1])
    }

    #[test]
    fn the_map_starts_on_the_whole_township_and_moves_for_the_next_alarm() {
        let mut core = township();
        let (lo, hi) = core.grids.bounds().unwrap();
        // An alarm at the township's north-east corner rang before the map was drawn.
        alarm(&mut core, "E1", 1, hi[0], hi[1]);
        let (ctx, mut map) = (egui::Context::default(), MapView::default());
        frame(&ctx, &mut map, &core, vec![]);
        let [lon, lat] = map.centre.unwrap();
        assert!((lon - (lo[0] + hi[0]) / 2.0).abs() < 1e-9 && (lat - (lo[1] + hi[1]) / 2.0).abs() < 1e-9);
        // The next alarm, in the middle of the western edge, moves the map toward it, but the
        // view stays within the township's margin.
        let west = [lo[0], (lo[1] + hi[1]) / 2.0];
        alarm(&mut core, "E2", 2, west[0], west[1]);
        frame(&ctx, &mut map, &core, vec![]);
        assert!(map.centre.unwrap()[0] < lon, "moved west");
        assert!(view_inside(&map, &area(&core)));
    }

    #[test]
    fn a_drag_moves_the_clusters_without_re_making_them_and_a_zoom_re_makes_them() {
        let mut core = township();
        let (lo, hi) = core.grids.bounds().unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        for seq in 1..=3000 {
            let (lon, lat) = (lo[0] + rng.f64() * (hi[0] - lo[0]), lo[1] + rng.f64() * (hi[1] - lo[1]));
            alarm(&mut core, &format!("E{seq}"), seq, lon, lat);
        }
        core.alarms.clear();
        let (ctx, mut map) = (egui::Context::default(), MapView::default());
        frame(&ctx, &mut map, &core, vec![]);
        map.metres_per_point /= 3.0;
        frame(&ctx, &mut map, &core, vec![]);
        let before = (map.clusters.markers.clone(), map.clusters.domain);
        let at = Pos2::new(450.0, 400.0);
        let press = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        };
        let centre = map.centre;
        frame(&ctx, &mut map, &core, vec![press(true)]);
        frame(&ctx, &mut map, &core, vec![egui::Event::PointerMoved(at + vec2(120.0, 80.0))]);
        assert_ne!(map.centre, centre, "the map moved");
        assert_eq!((map.clusters.markers.clone(), map.clusters.domain), before, "the same clusters, kept");
        // What a drag shows is what clustering that view afresh shows: where both domains
        // reach (cells sit on the same grid), the same clusters.
        let (kept, kept_domain) = before;
        map.clusters = Clusters::default();
        frame(&ctx, &mut map, &core, vec![egui::Event::PointerMoved(at + vec2(120.0, 80.0))]);
        let both = kept_domain.intersect(map.clusters.domain).shrink(CELL);
        let within = |markers: &[Marker]| markers.iter().filter(|m| both.contains(m.at)).cloned().collect::<Vec<_>>();
        assert!(within(&kept).len() > 50, "the check compares something: {}", within(&kept).len());
        assert_eq!(within(&map.clusters.markers), within(&kept));
        // A zoom makes them again, at the new scale: fewer, larger clusters.
        frame(&ctx, &mut map, &core, vec![press(false)]);
        map.metres_per_point *= 3.0;
        frame(&ctx, &mut map, &core, vec![]);
        assert!(map.clusters.markers.len() < kept.len(), "{} → {}", kept.len(), map.clusters.markers.len());
        // So does a new incident.
        let version = map.clusters.made_for.as_ref().map(|m| m.0);
        alarm(&mut core, "E3001", 3001, lo[0], lo[1]);
        frame(&ctx, &mut map, &core, vec![]);
        assert_ne!(map.clusters.made_for.as_ref().map(|m| m.0), version);
    }

    #[test]
    fn drags_and_zooms_keep_the_view_on_the_township() {
        let core = township();
        let (ctx, mut map) = (egui::Context::default(), MapView::default());
        frame(&ctx, &mut map, &core, vec![]);
        // Zoomed in (as a view saved on another screen), dragged far to the south-east: the view
        // stops at the margin.
        let at = Pos2::new(450.0, 400.0);
        map.metres_per_point /= 8.0;
        let zoomed = map.metres_per_point;
        let press = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        };
        let before = map.centre.unwrap();
        frame(&ctx, &mut map, &core, vec![press(true)]);
        for step in 1..=40 {
            let to = at + vec2(-200.0, -200.0) * step as f32;
            frame(&ctx, &mut map, &core, vec![egui::Event::PointerMoved(to)]);
        }
        frame(&ctx, &mut map, &core, vec![press(false)]);
        let after = map.centre.unwrap();
        assert!(after[0] > before[0] && after[1] < before[1], "dragged south-east: {before:?} → {after:?}");
        assert!(view_inside(&map, &area(&core)), "dragged beyond: {:?}", map.centre);
        assert_eq!(map.metres_per_point, zoomed, "a drag does not zoom");
        // Zoomed far out: no further than the township with its margin.
        map.metres_per_point = 1e6;
        frame(&ctx, &mut map, &core, vec![]);
        assert!(map.metres_per_point > zoomed);
        assert!(map.metres_per_point <= area(&core).fitting(PANEL) * 1.0001, "{}", map.metres_per_point);
        assert!(view_inside(&map, &area(&core)));
    }
}
