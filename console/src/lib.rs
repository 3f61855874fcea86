//! linkage (联动指挥台): the command-room console of a township governance center.
//!
//! The binary (`main.rs`) parses the command line and starts [`app::LinkageApp`]; everything
//! else is a library so that tests can build any part alone:
//! [`core`] (the rules), [`ui`] (the views), [`config`], [`i18n`], [`world`] (the hub and the
//! simulated peers the console connects to).

pub mod app;
pub mod basemap;
pub mod center;
pub mod channels;
pub mod config;
pub use linkage_rules as core;
pub mod duty_officer;
pub mod i18n;
pub mod journal;
pub mod screenshot;
pub mod shell;
pub mod snapshot;
pub mod store;
pub mod ui;
pub mod wall_feeds;
pub mod world;
