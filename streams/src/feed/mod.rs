//! The event protocol of linkage over WebSocket: the hub and its log, and a resuming client.
//! The wire format itself is the `linkage-protocol` crate, re-exported here whole.

mod admission;
pub mod attachments;
mod beside;
mod client;
mod event_log;
pub mod files;
mod grant;
mod hub;
pub mod jetstream;
pub mod lease;
mod logs;
pub mod nats_users;
mod reach;
pub mod routes;
pub mod tls;
mod users;
mod views;

pub use client::{ClientHandle, FeedClient, Session, login};
pub use event_log::{Appended, EventLog, Logged, Pending, Unlogged};
pub use hub::{Grant, Hub, HubConfig, HubHandle, Limits};
pub use linkage_protocol::*;
pub use routes::EVERY_UNIT;
pub use users::{LoginError, Person, SECRET_BYTES, SESSION_HOURS, Users, secret_hex};
