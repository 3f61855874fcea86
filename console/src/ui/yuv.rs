//! Video pictures on the GPU: a frame's three YUV planes go up as three one-channel textures
//! at the camera's own size, and a fragment shader samples them at the tile's size and turns
//! them into RGB where the picture is drawn.
//!
//! Frames come from the decoder as I420 (see [`streams::video::Frame`]): a full-size luma
//! plane Y and two quarter-size chroma planes U and V. Scaling and converting to RGBA on the
//! CPU would cost a pass over every pixel of every frame and make the upload 4 bytes a pixel;
//! uploading the planes is 1.5 bytes a pixel, and the GPU scales (bilinear filtering) and
//! converts for free while sampling, with each stream's own colour matrix and range
//! ([`streams::video::Colour`]: BT.601 or BT.709, limited or full).
//!
//! egui has no texture format of its own for this, so a tile's picture is an
//! [`egui::PaintCallback`]: egui calls it back with the renderer's context at the point of
//! the frame where the picture belongs, with the viewport set to the picture's rectangle and
//! the scissor to the tile's clip rectangle. We draw one quad filling the viewport.
//!
//! - **glow** (OpenGL, the default renderer): [`glow`](self::glow).
//! - **wgpu** (`--renderer wgpu`, built with the `wgpu` feature): [`wgpu`](self::wgpu); its
//!   pipeline is made once for the window's colour format when the app starts
//!   ([`wgpu::install`]).
//! - **neither** (a test harness without a GPU, or a GL that cannot build the shaders): the
//!   picture is converted on the CPU with [`Frame::to_rgba`] and drawn as an ordinary egui
//!   texture.
//!
//! The app tells which renderer runs ([`YuvPainter::renderer`]). Left untold (a test
//! harness), it is learnt: a tile emits the glow callback, and if no callback ran by two
//! frames later the CPU path takes over.

mod glow;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use std::sync::{Arc, Mutex, MutexGuard};

use egui::{Color32, Rect, TextureHandle, TextureOptions, pos2};
use streams::video::Frame;

/// What draws the window, as the app knows it from eframe's creation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    Glow,
    /// wgpu, with [`wgpu::install`] done.
    #[cfg(feature = "wgpu")]
    Wgpu,
    /// Anything else: pictures are converted on the CPU.
    Other,
}

/// Which way pictures reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Not known yet: the glow callback is tried.
    Probing,
    /// The glow callback ran and draws.
    Glow,
    #[cfg(feature = "wgpu")]
    Wgpu,
    /// Neither (or GL failed): pictures are converted on the CPU.
    Cpu,
}

/// The tiles' shared drawing state: which path is taken, and the GL objects every picture
/// shares. Lives in the wall's view.
pub struct YuvPainter {
    shared: Arc<Mutex<Shared>>,
    /// The frame number at which probing for glow started.
    probing_since: Option<u64>,
}

/// The path, and glow's objects (GL objects can only be made and deleted inside a callback).
struct Shared {
    path: Path,
    gl: glow::GlShared,
}

impl Default for YuvPainter {
    fn default() -> Self {
        let shared = Shared { path: Path::Probing, gl: glow::GlShared::default() };
        YuvPainter { shared: Arc::new(Mutex::new(shared)), probing_since: None }
    }
}

/// One camera's picture on the GPU: its textures and the frame number they hold. Dropping it
/// (the camera left the wall) hands its GL textures to the next callback to delete, the only
/// place the GL context is at hand; wgpu's are freed with it.
pub struct Picture {
    gl: Arc<Mutex<glow::GlPlanes>>,
    #[cfg(feature = "wgpu")]
    wgpu: Arc<Mutex<Option<wgpu::Planes>>>,
    shared: Arc<Mutex<Shared>>,
    /// The CPU path's texture and its frame number.
    rgba: Option<(TextureHandle, u64)>,
}

impl Drop for Picture {
    fn drop(&mut self) {
        let textures = lock(&self.gl).take();
        lock(&self.shared).gl.discard(textures);
    }
}

impl YuvPainter {
    /// What the app knows from the start. glow and wgpu draw with their shaders (glow falls
    /// back to the CPU if GL fails), anything else converts on the CPU. No probing then.
    pub fn renderer(&mut self, renderer: Renderer) {
        lock(&self.shared).path = match renderer {
            Renderer::Glow => Path::Glow,
            #[cfg(feature = "wgpu")]
            Renderer::Wgpu => Path::Wgpu,
            Renderer::Other => Path::Cpu,
        };
    }

    /// A new camera's picture, empty until its first frame is painted.
    pub fn picture(&self) -> Picture {
        Picture {
            gl: Arc::default(),
            #[cfg(feature = "wgpu")]
            wgpu: Arc::default(),
            shared: self.shared.clone(),
            rgba: None,
        }
    }

    /// Draws `frame` into `rect` (the picture's rectangle, aspect already fitted), clipped to
    /// `painter`'s clip rectangle.
    pub fn paint(&mut self, painter: &egui::Painter, rect: Rect, picture: &mut Picture, frame: &Arc<Frame>) {
        let now = painter.ctx().cumulative_frame_nr();
        let mut shared = lock(&self.shared);
        if shared.path == Path::Probing && *self.probing_since.get_or_insert(now) + 2 <= now {
            tracing::info!("video tiles: not glow, converting YUV to RGB on the CPU");
            shared.path = Path::Cpu;
        }
        let path = shared.path;
        drop(shared);
        match path {
            Path::Cpu => {
                let texture = picture.rgba_texture(painter.ctx(), frame);
                let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
                painter.image(texture.id(), rect, uv, Color32::WHITE);
            }
            #[cfg(feature = "wgpu")]
            Path::Wgpu => {
                painter.add(eframe::egui_wgpu::Callback::new_paint_callback(
                    rect,
                    wgpu::Draw { planes: picture.wgpu.clone(), frame: frame.clone() },
                ));
            }
            Path::Probing | Path::Glow => {
                let callback = glow::callback(self.shared.clone(), picture.gl.clone(), frame.clone());
                painter.add(egui::PaintCallback { rect, callback: Arc::new(callback) });
            }
        }
    }
}

impl Picture {
    /// The CPU path: an RGBA egui texture, re-converted only when a new frame arrived.
    fn rgba_texture(&mut self, ctx: &egui::Context, frame: &Frame) -> &TextureHandle {
        let image = || {
            let size = [frame.width as usize, frame.height as usize];
            egui::ColorImage::from_rgba_unmultiplied(size, &frame.to_rgba())
        };
        let entry = self
            .rgba
            .get_or_insert_with(|| (ctx.load_texture("camera picture", image(), TextureOptions::LINEAR), frame.seq));
        if entry.1 != frame.seq {
            entry.0.set(image(), TextureOptions::LINEAR);
            entry.1 = frame.seq;
        }
        &entry.0
    }
}

/// A poisoned lock only means a callback panicked mid-draw; the state is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
