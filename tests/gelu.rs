//! The project's GELU op (src/closure/gelu.rs) against burn's own (libm's `erff`), value
//! and gradient, on the CPU backend and on wgpu.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::gelu as burn_gelu;
use closure_lab::closure::gelu::gelu;

/// −12…12 densely, plus zeros, tiny and huge values.
fn points() -> Vec<f32> {
    let mut v: Vec<f32> = (0..=48_000).map(|i| -12.0 + i as f32 * 5e-4).collect();
    v.extend([
        0.0, -0.0, 1e-30, -1e-30, 3.925, -3.925, 60.0, -60.0, 1e4, -1e4,
    ]);
    v
}

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

/// Value and gradient (of Σ gelu(x)·w, w a fixed ramp) with `f`, on `dev`.
fn value_and_grad(f: fn(Tensor<1>) -> Tensor<1>, xs: &[f32], dev: &Device) -> (Vec<f32>, Vec<f32>) {
    let dev = dev.clone().autodiff();
    let n = xs.len();
    let x = Tensor::<1>::from_data(TensorData::new(xs.to_vec(), [n]), &dev).require_grad();
    let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
    let w = Tensor::<1>::from_data(TensorData::new(w, [n]), &dev);
    let y = f(x.clone());
    let grads = (y.clone() * w).sum().backward();
    let g = x.grad(&grads).expect("x has a gradient");
    (vec1(y.inner()), vec1(g))
}

fn worst_gap(a: &[f32], b: &[f32], xs: &[f32]) -> (f32, f32) {
    a.iter()
        .zip(b)
        .zip(xs)
        .map(|((p, q), x)| ((p - q).abs() / x.abs().max(1.0), *x))
        .fold((0.0, 0.0), |m, g| if g.0 > m.0 { g } else { m })
}

#[test]
fn gelu_matches_burns_exact_gelu_in_value_and_gradient() {
    let dev = Device::flex();
    let xs = points();
    let (ours, g_ours) = value_and_grad(gelu, &xs, &dev);
    let (theirs, g_theirs) = value_and_grad(burn_gelu, &xs, &dev);
    let (gap, at) = worst_gap(&ours, &theirs, &xs);
    assert!(gap <= 1e-6, "value: worst relative gap {gap} at x = {at}");
    let (gap, at) = worst_gap(&g_ours, &g_theirs, &xs);
    assert!(
        gap <= 2e-6,
        "gradient: worst relative gap {gap} at x = {at}"
    );
    // untracked (sampling) gives the same values as tracked (training)
    let n = xs.len();
    let plain = gelu(Tensor::<1>::from_data(
        TensorData::new(xs.clone(), [n]),
        &dev,
    ));
    assert_eq!(vec1(plain), ours);
    // NaN and infinities propagate as burn's do
    let odd = gelu(Tensor::<1>::from_floats(
        [f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
        &dev,
    ));
    let odd = vec1(odd);
    assert!(odd[0].is_nan() && odd[1] == f32::INFINITY, "{odd:?}");
}

/// The op writes in place only into storage nobody else holds: a tensor still held
/// elsewhere, and a transposed (non-contiguous) view, keep their values.
#[test]
fn gelu_leaves_shared_and_strided_inputs_intact() {
    let dev = Device::flex();
    let v: Vec<f32> = (0..12).map(|i| i as f32 - 6.0).collect();
    let x = Tensor::<2>::from_data(TensorData::new(v.clone(), [3, 4]), &dev);
    let y = gelu(x.clone());
    assert_eq!(x.clone().try_into_vec_as::<f32>().unwrap(), v);
    let yt = gelu(x.clone().transpose());
    let want = burn_gelu(x.transpose());
    let (a, b) = (
        yt.try_into_vec_as::<f32>().unwrap(),
        want.try_into_vec_as::<f32>().unwrap(),
    );
    assert!(
        a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-6),
        "{a:?} vs {b:?}"
    );
    assert_eq!(y.dims(), [3, 4]);
}

/// On wgpu (Mesa's software Vulkan here) the op routes to burn's own kernels: the same
/// values and gradients as burn's GELU there, and values as on the CPU. (burn's wgpu GELU
/// gradient itself differs from the CPU's by up to ≈9·10⁻⁴ relative, near x ≈ 2.)
#[test]
fn gelu_on_wgpu_is_burns_gelu_there() {
    use closure_lab::closure::device::burn_device;
    let (instance, adapter, device, queue) = crate::wgpu_device();
    let gpu = burn_device(&instance, &adapter, &device, &queue).expect("burn accepts the device");
    let xs: Vec<f32> = (0..=400).map(|i| -6.0 + i as f32 * 0.03).collect();
    let (v_gpu, g_gpu) = value_and_grad(gelu, &xs, &gpu);
    let (v_burn, g_burn) = value_and_grad(burn_gelu, &xs, &gpu);
    let (v_cpu, _) = value_and_grad(gelu, &xs, &Device::flex());
    for (what, a, b, tol) in [
        ("value vs burn on wgpu", &v_gpu, &v_burn, 1e-6),
        ("gradient vs burn on wgpu", &g_gpu, &g_burn, 1e-6),
        ("value vs the CPU", &v_gpu, &v_cpu, 1e-5),
    ] {
        let (gap, at) = worst_gap(a, b, &xs);
        assert!(gap <= tol, "{what}: gap {gap} at {at}");
    }
}
