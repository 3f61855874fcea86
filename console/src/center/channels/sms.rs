//! 短信通知: SMS through an SMSC over SMPP 3.4, with the rusmppc client.
//!
//! One transceiver session (bind_transceiver, interface version 3.4) is kept up by a task:
//! enquire_link every 30 s, reconnect with back-off when it drops. A message is UCS-2 (the
//! orders are Chinese) and split into concatenated parts when long (UDH, 67 characters a part).
//! Every part carries the message key in the vendor TLV 0x1401 (`linkage_key`, UTF-8 octets),
//! suffixed with the mobile number, so an SMSC that honours it keeps a resend once. Delivery
//! receipts come back as deliver_sm (`id:… stat:DELIVRD`) and reach the outbox as [`Late`]
//! receipts. The password is never logged.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use rusmpp::extra::concatenation::SubmitSmMultipartExt;
use rusmpp::extra::encoding::ucs2::Ucs2;
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvTag};
use rusmpp::types::{AnyOctetString, COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, IntermediateNotification, MCDeliveryReceipt, MessageType, Npi,
    RegisteredDelivery, SmeOriginatedAcknowledgement, Ton,
};
use rusmpp::{CommandId, Pdu};
use rusmppc::{Client, ConnectionBuilder, Event};
use tokio::sync::{RwLock, mpsc};

use super::{Channel, ChannelError, Late, Receipt};
use crate::config::SmsSettings;
use crate::core::dispatch::Outgoing;
use crate::core::order::ChannelKind;

/// The vendor-specific TLV that carries the idempotency key.
pub const KEY_TLV: u16 = 0x1401;

/// The session as the sender sees it.
enum Session {
    Up(Client),
    Down(String),
}

pub struct SmsChannel {
    session: Arc<RwLock<Session>>,
    source: String,
    taken: super::TakenParts,
}

impl SmsChannel {
    /// Starts the session task; receipts go to `late`.
    pub fn connect(
        settings: SmsSettings,
        late: mpsc::UnboundedSender<Late>,
        runtime: &tokio::runtime::Handle,
    ) -> SmsChannel {
        let session = Arc::new(RwLock::new(Session::Down("connecting to the SMSC".into())));
        let source = settings.source.clone();
        runtime.spawn(keep_bound(settings, session.clone(), late));
        SmsChannel { session, source, taken: Default::default() }
    }
}

/// Binds, serves the session's events, and binds again when it drops.
async fn keep_bound(settings: SmsSettings, session: Arc<RwLock<Session>>, late: mpsc::UnboundedSender<Late>) {
    let mut attempt = 0u32;
    loop {
        let reason = match bind(&settings).await {
            Ok((client, mut events)) => {
                attempt = 0;
                tracing::info!(smsc = %settings.address, system_id = %settings.system_id, "SMSC bound");
                *session.write().await = Session::Up(client.clone());
                let mut reason = "the SMSC closed the session".to_string();
                while let Some(event) = events.next().await {
                    match event {
                        Event::Incoming(command) if command.id() == CommandId::DeliverSm => {
                            let _ = client.deliver_sm_resp(command.sequence_number(), DeliverSmResp::default()).await;
                            if let Some(Pdu::DeliverSm(deliver)) = command.pdu() {
                                on_deliver(deliver, &late);
                            }
                        }
                        Event::Incoming(_) => {}
                        Event::Error(e) => reason = e.to_string(),
                    }
                }
                reason
            }
            Err(e) => e,
        };
        attempt += 1;
        let retry_in = streams::backoff(attempt);
        tracing::warn!(smsc = %settings.address, %reason, ?retry_in, "SMSC session lost");
        *session.write().await = Session::Down(format!("SMSC {}: {reason}", settings.address));
        tokio::time::sleep(retry_in).await;
    }
}

async fn bind(s: &SmsSettings) -> Result<(Client, impl futures_util::Stream<Item = Event> + Unpin + 'static), String> {
    let (client, events) = ConnectionBuilder::new()
        // rusmppc speaks v5 by default; we bind as 3.4, which every SMSC in China takes.
        .disable_interface_version_check()
        .enquire_link_interval(Duration::from_secs(30))
        .enquire_link_response_timeout(Duration::from_secs(10))
        .response_timeout(Duration::from_secs(10))
        .connect(format!("smpp://{}", s.address))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let bad = |e: rusmpp::types::COctetStringError| format!("bad SMPP field: {e}");
    client
        .bind_transceiver(
            BindTransceiver::builder()
                .system_id(COctetString::from_str(&s.system_id).map_err(bad)?)
                .password(
                    COctetString::from_str(&s.password)
                        .map_err(|_| "the SMSC password is longer than 8 characters".to_string())?,
                )
                .system_type(COctetString::empty())
                .interface_version(InterfaceVersion::Smpp3_4)
                .addr_ton(Ton::Unknown)
                .addr_npi(Npi::Unknown)
                .address_range(COctetString::empty())
                .build(),
        )
        .await
        .map_err(|e| format!("bind_transceiver: {e}"))?;
    Ok((client, events))
}

/// A delivery receipt (`id:… stat:…`) becomes a late receipt; anything else is a message from
/// a handset (UCS-2 or plain text), passed on as a reply.
fn on_deliver(deliver: &rusmpp::pdus::DeliverSm, late: &mpsc::UnboundedSender<Late>) {
    let bytes = deliver.short_message().as_ref();
    if deliver.esm_class.message_type != MessageType::ShortMessageContainsMCDeliveryReceipt {
        let from = String::from_utf8_lossy(deliver.source_addr.as_ref()).trim_end_matches('\0').to_owned();
        let text = streams::sms::decode_text(bytes, deliver.data_coding == DataCoding::Ucs2);
        tracing::info!(%from, "SMS from a handset");
        let _ = late.send(Late::Reply { from, text });
        return;
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    match parse_receipt(&text) {
        Some((id, stat)) => {
            let _ = late.send(Late::Receipt { channel: ChannelKind::Sms, receipt: id, delivered: stat == "DELIVRD" });
        }
        None => tracing::warn!(%text, "delivery receipt without id/stat"),
    }
}

/// The `id:` and `stat:` fields of a delivery receipt text (SMPP 3.4 appendix B).
pub fn parse_receipt(text: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        text.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_owned).filter(|v| !v.is_empty())
    };
    Some((field("id:")?, field("stat:")?))
}

impl Channel for SmsChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<Receipt, ChannelError>> {
        Box::pin(async move {
            let client = match &*self.session.read().await {
                Session::Up(client) => client.clone(),
                Session::Down(why) => return Err(ChannelError(why.clone())),
            };
            let parts_of = |mobile: &str, key: &str| parts(&self.source, mobile, &msg.text, key);
            let submit = |_: &str, part: SubmitSm, _| {
                let client = client.clone();
                async move {
                    let resp = client.submit_sm(part).await.map_err(|e| format!("submit_sm: {e}"))?;
                    // A C-octet string: its bytes end with the NUL terminator.
                    Ok(String::from_utf8_lossy(resp.message_id().as_ref()).trim_end_matches('\0').to_owned())
                }
            };
            self.taken.submit(msg, parts_of, submit).await
        })
    }
}

/// The submit_sm PDUs of one message to one mobile: UCS-2, concatenated when long, each with
/// the key TLV and a request for a delivery receipt.
fn parts(source: &str, mobile: &str, text: &str, key: &str) -> Result<Vec<SubmitSm>, ChannelError> {
    let bad = |e: &dyn std::fmt::Display| ChannelError(format!("SMS not encodable: {e}"));
    // The same reference for every attempt of this key: a resend is the same message.
    let reference = (streams::radio::ssrc_for(key) & 0xffff) as u16;
    let base = SubmitSm::builder()
        .source_addr_ton(Ton::Unknown)
        .source_addr_npi(Npi::Unknown)
        .source_addr(COctetString::from_str(source).map_err(|e| bad(&e))?)
        .destination_addr(COctetString::from_str(mobile).map_err(|e| bad(&e))?)
        .esm_class(EsmClass::default())
        // A final delivery receipt, nothing else.
        .registered_delivery(RegisteredDelivery::new(
            MCDeliveryReceipt::McDeliveryReceiptRequestedWhereFinalDeliveryOutcomeIsSuccessOrFailure,
            SmeOriginatedAcknowledgement::NoReceiptSmeAcknowledgementRequested,
            IntermediateNotification::NoIntermediaryNotificationRequested,
            0,
        ))
        .data_coding(DataCoding::default())
        .short_message(OctetString::empty())
        .push_tlv(MessageSubmissionRequestTlvValue::Other {
            tag: TlvTag::Other(KEY_TLV),
            value: AnyOctetString::from_slice(key.as_bytes()),
        })
        .build();
    base.multipart(text).reference_u16(reference).encoder(Ucs2::new()).build().map_err(|e| bad(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_text_gives_its_id_and_state() {
        let text =
            "id:a968000001 sub:001 dlvr:001 submit date:2611280803 done date:2611280803 stat:DELIVRD err:000 text:";
        assert_eq!(parse_receipt(text), Some(("a968000001".into(), "DELIVRD".into())));
        assert_eq!(parse_receipt("hello"), None);
    }

    #[test]
    fn a_long_chinese_order_is_split_in_ucs2_parts_each_with_the_key() {
        let text = "【青溪镇综治中心】火情：东湾村 DW-03，".repeat(5);
        let parts = parts("10690001", "13800000001", &text, "D1/fire/sms#13800000001").unwrap();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        for p in &parts {
            assert!(p.short_message().as_ref().len() <= 140);
            assert!(p.tlvs().iter().any(|t| t.tag() == TlvTag::Other(KEY_TLV)));
        }
    }
}
