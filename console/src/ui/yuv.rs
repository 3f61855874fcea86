//! Video pictures on the GPU: a frame's three YUV planes go up as three one-channel textures
//! and a fragment shader turns them into RGB where the picture is drawn.
//!
//! Frames come from the decoder as I420 (see [`streams::video::Frame`]): a full-size luma
//! plane Y and two quarter-size chroma planes U and V. Converting to RGBA on the CPU would
//! cost a pass over every pixel of every frame and make the upload 4 bytes a pixel; uploading
//! the planes is 1.5 bytes a pixel, and the GPU does the conversion for free while sampling.
//!
//! egui has no texture format of its own for this, so a tile's picture is an
//! [`egui::PaintCallback`]: egui calls it back with the renderer's context at the point of
//! the frame where the picture belongs, with the viewport set to the picture's rectangle and
//! the scissor to the tile's clip rectangle. We draw one quad filling the viewport.
//!
//! **glow** (OpenGL, the default): [`egui_glow::CallbackFn`] hands us egui_glow's `Painter`,
//! whose `gl()` is the `glow::Context`. Each camera has three `R8` textures, re-uploaded only
//! when the frame's `seq` moved, straight from the decoder's mapped buffer with
//! `UNPACK_ROW_LENGTH` set to the plane's stride (no repacking). One shader program serves all
//! tiles. The shaders use the GLSL version egui_glow picked for its own painter (`#version 140`
//! on desktop GL, `300 es` on GLES).
//!
//! **Any other renderer** (wgpu): a wgpu paint callback needs a pipeline built for the
//! surface's colour format, which only the app knows (`RenderState::target_format`) and which
//! no callback is told. So there the picture is converted on the CPU with
//! [`Frame::to_rgba`] and drawn as an ordinary egui texture, like before.
//!
//! The app tells which renderer runs ([`YuvPainter::renderer_is_glow`], from
//! `CreationContext::gl`). Left untold (a test harness), it is learnt: a tile emits the glow
//! callback, and if no callback ran by two frames later the CPU path takes over. A GL that
//! cannot build the shaders falls back to the CPU the same way.

use std::sync::{Arc, Mutex, MutexGuard};

use eframe::egui_glow;
use eframe::glow::{self, HasContext};
use egui::{Color32, Rect, TextureHandle, TextureOptions, pos2};
use streams::video::Frame;

/// Which way pictures reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Not known yet: the glow callback is tried.
    Probing,
    /// The glow callback ran and draws.
    Glow,
    /// Not glow (or GL failed): pictures are converted on the CPU.
    Cpu,
}

/// The tiles' shared drawing state: which path is taken, and the GL objects every picture
/// shares. Lives in the wall's view.
pub struct YuvPainter {
    gl: Arc<Mutex<GlShared>>,
    /// The frame number at which probing for glow started.
    probing_since: Option<u64>,
}

impl Default for YuvPainter {
    fn default() -> Self {
        YuvPainter { gl: Arc::new(Mutex::new(GlShared::default())), probing_since: None }
    }
}

/// One camera's picture on the GPU: its textures and the frame number they hold. Dropping it
/// (the camera left the wall) hands its GL textures to the next callback to delete, the only
/// place the GL context is at hand.
pub struct Picture {
    planes: Arc<Mutex<GlPlanes>>,
    shared: Arc<Mutex<GlShared>>,
    /// The CPU path's texture and its frame number.
    rgba: Option<(TextureHandle, u64)>,
}

impl Drop for Picture {
    fn drop(&mut self) {
        let textures = lock(&self.planes).textures.take();
        lock(&self.shared).garbage.extend(textures.into_iter().flatten());
    }
}

impl YuvPainter {
    /// What the app knows from the start: glow draws with the shader (falling back to the CPU
    /// if GL fails), any other renderer converts on the CPU. No probing then.
    pub fn renderer_is_glow(&mut self, glow: bool) {
        lock(&self.gl).path = if glow { Path::Glow } else { Path::Cpu };
    }

    /// A new camera's picture, empty until its first frame is painted.
    pub fn picture(&self) -> Picture {
        Picture { planes: Arc::default(), shared: self.gl.clone(), rgba: None }
    }

    /// Draws `frame` into `rect` (the picture's rectangle, aspect already fitted), clipped to
    /// `painter`'s clip rectangle.
    pub fn paint(&mut self, painter: &egui::Painter, rect: Rect, picture: &mut Picture, frame: &Arc<Frame>) {
        let now = painter.ctx().cumulative_frame_nr();
        let mut shared = lock(&self.gl);
        if shared.path == Path::Probing && *self.probing_since.get_or_insert(now) + 2 <= now {
            tracing::info!("video tiles: not glow, converting YUV to RGB on the CPU");
            shared.path = Path::Cpu;
        }
        let path = shared.path;
        drop(shared);
        if path == Path::Cpu {
            let texture = picture.rgba_texture(painter.ctx(), frame);
            let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
            painter.image(texture.id(), rect, uv, Color32::WHITE);
            return;
        }
        let (shared, planes, frame) = (self.gl.clone(), picture.planes.clone(), frame.clone());
        let callback = egui_glow::CallbackFn::new(move |_info, painter| {
            let mut shared = lock(&shared);
            if shared.path == Path::Cpu {
                return;
            }
            shared.path = Path::Glow;
            if let Err(error) = shared.draw(painter, &mut lock(&planes), &frame) {
                tracing::warn!(%error, "video tiles: GL drawing failed; converting YUV to RGB on the CPU");
                shared.path = Path::Cpu;
            }
        });
        painter.add(egui::PaintCallback { rect, callback: Arc::new(callback) });
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

/// What every picture shares in GL.
struct GlShared {
    path: Path,
    program: Option<Program>,
    /// Textures of pictures that were dropped, to delete at the next callback.
    garbage: Vec<glow::Texture>,
}

impl Default for GlShared {
    fn default() -> Self {
        GlShared { path: Path::Probing, program: None, garbage: vec![] }
    }
}

/// The YUV → RGB shader program, its samplers and the empty vertex array it draws from (the
/// quad's corners come from `gl_VertexID`, but core GL draws nothing without a bound VAO).
struct Program {
    program: glow::Program,
    vertex_array: glow::VertexArray,
    samplers: [Option<glow::UniformLocation>; 3],
}

/// One camera's three textures (Y, U, V) and what they hold.
#[derive(Default)]
struct GlPlanes {
    textures: Option<[glow::Texture; 3]>,
    /// The picture size the textures were allocated for.
    size: (u32, u32),
    /// The frame whose planes they hold (0: none yet).
    seq: u64,
}

/// A quad filling the viewport, as a strip of four corners numbered by `gl_VertexID`
/// (bit 0: right, bit 1: top). Texture row 0 is the picture's top row, so `t` runs down.
const VERTEX_SHADER: &str = r#"
out vec2 v_tc;
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_tc = vec2(corner.x, 1.0 - corner.y);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
"#;

/// BT.601 limited range, the same conversion as [`Frame::to_rgba`] in floating point: luma
/// 16–235 and chroma 16–240 (around 128) stretched to 0–1. The result is already
/// gamma-encoded (R'G'B'), which is what egui's framebuffer holds.
const FRAGMENT_SHADER: &str = r#"
#ifdef GL_ES
precision highp float;
#endif
uniform sampler2D u_y;
uniform sampler2D u_u;
uniform sampler2D u_v;
in vec2 v_tc;
out vec4 f_color;
void main() {
    float y = texture(u_y, v_tc).r * 255.0 - 16.0;
    float u = texture(u_u, v_tc).r * 255.0 - 128.0;
    float v = texture(u_v, v_tc).r * 255.0 - 128.0;
    vec3 rgb = vec3(
        1.164383 * y + 1.596027 * v,
        1.164383 * y - 0.391762 * u - 0.812968 * v,
        1.164383 * y + 2.017232 * u
    ) / 255.0;
    f_color = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
"#;

// glow's calls are all `unsafe`: they are raw OpenGL calls, valid as long as the context is
// current on this thread, which egui_glow guarantees while it runs a paint callback. Every
// object used here was created on that same context.
#[allow(unsafe_code)]
impl GlShared {
    /// Uploads the frame's planes if they are new, then draws the quad.
    fn draw(&mut self, painter: &egui_glow::Painter, planes: &mut GlPlanes, frame: &Frame) -> Result<(), String> {
        let gl = painter.gl();
        unsafe {
            for texture in self.garbage.drain(..) {
                gl.delete_texture(texture);
            }
        }
        if self.program.is_none() {
            self.program = Some(build_program(gl)?);
        }
        let Some(program) = &self.program else { return Err("no program".into()) };
        upload(gl, planes, frame)?;
        let Some(textures) = planes.textures else { return Err("no textures".into()) };
        unsafe {
            gl.use_program(Some(program.program));
            gl.bind_vertex_array(Some(program.vertex_array));
            for (unit, (texture, sampler)) in textures.iter().zip(&program.samplers).enumerate() {
                gl.active_texture(glow::TEXTURE0 + unit as u32);
                gl.bind_texture(glow::TEXTURE_2D, Some(*texture));
                gl.uniform_1_i32(sampler.as_ref(), unit as i32);
            }
            gl.draw_arrays(glow::TRIANGLE_STRIP, 0, 4);
            // egui_glow resets program, blending, viewport and scissor after a callback, and
            // binds its own vertex array and texture unit 0; the other units are ours to clear.
            for unit in (1..3).rev() {
                gl.active_texture(glow::TEXTURE0 + unit);
                gl.bind_texture(glow::TEXTURE_2D, None);
            }
            gl.bind_vertex_array(None);
        }
        Ok(())
    }
}

/// Compiles and links the shaders with the version header egui_glow uses for its own.
#[allow(unsafe_code)]
fn build_program(gl: &glow::Context) -> Result<Program, String> {
    let version = egui_glow::ShaderVersion::get(gl);
    if !version.is_new_shader_interface() {
        return Err(format!("GLSL {version:?} is too old (needs 1.40 or ES 3.00)"));
    }
    let header = version.version_declaration();
    unsafe {
        let program = gl.create_program()?;
        let mut shaders = vec![];
        for (kind, source) in [(glow::VERTEX_SHADER, VERTEX_SHADER), (glow::FRAGMENT_SHADER, FRAGMENT_SHADER)] {
            let shader = gl.create_shader(kind)?;
            gl.shader_source(shader, &format!("{header}{source}"));
            gl.compile_shader(shader);
            if !gl.get_shader_compile_status(shader) {
                let log = gl.get_shader_info_log(shader);
                gl.delete_shader(shader);
                gl.delete_program(program);
                return Err(format!("shader: {log}"));
            }
            gl.attach_shader(program, shader);
            shaders.push(shader);
        }
        gl.link_program(program);
        for shader in shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if !gl.get_program_link_status(program) {
            let log = gl.get_program_info_log(program);
            gl.delete_program(program);
            return Err(format!("program: {log}"));
        }
        let samplers = ["u_y", "u_u", "u_v"].map(|name| gl.get_uniform_location(program, name));
        let vertex_array = gl.create_vertex_array()?;
        Ok(Program { program, vertex_array, samplers })
    }
}

/// Uploads Y, U and V into their `R8` textures when the frame is new; allocates (or
/// reallocates, on a size change) first. Rows are read at the plane's stride, in place.
#[allow(unsafe_code)]
fn upload(gl: &glow::Context, planes: &mut GlPlanes, frame: &Frame) -> Result<(), String> {
    let size = (frame.width, frame.height);
    let allocate = planes.textures.is_none() || planes.size != size;
    if !allocate && planes.seq == frame.seq {
        return Ok(());
    }
    let (cw, ch) = frame.chroma_size();
    let sources = [(frame.y(), frame.width, frame.height), (frame.u(), cw, ch), (frame.v(), cw, ch)];
    unsafe {
        let textures = match planes.textures {
            Some(textures) => textures,
            None => {
                let textures = [gl.create_texture()?, gl.create_texture()?, gl.create_texture()?];
                planes.textures = Some(textures);
                textures
            }
        };
        gl.active_texture(glow::TEXTURE0);
        gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
        for (texture, ((data, stride), w, h)) in textures.into_iter().zip(sources) {
            gl.bind_texture(glow::TEXTURE_2D, Some(texture));
            gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, stride as i32);
            let pixels = glow::PixelUnpackData::Slice(Some(data));
            let (w, h) = (w as i32, h as i32);
            if allocate {
                for (parameter, value) in [
                    (glow::TEXTURE_MIN_FILTER, glow::LINEAR),
                    (glow::TEXTURE_MAG_FILTER, glow::LINEAR),
                    (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
                    (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
                ] {
                    gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
                }
                gl.tex_image_2d(glow::TEXTURE_2D, 0, glow::R8 as i32, w, h, 0, glow::RED, glow::UNSIGNED_BYTE, pixels);
            } else {
                gl.tex_sub_image_2d(glow::TEXTURE_2D, 0, 0, 0, w, h, glow::RED, glow::UNSIGNED_BYTE, pixels);
            }
        }
        // egui_glow uploads its own textures assuming the default row length.
        gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, 0);
        gl.bind_texture(glow::TEXTURE_2D, None);
    }
    (planes.size, planes.seq) = (size, frame.seq);
    Ok(())
}
