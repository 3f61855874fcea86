//! The window: the eframe application ([`app`]: Core, the views, the feeds, the hub link), the
//! [`shell`] that shows the login first when the site asks for one, and the [`screenshot`] of
//! the whole window that `--screenshot` saves.

pub mod app;
pub mod screenshot;
pub mod shell;
