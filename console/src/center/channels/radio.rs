//! 对讲机呼叫: the order read aloud on the unit's talk-group — espeak-ng's Mandarin voice, sent
//! as RTP G.711 in 20 ms packets (see `streams::radio` for the PTT framing), either straight to
//! a radio-over-IP gateway's address (µ-law), or in a SIP call to the talk-group at a dispatch
//! gateway (INVITE with digest credentials, the codec its answer names, BYE — see [`super::sip`]).
//! The call's SSRC comes from the message key, so a resent call is known as the same call.
//! Calls to one talk-group go one after another: a talk-group carries one voice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use streams::radio::{Media, OnAir};

use super::sip::{self, SipSettings};
use super::{Channel, ChannelError, Late, Receipt};
use crate::core::dispatch::{Address, Outgoing};
use crate::core::order::ChannelKind;
use crate::core::radio_target::RadioTarget;

pub struct RadioChannel {
    voice: String,
    /// The account for SIP talk-groups, if the site has a SIP dispatch gateway.
    sip: Option<SipSettings>,
    /// The end of each call: its delivery receipt.
    late: tokio::sync::mpsc::UnboundedSender<Late>,
    /// One lock per talk-group: it is half-duplex.
    talkgroups: Mutex<HashMap<RadioTarget, Arc<tokio::sync::Mutex<()>>>>,
}

impl RadioChannel {
    pub fn new(voice: &str, sip: Option<SipSettings>, late: tokio::sync::mpsc::UnboundedSender<Late>) -> RadioChannel {
        RadioChannel { voice: voice.to_owned(), sip, late, talkgroups: Mutex::default() }
    }

    /// Speaks `msg` and puts it on the air to `to` in `media`; returns once the first packet left.
    async fn on_air(&self, msg: &Outgoing, to: std::net::SocketAddr, media: Media) -> Result<OnAir, ChannelError> {
        let (text, voice, key) = (msg.text.clone(), self.voice.clone(), msg.key.clone());
        tokio::task::spawn_blocking(move || streams::radio::call(&text, &voice, to, &key, media))
            .await
            .map_err(|e| ChannelError(e.to_string()))?
            .map_err(ChannelError)
    }
}

/// A local UDP port free now, for the RTP a SIP offer names.
fn free_rtp_port() -> Result<u16, ChannelError> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| ChannelError(format!("RTP port: {e}")))?;
    socket.local_addr().map(|a| a.port()).map_err(|e| ChannelError(e.to_string()))
}

impl Channel for RadioChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Radio
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let Address::Radio(target) = &msg.address else {
                return Err(ChannelError(format!("{}: a radio call needs a talk-group", msg.key)));
            };
            let floor =
                self.talkgroups.lock().unwrap_or_else(|p| p.into_inner()).entry(target.clone()).or_default().clone();
            let floor = floor.lock_owned().await;
            let late = self.late.clone();
            // Sent: the call is on the air. Delivered: it was read out to the end. The
            // talk-group stays taken until then.
            let report = move |receipt: String, done: Result<(), String>| {
                if let Err(e) = &done {
                    tracing::warn!(error = %e, %receipt, "radio call broke off");
                }
                let _ = late.send(Late::Receipt { channel: ChannelKind::Radio, receipt, delivered: done.is_ok() });
            };
            match target {
                RadioTarget::Rtp(to) => {
                    let on_air = self.on_air(msg, *to, Media::PLAIN).await?;
                    let id = format!("ssrc:{:08x}", on_air.ssrc());
                    let receipt = id.clone();
                    tokio::task::spawn_blocking(move || {
                        let done = on_air.finish().map(drop);
                        drop(floor);
                        report(receipt, done);
                    });
                    Ok(Receipt { id, delivered: false })
                }
                RadioTarget::Sip { user, host, port } => {
                    let account = self.sip.as_ref().ok_or_else(|| {
                        ChannelError(format!(
                            "{target} is a SIP talk-group, and [dispatch.radio.sip] is not configured"
                        ))
                    })?;
                    let rtp_port = free_rtp_port()?;
                    let call = sip::invite(account, (user, host, *port), rtp_port)
                        .await
                        .map_err(|e| ChannelError(format!("{target}: {e}")))?;
                    let media = Media { codec: call.codec, from_port: Some(rtp_port) };
                    let on_air = match self.on_air(msg, call.media, media).await {
                        Ok(on_air) => on_air,
                        Err(e) => {
                            let _ = call.bye().await;
                            return Err(e);
                        }
                    };
                    let id = format!("sip:{}", call.call_id());
                    let receipt = id.clone();
                    let cutter = on_air.cutter();
                    tokio::spawn(async move {
                        let mut spoken = tokio::task::spawn_blocking(move || on_air.finish().map(drop));
                        let done = tokio::select! {
                            done = &mut spoken => done.map_err(|e| e.to_string()).and_then(|d| d),
                            why = call.hung_up() => {
                                cutter.cut();
                                let _ = spoken.await;
                                Err(why)
                            }
                        };
                        // Read out to the end: hang up. Cut off by the gateway: the dialog is over.
                        let done = match done {
                            Ok(()) => call.bye().await,
                            Err(why) => Err(why),
                        };
                        drop(floor);
                        report(receipt, done);
                    });
                    Ok(Receipt { id, delivered: false })
                }
            }
        })
    }
}
