//! The center's server: the hub (the log every seat reads) and, beside it, the dispatch
//! service that holds the truth of the orders — it builds each order a seat asks for, sends
//! it through the outbox on every channel, runs the tier clocks and their escalations, asks
//! reporters for their satisfaction, and logs all of it, so every seat shows the same and a
//! seat that closes or crashes changes nothing.
//!
//! `linkage hub --config` runs both in one process; the embedded default runs them inside the
//! console (see `crate::world`), so `make demo` is still one command.

pub mod bridge;
pub mod channels;
pub mod meeting;
mod server;
mod service;
pub mod store;

pub use server::{Server, Township};
pub use service::{DispatchService, HubAccess};
