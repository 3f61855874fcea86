//! The glow (OpenGL) path: [`egui_glow::CallbackFn`] hands us egui_glow's `Painter`, whose
//! `gl()` is the `glow::Context`. Each camera has three `R8` textures, re-uploaded only when
//! the frame's `seq` moved, straight from the decoder's mapped buffer with
//! `UNPACK_ROW_LENGTH` set to the plane's stride (no repacking). One shader program serves all
//! tiles; each draw sets the stream's conversion (matrix rows and offset) as uniforms. The
//! shaders use the GLSL version egui_glow picked for its own painter (`#version 140` on
//! desktop GL, `300 es` on GLES).

use std::sync::{Arc, Mutex};

use eframe::egui_glow;
use eframe::glow::{self, HasContext};
use streams::video::Frame;

use super::{Path, Shared, lock};

/// The paint callback that draws `frame` with `planes`, or gives up to the CPU path.
pub(super) fn callback(
    shared: Arc<Mutex<Shared>>,
    planes: Arc<Mutex<GlPlanes>>,
    frame: Arc<Frame>,
) -> egui_glow::CallbackFn {
    egui_glow::CallbackFn::new(move |_info, painter| {
        let mut shared = lock(&shared);
        if shared.path == Path::Cpu {
            return;
        }
        shared.path = Path::Glow;
        if let Err(error) = shared.gl.draw(painter, &mut lock(&planes), &frame) {
            tracing::warn!(%error, "video tiles: GL drawing failed; converting YUV to RGB on the CPU");
            shared.path = Path::Cpu;
        }
    })
}

/// What every picture shares in GL.
#[derive(Default)]
pub(super) struct GlShared {
    program: Option<Program>,
    /// Textures of pictures that were dropped, to delete at the next callback.
    garbage: Vec<glow::Texture>,
}

impl GlShared {
    /// Takes a dropped picture's textures, to delete at the next callback.
    pub(super) fn discard(&mut self, textures: Option<[glow::Texture; 3]>) {
        self.garbage.extend(textures.into_iter().flatten());
    }
}

/// The YUV → RGB shader program, its samplers and the empty vertex array it draws from (the
/// quad's corners come from `gl_VertexID`, but core GL draws nothing without a bound VAO).
struct Program {
    program: glow::Program,
    vertex_array: glow::VertexArray,
    samplers: [Option<glow::UniformLocation>; 3],
    /// The conversion's rows (R, G, B) and offset.
    rows: [Option<glow::UniformLocation>; 3],
    offset: Option<glow::UniformLocation>,
}

/// One camera's three textures (Y, U, V) and what they hold.
#[derive(Default)]
pub(super) struct GlPlanes {
    textures: Option<[glow::Texture; 3]>,
    /// The picture size the textures were allocated for.
    size: (u32, u32),
    /// The frame whose planes they hold (0: none yet).
    seq: u64,
}

impl GlPlanes {
    /// The textures, leaving none.
    pub(super) fn take(&mut self) -> Option<[glow::Texture; 3]> {
        self.textures.take()
    }
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

/// The stream's conversion (see [`streams::video::Colour`]): each sampled code (0–1) minus
/// the offset, times the rows. The result is already gamma-encoded (R'G'B'), which is what
/// egui's framebuffer holds.
const FRAGMENT_SHADER: &str = r#"
#ifdef GL_ES
precision highp float;
#endif
uniform sampler2D u_y;
uniform sampler2D u_u;
uniform sampler2D u_v;
uniform vec3 u_r;
uniform vec3 u_g;
uniform vec3 u_b;
uniform vec3 u_offset;
in vec2 v_tc;
out vec4 f_color;
void main() {
    vec3 yuv = vec3(texture(u_y, v_tc).r, texture(u_u, v_tc).r, texture(u_v, v_tc).r) - u_offset;
    vec3 rgb = vec3(dot(u_r, yuv), dot(u_g, yuv), dot(u_b, yuv));
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
            let conversion = frame.colour.conversion();
            for (row, location) in conversion.rows.iter().zip(&program.rows) {
                gl.uniform_3_f32_slice(location.as_ref(), row);
            }
            gl.uniform_3_f32_slice(program.offset.as_ref(), &conversion.offset);
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
        let rows = ["u_r", "u_g", "u_b"].map(|name| gl.get_uniform_location(program, name));
        let offset = gl.get_uniform_location(program, "u_offset");
        let vertex_array = gl.create_vertex_array()?;
        Ok(Program { program, vertex_array, samplers, rows, offset })
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
