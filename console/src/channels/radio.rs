//! 对讲机呼叫: the order read aloud on the unit's talk-group — espeak-ng's Mandarin voice, sent
//! as RTP G.711 µ-law in 20 ms packets to the radio-over-IP gateway (see `streams::radio` for
//! the PTT framing). The call's SSRC comes from the message key, so a resent call is known as
//! the same call. Calls to one gateway go one after another: a talk-group carries one voice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::{Channel, ChannelError, Receipt};
use crate::core::dispatch::{Address, Outgoing};
use crate::core::order::ChannelKind;

pub struct RadioChannel {
    voice: String,
    /// One lock per gateway: a talk-group is half-duplex.
    talkgroups: Mutex<HashMap<SocketAddr, Arc<tokio::sync::Mutex<()>>>>,
}

impl RadioChannel {
    pub fn new(voice: &str) -> RadioChannel {
        RadioChannel { voice: voice.to_owned(), talkgroups: Mutex::default() }
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
            let _floor = floor.lock().await;
            let (text, voice, key) = (msg.text.clone(), self.voice.clone(), msg.key.clone());
            let call = tokio::task::spawn_blocking(move || streams::radio::call(&text, &voice, to, &key))
                .await
                .map_err(|e| ChannelError(e.to_string()))?
                .map_err(ChannelError)?;
            Ok(Receipt { id: format!("ssrc:{:08x} {:.1}s", call.ssrc, call.took.as_secs_f32()), delivered: false })
        })
    }
}
