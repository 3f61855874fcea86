//! `linkage`: the console, the standalone hub, and a tail of the hub's events.
//!
//! ```text
//! linkage [--config FILE] [--lang zh|en] [--renderer glow|wgpu] [--data DIR]
//!         [--screenshot FILE [--after SECONDS]] [--size WxH]
//! linkage hub --listen ADDR --data DIR --tokens FILE
//! linkage tail --hub URL --token TOKEN [--since N]
//! ```
//! With no `--config` the console runs the demo township on an embedded hub with simulated
//! cameras, grid workers and linked units.

mod cli;

use std::process::ExitCode;

/// See the workspace's Cargo.toml: the map's frames would otherwise fault their meshes in anew.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Logs go to stderr (stdout carries `linkage tail`'s events and the hub's URL), in colour
    // only when stderr is a terminal.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wgpu_core=warn,wgpu_hal=warn,naga=warn,eframe=warn,egui_glow=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linkage: {e}");
            ExitCode::FAILURE
        }
    }
}
