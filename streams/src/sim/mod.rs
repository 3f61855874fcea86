//! The demo's simulated world. Everything here speaks the real protocols — RTSP for cameras,
//! the hub's WebSocket protocol for grid workers and linked units — so the console cannot tell
//! a simulated peer from a real one.

pub mod cameras;
pub mod grid_workers;
pub mod linked_units;
pub mod radio_gateways;
pub mod smsc;
