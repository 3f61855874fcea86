//! `[meeting]`: video linkage meetings, and the SFU (Janus VideoRoom) that carries them.
//!
//! ```toml
//! [meeting]
//! # A site's own Janus (HTTP API). Left out: the center's server starts Janus itself, on
//! # loopback, with a configuration it writes (see docs/meeting.md).
//! janus = "http://10.1.2.3:8088/janus"
//! admin_key = "env:LINKAGE_JANUS_ADMIN_KEY" # its VideoRoom admin_key (rooms are ours alone)
//! public_url = "http://10.0.0.6:8088/janus" # the address sites join at, when not janus's
//! ice_ip = "10.1.2.3"                     # the started Janus: the address it offers for media
//! ```

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct MeetingSection {
    janus: Option<Spanned<String>>,
    admin_key: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    ice_ip: Option<Spanned<String>>,
}

/// Where the meetings' SFU is.
#[derive(Clone, PartialEq)]
pub enum SfuSetting {
    /// Janus at `url` (`http://host:port/janus`), rooms created with `admin_key`.
    Janus { url: String, admin_key: String },
    /// The server starts Janus itself on loopback; media offered on `ice_ip` (else on the
    /// address Janus finds).
    Started { ice_ip: Option<std::net::Ipv4Addr> },
}

/// The meetings as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingSettings {
    pub sfu: SfuSetting,
    /// The SFU's address as the sites reach it, when it is not the one the server uses.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for SfuSetting {
    /// Never prints the admin key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SfuSetting::Janus { url, .. } => write!(f, "Janus {{ url: {url} }}"),
            SfuSetting::Started { ice_ip } => write!(f, "Started {{ ice_ip: {ice_ip:?} }}"),
        }
    }
}

fn http_url(value: &Spanned<String>, what: &str) -> Result<String, (std::ops::Range<usize>, String)> {
    let url = value.get_ref().trim_end_matches('/').to_owned();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err((value.span(), format!("meeting {what} {url:?} must start with http:// or https://")))
    }
}

pub(super) fn settings(
    section: MeetingSection,
    err: impl Fn(Option<std::ops::Range<usize>>, String) -> super::ConfigError,
) -> Result<MeetingSettings, super::ConfigError> {
    let at = |(span, reason): (std::ops::Range<usize>, String)| err(Some(span), reason);
    let public_url = section.public_url.as_ref().map(|u| http_url(u, "public_url")).transpose().map_err(at)?;
    if let (Some(url), Some(given)) = (&public_url, &section.public_url)
        && url.starts_with("https://")
    {
        let reason = "meeting public_url: https is not supported yet (the seats speak http to Janus)".to_owned();
        return Err(err(Some(given.span()), reason));
    }
    let sfu = match (section.janus, section.admin_key) {
        (Some(url), Some(key)) => {
            let url = http_url(&url, "janus").map_err(at)?;
            if url.starts_with("https://") {
                return Err(err(
                    None,
                    "meeting janus: https to Janus is not supported yet; use its http API on the site's network".into(),
                ));
            }
            let admin_key = super::env_or(key.get_ref()).map_err(|r| err(Some(key.span()), r))?;
            if section.ice_ip.is_some() {
                return Err(err(
                    None,
                    "meeting ice_ip is for the Janus the server starts, not for a site's janus".into(),
                ));
            }
            SfuSetting::Janus { url, admin_key }
        }
        (Some(url), None) => {
            return Err(err(Some(url.span()), "meeting janus needs its VideoRoom admin_key".into()));
        }
        (None, Some(key)) => {
            return Err(err(Some(key.span()), "meeting admin_key is for a site's janus: give janus too".into()));
        }
        (None, None) => {
            let ice_ip = match section.ice_ip {
                Some(ip) => Some(ip.get_ref().parse().map_err(|_| {
                    err(Some(ip.span()), format!("meeting ice_ip {:?} is not an IPv4 address", ip.get_ref()))
                })?),
                None => None,
            };
            SfuSetting::Started { ice_ip }
        }
    };
    Ok(MeetingSettings { sfu, public_url })
}
