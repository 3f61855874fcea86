//! The channels of the three-in-one dispatch, one file each, behind one trait.
//!
//! A [`Channel`] sends one [`Outgoing`] message and answers with the peer's [`Receipt`]. Sends
//! are idempotent by the message's key: the outbox resends after a failure or a crash with the
//! same key, and each peer keeps a key once (the hub logs a key once; the SMSC sees it in the
//! 0x1401 TLV; a radio call's SSRC is derived from it). Receipts that come later (an SMS
//! delivery receipt) go to the outbox through [`Late`].
//!
//! Adding a channel (CMPP, a vendor HTTP SMS API, SIP) is one file here implementing
//! [`Channel`], and one line in [`open`].

pub mod cmpp;
pub mod http_sms;
pub mod order;
pub mod outbox;
pub mod radio;
pub mod sip;
pub mod sms;

use futures_util::future::BoxFuture;

use crate::core::dispatch::Outgoing;
use crate::core::order::ChannelKind;

/// What a peer said when it took a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The peer's id for it (hub sequence number, SMSC message ids, RTP SSRC).
    pub id: String,
    /// The peer already confirms it reached the unit.
    pub delivered: bool,
}

/// Why a send failed. Every failure is retried by the outbox; the text is what the officer sees.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ChannelError(pub String);

/// What a peer says after the send.
#[derive(Debug, Clone, PartialEq)]
pub enum Late {
    /// A receipt: the peer's id and whether the message reached the unit.
    Receipt { channel: ChannelKind, receipt: String, delivered: bool },
    /// A message from a handset (a reporter answering the satisfaction request).
    Reply { from: String, text: String },
}

/// The mobile numbers an SMS goes to (every SMS channel's first check).
fn mobiles(msg: &Outgoing) -> Result<&[String], ChannelError> {
    match &msg.address {
        crate::core::dispatch::Address::Mobiles(mobiles) => Ok(mobiles),
        _ => Err(ChannelError(format!("{}: an SMS needs mobile numbers", msg.key))),
    }
}

/// The key of a message's copy to one of its mobiles (what an SMSC is given to know a resend
/// by): the message's own when it already names that mobile (`KEY#MOBILE`, an SMS of an order
/// goes to each number alone).
fn key_to(msg: &Outgoing, mobile: &str) -> String {
    match msg.key.strip_suffix(mobile).and_then(|k| k.strip_suffix('#')) {
        Some(_) => msg.key.clone(),
        None => format!("{}#{mobile}", msg.key),
    }
}

/// The parts of an SMS its gateway has taken, by the key of each mobile's copy: a resend after
/// a failure submits only the parts not taken yet (a long order whose third part was refused
/// sends the third part again, not the first two). Kept until the whole message is through,
/// in memory: after a restart the message goes whole again (at least once, docs/dispatch.md).
#[derive(Default)]
struct TakenParts(std::sync::Mutex<std::collections::HashMap<String, Vec<Option<String>>>>);

impl TakenParts {
    /// What the gateway took of `key`'s `parts` parts so far: its message id for each taken.
    fn of(&self, key: &str, parts: usize) -> Vec<Option<String>> {
        let taken = self.0.lock().unwrap_or_else(|p| p.into_inner());
        taken.get(key).filter(|ids| ids.len() == parts).cloned().unwrap_or_else(|| vec![None; parts])
    }

    fn keep(&self, key: String, ids: Vec<Option<String>>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key, ids);
    }

    /// The message is through: its parts are forgotten.
    fn forget(&self, keys: &[String]) {
        let mut taken = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            taken.remove(key);
        }
    }

    /// Sends `msg` to each of its mobiles part by part, skipping the parts taken before:
    /// `parts_of(mobile, key)` gives a mobile's parts, `submit(mobile, part, (n, total))` sends
    /// one and gives the gateway's id for it. A failure keeps what was taken and says which
    /// number and which part; the receipt is every part's id.
    async fn submit<P, F, Fut>(
        &self,
        msg: &Outgoing,
        parts_of: impl Fn(&str, &str) -> Result<Vec<P>, ChannelError>,
        mut submit: F,
    ) -> Result<Receipt, ChannelError>
    where
        F: FnMut(&str, P, (usize, usize)) -> Fut,
        Fut: std::future::Future<Output = Result<String, String>>,
    {
        let (mut ids, mut keys) = (vec![], vec![]);
        for mobile in mobiles(msg)? {
            let key = key_to(msg, mobile);
            let parts = parts_of(mobile, &key)?;
            let total = parts.len();
            let mut taken = self.of(&key, total);
            for (n, part) in parts.into_iter().enumerate() {
                if taken[n].is_some() {
                    continue;
                }
                match submit(mobile, part, (n, total)).await {
                    Ok(id) => taken[n] = Some(id),
                    Err(why) => {
                        self.keep(key, taken);
                        let at = if total > 1 { format!(" (part {} of {total})", n + 1) } else { String::new() };
                        return Err(ChannelError(format!("{mobile}{at}: {why}")));
                    }
                }
            }
            ids.extend(taken.into_iter().flatten());
            keys.push(key);
        }
        self.forget(&keys);
        Ok(Receipt { id: ids.join(","), delivered: false })
    }
}

/// One way of reaching a unit.
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;
    /// Sends `msg`; idempotent by `msg.key`.
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>>;
}

/// Watches the plan file: when it changes, it is read and checked again; a good library comes
/// back as `Ok`, a refused one as `Err` with file, line and reason (the last good one stays).
pub fn watch_plans(
    config: &crate::config::Config,
    runtime: &tokio::runtime::Handle,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<crate::core::plan::PlanLibrary, String>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let Some(path) = config.dispatch.plans_path.clone() else { return rx };
    let (kinds, units) = (config.kinds.clone(), config.units.clone());
    runtime.spawn(async move {
        let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut last = modified(&path);
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let now = modified(&path);
            if now == last || now.is_none() {
                continue;
            }
            last = now;
            let result =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display())).and_then(|text| {
                    crate::core::plan::PlanLibrary::from_toml(&text, &kinds, &units).map_err(|(at, reason)| {
                        let line = at.map(|at| crate::config::line_of(&text, at)).unwrap_or(0);
                        format!("{}:{line}: {reason}", path.display())
                    })
                });
            if tx.send(result).is_err() {
                return;
            }
        }
    });
    rx
}

/// The channels a configuration asks for: the online order when there is a hub and a
/// dispatcher token, SMS when an SMSC (SMPP), a CMPP gateway or an HTTP SMS service is
/// configured, and radio. The receiver takes the late
/// receipts (SMS delivery receipts) for the outbox.
pub fn open(
    settings: &crate::config::DispatchSettings,
    hub: Option<(&str, &str, Option<streams::feed::tls::Trust>)>,
    runtime: &tokio::runtime::Handle,
) -> (Vec<std::sync::Arc<dyn Channel>>, tokio::sync::mpsc::UnboundedReceiver<Late>) {
    let (late_tx, late) = tokio::sync::mpsc::unbounded_channel();
    let mut channels: Vec<std::sync::Arc<dyn Channel>> = vec![std::sync::Arc::new(radio::RadioChannel::new(
        &settings.radio_voice,
        settings.radio_sip.clone(),
        late_tx.clone(),
    ))];
    if let Some((url, token, trust)) = hub {
        channels.push(std::sync::Arc::new(order::OrderChannel::connect(url, token, trust, runtime)));
    }
    if let Some(sms) = settings.sms.clone() {
        channels.push(std::sync::Arc::new(sms::SmsChannel::connect(sms, late_tx, runtime)));
    } else if let Some(cmpp) = settings.cmpp.clone() {
        channels.push(std::sync::Arc::new(cmpp::CmppChannel::connect(cmpp, late_tx, runtime)));
    } else if let Some(http) = settings.http_sms.clone() {
        channels.push(std::sync::Arc::new(http_sms::HttpSmsChannel::connect(http, late_tx, runtime)));
    }
    (channels, late)
}
