// Colour-maps a scalar field on the GPU: one quad covering the viewport (the panel's
// rectangle), each fragment looks up its grid value and maps it through a 256-entry LUT.
// Orientation matches the CPU path (render::field_rgba): field index i·N + j with x = i/N
// to the right and y = j/N up; the field texture holds row i, column j.

struct Params {
    lo: f32,
    hi: f32,
    n: u32,
    // 1: the render target is sRGB (hardware encodes), so decode the LUT's sRGB bytes
    srgb_target: u32,
};

@group(0) @binding(0) var field: texture_2d<f32>;
@group(0) @binding(1) var lut: texture_2d<f32>;
@group(0) @binding(2) var<uniform> params: Params;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) k: u32) -> VsOut {
    // two triangles: (0,0) (1,0) (0,1) / (0,1) (1,0) (1,1) in uv, y down
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let uv = corners[k];
    var out: VsOut;
    out.pos = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let n = i32(params.n);
    let px = clamp(i32(floor(in.uv.x * f32(n))), 0, n - 1);
    let py = clamp(i32(floor(in.uv.y * f32(n))), 0, n - 1);
    // image column px is i; image row py is j = n-1-py; texel (x = j, y = i)
    let v = textureLoad(field, vec2<i32>(n - 1 - py, px), 0).r;
    var k = 127;
    // NaN compares false with everything; infinities are clamped like the CPU path
    if (v == v) {
        let s = (v - params.lo) / (params.hi - params.lo);
        k = i32(clamp(round(s * 255.0), 0.0, 255.0));
    }
    var c = textureLoad(lut, vec2<i32>(k, 0), 0).rgb;
    if (params.srgb_target == 1u) {
        c = srgb_to_linear(c);
    }
    return vec4<f32>(c, 1.0);
}
