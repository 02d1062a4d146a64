//! The GPU colour-map path: `shaders/colormap.wgsl` draws a field straight from an
//! `R32Float` texture through a 256-entry colour table. Plain wgpu (no egui), so the app's
//! paint callback and a headless correctness test share it. The CPU path
//! ([`super::field_rgba`]) stays for exports and headless use.

use super::{Colormap, Range};

/// The compiled pipeline for one render-target format (single sample, no depth, as
/// eframe's default render pass).
pub struct ColormapPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    srgb_target: bool,
}

/// Per-panel GPU state: the field texture (resized when N changes), the colour table and
/// the parameters.
pub struct FieldGpu {
    n: usize,
    field: wgpu::Texture,
    lut: wgpu::Texture,
    lut_of: Option<Colormap>,
    params: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

impl ColormapPipeline {
    pub fn new(device: &wgpu::Device, target: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("colormap.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/colormap.wgsl").into()),
        });
        let tex_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                multisampled: false,
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("colormap bind group layout"),
            entries: &[
                tex_entry(0),
                tex_entry(1),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("colormap pipeline layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("colormap pipeline"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: Default::default(),
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                targets: &[Some(wgpu::ColorTargetState {
                    format: target,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
                compilation_options: Default::default(),
            }),
            multiview_mask: None,
            cache: None,
        });
        ColormapPipeline {
            pipeline,
            layout,
            srgb_target: target.is_srgb(),
        }
    }

    /// Draw `field` into the current viewport of `pass`.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, field: &FieldGpu) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &field.bind, &[]);
        pass.draw(0..6, 0..1);
    }
}

fn texture(
    device: &wgpu::Device,
    w: usize,
    h: usize,
    format: wgpu::TextureFormat,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("colormap input"),
        size: wgpu::Extent3d {
            width: w as u32,
            height: h as u32,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

fn write(queue: &wgpu::Queue, tex: &wgpu::Texture, bytes: &[u8], w: usize, h: usize, texel: usize) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: tex,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some((w * texel) as u32),
            rows_per_image: Some(h as u32),
        },
        wgpu::Extent3d {
            width: w as u32,
            height: h as u32,
            depth_or_array_layers: 1,
        },
    );
}

impl FieldGpu {
    pub fn new(device: &wgpu::Device, pipe: &ColormapPipeline, n: usize) -> Self {
        let field = texture(device, n, n, wgpu::TextureFormat::R32Float);
        let lut = texture(device, 256, 1, wgpu::TextureFormat::Rgba8Unorm);
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("colormap params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let (fv, lv) = (view(&field), view(&lut));
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("colormap bind group"),
            layout: &pipe.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&fv),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&lv),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        FieldGpu {
            n,
            field,
            lut,
            lut_of: None,
            params,
            bind,
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// Upload a field (`n × n`, index `i·n + j`), its range and colour map. Non-finite
    /// values show as the table's middle entry, as on the CPU path.
    pub fn update(
        &mut self,
        queue: &wgpu::Queue,
        pipe: &ColormapPipeline,
        field: &[f32],
        range: Range,
        cmap: Colormap,
    ) {
        let n = self.n;
        let field = &field[..n * n];
        if field.iter().all(|v| v.is_finite()) {
            write(queue, &self.field, bytemuck::cast_slice(field), n, n, 4);
        } else {
            let mid = (range.lo + 127.0 / 255.0 * (range.hi - range.lo)) as f32;
            let vals: Vec<f32> = field
                .iter()
                .map(|&v| if v.is_finite() { v } else { mid })
                .collect();
            write(queue, &self.field, bytemuck::cast_slice(&vals), n, n, 4);
        }
        if self.lut_of != Some(cmap) {
            let lut: Vec<u8> = cmap.lut().into_iter().flatten().collect();
            write(queue, &self.lut, &lut, 256, 1, 4);
            self.lut_of = Some(cmap);
        }
        let mut p = [0u8; 16];
        p[0..4].copy_from_slice(&(range.lo as f32).to_le_bytes());
        p[4..8].copy_from_slice(&(range.hi as f32).to_le_bytes());
        p[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        p[12..16].copy_from_slice(&u32::from(pipe.srgb_target).to_le_bytes());
        queue.write_buffer(&self.params, 0, &p);
    }
}
