//! The demo's simulated world. Everything here speaks the real protocols — RTSP for cameras,
//! the hub's WebSocket protocol for grid workers and linked units — so the console cannot tell
//! a simulated peer from a real one.

pub mod cameras;
pub mod cmpp_gateway;
pub mod command_center;
pub mod grid_workers;
pub mod linked_units;
pub mod ptz;
pub mod radio_gateways;
pub mod sip_gateway;
pub mod sms_cloud;
pub mod smsc;
pub mod video_platform;

/// A photo of a scene for a simulated report (a picture made here, `seed` its colour), kept at
/// the hub's files endpoint `files` with `token`: its attachment id, or none if it was refused.
pub async fn photo(files: &str, token: &str, seed: u8) -> Vec<String> {
    let picture = tokio::task::spawn_blocking(move || crate::feed::attachments::samples::jpeg(800, 600, seed)).await;
    let Ok(picture) = picture else { return vec![] };
    match crate::feed::files::upload(files, token, None, picture).await {
        Ok(kept) => vec![kept.id],
        Err(reason) => {
            tracing::warn!(%reason, "simulated photo not kept");
            vec![]
        }
    }
}
