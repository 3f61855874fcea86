//! `--screenshot FILE`: run the console until every wall tile shows video (or the time runs
//! out), save the window as a PNG, and exit. Used for the README and for tests under Xvfb.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Why a screenshot failed, if it did; shared with `main`, which turns it into the exit code.
pub type Failure = Arc<std::sync::Mutex<Option<String>>>;

/// What to capture and how long to wait for video at most.
#[derive(Debug, Clone)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    pub wait: Duration,
    pub failure: Failure,
}

/// A screenshot in progress.
pub struct Screenshot {
    plan: ScreenshotPlan,
    started: Instant,
    all_playing_since: Option<Instant>,
    pending: Option<mpsc::Receiver<Arc<egui::ColorImage>>>,
}

/// Video must have played on every tile this long, so the picture is not a first frame.
const SETTLE: Duration = Duration::from_millis(1500);

impl Screenshot {
    pub fn new(plan: ScreenshotPlan) -> Screenshot {
        Screenshot { plan, started: Instant::now(), all_playing_since: None, pending: None }
    }

    /// Called every frame with whether every tile shows video. Asks for the picture when it is
    /// time, saves it when it came, and closes the window.
    pub fn step(&mut self, ctx: &egui::Context, all_tiles_playing: bool) {
        if let Some(rx) = &self.pending {
            if let Ok(image) = rx.try_recv() {
                if let Err(e) = save(&self.plan.path, &image) {
                    tracing::error!(error = %e, "screenshot not saved");
                    if let Ok(mut slot) = self.plan.failure.lock() {
                        *slot = Some(e);
                    }
                } else {
                    tracing::info!(path = %self.plan.path.display(), "screenshot saved");
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            ctx.request_repaint_after(Duration::from_millis(50));
            return;
        }
        let now = Instant::now();
        self.all_playing_since = if all_tiles_playing { self.all_playing_since.or(Some(now)) } else { None };
        let settled = self.all_playing_since.is_some_and(|t| now - t >= SETTLE);
        let timed_out = now - self.started >= self.plan.wait;
        if settled || timed_out {
            if timed_out && !settled {
                tracing::warn!("screenshot: not every tile shows video; taking it anyway");
            }
            let (tx, rx) = mpsc::channel();
            let waker = ctx.clone();
            ctx.request_screenshot(move |image| {
                let _ = tx.send(image);
                waker.request_repaint();
            });
            self.pending = Some(rx);
        }
        ctx.request_repaint_after(Duration::from_millis(100));
    }
}

fn save(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    image::save_buffer(path, &bytes, w as u32, h as u32, image::ExtendedColorType::Rgba8)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
