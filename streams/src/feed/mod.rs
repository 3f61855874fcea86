//! The event protocol of linkage: JSON text frames over WebSocket.
//!
//! Every frame is an [`Envelope`]: protocol version, sequence number, time, kind and body.
//! Clients say `hello` with a token, a role and the last sequence number they saw (`since`);
//! the hub replays every event after `since` from its log, then streams live ones. See
//! docs/protocol.md for every message with an example.

mod client;
mod event_log;
mod hub;
mod message;

pub use client::{ClientHandle, Connection, FeedClient, FeedUpdate};
pub use event_log::{EventLog, Logged, Pending};
pub use hub::{Grant, Hub, HubConfig, HubHandle};
pub use message::{
    Body, CoordinateSystem, Envelope, ErrorCode, Incident, IncidentReport, IncidentStatus, IncidentUpdate, Location,
    OrderProgress, PROTOCOL_VERSION, ParseError, ReportSource, Role, Severity, Step, WorkOrder,
};
