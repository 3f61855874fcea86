//! Coordinate systems: GCJ-02 (the offset "Mars" coordinates of Chinese map SDKs and most
//! phones' map apps) to WGS-84 (GPS, and every file this console keeps).
//!
//! GCJ-02 adds a smooth, position-dependent offset of a few hundred metres inside China and
//! none outside. The forward transform is public; the inverse has no closed form, so we
//! iterate the forward one (a fixed point converges to < 1 mm in a handful of steps).

use std::f64::consts::PI;

/// Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
const SEMI_MAJOR: f64 = 6_378_245.0;
const ECCENTRICITY_SQ: f64 = 0.006_693_421_622_965_943;

/// GCJ-02 applies only inside this box; elsewhere it is WGS-84 unchanged.
fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let rad_lat = lat.to_radians();
    let magic = 1.0 - ECCENTRICITY_SQ * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = offset_lat(lon - 105.0, lat - 35.0) * 180.0
        / ((SEMI_MAJOR * (1.0 - ECCENTRICITY_SQ)) / (magic * sqrt_magic) * PI);
    let d_lon = offset_lon(lon - 105.0, lat - 35.0) * 180.0 / (SEMI_MAJOR / sqrt_magic * rad_lat.cos() * PI);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 → WGS-84, by fixed-point iteration of the forward transform.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..20 {
        let (gx, gy) = wgs84_to_gcj02(x, y);
        let (dx, dy) = (gx - lon, gy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < 1e-10 && dy.abs() < 1e-10 {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_in_beijing_is_a_few_hundred_metres_east_and_north() {
        let (lon, lat) = wgs84_to_gcj02(116.3912, 39.9073);
        let east_m = (lon - 116.3912) * 111_320.0 * 39.9073f64.to_radians().cos();
        let north_m = (lat - 39.9073) * 110_540.0;
        assert!((400.0..700.0).contains(&east_m), "east {east_m}");
        assert!((50.0..300.0).contains(&north_m), "north {north_m}");
    }

    #[test]
    fn the_inverse_undoes_the_forward_transform_to_a_millimetre() {
        for (lon, lat) in [(120.00262, 30.13669), (116.3912, 39.9073), (87.6, 43.8), (113.26, 23.13)] {
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            let (w_lon, w_lat) = gcj02_to_wgs84(g_lon, g_lat);
            assert!((w_lon - lon).abs() < 1e-8 && (w_lat - lat).abs() < 1e-8, "{lon},{lat} → {w_lon},{w_lat}");
        }
    }

    #[test]
    fn outside_china_nothing_moves() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj02_to_wgs84(-74.0, 40.7), (-74.0, 40.7));
    }
}
