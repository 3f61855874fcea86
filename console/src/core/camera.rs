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
}

/// Where a camera's video comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraStreams {
    /// Served by the demo's in-process RTSP server.
    Simulated,
    /// A real camera: a main (full) stream and an optional sub (small) stream.
    Uri { main: String, sub: Option<String> },
}
