//! The demo's simulated SMSC: a real SMPP 3.4 server on 127.0.0.1 (rusmpp's codec), so the
//! console's SMS channel binds, submits and gets delivery receipts exactly as with an operator's
//! SMSC. It answers bind_*, submit_sm (a fresh message id), enquire_link and unbind; a submit
//! that asks for a receipt gets a `deliver_sm` receipt (`id:… stat:DELIVRD`) a moment later. It
//! keeps each idempotency key (vendor TLV 0x1401) once, like the test peer in tests/peers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rusmpp::pdus::{BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DeliverSm, SubmitSmResp};
use rusmpp::tlvs::{TlvTag, TlvValue};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, MCDeliveryReceipt, MessageType};
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// The vendor TLV carrying the sender's idempotency key.
const KEY_TLV: u16 = 0x1401;
/// How long the simulated handset takes to receive a message.
const DELIVERY_DELAY: Duration = Duration::from_millis(800);

/// A running simulated SMSC; dropping it stops it.
pub struct Smsc {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Smsc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Message ids by key, shared by every session: a resend gets its first id back.
type Seen = Arc<Mutex<HashMap<Vec<u8>, String>>>;

impl Smsc {
    /// Listens on 127.0.0.1 (a free port) on `runtime`.
    pub fn start(runtime: &tokio::runtime::Handle) -> Result<Smsc, String> {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("simulated SMSC cannot listen: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let ids = Arc::new(AtomicU32::new(fastrand::u32(..) & 0xffff_0000));
        let seen: Seen = Arc::default();
        let task = runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, ids.clone(), seen.clone()));
            }
        });
        tracing::info!(%addr, "simulated SMSC listening");
        Ok(Smsc { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn id_text(text: &str) -> COctetString<1, 16> {
    COctetString::from_str(text).unwrap_or_else(|_| COctetString::empty())
}

/// One ESME's session, until it unbinds or goes away.
async fn serve(stream: TcpStream, ids: Arc<AtomicU32>, seen: Seen) {
    let mut framed = Framed::new(stream, CommandCodec::new());
    let (later, mut queued) = mpsc::unbounded_channel::<Pdu>();
    let mut sequence = 0u32;
    loop {
        let reply = tokio::select! {
            incoming = framed.next() => match incoming {
                Some(Ok(command)) => answer(&command, &ids, &seen, &later),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "simulated SMSC: bad PDU; closing the session");
                    return;
                }
                None => return,
            },
            Some(pdu) = queued.recv() => {
                sequence += 1;
                Some(Command::new(CommandStatus::EsmeRok, sequence, pdu))
            }
        };
        let Some(reply) = reply else { continue };
        let last = reply.id() == rusmpp::CommandId::UnbindResp;
        if framed.send(reply).await.is_err() || last {
            return;
        }
    }
}

/// The response to a command, if it needs one; receipts go to `later`.
fn answer(command: &Command, ids: &AtomicU32, seen: &Seen, later: &mpsc::UnboundedSender<Pdu>) -> Option<Command> {
    let ok = |pdu: Pdu| Some(Command::new(CommandStatus::EsmeRok, command.sequence_number(), pdu));
    let version = Some(InterfaceVersion::Smpp3_4);
    match command.pdu()? {
        Pdu::BindTransceiver(_) => ok(BindTransceiverResp::new(id_text("linkage-sim"), version).into()),
        Pdu::BindTransmitter(_) => ok(BindTransmitterResp::new(id_text("linkage-sim"), version).into()),
        Pdu::BindReceiver(_) => ok(BindReceiverResp::new(id_text("linkage-sim"), version).into()),
        Pdu::EnquireLink => ok(Pdu::EnquireLinkResp),
        Pdu::Unbind => ok(Pdu::UnbindResp),
        Pdu::SubmitSm(sm) => {
            let key = sm.tlvs().iter().find(|t| t.tag() == TlvTag::Other(KEY_TLV)).and_then(|t| match t.value() {
                Some(TlvValue::Other { value, .. }) => Some(value.as_ref().to_vec()),
                _ => None,
            });
            let fresh = || format!("{:08x}", ids.fetch_add(1, Ordering::Relaxed));
            let id = match key {
                Some(key) => seen.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert_with(fresh).clone(),
                None => fresh(),
            };
            if sm.registered_delivery.mc_delivery_receipt() != MCDeliveryReceipt::NoMcDeliveryReceiptRequested {
                let receipt = DeliverSm::builder()
                    .source_addr(sm.destination_addr.clone())
                    .destination_addr(sm.source_addr.clone())
                    .esm_class(EsmClass { message_type: MessageType::ShortMessageContainsMCDeliveryReceipt, ..EsmClass::default() })
                    .short_message(
                        OctetString::from_str(&format!(
                            "id:{id} sub:001 dlvr:001 submit date:0000000000 done date:0000000000 stat:DELIVRD err:000 text:"
                        ))
                        .unwrap_or_else(|_| OctetString::empty()),
                    )
                    .build();
                let later = later.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(DELIVERY_DELAY).await;
                    let _ = later.send(receipt.into());
                });
            }
            if asks_for_satisfaction(sm.short_message().as_ref(), sm.data_coding) {
                // The simulated citizen answers, mostly content, in 5 to 40 seconds.
                let stars = match fastrand::u8(0..100) {
                    0..5 => "2",
                    5..20 => "3",
                    20..50 => "4",
                    _ => "5",
                };
                let reply = DeliverSm::builder()
                    .source_addr(sm.destination_addr.clone())
                    .destination_addr(sm.source_addr.clone())
                    .short_message(OctetString::from_str(stars).unwrap_or_else(|_| OctetString::empty()))
                    .build();
                let later = later.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(fastrand::u64(5..40))).await;
                    let _ = later.send(reply.into());
                });
            }
            ok(SubmitSmResp::new(COctetString::from_str(&id).unwrap_or_else(|_| COctetString::empty()), vec![]).into())
        }
        Pdu::DeliverSmResp(_) => None,
        _ => Some(Command::new(CommandStatus::EsmeRinvcmdid, command.sequence_number(), Pdu::GenericNack)),
    }
}

/// Whether a submitted text asks its reader for a satisfaction reply (the console's wording).
fn asks_for_satisfaction(bytes: &[u8], coding: DataCoding) -> bool {
    crate::sms::decode_text(bytes, coding == DataCoding::Ucs2).contains("评价满意度")
}
