//! PyTorch import: state dicts of the published networks (written by
//! scripts/torch_fixture.py with the published layer names) load into the project's score
//! network and reproduce the score PyTorch computed for the same inputs; damaged dicts
//! and files that are not checkpoints fail with a message naming the problem.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use closure_lab::closure::model::ClosureModel;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/torch")
        .join(name)
}

fn field(v: &[f64], b: usize, n: usize, device: &Device) -> Tensor<4> {
    let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(f, [b, n, n, 1]), device)
}

/// Largest |ours − PyTorch| relative to the largest |PyTorch| score.
fn reproduce(variant: &str) -> f64 {
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{variant}.json"))).unwrap())
            .unwrap();
    let num = |k: &str| -> Vec<f64> {
        case[k]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let n = case["n"].as_u64().unwrap() as usize;
    let t = num("t");
    let b = t.len();
    let device = Device::flex();
    let model = ClosureModel::load(&fixture(&format!("{variant}.pth")), &device)
        .unwrap_or_else(|e| panic!("{variant}: {e}"));
    let sparse = variant == "fno2d";
    assert_eq!(model.card.part.inputs.sensors, if sparse { 16 } else { 0 });
    let obs = if sparse {
        num("obs")
    } else {
        vec![0.0; b * n * n]
    };
    let net = model.net();
    let basis = net.basis(n, &device);
    let t: Vec<f32> = t.iter().map(|&x| x as f32).collect();
    let out = net.forward(
        field(&num("x"), b, n, &device),
        Tensor::from_data(TensorData::new(t, [b]), &device),
        field(&num("omega"), b, n, &device),
        field(&obs, b, n, &device),
        None,
        &basis,
    );
    let ours = out.try_into_vec_as::<f32>().unwrap();
    let want = num("score");
    assert_eq!(ours.len(), want.len());
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-3, "the fixture's scores are not trivially zero");
    let err = ours
        .iter()
        .zip(&want)
        .fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
    err / scale
}

#[test]
fn published_state_dicts_reproduce_pytorch_scores() {
    for variant in ["fno2d_nosparse", "fno2d"] {
        let rel = reproduce(variant);
        eprintln!("{variant}: max |ours − PyTorch| = {rel:.2e} of the largest score");
        assert!(
            rel < 1e-4,
            "{variant}: max |ours − PyTorch| = {rel:.2e} of the largest score"
        );
    }
}

#[test]
fn damaged_state_dicts_and_non_checkpoints_fail_by_name() {
    let device = Device::flex();
    let err = |p: &Path| match ClosureModel::load(p, &device) {
        Ok(_) => panic!("{} loaded", p.display()),
        Err(e) => e.to_string(),
    };
    let e = err(&fixture("bad_key.pth"));
    assert!(e.contains("`conv2_x.weights1`"), "{e}");
    let e = err(&fixture("bad_shape.pth"));
    assert!(
        e.contains("`fc1.weight`") && e.contains("[128, 7]") && e.contains("[128, 6]"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"definitely not a zip archive").unwrap();
    let e = err(&junk);
    assert!(e.contains("junk.pth") && e.contains("zip"), "{e}");
    // a real archive cut short
    let whole = std::fs::read(fixture("fno2d_nosparse.pth")).unwrap();
    let cut = dir.path().join("cut.pth");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let e = err(&cut);
    assert!(e.contains("cut.pth") && e.lines().count() == 1, "{e}");
    assert!(err(&dir.path().join("missing.pth")).contains("cannot open"));
}

/// A checkpoint archive holding `pickle` as its `data.pkl`.
fn archive_with(pickle: &[u8], path: &Path) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("archive/data.pkl", opts).unwrap();
    z.write_all(pickle).unwrap();
    z.finish().unwrap();
}

/// Pickles that nest containers without end are refused while they are read (values
/// are cloned and dropped recursively: a million levels used to overflow the stack).
#[test]
fn deeply_nested_pickles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 100 000 empty lists on the stack, then each appended into the one below it
    let n = 100_000;
    let mut p = vec![0x80, 2];
    p.extend(std::iter::repeat_n(b']', n));
    p.extend(std::iter::repeat_n(b'a', n - 1));
    p.push(b'.');
    // a chain through the memo: each new list holds the previous one
    let mut q = vec![0x80, 2, b']', b'r', 0, 0, 0, 0];
    for i in 1..2_000u32 {
        q.push(b']');
        q.push(b'j');
        q.extend((i - 1).to_le_bytes());
        q.push(b'a');
        q.push(b'r');
        q.extend(i.to_le_bytes());
    }
    q.push(b'.');
    for (name, pickle) in [("stacked.pth", p), ("chained.pth", q)] {
        let path = dir.path().join(name);
        archive_with(&pickle, &path);
        let e = closure_lab::closure::pth::read(&path).unwrap_err();
        assert!(e.contains("nests deeper than 64"), "{name}: {e}");
    }
}

/// A copy of the fixture `name` whose `data.pkl` has `from` replaced by `to`.
fn patched_fixture(name: &str, from: &[u8], to: &[u8], out: &Path) {
    use std::io::{Read, Write};
    let mut src = zip::ZipArchive::new(std::fs::File::open(fixture(name)).unwrap()).unwrap();
    let mut dst = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name.ends_with("data.pkl") {
            let at = bytes
                .windows(from.len())
                .position(|w| w == from)
                .expect("pattern in the pickle");
            bytes.splice(at..at + from.len(), to.iter().copied());
        }
        dst.start_file(name, opts).unwrap();
        dst.write_all(&bytes).unwrap();
    }
    dst.finish().unwrap();
}

/// A weight stored as a view that repeats elements (stride 0: a broadcast) is refused;
/// it used to load and score D_Fro 10 where the real checkpoint scores 0.9.
#[test]
fn a_weight_view_that_repeats_elements_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stride0.pth");
    // fc1.weight: shape (128, 6), stride (6, 1) → stride (0, 1)
    patched_fixture(
        "fno2d_nosparse.pth",
        b"K\x80K\x06\x86r\x82\x01\x00\x00K\x06K\x01\x86",
        b"K\x80K\x06\x86r\x82\x01\x00\x00K\x00K\x01\x86",
        &path,
    );
    let e = closure_lab::closure::pth::read(&path).unwrap_err();
    assert!(
        e.contains("repeats elements") && e.contains("[0, 1]"),
        "{e}"
    );
    // the unpatched copy reads
    let same = dir.path().join("same.pth");
    patched_fixture(
        "fno2d_nosparse.pth",
        b"K\x06K\x01\x86",
        b"K\x06K\x01\x86",
        &same,
    );
    closure_lab::closure::pth::read(&same).unwrap();
}
