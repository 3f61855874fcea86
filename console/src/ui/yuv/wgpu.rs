//! The wgpu path: an [`egui_wgpu::CallbackTrait`] draws each picture with our own render
//! pipeline inside egui's render pass.
//!
//! A wgpu pipeline is built for one colour format, the window's, which only the app knows
//! (`RenderState::target_format`) and no callback is told. So [`install`] builds it once when
//! the app starts and puts it into the renderer's `callback_resources`, where every callback
//! finds it. Per camera, [`Planes`] holds three `R8Unorm` textures at the camera's size, the
//! conversion's uniform buffer and their bind group: `prepare` writes the planes straight from
//! the decoder's mapped buffer (`write_texture` takes the plane's stride as `bytes_per_row`, no
//! repacking) when the frame's `seq` moved, `paint` draws four corners of a strip. wgpu frees
//! the textures when the picture is dropped.
//!
//! egui prefers a framebuffer without sRGB encoding (`Rgba8Unorm`), into which the shader's
//! R'G'B' goes as it is; on an sRGB one the hardware encodes on write, so the shader decodes
//! first (`linear` in the uniform).

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use eframe::egui_wgpu::{self, wgpu};
use streams::video::Frame;

use super::lock;

/// Builds the picture pipeline for the window's colour format and hands it to egui's renderer.
/// The pipeline must match egui's render pass: one sample a pixel and no depth buffer, as the
/// console's window has them (`NativeOptions`' defaults, and kittest's).
pub fn install(render_state: &egui_wgpu::RenderState) {
    let pipeline = Pipeline::new(&render_state.device, render_state.target_format);
    render_state.renderer.write().callback_resources.insert(pipeline);
}

/// The conversion as the shader reads it: rows R, G, B and the offset (its `w` says "encode
/// for an sRGB framebuffer"), each a `vec4<f32>`.
const UNIFORM_BYTES: u64 = 4 * 4 * 4;

const SHADER: &str = r#"
struct Conversion { r: vec4<f32>, g: vec4<f32>, b: vec4<f32>, offset: vec4<f32> };
@group(0) @binding(0) var<uniform> conversion: Conversion;
@group(0) @binding(1) var planes: sampler;
@group(0) @binding(2) var plane_y: texture_2d<f32>;
@group(0) @binding(3) var plane_u: texture_2d<f32>;
@group(0) @binding(4) var plane_v: texture_2d<f32>;

struct Corner { @builtin(position) position: vec4<f32>, @location(0) tc: vec2<f32> };

// A quad filling the viewport, as a strip of four corners numbered by the vertex index (bit
// 0: right, bit 1: top). Texture row 0 is the picture's top row, so `tc.y` runs down.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> Corner {
    let corner = vec2<f32>(f32(index & 1u), f32(index >> 1u));
    var out: Corner;
    out.position = vec4<f32>(corner * 2.0 - 1.0, 0.0, 1.0);
    out.tc = vec2<f32>(corner.x, 1.0 - corner.y);
    return out;
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    return select(pow((c + 0.055) / 1.055, vec3<f32>(2.4)), c / 12.92, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(at: Corner) -> @location(0) vec4<f32> {
    let codes = vec3<f32>(
        textureSample(plane_y, planes, at.tc).r,
        textureSample(plane_u, planes, at.tc).r,
        textureSample(plane_v, planes, at.tc).r,
    );
    let yuv = codes - conversion.offset.xyz;
    var rgb = clamp(vec3<f32>(dot(conversion.r.xyz, yuv), dot(conversion.g.xyz, yuv), dot(conversion.b.xyz, yuv)),
                    vec3<f32>(0.0), vec3<f32>(1.0));
    if conversion.offset.w > 0.5 {
        rgb = srgb_to_linear(rgb);
    }
    return vec4<f32>(rgb, 1.0);
}
"#;

/// What every picture shares: the pipeline, its bind group layout and the sampler.
struct Pipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    /// The framebuffer encodes sRGB on write.
    srgb_target: bool,
}

impl Pipeline {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Pipeline {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("camera picture"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let texture = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                multisampled: false,
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("camera picture"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: NonZeroU64::new(UNIFORM_BYTES),
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                texture(2),
                texture(3),
                texture(4),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("camera picture"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("camera picture"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: wgpu::PipelineCompilationOptions::default(),
            },
            primitive: wgpu::PrimitiveState { topology: wgpu::PrimitiveTopology::TriangleStrip, ..Default::default() },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                targets: &[Some(wgpu::ColorTargetState { format, blend: None, write_mask: wgpu::ColorWrites::ALL })],
                compilation_options: wgpu::PipelineCompilationOptions::default(),
            }),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("camera picture"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        Pipeline { pipeline, layout, sampler, srgb_target: format.is_srgb() }
    }
}

/// One camera's picture on the GPU.
pub struct Planes {
    /// Y, U, V.
    textures: [wgpu::Texture; 3],
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    /// The picture size the textures were made for.
    size: (u32, u32),
    /// The frame whose planes they hold.
    seq: u64,
}

impl Planes {
    fn new(device: &wgpu::Device, shared: &Pipeline, frame: &Frame) -> Planes {
        let (cw, ch) = frame.chroma_size();
        let texture = |width, height| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("camera plane"),
                size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            })
        };
        let textures = [texture(frame.width, frame.height), texture(cw, ch), texture(cw, ch)];
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("camera colour"),
            size: UNIFORM_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let views = textures.each_ref().map(|t| t.create_view(&wgpu::TextureViewDescriptor::default()));
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("camera picture"),
            layout: &shared.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::Sampler(&shared.sampler) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&views[0]) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::TextureView(&views[1]) },
                wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&views[2]) },
            ],
        });
        Planes { textures, uniform, bind_group, size: (frame.width, frame.height), seq: 0 }
    }

    /// Writes the frame's planes and its conversion.
    fn upload(&mut self, queue: &wgpu::Queue, frame: &Frame, srgb_target: bool) {
        let (cw, ch) = frame.chroma_size();
        let sources = [(frame.y(), frame.width, frame.height), (frame.u(), cw, ch), (frame.v(), cw, ch)];
        for (texture, ((data, stride), width, height)) in self.textures.iter().zip(sources) {
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                data,
                wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(stride as u32), rows_per_image: None },
                wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            );
        }
        let conversion = frame.colour.conversion();
        let [r, g, b] = conversion.rows;
        let [oy, ou, ov] = conversion.offset;
        let values =
            [r[0], r[1], r[2], 0.0, g[0], g[1], g[2], 0.0, b[0], b[1], b[2], 0.0, oy, ou, ov, f32::from(srgb_target)];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        queue.write_buffer(&self.uniform, 0, &bytes);
        self.seq = frame.seq;
    }
}

/// One tile's picture this frame: the camera's planes and the frame to show in them.
pub(super) struct Draw {
    pub(super) planes: Arc<Mutex<Option<Planes>>>,
    pub(super) frame: Arc<Frame>,
}

impl egui_wgpu::CallbackTrait for Draw {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let (Some(shared), frame) = (resources.get::<Pipeline>(), &self.frame) else { return vec![] };
        if frame.width == 0 || frame.height == 0 {
            return vec![];
        }
        let mut planes = lock(&self.planes);
        if planes.as_ref().is_none_or(|p| p.size != (frame.width, frame.height)) {
            *planes = Some(Planes::new(device, shared, frame));
        }
        if let Some(planes) = planes.as_mut()
            && planes.seq != frame.seq
        {
            planes.upload(queue, frame, shared.srgb_target);
        }
        vec![]
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let (Some(shared), planes) = (resources.get::<Pipeline>(), lock(&self.planes)) else { return };
        if let Some(planes) = planes.as_ref() {
            pass.set_pipeline(&shared.pipeline);
            pass.set_bind_group(0, &planes.bind_group, &[]);
            pass.draw(0..4, 0..1);
        }
    }
}
