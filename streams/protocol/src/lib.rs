//! The wire format of linkage: JSON text frames over WebSocket, and the orders they carry.
//!
//! Every frame is an [`Envelope`]: protocol version, sequence number, time, kind and body.
//! Clients say `hello` with a token, a role and the last sequence number they saw (`since`);
//! the hub replays every event after `since` from its log, then streams live ones. See
//! docs/protocol.md for every message with an example.
//!
//! This crate is plain data (serde, chrono): the center's server, every seat and the rules
//! share it, and none of them drags a runtime into the others through it.

pub mod camera_use;
pub mod channel_test;
pub mod handover;
mod link;
pub mod meeting;
mod message;
pub mod order;
pub mod roster;
mod work;

/// The township's time zone: Beijing time, for the board's days and months and the clocks
/// drawn into the simulated cameras. China keeps no daylight saving.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

pub use camera_use::{CameraAction, CameraUse};
pub use channel_test::{ChannelTestRequest, ChannelTestResult, test_run};
pub use handover::{DockedPeer, Handover, HandoverProgress, HandoverState, handover_id};
pub use link::{Connection, CountyLink, FeedUpdate, Reach, TownshipLink};
pub use meeting::{Layout, MeetingAction, MeetingCommand, MeetingEnforcement, MeetingPresence, Site, SiteJoin};
pub use message::*;
pub use order::{
    Change, ChannelKind, ClockKind, Delivery, DeliveryState, DeliveryUpdate, DispatchDraft, DispatchRequest, Order,
    OrderChange, OrderEscalation, PlanClocks, SatisfactionAsk, Stage, Texts, Tier, UnitOrder,
};
pub use roster::{PostKind, RosterChange, RosterPost};
pub use work::{OrderProgress, Step, UnitPosition, WorkDetails, WorkOrder};
