//! 对讲机呼叫: the order read aloud on the unit's talk-group — espeak-ng's Mandarin voice, sent
//! as RTP G.711 µ-law in 20 ms packets to the radio-over-IP gateway (see `streams::radio` for
//! the PTT framing). The call's SSRC comes from the message key, so a resent call is known as
//! the same call. Calls to one gateway go one after another: a talk-group carries one voice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::{Channel, ChannelError, Late, Receipt};
use crate::core::dispatch::{Address, Outgoing};
use crate::core::order::ChannelKind;

pub struct RadioChannel {
    voice: String,
    /// The end of each call: its delivery receipt.
    late: tokio::sync::mpsc::UnboundedSender<Late>,
    /// One lock per gateway: a talk-group is half-duplex.
    talkgroups: Mutex<HashMap<SocketAddr, Arc<tokio::sync::Mutex<()>>>>,
}

impl RadioChannel {
    pub fn new(voice: &str, late: tokio::sync::mpsc::UnboundedSender<Late>) -> RadioChannel {
        RadioChannel { voice: voice.to_owned(), late, talkgroups: Mutex::default() }
    }
}

impl Channel for RadioChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Radio
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let Address::Radio(to) = msg.address else {
                return Err(ChannelError(format!("{}: a radio call needs a gateway address", msg.key)));
            };
            let floor = self.talkgroups.lock().unwrap_or_else(|p| p.into_inner()).entry(to).or_default().clone();
            let floor = floor.lock_owned().await;
            let (text, voice, key) = (msg.text.clone(), self.voice.clone(), msg.key.clone());
            let on_air = tokio::task::spawn_blocking(move || streams::radio::call(&text, &voice, to, &key))
                .await
                .map_err(|e| ChannelError(e.to_string()))?
                .map_err(ChannelError)?;
            // Sent: the call is on the air. Delivered: it was read out to the end. The
            // talk-group stays taken until then.
            let id = format!("ssrc:{:08x}", on_air.ssrc());
            let (late, receipt) = (self.late.clone(), id.clone());
            tokio::task::spawn_blocking(move || {
                let done = on_air.finish();
                if let Err(e) = &done {
                    tracing::warn!(error = %e, "radio call broke off");
                }
                drop(floor);
                let _ = late.send(Late::Receipt { channel: ChannelKind::Radio, receipt, delivered: done.is_ok() });
            });
            Ok(Receipt { id, delivered: false })
        })
    }
}
