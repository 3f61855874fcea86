//! linkage (联动指挥台): the command-room console of a township governance center.
//!
//! The binary (`main.rs`) parses the command line and opens the [`window`]; everything else is
//! a library so that tests can build any part alone: [`core`] (the rules, their own crate),
//! [`ui`] (the views), [`wall`] (the feeds behind the video wall), [`journal`] (a seat's journal
//! and command queue), [`center`] (the center's server: dispatch service, outbox, channels),
//! [`platform`] (the seat's link to the site's video platform), [`config`], [`i18n`], [`world`] (the server and the simulated peers a seat connects to).

pub mod basemap;
pub mod center;
pub mod config;
pub use linkage_rules as core;
pub mod i18n;
pub mod journal;
pub mod meeting_media;
pub mod photos;
pub mod platform;
pub mod reports;
pub mod ui;
pub mod wall;
pub mod window;
pub mod world;

/// A tokio runtime of two worker threads named `name` — the seat's I/O, a township's services
/// under a lease: the machines this runs on have two cores.
pub fn runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(name).enable_all().build()
}
