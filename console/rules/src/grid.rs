//! The township's grids (网格): polygons with a code, a name, a village and a grid worker,
//! read from GeoJSON (WGS-84), plus the rivers and roads drawn under them.
//!
//! Locating a point is a query on an R-tree of the grids' bounding boxes followed by an exact
//! point-in-polygon test on the few candidates. Each grid is also cut into triangles once at
//! load (earcut), so the map can fill concave grids with one mesh.

use geo::{BoundingRect, Centroid, Contains, Coord, LineString, MultiPolygon, Point, Polygon, TriangulateEarcut};
use geojson::{FeatureCollection, GeometryValue, Position};
use linkage_protocol::CoordinateSystem;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde_json::Value;

/// One grid.
#[derive(Debug, Clone)]
pub struct Grid {
    pub code: String,
    pub name: String,
    pub village: String,
    pub worker: String,
    /// One polygon, or several parts (a grid cut by a river), each with its holes.
    pub area: MultiPolygon<f64>,
    /// Triangles covering `area`, as lon/lat corners.
    pub triangles: Vec<[Coord<f64>; 3]>,
    pub centroid: Point<f64>,
    /// The lon/lat box around the grid, for culling.
    pub bounds: geo::Rect<f64>,
    /// Index into [`GridMap::villages`] of the grid's village.
    pub village_index: usize,
}

/// A line feature drawn on the map under the grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    River,
    Road,
}

#[derive(Debug, Clone)]
pub struct MapLine {
    pub kind: LineKind,
    pub name: String,
    pub path: LineString<f64>,
}

/// A village: its name and the point where its label goes.
#[derive(Debug, Clone)]
pub struct Village {
    pub name: String,
    pub label_at: Point<f64>,
}

/// All grids of the township, indexed for point lookups.
#[derive(Debug, Default, Clone)]
pub struct GridMap {
    pub name: String,
    pub grids: Vec<Grid>,
    pub lines: Vec<MapLine>,
    pub villages: Vec<Village>,
    index: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl GridMap {
    /// Parses a GeoJSON FeatureCollection. Features with `"kind": "grid"` (or no kind) and a
    /// Polygon or MultiPolygon geometry are grids; `"river"`/`"road"` LineStrings are drawn under them.
    pub fn from_geojson(text: &str) -> Result<GridMap, String> {
        GridMap::from_geojson_in(text, CoordinateSystem::Wgs84)
    }

    /// Reads a grid file whose positions are in `crs`; a GCJ-02 file (drawn on a Chinese web
    /// map) is converted to WGS-84 as it is read, so everything after works in one system.
    /// The file is parsed by georust's `geojson`; the checks of what a grid needs are ours.
    pub fn from_geojson_in(text: &str, crs: CoordinateSystem) -> Result<GridMap, String> {
        let mut map = GridMap::default();
        map.read(text, crs)?;
        map.finish()
    }

    /// Adds a grid file's grids and lines (a county seat reads every township's file); the
    /// first file read names the map.
    pub fn read(&mut self, text: &str, crs: CoordinateSystem) -> Result<(), String> {
        let doc: FeatureCollection = text.parse().map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
        let name = doc.foreign_members.as_ref().and_then(|m| m.get("name")).and_then(Value::as_str);
        if self.name.is_empty() {
            self.name = name.unwrap_or_default().to_owned();
        }
        let map = self;
        for (i, feature) in doc.features.iter().enumerate() {
            let at = |reason: String| format!("feature {i}: {reason}");
            let prop = |k: &str| feature.property(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let geometry = &feature.geometry.as_ref().ok_or_else(|| at("no geometry".into()))?.value;
            match prop("kind").as_str() {
                "" | "grid" => map.grids.push(read_grid(&prop, geometry, crs).map_err(at)?),
                "river" | "road" => map.lines.push(MapLine {
                    kind: if prop("kind") == "river" { LineKind::River } else { LineKind::Road },
                    name: prop("name"),
                    path: LineString::new(read_line(geometry, crs).map_err(at)?),
                }),
                other => return Err(at(format!("unknown kind {other:?}"))),
            }
        }
        Ok(())
    }

    /// The map of every file read: each grid code once, the villages, the index.
    pub fn finish(self) -> Result<GridMap, String> {
        let mut map = self;
        if map.grids.is_empty() {
            return Err("no grid polygons in the file".into());
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = map.grids.iter().find(|g| !seen.insert(g.code.as_str())) {
            return Err(format!("grid code {} appears twice", dup.code));
        }
        map.villages = villages_of(&map.grids);
        for grid in &mut map.grids {
            grid.village_index = map.villages.iter().position(|v| v.name == grid.village).unwrap_or(0);
        }
        map.index = RTree::bulk_load(
            map.grids
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let (lo, hi) = (g.bounds.min(), g.bounds.max());
                    GeomWithData::new(Rectangle::from_corners([lo.x, lo.y], [hi.x, hi.y]), i)
                })
                .collect(),
        );
        Ok(map)
    }

    /// The index in `grids` of the grid that contains the point, if any.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<usize> {
        let p = Point::new(lon, lat);
        self.index.locate_all_at_point(&[lon, lat]).map(|hit| hit.data).find(|&i| self.grids[i].area.contains(&p))
    }

    /// The lon/lat box around every grid.
    pub fn bounds(&self) -> Option<([f64; 2], [f64; 2])> {
        let env: AABB<[f64; 2]> = self.index.root().envelope();
        (!self.grids.is_empty()).then(|| (env.lower(), env.upper()))
    }
}

/// A grid is a Polygon, or a MultiPolygon (GIS exports write a grid cut by a river or a road
/// as several parts of one feature).
fn read_grid(prop: &impl Fn(&str) -> String, geometry: &GeometryValue, crs: CoordinateSystem) -> Result<Grid, String> {
    let code = prop("code");
    if code.is_empty() {
        return Err("grid without a \"code\" property".into());
    }
    let parts = match geometry {
        GeometryValue::Polygon { coordinates } => std::slice::from_ref(coordinates),
        GeometryValue::MultiPolygon { coordinates } => coordinates.as_slice(),
        other => {
            return Err(format!(
                "grid {code}: geometry must be a Polygon or a MultiPolygon, not a {}",
                other.type_name()
            ));
        }
    };
    let area = MultiPolygon::new(
        parts
            .iter()
            .map(|rings| read_polygon(rings, crs))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("grid {code}: {e}"))?,
    );
    if area.0.is_empty() {
        return Err(format!("grid {code}: a MultiPolygon without parts"));
    }
    let triangles = area.iter().flat_map(|p| p.earcut_triangles()).map(|t| [t.v1(), t.v2(), t.v3()]).collect();
    let centroid = area.centroid().ok_or_else(|| format!("grid {code}: degenerate polygon"))?;
    let bounds = area.bounding_rect().ok_or_else(|| format!("grid {code}: degenerate polygon"))?;
    Ok(Grid {
        name: prop("name"),
        village: prop("village"),
        worker: prop("worker"),
        code,
        area,
        triangles,
        centroid,
        bounds,
        village_index: 0,
    })
}

/// One polygon: its outer ring, then its holes.
fn read_polygon(rings: &[Vec<Position>], crs: CoordinateSystem) -> Result<Polygon<f64>, String> {
    let mut rings = rings.iter().map(|r| read_coords(r, crs).map(LineString::new));
    let exterior = rings.next().ok_or("empty polygon")??;
    if exterior.0.len() < 4 {
        return Err("a ring needs at least 4 positions".into());
    }
    Ok(Polygon::new(exterior, rings.collect::<Result<Vec<_>, _>>()?))
}

fn read_line(geometry: &GeometryValue, crs: CoordinateSystem) -> Result<Vec<Coord<f64>>, String> {
    match geometry {
        GeometryValue::LineString { coordinates } => read_coords(coordinates, crs),
        _ => Err("a river or road must be a LineString".into()),
    }
}

/// Reads positions in `crs`, checking ranges; returns WGS-84.
fn read_coords(positions: &[Position], crs: CoordinateSystem) -> Result<Vec<Coord<f64>>, String> {
    positions
        .iter()
        .map(|p| match *p.as_slice() {
            [x, y, ..] if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => {
                let (x, y) = match crs {
                    CoordinateSystem::Wgs84 => (x, y),
                    CoordinateSystem::Gcj02 => super::coords::gcj02_to_wgs84(x, y),
                };
                Ok(Coord { x, y })
            }
            ref other => {
                let shown: Vec<String> = other.iter().map(f64::to_string).collect();
                Err(format!("bad position [{}]: need [lon, lat] in degrees", shown.join(",")))
            }
        })
        .collect()
}

/// Villages in order of first appearance, labelled at the mean of their grids' centroids.
fn villages_of(grids: &[Grid]) -> Vec<Village> {
    let mut villages: Vec<(String, f64, f64, usize)> = vec![];
    for g in grids.iter().filter(|g| !g.village.is_empty()) {
        match villages.iter_mut().find(|v| v.0 == g.village) {
            Some(v) => {
                v.1 += g.centroid.x();
                v.2 += g.centroid.y();
                v.3 += 1;
            }
            None => villages.push((g.village.clone(), g.centroid.x(), g.centroid.y(), 1)),
        }
    }
    villages
        .into_iter()
        .map(|(name, x, y, n)| Village { name, label_at: Point::new(x / n as f64, y / n as f64) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../../assets/demo/grids.geojson");

    #[test]
    fn the_demo_township_has_five_villages_and_forty_odd_grids() {
        let map = GridMap::from_geojson(DEMO).unwrap();
        assert!((30..=60).contains(&map.grids.len()), "{}", map.grids.len());
        assert_eq!(map.villages.len(), 5);
        assert!(map.lines.iter().any(|l| l.kind == LineKind::River));
    }

    #[test]
    fn every_grid_contains_its_own_centroid_region_and_is_found_there() {
        let map = GridMap::from_geojson(DEMO).unwrap();
        let mut found = 0;
        for g in &map.grids {
            // A point inside the grid: the centroid of its first triangle.
            let [a, b, c] = g.triangles[0];
            let (x, y) = ((a.x + b.x + c.x) / 3.0, (a.y + b.y + c.y) / 3.0);
            if map.locate(x, y).map(|hit| map.grids[hit].code.as_str()) == Some(g.code.as_str()) {
                found += 1;
            }
        }
        assert_eq!(found, map.grids.len());
        assert!(map.locate(0.0, 0.0).is_none());
    }

    #[test]
    fn bad_geojson_says_which_feature_and_why() {
        let bad = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
            {"type":"Feature","properties":{"code":"B"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[200,1],[0,0]]]}}]}"#;
        let err = GridMap::from_geojson(bad).unwrap_err();
        assert!(err.starts_with("feature 1:") && err.contains("[200,1]"), "{err}");
        assert!(GridMap::from_geojson("{}").unwrap_err().contains("FeatureCollection"));
    }

    #[test]
    fn a_grid_in_two_parts_is_one_grid_found_in_either_part() {
        // As a GIS export writes a grid cut by a river: one feature, a MultiPolygon.
        let two = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"HX-03","village":"河西村"},"geometry":{"type":"MultiPolygon","coordinates":[
                [[[120.0,30.0],[120.01,30.0],[120.01,30.01],[120.0,30.01],[120.0,30.0]]],
                [[[120.02,30.0],[120.03,30.0],[120.03,30.01],[120.02,30.01],[120.02,30.0]],
                 [[120.024,30.004],[120.026,30.004],[120.026,30.006],[120.024,30.006],[120.024,30.004]]]]}}]}"#;
        let map = GridMap::from_geojson(two).unwrap();
        assert_eq!(map.grids.len(), 1);
        assert_eq!(map.locate(120.005, 30.005), Some(0), "the first part");
        assert_eq!(map.locate(120.021, 30.005), Some(0), "the second part");
        assert_eq!(map.locate(120.025, 30.005), None, "the hole in the second part");
        assert_eq!(map.locate(120.015, 30.005), None, "between the parts (the river)");
        assert_eq!(map.grids[0].triangles.len(), 2 + 8, "both parts are filled");
        let point = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"HX-03"},"geometry":{"type":"MultiPoint","coordinates":[[120.0,30.0]]}}]}"#;
        let e = GridMap::from_geojson(point).unwrap_err();
        assert!(e.contains("HX-03") && e.contains("MultiPoint"), "{e}");
    }
}
