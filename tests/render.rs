//! Exports: GIF frames/size/delay, PNG sequences, panel sizes per scale, atomic failure,
//! and the MP4 route (decodes when ffmpeg exists, says why not otherwise).

use std::process::Command;

use closure_lab::render::record::{GAP, Recorder, compose};
use closure_lab::render::{Colormap, Range};
use image::AnimationDecoder;

fn field(n: usize, phase: f64) -> Vec<f64> {
    (0..n * n)
        .map(|i| ((i / n) as f64 * 0.3 + (i % n) as f64 * 0.2 + phase).sin())
        .collect()
}

#[test]
fn panels_have_the_expected_size_at_each_scale() {
    let f = field(32, 0.0);
    for scale in [1usize, 2, 4] {
        let img = compose(
            &[&f, &f, &f],
            32,
            Range { lo: -1.0, hi: 1.0 },
            Colormap::RedBlue,
            scale,
        );
        assert_eq!(
            (img.width(), img.height()),
            (3 * 32 * scale as u32 + 2 * GAP, 32 * scale as u32)
        );
    }
}

#[test]
fn gif_decodes_with_frames_size_and_delay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.gif");
    let size = (2 * 32 + GAP, 32);
    let mut rec = Recorder::create(&path, 5.0, size).unwrap();
    for k in 0..6 {
        let f = field(32, k as f64);
        rec.push(&compose(
            &[&f, &f],
            32,
            Range { lo: -1.0, hi: 1.0 },
            Colormap::Viridis,
            1,
        ))
        .unwrap();
    }
    rec.finish().unwrap();
    let dec = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&path).unwrap(),
    ))
    .unwrap();
    let frames = dec.into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), 6);
    for f in &frames {
        assert_eq!(f.buffer().dimensions(), size);
        let (num, den) = f.delay().numer_denom_ms();
        assert_eq!(num / den, 200);
    }
    // only the finished file is left
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn png_sequence_and_cli_render_at_fixed_simulation_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("frames/");
    let res = Command::new(env!("CARGO_BIN_EXE_closure-lab"))
        .args([
            "render",
            "--preset",
            "teaching",
            "--from",
            "0",
            "--to",
            "0.2",
            "--every",
            "0.05",
            "--panels",
            "truth,with,error",
            "--scale",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    // the folder carries the spec that made it
    let spec = std::fs::read_to_string(out.join("spec.toml")).unwrap();
    assert!(spec.contains("[render]"), "{spec}");
    names.retain(|n| n != "spec.toml");
    // 0, 0.05, …, 0.2: five frames, simulation time, not wall clock
    assert_eq!(
        names,
        (0..5)
            .map(|k| format!("frame_{k:05}.png"))
            .collect::<Vec<_>>()
    );
    let img = image::open(out.join("frame_00000.png")).unwrap().to_rgba8();
    assert_eq!(img.width(), 3 * 128 + 2 * GAP);
    // a band of titles above the 128-pixel fields: dark ink over each panel
    let band = img.height() - 128;
    assert!((12..=40).contains(&band), "title band {band}");
    for k in 0..3 {
        let x0 = k * (128 + GAP);
        let ink = (x0..x0 + 128)
            .flat_map(|x| (0..band).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 200)
            .count();
        assert!(ink > 20, "panel {k} has a title");
    }
}

#[test]
fn unwritable_targets_fail_cleanly_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let missing = ro.join("no/such/dir/x.gif");
    let err = Recorder::create(&missing, 10.0, (8, 8)).err().unwrap();
    assert!(err.to_string().contains("cannot write"), "{err}");
    // a failing CLI export: one line, non-zero, nothing written
    let res = Command::new(env!("CARGO_BIN_EXE_closure-lab"))
        .args([
            "render", "--preset", "teaching", "--from", "0", "--to", "0.01", "--every", "0.01",
            "--out",
        ])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.trim().lines().count() == 1 && stderr.contains("cannot write"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&ro).unwrap().count(),
        0,
        "nothing left behind"
    );
    assert!(Recorder::create(&dir.path().join("x.avi"), 10.0, (8, 8)).is_err());
}

/// Big-endian u32 at `at`.
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Payload offset of the first MP4 box of type `name` (a plain scan; enough for the
/// small files written here).
fn find_box(b: &[u8], name: &[u8; 4]) -> Option<usize> {
    b.windows(4).position(|w| w == name).map(|i| i + 4)
}

/// The MP4 at `path` holds `frames` non-empty H.264 samples of `size`.
fn check_mp4(path: &std::path::Path, frames: usize, size: (u16, u16)) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[4..8], b"ftyp", "an MP4 file");
    // frame count: the sample-size table lists one entry per frame
    let stsz = find_box(&b, b"stsz").expect("stsz box");
    assert_eq!(be32(&b, stsz + 8) as usize, frames, "frames");
    // frame size: avc1 sample entry, width/height at bytes 24..28 of its payload
    let avc1 = find_box(&b, b"avc1").expect("avc1 sample entry (H.264)");
    let (w, h) = (
        u16::from_be_bytes([b[avc1 + 24], b[avc1 + 25]]),
        u16::from_be_bytes([b[avc1 + 26], b[avc1 + 27]]),
    );
    assert_eq!((w, h), size);
    // every sample has data
    let sizes: Vec<u32> = (0..frames).map(|k| be32(&b, stsz + 12 + 4 * k)).collect();
    assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
}

#[test]
fn mp4_is_written_by_the_linked_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    let mut rec = Recorder::create(&path, 10.0, (64, 48)).unwrap();
    for k in 0..12 {
        let f = field(64, k as f64);
        let img = compose(&[&f], 64, Range { lo: -1.0, hi: 1.0 }, Colormap::RedBlue, 1);
        rec.push(&image::imageops::crop_imm(&img, 0, 0, 64, 48).to_image())
            .unwrap();
    }
    rec.finish().unwrap();
    check_mp4(&path, 12, (64, 48));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
}

/// The movies `render` writes at its defaults: 64² panels at 4× (three and four side by
/// side, with a title band). openh264's own rate control used to drop frame 1 of these.
#[test]
fn mp4_keeps_every_frame_of_large_multi_panel_movies() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for k in [3usize, 4] {
        let path = dir.path().join(format!("p{k}.mp4"));
        let n = 64;
        let band = closure_lab::render::panel::title_band(256);
        let (w, h) = (k as u32 * 256 + (k as u32 - 1) * GAP, 256 + band);
        let mut rec = Recorder::create(&path, 10.0, (w, h)).unwrap();
        for _ in 0..6 {
            // fine-grained fields: the hardest content for the rate control
            let fields: Vec<Vec<f64>> = (0..k)
                .map(|_| (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect())
                .collect();
            let refs: Vec<&[f64]> = fields.iter().map(|f| f.as_slice()).collect();
            let strip = compose(&refs, n, Range { lo: -1.0, hi: 1.0 }, Colormap::RedBlue, 4);
            let mut frame = image::RgbaImage::from_pixel(w, h, image::Rgba([255; 4]));
            image::imageops::overlay(&mut frame, &strip, 0, band as i64);
            rec.push(&frame).unwrap();
        }
        rec.finish().unwrap();
        check_mp4(&path, 6, (w as u16, h as u16));
    }
}

#[test]
fn panel_image_has_title_field_and_colorbar_at_each_scale() {
    use closure_lab::render::field_rgba;
    use closure_lab::render::panel::panel_image;
    let n = 32;
    let f = field(n, 0.3);
    let r = Range { lo: -1.0, hi: 1.0 };
    let cmap = Colormap::PurpleOrange;
    let rgba = field_rgba(&f, n, r, cmap);
    let dark = |p: &image::Rgba<u8>| p.0[0] < 128 && p.0[1] < 128 && p.0[2] < 128;
    for scale in [1u32, 2, 4] {
        let (img, l) = panel_image(&f, n, r, cmap, scale as usize, "truth ω [1/s]");
        let (blank, _) = panel_image(&f, n, r, cmap, scale as usize, "");
        assert_eq!(l.field_side, n as u32 * scale);
        assert_eq!((img.width(), img.height()), (l.width, l.height));
        assert!(l.width > l.bar_x + l.bar_w, "room for tick labels");
        // every field pixel is the colour-mapped grid value, upscaled without smoothing
        for py in 0..l.field_side {
            for px in 0..l.field_side {
                let o = (((py / scale) as usize) * n + (px / scale) as usize) * 4;
                let got = img.get_pixel(l.field_x + px, l.field_y + py).0;
                assert_eq!(got, [rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]]);
            }
        }
        // colorbar: hi at the top, lo at the bottom
        let mid = l.bar_x + l.bar_w / 2;
        let top = img.get_pixel(mid, l.field_y + 2).0;
        let bottom = img.get_pixel(mid, l.field_y + l.field_side - 3).0;
        let h = l.field_side as f64;
        assert_eq!(top[..3], cmap.rgb(1.0 - 2.5 / h), "top");
        assert_eq!(bottom[..3], cmap.rgb(2.5 / h), "bottom");
        // the title is drawn (dark pixels above the field that the untitled image lacks)
        let inked = |im: &image::RgbaImage, x0: u32, x1: u32, y0: u32, y1: u32| {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| dark(im.get_pixel(x, y)))
                .count()
        };
        assert!(inked(&img, 0, l.width, 0, l.field_y) > 20, "title ink");
        assert_eq!(inked(&blank, 0, l.width, 0, l.field_y), 0);
        // tick labels right of the bar
        assert!(inked(&img, l.bar_x + l.bar_w + 1, l.width, l.field_y, l.height) > 20);
    }
}

/// Render `field` with the WGSL colour-map shader into an offscreen `format` target and
/// read the pixels back.
fn gpu_colormap(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    format: wgpu::TextureFormat,
    field: &[f32],
    n: usize,
    range: Range,
    cmap: Colormap,
) -> Vec<u8> {
    use closure_lab::render::gpu::{ColormapPipeline, FieldGpu};
    let pipe = ColormapPipeline::new(device, format);
    let mut fg = FieldGpu::new(device, &pipe, n);
    fg.update(queue, &pipe, field, range, cmap);
    let target = device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: n as u32,
            height: n as u32,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = target.create_view(&Default::default());
    let bytes_per_row = (n * 4) as u32; // n = 64: 256, the copy alignment
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (bytes_per_row as usize * n) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: None,
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pipe.draw(&mut pass, &fg);
    }
    enc.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(bytes_per_row),
                rows_per_image: Some(n as u32),
            },
        },
        target.size(),
    );
    queue.submit([enc.finish()]);
    readback.map_async(wgpu::MapMode::Read, .., |r| r.expect("map"));
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("GPU work finishes");
    readback.get_mapped_range(..).expect("mapped").to_vec()
}

#[test]
fn wgsl_colormap_matches_the_cpu_path() {
    use closure_lab::render::field_rgba;
    let (_instance, _adapter, device, queue) = crate::wgpu_device();
    let n = 64;
    let mut f = field(n, 0.7);
    f[5] = f64::NAN; // shown as the middle colour, like the CPU path
    f[77] = 7.0; // beyond the range: clamped
    let range = Range { lo: -0.8, hi: 0.8 };
    let f32s: Vec<f32> = f.iter().map(|&v| v as f32).collect();
    for cmap in [Colormap::RedBlue, Colormap::Viridis] {
        let cpu = field_rgba(&f, n, range, cmap);
        for format in [
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureFormat::Rgba8UnormSrgb,
        ] {
            let gpu = gpu_colormap(&device, &queue, format, &f32s, n, range, cmap);
            assert_eq!(gpu.len(), cpu.len());
            // f32 vs f64 can move a value across a table boundary (one entry); sRGB
            // encode/decode rounds by one unit
            let worst = gpu
                .iter()
                .zip(&cpu)
                .map(|(a, b)| (*a as i32 - *b as i32).abs())
                .max()
                .unwrap();
            let exact = gpu
                .chunks(4)
                .zip(cpu.chunks(4))
                .filter(|(a, b)| a == b)
                .count();
            assert!(
                worst <= 6,
                "{cmap:?} {format:?}: worst channel difference {worst}"
            );
            assert!(
                exact * 10 >= 9 * n * n || format.is_srgb(),
                "{cmap:?} {format:?}: only {exact} of {} pixels identical",
                n * n
            );
        }
    }
}

/// Ctrl-C (SIGINT) during `render` ends it with an error and leaves no temporary file.
#[test]
fn interrupted_render_leaves_nothing_behind() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_closure-lab"))
        .args([
            "render", "--preset", "decaying", "--from", "0", "--to", "50", "--every", "0.01",
            "--out",
        ])
        .arg(dir.path().join("long.gif"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let listing = || -> Vec<_> { std::fs::read_dir(dir.path()).unwrap().collect() };
    while listing().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "render never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain kill(2) of our own child process
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted render must fail");
    assert!(err.contains("interrupted"), "{err}");
    assert!(listing().is_empty(), "left behind: {:?}", listing());
}

/// `closure-lab render ARGS --out DIR/m.gif` (it must succeed), decoded.
fn render_gif(args: &[&str]) -> Vec<image::Frame> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gif");
    let out = Command::new(env!("CARGO_BIN_EXE_closure-lab"))
        .arg("render")
        .args(args)
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    image::codecs::gif::GifDecoder::new(file)
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap()
}

/// `render` colours a movie on scales that cover all of its frames: after the first
/// frame (where the error and the spread start at 0) every panel still shows structure.
/// With scales from the first frame alone the error and spread panels were one or two
/// flat colours in every frame.
#[test]
fn render_movies_keep_structure_in_every_panel() {
    let frames = render_gif(&[
        "--preset",
        "paper-g",
        "--from",
        "30",
        "--to",
        "34.5",
        "--every",
        "0.5",
        "--panels",
        "truth,error,closure,spread",
        "--scale",
        "2",
    ]);
    assert_eq!(frames.len(), 10);
    let side = 128;
    for (k, fr) in frames.iter().enumerate().skip(1) {
        let img = fr.buffer();
        let band = img.height() - side;
        for (i, name) in ["truth", "error", "closure", "spread"].iter().enumerate() {
            let x0 = i as u32 * (side + GAP);
            let mut colours = std::collections::HashSet::new();
            for y in band..img.height() {
                for x in x0..x0 + side {
                    colours.insert(img.get_pixel(x, y).0);
                }
            }
            assert!(
                colours.len() > 12,
                "frame {k}, panel {name}: {} distinct colours",
                colours.len()
            );
        }
    }
}

/// `render --colorbars`: each panel is the exported panel image (title, unit, colorbar),
/// so a frame is wider than the bare strip by a colorbar per panel; every frame is kept.
#[test]
fn render_with_colorbars_writes_panel_images_side_by_side() {
    let frames = render_gif(&[
        "--preset",
        "teaching",
        "--from",
        "30",
        "--to",
        "30.2",
        "--every",
        "0.1",
        "--panels",
        "truth,error,closure",
        "--scale",
        "2",
        "--colorbars",
    ]);
    assert_eq!(frames.len(), 3);
    let (w, h) = frames[0].buffer().dimensions();
    let strip = 3 * 128 + 2 * GAP;
    assert!(
        w > strip + 3 * 20,
        "{w} px wide: no room for three colorbars"
    );
    assert!(h > 128, "a title above the field");
}
