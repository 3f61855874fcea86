//! Where a radio call goes: a radio-over-IP gateway that takes plain RTP on an address
//! (`host:port`, unicast or a talk-group's multicast group), or a talk-group behind a SIP
//! dispatch gateway (`sip:TALKGROUP@HOST[:PORT]`, a PDT/DMR or RoIP gateway reached the way
//! they are: INVITE, the order over RTP, BYE). Written and read as that text, in the config,
//! in rosters and pages, and in the outbox.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A radio call's destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RadioTarget {
    /// Plain RTP to this address.
    Rtp(SocketAddr),
    /// A SIP call to `user` (the talk-group) at the gateway `host:port`.
    Sip { user: String, host: String, port: u16 },
}

impl RadioTarget {
    /// The RTP address, for a plain one.
    pub fn rtp(&self) -> Option<SocketAddr> {
        match self {
            RadioTarget::Rtp(addr) => Some(*addr),
            RadioTarget::Sip { .. } => None,
        }
    }
}

impl FromStr for RadioTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<RadioTarget, String> {
        let Some(rest) = s.strip_prefix("sip:") else {
            return s
                .parse()
                .map(RadioTarget::Rtp)
                .map_err(|_| format!("{s:?}: host:port, or sip:TALKGROUP@HOST[:PORT]"));
        };
        let (user, hostport) = rest.split_once('@').ok_or_else(|| format!("{s:?}: sip:TALKGROUP@HOST[:PORT]"))?;
        let user_ok = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c);
        if user.is_empty() || user.len() > 64 || !user.chars().all(user_ok) {
            return Err(format!("{s:?}: the talk-group is 1–64 letters, digits or -_."));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| format!("{s:?}: the port is a number"))?),
            None => (hostport, 5060),
        };
        let host_ok = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        if host.is_empty() || !host.chars().all(host_ok) || port == 0 {
            return Err(format!("{s:?}: the gateway is HOST[:PORT]"));
        }
        Ok(RadioTarget::Sip { user: user.to_owned(), host: host.to_owned(), port })
    }
}

impl fmt::Display for RadioTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RadioTarget::Rtp(addr) => write!(f, "{addr}"),
            RadioTarget::Sip { user, host, port: 5060 } => write!(f, "sip:{user}@{host}"),
            RadioTarget::Sip { user, host, port } => write!(f, "sip:{user}@{host}:{port}"),
        }
    }
}

impl Serialize for RadioTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RadioTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RadioTarget, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_read_and_write_as_their_text() {
        for text in ["127.0.0.1:5004", "239.1.1.1:5004", "sip:tg101@10.0.0.9", "sip:tg-7@gw.example:5070"] {
            let target: RadioTarget = text.parse().unwrap();
            assert_eq!(target.to_string(), text);
            let json = serde_json::to_string(&target).unwrap();
            assert_eq!(serde_json::from_str::<RadioTarget>(&json).unwrap(), target);
        }
        assert_eq!("sip:tg101@10.0.0.9:5060".parse::<RadioTarget>().unwrap().to_string(), "sip:tg101@10.0.0.9");
        for bad in ["radio", "sip:10.0.0.9", "sip:@10.0.0.9", "sip:tg@", "sip:tg@host:x", "sip:t g@host"] {
            assert!(bad.parse::<RadioTarget>().is_err(), "{bad}");
        }
    }
}
