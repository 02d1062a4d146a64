//! Solver anchors: spectral operators, exact solutions, convergence orders, invariants,
//! noise and GRF statistics, closure-split consistency, reproducibility.

use std::f64::consts::{PI, TAU};
use std::sync::Arc;

use closure_lab::metrics;
use closure_lab::solver::noise::{NoiseParams, QWiener};
use closure_lab::solver::{
    C64, Case, Convention, GrfParams, Grid, Params, Scheme, Simulation, SolverError, grf,
};

fn grid(n: usize) -> Arc<Grid> {
    Arc::new(Grid::new(n).expect("grid"))
}

fn field(g: &Grid, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    (0..g.phys_len())
        .map(|i| {
            let (x, y) = g.coords(i);
            f(x, y)
        })
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

fn deterministic(scheme: Scheme, nu: f64, forcing: f64, dt: f64) -> Params {
    Params {
        nu,
        forcing,
        scheme,
        dt,
        noise: NoiseParams {
            sigma: 0.0,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn forward_fft_matches_naive_dft() {
    let n = 8;
    let g = grid(n);
    let f: Vec<f64> = (0..n * n)
        .map(|i| ((i * 7919) % 23) as f64 / 7.0 - 1.3)
        .collect();
    let hat = g.to_spectral(&f);
    for jy in 0..g.nh {
        for ix in 0..n {
            let mut want = C64::default();
            for i in 0..n {
                for j in 0..n {
                    let ph = -TAU * ((ix * i) as f64 + (jy * j) as f64) / n as f64;
                    want += f[i * n + j] * C64::from_polar(1.0, ph);
                }
            }
            let got = hat[jy * n + ix];
            assert!(
                (got - want).norm() < 1e-12,
                "mode ({ix},{jy}): {got} vs {want}"
            );
        }
    }
    let back = g.to_physical(&hat);
    assert!(max_diff(&back, &f) < 1e-14);
}

#[test]
fn threaded_transforms_match_serial() {
    let g = grid(64);
    let f = grf::grf(&g, GrfParams::default(), 3);
    let serial = g.to_spectral(&f);
    let mut par = g.zeros_hat();
    let mut s = g.scratch(2);
    g.fft.forward(&f, &mut par, &mut s);
    assert_eq!(serial, par);
    let mut back = g.zeros();
    g.fft.inverse(&par, &mut back, &mut s);
    assert!(max_diff(&back, &f) < 1e-13);
}

#[test]
fn spectral_derivatives_and_poisson_are_exact_on_trig_fields() {
    let g = grid(32);
    let f = field(&g, |x, y| {
        (TAU * (2.0 * x + 3.0 * y)).sin() + (TAU * (x - 4.0 * y)).cos()
    });
    let fx = field(&g, |x, y| {
        TAU * 2.0 * (TAU * (2.0 * x + 3.0 * y)).cos() - TAU * (TAU * (x - 4.0 * y)).sin()
    });
    let fy = field(&g, |x, y| {
        TAU * 3.0 * (TAU * (2.0 * x + 3.0 * y)).cos() + TAU * 4.0 * (TAU * (x - 4.0 * y)).sin()
    });
    let hat = g.to_spectral(&f);
    let mut d = g.zeros_hat();
    g.ddx_hat(&hat, &mut d);
    assert!(max_diff(&g.to_physical(&d), &fx) < 1e-11);
    g.ddy_hat(&hat, &mut d);
    assert!(max_diff(&g.to_physical(&d), &fy) < 1e-11);
    // −Δψ = ω: ψ = sin 2π(2x+3y) has ω = 4π²·13·ψ
    let psi = field(&g, |x, y| (TAU * (2.0 * x + 3.0 * y)).sin());
    let omega: Vec<f64> = psi.iter().map(|p| 4.0 * PI * PI * 13.0 * p).collect();
    let mut psi_hat = g.zeros_hat();
    g.poisson_hat(&g.to_spectral(&omega), &mut psi_hat);
    assert!(max_diff(&g.to_physical(&psi_hat), &psi) < 1e-13);
}

/// ω made of modes with one |k| (here (3,4) and (5,0), |k| = 5) has ψ ∝ ω, so u·∇ω = 0:
/// an exact decaying solution ω(t) = ω₀·decay(t).
fn steady_mode_field(g: &Grid) -> Vec<f64> {
    field(g, |x, y| {
        (TAU * 3.0 * x).sin() * (TAU * 4.0 * y).cos() + 0.5 * (TAU * 5.0 * x).cos()
    })
}

#[test]
fn exact_decaying_solution_reference_and_imex() {
    let g = grid(32);
    let w0 = steady_mode_field(&g);
    let (nu, dt, steps) = (1e-3, 0.01, 200);
    let lap = 4.0 * PI * PI * 25.0;
    // reference: discrete decay factor r = (1 − ½dtνλ)/(1 + ½dtνλ), to round-off
    let mut sim = Simulation::new(
        g.clone(),
        deterministic(Scheme::Reference, nu, 0.0, dt),
        &w0,
        0.0,
        0,
    )
    .unwrap();
    sim.advance(steps).unwrap();
    let r: f64 = (1.0 - 0.5 * dt * nu * lap) / (1.0 + 0.5 * dt * nu * lap);
    let want: Vec<f64> = w0.iter().map(|w| w * r.powi(steps as i32)).collect();
    let err = max_diff(&sim.omega(), &want) / metrics::max_abs(&want);
    assert!(err < 1e-12, "reference vs discrete decay: {err:e}");
    // IMEX (ETDRK4) integrates the linear part exactly: e^{−νλt}
    let mut sim = Simulation::new(
        g.clone(),
        deterministic(Scheme::Etdrk4, nu, 0.0, dt),
        &w0,
        0.0,
        0,
    )
    .unwrap();
    sim.advance(steps).unwrap();
    let exact: Vec<f64> = w0
        .iter()
        .map(|w| w * (-nu * lap * dt * steps as f64).exp())
        .collect();
    let err = max_diff(&sim.omega(), &exact) / metrics::max_abs(&exact);
    assert!(err < 1e-12, "imex vs exact: {err:e}");
    // the reference scheme is within its O(dt²) per-unit-time factor error of the exact one
    let err_ref = max_diff(&want, &exact) / metrics::max_abs(&exact);
    assert!(err_ref > 0.0 && err_ref < 1e-3);
}

/// Final vorticity of a smooth deterministic forced run at N = 32.
fn forced_run(scheme: Scheme, dt: f64, t_end: f64) -> Vec<f64> {
    let g = grid(32);
    let w0 = grf::grf(&g, GrfParams::default(), 11);
    let mut sim = Simulation::new(g, deterministic(scheme, 0.01, 0.1, dt), &w0, 0.0, 0).unwrap();
    sim.advance((t_end / dt).round() as u64).unwrap();
    sim.omega()
}

fn measured_order(scheme: Scheme, dts: [f64; 3], reference_dt: f64) -> (f64, f64) {
    let t_end = 1.0;
    let reference = forced_run(Scheme::Etdrk4, reference_dt, t_end);
    let e: Vec<f64> = dts
        .iter()
        .map(|&dt| max_diff(&forced_run(scheme, dt, t_end), &reference))
        .collect();
    ((e[0] / e[1]).log2(), (e[1] / e[2]).log2())
}

#[test]
fn imex_scheme_is_fourth_order() {
    let (p1, p2) = measured_order(Scheme::Etdrk4, [0.05, 0.025, 0.0125], 0.001);
    assert!(
        (p1 - 4.0).abs() < 0.3 && (p2 - 4.0).abs() < 0.3,
        "ETDRK4 slopes {p1:.2}, {p2:.2}"
    );
}

#[test]
fn reference_scheme_is_first_order() {
    let (p1, p2) = measured_order(Scheme::Reference, [0.01, 0.005, 0.0025], 0.001);
    assert!(
        (p1 - 1.0).abs() < 0.3 && (p2 - 1.0).abs() < 0.3,
        "reference slopes {p1:.2}, {p2:.2}"
    );
}

/// Relative drift of energy and enstrophy over t ∈ [0, 0.5] for the inviscid, unforced,
/// noise-free equation from a field band-limited below the 2/3 cut-off.
fn invariant_drift(scheme: Scheme, dt: f64) -> (f64, f64) {
    let g = grid(32);
    let mut hat = grf::grf_hat(&g, GrfParams::default(), 5);
    for s in 0..hat.len() {
        if g.kx[s].abs() >= 10.0 || g.ky[s].abs() >= 10.0 {
            hat[s] = C64::default();
        }
    }
    let mut sim =
        Simulation::from_hat(g.clone(), deterministic(scheme, 0.0, 0.0, dt), hat, 0.0, 0).unwrap();
    let (e0, z0) = (
        metrics::energy(&g, sim.omega_hat()),
        metrics::enstrophy(&sim.omega()),
    );
    sim.advance((0.5 / dt).round() as u64).unwrap();
    let (e1, z1) = (
        metrics::energy(&g, sim.omega_hat()),
        metrics::enstrophy(&sim.omega()),
    );
    (((e1 - e0) / e0).abs(), ((z1 - z0) / z0).abs())
}

#[test]
fn inviscid_invariants_conserved_to_time_error() {
    for (scheme, dts) in [
        (Scheme::Reference, [0.01, 0.005, 0.0025]),
        (Scheme::Etdrk4, [0.08, 0.04, 0.02]),
    ] {
        let d: Vec<(f64, f64)> = dts.iter().map(|&dt| invariant_drift(scheme, dt)).collect();
        eprintln!("{scheme}: {d:?}");
        for w in d.windows(2) {
            assert!(
                w[1].0 < w[0].0 && w[1].1 < w[0].1,
                "{scheme}: drift must shrink with dt: {d:?}"
            );
        }
        assert!(
            d[2].0 < 1e-2 && d[2].1 < 1e-2,
            "{scheme}: drift too large {d:?}"
        );
        if scheme == Scheme::Reference {
            // first order: halving dt halves the drift
            let ratio = d[1].1 / d[2].1;
            assert!(
                (ratio - 2.0).abs() < 0.4,
                "reference enstrophy drift ratio {ratio}"
            );
        }
    }
}

#[test]
fn stochastic_forcing_matches_analytic_statistics() {
    let g = grid(64);
    let p = NoiseParams::default();
    let dt = 1e-3;
    let mut q = QWiener::new(&g, p, Convention::Published, 42);
    let draws = 400;
    let mut hat = g.zeros_hat();
    let (mut sum2, mut count) = (0.0, 0usize);
    let mut shell = vec![0.0; 8];
    let mut low = 0.0;
    for _ in 0..draws {
        q.draw(&g, dt, &mut hat);
        let f = g.to_physical(&hat);
        sum2 += f.iter().map(|v| v * v).sum::<f64>();
        count += f.len();
        for s in 0..hat.len() {
            let k = g.k2[s].sqrt();
            let w = if s / g.n == 0 { 1.0 } else { 2.0 };
            let e = w * hat[s].norm_sqr();
            if k <= 4.0 {
                low += e;
            }
            let kr = k.round() as usize;
            if kr < shell.len() && (k - kr as f64).abs() < 1e-9 && s / g.n > 0 {
                shell[kr] += hat[s].norm_sqr() / p.sqrt_q(g.kx[s], g.ky[s]).powi(2);
            }
        }
    }
    let std = (sum2 / count as f64).sqrt();
    let want = p.pointwise_std(64, dt, Convention::Published);
    assert!((want - 0.0200).abs() < 5e-4, "analytic std {want}");
    assert!(
        (std / want - 1.0).abs() < 0.03,
        "empirical std {std} vs {want}"
    );
    // Parseval: total spectral energy over draws = N²·Σ f²
    let total = sum2 * (64.0 * 64.0);
    let frac_low = low / total;
    assert!(
        (frac_low - 0.95).abs() < 0.02,
        "fraction of variance at |k| ≤ 4: {frac_low}"
    );
    // per-mode second moment E|σξ̂_k|² = κ (σ √q_k N² / √dt)²  for on-lattice shells k = 1, 2, 3, 4, 5
    let amp2 = (p.sigma * 64.0 * 64.0 / dt.sqrt()).powi(2) * p.kappa;
    for k in 1..=5usize {
        let modes = (0..hat.len())
            .filter(|&s| (g.k2[s].sqrt() - k as f64).abs() < 1e-9 && s / g.n > 0)
            .count();
        let mean = shell[k] / (modes * draws) as f64;
        assert!(
            (mean / amp2 - 1.0).abs() < 0.15,
            "shell {k}: {} ",
            mean / amp2
        );
    }
}

#[test]
fn noise_field_does_not_depend_on_grid_size() {
    let (g1, g2) = (grid(64), grid(128));
    let p = NoiseParams::default();
    let (mut q1, mut q2) = (
        QWiener::new(&g1, p, Convention::Published, 9),
        QWiener::new(&g2, p, Convention::Published, 9),
    );
    let (mut h1, mut h2) = (g1.zeros_hat(), g2.zeros_hat());
    q1.draw(&g1, 1e-3, &mut h1);
    q2.draw(&g2, 1e-3, &mut h2);
    let (f1, f2) = (g1.to_physical(&h1), g2.to_physical(&h2));
    // every 2nd point of the 128² field is the 64² field
    let strided: Vec<f64> = (0..64 * 64)
        .map(|i| f2[(2 * (i / 64)) * 128 + 2 * (i % 64)])
        .collect();
    assert!(max_diff(&strided, &f1) < 1e-12 * metrics::max_abs(&f1));
}

#[test]
fn grf_has_prescribed_spectrum() {
    let g = grid(64);
    let p = GrfParams::default();
    let samples = 40;
    let mut ratio = vec![(0.0, 0usize); 20];
    for seed in 0..samples {
        let hat = grf::grf_hat(&g, p, seed);
        assert!(hat[0].norm() < 1e-9, "mean mode must be zero");
        for s in 1..hat.len() {
            let k = g.k2[s].sqrt().round() as usize;
            if k > 0 && k < ratio.len() && s / g.n > 0 {
                let lambda = p.sqrt_eig(64, g.kx[s], g.ky[s]).powi(2);
                ratio[k].0 += hat[s].norm_sqr() / (lambda / 2.0);
                ratio[k].1 += 1;
            }
        }
    }
    for (k, (sum, cnt)) in ratio.iter().enumerate().skip(2) {
        let r = sum / *cnt as f64;
        assert!((r - 1.0).abs() < 0.12, "shell {k}: E|ω̂|²/(λ/2) = {r}");
    }
    // amplitude constant of the published sampler
    assert!((GrfParams::default().tau.powf(1.5) - 18.52).abs() < 0.01);
}

fn closure_split_consistency(case: Case, physical: bool) {
    let g = grid(64);
    let w0 = grf::grf(&g, GrfParams::default(), 2);
    let mut truth = Simulation::new(g.clone(), Params::default(), &w0, 0.0, 7).unwrap();
    truth.record_closures(true);
    let model_params = Params {
        terms: case.model_terms(),
        ..Default::default()
    };
    let mut model = Simulation::new(g.clone(), model_params, &w0, 0.0, 0).unwrap();
    let mut buf = g.zeros();
    for _ in 0..300 {
        truth.step().unwrap();
        if physical {
            assert!(truth.true_closure_into(case, &mut buf));
            model.step_with_closure(&buf).unwrap();
        } else {
            let c = truth.true_closure_hat(case).unwrap().to_vec();
            model.step_with_closure_hat(Some(&c)).unwrap();
        }
    }
    let (a, b) = (truth.omega(), model.omega());
    let err = max_diff(&a, &b) / metrics::max_abs(&a);
    assert!(
        err < 1e-11,
        "{case} ({}) model fed the true closure: {err:e}",
        if physical { "physical" } else { "spectral" }
    );
    // and the model without closure does drift away
    let mut bare = Simulation::new(g.clone(), model_params, &w0, 0.0, 0).unwrap();
    bare.advance(300).unwrap();
    assert!(metrics::d_fro(&a, &bare.omega()) > 1e-4);
}

#[test]
fn g_model_fed_true_closure_reproduces_truth() {
    closure_split_consistency(Case::G, true);
    closure_split_consistency(Case::G, false);
}

#[test]
fn h_model_fed_true_closure_reproduces_truth() {
    closure_split_consistency(Case::H, true);
    closure_split_consistency(Case::H, false);
}

/// The published update, transcribed literally (allocating, term by term in the published
/// order), must give bit-identical trajectories with the noise off.
#[test]
fn reference_step_is_bit_identical_to_published_transcription() {
    let n = 64;
    let g = grid(n);
    let (nu, dt) = (1e-3, 1e-3);
    let w0 = grf::grf(&g, GrfParams::default(), 4);
    let mut sim = Simulation::new(
        g.clone(),
        deterministic(Scheme::Reference, nu, 0.1, dt),
        &w0,
        0.0,
        0,
    )
    .unwrap();
    let f = closure_lab::solver::forcing::forcing_field(
        &g,
        0.1,
        closure_lab::solver::ForcingShape::Published,
    );
    let f_h = g.to_spectral(&f);
    let mut w_h = g.to_spectral(&w0);
    for _ in 0..50 {
        // psi_h = w_h / lap; q = 2π k_y i psi_h; v = -2π k_x i psi_h; w_x, w_y likewise
        let psi_h: Vec<C64> = w_h.iter().zip(&g.lap).map(|(w, l)| w / l).collect();
        let mul = |k: &Vec<f64>, sign: f64, a: &Vec<C64>| -> Vec<f64> {
            let h: Vec<C64> = a
                .iter()
                .zip(k)
                .map(|(a, k)| C64::new(0.0, sign * 2.0 * PI * k) * a)
                .collect();
            g.to_physical(&h)
        };
        let q = mul(&g.ky, 1.0, &psi_h);
        let v = mul(&g.kx, -1.0, &psi_h);
        let w_x = mul(&g.kx, 1.0, &w_h);
        let w_y = mul(&g.ky, 1.0, &w_h);
        let prod: Vec<f64> = (0..q.len())
            .map(|i| q[i] * w_x[i] + v[i] * w_y[i])
            .collect();
        let f_nl: Vec<C64> = g
            .to_spectral(&prod)
            .iter()
            .zip(&g.dealias)
            .map(|(c, &d)| if d { *c } else { C64::default() })
            .collect();
        w_h = (0..w_h.len())
            .map(|k| {
                let l = g.lap[k];
                ((-dt) * f_nl[k] + dt * f_h[k] + (1.0 - 0.5 * dt * nu * l) * w_h[k])
                    / (1.0 + 0.5 * dt * nu * l)
            })
            .collect();
        sim.step().unwrap();
    }
    let mismatches = w_h
        .iter()
        .zip(sim.omega_hat())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        mismatches, 0,
        "optimised step differs from the literal transcription"
    );
}

#[test]
fn same_seed_gives_bit_identical_trajectory() {
    let g = grid(64);
    let run = |seed: u64| {
        let w0 = grf::grf(&g, GrfParams::default(), seed);
        let mut s = Simulation::new(g.clone(), Params::default(), &w0, 0.0, seed).unwrap();
        s.advance(100).unwrap();
        s.omega_hat().to_vec()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn zero_mean_convention_keeps_mean_and_published_one_drifts() {
    let g = grid(32);
    let w0 = grf::grf(&g, GrfParams::default(), 1);
    let mean = |s: &Simulation| s.omega_hat()[0].re / (32.0 * 32.0);
    let mut z = Simulation::new(
        g.clone(),
        Params {
            convention: Convention::ZeroMean,
            ..Default::default()
        },
        &w0,
        0.0,
        1,
    )
    .unwrap();
    let mut p = Simulation::new(g.clone(), Params::default(), &w0, 0.0, 1).unwrap();
    z.advance(200).unwrap();
    p.advance(200).unwrap();
    assert!(
        mean(&z).abs() < 1e-14,
        "zero-mean run drifted: {}",
        mean(&z)
    );
    assert!(
        mean(&p).abs() > 1e-6,
        "published convention should random-walk the mean"
    );
}

#[test]
fn blow_up_is_an_error_not_a_panic() {
    let g = grid(32);
    let w0: Vec<f64> = grf::grf(&g, GrfParams::default(), 1)
        .iter()
        .map(|w| 50.0 * w)
        .collect();
    let params = Params {
        dt: 0.5,
        nu: 0.0,
        ..Default::default()
    };
    let mut sim = Simulation::new(g, params, &w0, 0.0, 1).unwrap();
    let err = sim.advance(2000).unwrap_err();
    assert!(matches!(err, SolverError::BlowUp { .. }), "{err}");
    assert!(err.to_string().contains("blew up"));
}

#[test]
fn bad_parameters_and_sizes_are_rejected() {
    assert!(matches!(Grid::new(7), Err(SolverError::BadGrid(7))));
    let g = grid(16);
    let w0 = g.zeros();
    for p in [
        Params {
            dt: 0.0,
            ..Default::default()
        },
        Params {
            nu: f64::NAN,
            ..Default::default()
        },
        Params {
            dt: -1.0,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            Simulation::new(g.clone(), p, &w0, 0.0, 0),
            Err(SolverError::BadParam(_))
        ));
    }
    assert!(matches!(
        Simulation::new(g.clone(), Params::default(), &[0.0; 10], 0.0, 0),
        Err(SolverError::BadFieldLength { .. })
    ));
}

/// Steps split over two threads (the truth beside the run without closure and the
/// advection of the run with it, each advection's transforms in pairs) give
/// bit-identical trajectories to one thread, for a single run and for the experiment's
/// lockstep triple in both flows.
#[test]
fn two_threads_step_bit_identically_to_one() {
    use closure_lab::experiment::{ClosureMode, Experiment, ExperimentConfig};
    let n = closure_lab::solver::PARALLEL_MIN_N;
    let g = grid(n);
    let w0 = closure_lab::solver::grf::grf(&g, closure_lab::solver::GrfParams::default(), 4);
    let run = |threads: usize| {
        let params = Params {
            threads,
            ..Default::default()
        };
        let mut sim = Simulation::new(g.clone(), params, &w0, 0.0, 9).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| sim.advance(60)).unwrap();
        sim.omega_hat().to_vec()
    };
    assert!(
        Params {
            threads: 2,
            ..Default::default()
        }
        .parallel(n)
    );
    let (one, two) = (run(1), run(2));
    assert!(
        one.iter()
            .zip(&two)
            .all(|(a, b)| a.re.to_bits() == b.re.to_bits() && a.im.to_bits() == b.im.to_bits())
    );
    let triple = |cfg: ExperimentConfig, steps: u64| {
        let mut e = Experiment::new(cfg, None).unwrap();
        e.advance(steps).unwrap();
        let f = e.fields(None);
        [f.truth, f.with, f.without, f.true_closure, f.reference]
    };
    // the published flow: the with-run's advection made beside the truth (prepare_step),
    // the oracle's closure transformed on the truth's thread
    let published = |threads: usize| ExperimentConfig {
        n,
        closure: ClosureMode::Oracle,
        threads,
        blocking: true,
        ..Default::default()
    };
    assert_eq!(
        triple(published(1), 40),
        triple(published(2), 40),
        "the lockstep triple does not depend on threads"
    );
    // the subgrid flow: DNS truth, LES runs and the Smagorinsky yardstick run
    let flow = closure_lab::les::LesFlow::default();
    let subgrid = |threads: usize| ExperimentConfig {
        flow: closure_lab::experiment::Flow::Kolmogorov,
        n: flow.les_n,
        dns_n: 128,
        nu: flow.nu,
        dt: flow.dt,
        scheme: flow.scheme,
        closure: ClosureMode::Oracle,
        threads,
        blocking: true,
        ..Default::default()
    };
    let one = triple(subgrid(1), 20);
    assert!(
        one[4].iter().any(|w| *w != 0.0),
        "the yardstick run is there"
    );
    assert_eq!(one, triple(subgrid(2), 20), "nor does the subgrid one");
}

/// Every run kind stops at the step where things go wrong, naming the cause: the truth
/// at its first non-finite step (all earlier states finite, the error's step that one);
/// a model run and an LES run given a non-finite closure before stepping, state kept.
#[test]
fn blow_ups_are_caught_at_their_step_in_every_run_kind() {
    use closure_lab::les::{LesClosure, LesFlow, LesRun};
    let finite = |s: &Simulation| {
        s.omega_hat()
            .iter()
            .all(|c| c.re.is_finite() && c.im.is_finite())
    };
    // truth: a violent start with a huge step
    let g = grid(32);
    let w0: Vec<f64> = grf::grf(&g, GrfParams::default(), 1)
        .iter()
        .map(|w| 50.0 * w)
        .collect();
    let params = Params {
        dt: 0.5,
        nu: 0.0,
        ..Default::default()
    };
    let mut sim = Simulation::new(g.clone(), params, &w0, 0.0, 1).unwrap();
    let mut ok_steps = 0u64;
    let err = loop {
        match sim.step() {
            Ok(()) => {
                assert!(
                    finite(&sim),
                    "a non-finite state passed at step {}",
                    ok_steps + 1
                );
                ok_steps += 1;
                assert!(ok_steps < 5000, "never blew up");
            }
            Err(e) => break e,
        }
    };
    match err {
        SolverError::BlowUp { step, .. } => assert_eq!(step, ok_steps + 1),
        e => panic!("{e}"),
    }
    // a model run given a NaN closure
    let model = Params {
        terms: Case::G.model_terms(),
        ..Default::default()
    };
    let w1: Vec<f64> = grf::grf(&g, GrfParams::default(), 2);
    let mut sim = Simulation::new(g.clone(), model, &w1, 0.0, 1).unwrap();
    let good = g.zeros_hat();
    for _ in 0..3 {
        sim.step_with_closure_hat(Some(&good)).unwrap();
    }
    let before = sim.omega_hat().to_vec();
    let mut bad = g.zeros_hat();
    bad[5].re = f64::NAN;
    let e = sim.step_with_closure_hat(Some(&bad)).unwrap_err();
    assert!(
        matches!(e, SolverError::ClosureNotFinite { step: 4, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("not finite"), "{e}");
    assert_eq!(sim.omega_hat(), &before[..], "the state is kept");
    // an LES run given a non-finite Π
    let flow = LesFlow {
        dns_n: 128,
        ..Default::default()
    };
    let lg = grid(flow.les_n);
    let bar = lg.to_spectral(&grf::grf(&lg, GrfParams::default(), 3));
    let mut run = LesRun::new(&flow, lg.clone(), &bar, 0.0, LesClosure::None).unwrap();
    run.step(None).unwrap();
    let mut pi = lg.zeros_hat();
    pi[7].im = f64::INFINITY;
    let e = run.step_with_pi(&pi).unwrap_err();
    assert!(
        matches!(e, SolverError::ClosureNotFinite { step: 2, .. }),
        "{e}"
    );
}
