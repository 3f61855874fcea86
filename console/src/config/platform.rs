//! `[[video_platform]]`: a GB/T 28181 video platform whose cameras the console takes as its
//! own — today wvp-GB28181-pro (with ZLMediaKit), the platform most townships run.
//!
//! ```toml
//! [[video_platform]]
//! id = "wvp"                              # prefixes its cameras' ids: wvp/DEVICE/CHANNEL
//! name = "青溪镇视频平台"
//! kind = "wvp"
//! url = "http://10.20.0.5:18080"          # the platform's API
//! user = "linkage"
//! password = "env:LINKAGE_WVP_PASSWORD"   # or file:/etc/linkage/wvp.pass, or the password
//! crs = "gcj02"                           # the channels' coordinates: wgs84 (default) or gcj02
//! resync_secs = 300                       # how often the directory is read again
//! villages = { "330110001" = "杏林社区" }   # civil code (prefix) → village, for unplaced channels
//! ```

use std::time::Duration;

use serde::Deserialize;
use streams::feed::CoordinateSystem;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlatformSection {
    id: String,
    name: String,
    kind: Spanned<String>,
    url: Spanned<String>,
    user: String,
    password: Spanned<String>,
    #[serde(default)]
    crs: CoordinateSystem,
    #[serde(default = "resync_default")]
    resync_secs: u64,
    /// Civil code (or its prefix) → village, for channels the platform has not placed.
    #[serde(default)]
    villages: std::collections::BTreeMap<String, String>,
}

fn resync_default() -> u64 {
    300
}

/// The platform products the console speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformKind {
    /// wvp-GB28181-pro's HTTP API (`/api/user/login`, `/api/device/query/…`, `/api/play/…`,
    /// `/api/front-end/…`).
    Wvp,
    /// One ONVIF camera (a `[[camera]]` with `onvif`), its own platform: `url` is its device
    /// service, the platform's id the camera's.
    Onvif,
}

/// One video platform as configured.
#[derive(Clone)]
pub struct PlatformSettings {
    /// Short and stable: it prefixes the ids of its cameras.
    pub id: String,
    pub name: String,
    pub kind: PlatformKind,
    /// Its API's base, `http://host:port`.
    pub url: String,
    pub user: String,
    pub password: String,
    /// What the channels' longitude and latitude are in.
    pub crs: CoordinateSystem,
    pub resync: Duration,
    /// Civil-code prefixes and their villages, longest prefix first.
    pub villages: Vec<(String, String)>,
}

impl PlatformSettings {
    /// The platform as the seat shows it, before its first read.
    pub fn link(&self) -> crate::core::camera::PlatformLink {
        crate::core::camera::PlatformLink { id: self.id.clone(), name: self.name.clone(), cameras: None, trouble: None }
    }

    /// The platform of an ONVIF camera configured as `[[camera]]` `id` at `url`.
    pub fn onvif(id: &str, name: &str, url: &str, user: &str, password: &str) -> PlatformSettings {
        PlatformSettings {
            id: id.to_owned(),
            name: name.to_owned(),
            kind: PlatformKind::Onvif,
            url: url.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            crs: CoordinateSystem::Wgs84,
            resync: Duration::from_secs(300),
            villages: vec![],
        }
    }

    /// The village a civil code is in, by the longest prefix the config maps.
    pub fn village_of(&self, civil_code: &str) -> Option<&str> {
        self.villages.iter().find(|(prefix, _)| civil_code.starts_with(prefix.as_str())).map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for PlatformSettings {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlatformSettings {{ id: {}, url: {}, user: {} }}", self.id, self.url, self.user)
    }
}

/// Checks the sections: ids, kinds, URLs, passwords.
pub(super) fn settings(
    sections: Vec<Spanned<PlatformSection>>,
    base: &std::path::Path,
    grids: &crate::core::grid::GridMap,
    err: impl Fn(Option<std::ops::Range<usize>>, String) -> super::ConfigError,
) -> Result<Vec<PlatformSettings>, super::ConfigError> {
    let mut platforms: Vec<PlatformSettings> = vec![];
    for entry in sections {
        let span = entry.span();
        let p = entry.into_inner();
        let bad_id = p.id.is_empty() || p.id.len() > 16 || !p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if bad_id || platforms.iter().any(|q| q.id == p.id) {
            return Err(err(Some(span), format!("video_platform id {:?}: unique, 1–16 letters, digits or -", p.id)));
        }
        let kind = match p.kind.get_ref().as_str() {
            "wvp" => PlatformKind::Wvp,
            other => return Err(err(Some(p.kind.span()), format!("video_platform kind {other:?}: only wvp"))),
        };
        let url = p.url.get_ref().trim_end_matches('/').to_owned();
        // HTTPS to a platform would need its CA; not built yet, so refused rather than failing later.
        if !url.starts_with("http://") || url["http://".len()..].contains('/') {
            return Err(err(
                Some(p.url.span()),
                "video_platform url must be http://host:port, no path (https is not supported yet)".into(),
            ));
        }
        let password = secret(p.password.get_ref(), base).map_err(|r| err(Some(p.password.span()), r))?;
        let resync = Duration::from_secs(p.resync_secs.max(10));
        if let Some((code, village)) = p.villages.iter().find(|(_, v)| !grids.grids.iter().any(|g| &g.village == *v)) {
            let reason = format!("video_platform villages: {code} maps to {village:?}, not a village of the grid file");
            return Err(err(Some(span), reason));
        }
        let mut villages: Vec<(String, String)> = p.villages.into_iter().collect();
        villages.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        platforms.push(PlatformSettings {
            id: p.id,
            name: p.name,
            kind,
            url,
            user: p.user,
            password,
            crs: p.crs,
            resync,
            villages,
        });
    }
    Ok(platforms)
}

/// A secret written in the config, or `env:NAME` (from the environment), or `file:PATH` (the
/// file's first line, relative to the config's folder).
pub(super) fn secret(value: &str, base: &std::path::Path) -> Result<String, String> {
    match value.strip_prefix("file:") {
        Some(path) => {
            let path = base.join(path);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let line = text.lines().next().unwrap_or("").trim().to_owned();
            if line.is_empty() {
                return Err(format!("{} is empty", path.display()));
            }
            Ok(line)
        }
        None => super::env_or(value),
    }
}
