//! Metrics on hand-computed cases and against an independent SVD (nalgebra).

use std::f64::consts::TAU;

use closure_lab::metrics::{
    d_fro, d_max, d_mse, d_spe, energy, energy_spectrum, enstrophy, spectral_norm,
};
use closure_lab::solver::Grid;

#[test]
fn metrics_on_hand_computed_2x2() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [1.0, 2.0, 3.0, 5.0];
    assert!((d_mse(&a, &b) - 0.25).abs() < 1e-15);
    assert!((d_fro(&a, &b) - 1.0 / 30f64.sqrt()).abs() < 1e-15);
    assert!((d_max(&a, &b) - 0.25).abs() < 1e-15);
    // σ_max([[1,2],[3,4]]) = √((30 + √884)/2) = 5.464985704…; ‖diff‖₂ = 1
    let s = ((30.0 + 884f64.sqrt()) / 2.0).sqrt();
    assert!((spectral_norm(&a, 2) - s).abs() < 1e-12);
    assert!((d_spe(&a, &b, 2) - 1.0 / s).abs() < 1e-12);
    // a rank-one 3×3 matrix u vᵀ has ‖·‖₂ = |u||v|
    let (u, v) = ([1.0, -2.0, 2.0], [3.0, 0.0, 4.0]);
    let m: Vec<f64> = (0..9).map(|i| u[i / 3] * v[i % 3]).collect();
    assert!((spectral_norm(&m, 3) - 15.0).abs() < 1e-12);
}

#[test]
fn spectral_norm_matches_nalgebra_svd() {
    for (n, seed) in [(16usize, 1u64), (48, 2), (64, 3)] {
        // deterministic pseudo-random matrix
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15);
        let m: Vec<f64> = (0..n * n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 10_000) as f64 / 5_000.0 - 1.0
            })
            .collect();
        let svd = nalgebra::DMatrix::from_row_slice(n, n, &m).singular_values();
        let want = svd.max();
        let got = spectral_norm(&m, n);
        assert!((got - want).abs() < 1e-9 * want, "n={n}: {got} vs {want}");
    }
}

#[test]
fn energy_enstrophy_and_spectrum_of_a_single_mode() {
    let n = 32;
    let g = Grid::new(n).unwrap();
    // ω = cos 2π(3x + 4y): |k| = 5, ⟨ω²⟩ = ½, ψ = ω/(4π²·25), E = ½⟨|∇ψ|²⟩ = ½·½/(4π²·25)
    let w: Vec<f64> = (0..n * n)
        .map(|i| {
            let (x, y) = g.coords(i);
            (TAU * (3.0 * x + 4.0 * y)).cos()
        })
        .collect();
    let hat = g.to_spectral(&w);
    assert!((enstrophy(&w) - 0.25).abs() < 1e-14);
    let want_e = 0.25 / (4.0 * std::f64::consts::PI.powi(2) * 25.0);
    assert!((energy(&g, &hat) - want_e).abs() < 1e-15);
    let s = energy_spectrum(&g, &hat);
    // all of ½⟨ω²⟩ = ¼ sits in shell 5 (the two modes ±k carry ½·¼ each)
    assert!((s[5] - 0.25).abs() < 1e-14, "{}", s[5]);
    assert!(
        s.iter()
            .enumerate()
            .filter(|(k, _)| *k != 5)
            .all(|(_, v)| v.abs() < 1e-25)
    );
    // Parseval: the shells sum to the enstrophy for any field
    let f: Vec<f64> = (0..n * n).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
    let total: f64 = energy_spectrum(&g, &g.to_spectral(&f)).iter().sum();
    assert!((total - enstrophy(&f)).abs() < 1e-10 * enstrophy(&f));
}

/// Calibration arithmetic on ensembles with known answers (docs/science.md §7).
#[test]
fn ensemble_calibration_scores_have_their_known_values() {
    use closure_lab::closure::calibration::{crps, score, spread};
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    // exact: members 0 and 2 around the truth 1 — fair CRPS 0, spread √2
    let m = vec![vec![0.0], vec![2.0]];
    assert!(crps(&m, &[1.0]).abs() < 1e-15);
    assert!((spread(&m, &[1.0]) - 2f64.sqrt()).abs() < 1e-15);
    // one member: CRPS is the mean absolute error ÷ mean |truth|, no spread
    let one = vec![vec![1.5, -0.5]];
    assert!((crps(&one, &[1.0, -1.0]) - 0.5).abs() < 1e-15);
    assert!(spread(&one, &[1.0, -1.0]).is_nan());

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let (pixels, members, sigma) = (20_000, 16, 0.3);
    let mu: Vec<f64> = (0..pixels).map(|i| 1.0 + (i as f64 * 0.01).sin()).collect();
    let draw = |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
        mu.iter().map(|m| m + sigma * normal.sample(rng)).collect()
    };
    let ens: Vec<Vec<f64>> = (0..members).map(|_| draw(&mut rng)).collect();
    // truth drawn like a member: calibrated, spread/skill = √(M/(M+1))
    let truth = draw(&mut rng);
    let s = score(&ens, &truth);
    let ratio = s.spread / s.d_fro_mean;
    let ideal = (members as f64 / (members as f64 + 1.0)).sqrt();
    assert!(
        (ratio - ideal).abs() < 0.02,
        "spread/skill {ratio} vs {ideal}"
    );
    // truth at the centre: the skill shrinks by √M, so spread/skill ≈ √M (under-confident
    // is > 1 here: the ensemble claims more uncertainty than its error)
    let s = score(&ens, &mu);
    assert!(
        (s.spread / s.d_fro_mean - 4.0).abs() < 0.15,
        "{}",
        s.spread / s.d_fro_mean
    );
    // CRPS of N(μ, σ²) at y = μ is σ(2φ(0) − 1/√π) = 0.23369σ
    let mean_abs = mu.iter().map(|v| v.abs()).sum::<f64>() / pixels as f64;
    let expect = 0.233_69 * sigma / mean_abs;
    assert!(
        (s.crps - expect).abs() < 0.02 * expect,
        "CRPS {} vs {expect}",
        s.crps
    );
    // an over-confident ensemble (too narrow around a biased mean) scores worse
    let narrow: Vec<Vec<f64>> = ens
        .iter()
        .map(|b| {
            b.iter()
                .zip(&mu)
                .map(|(x, m)| m + 0.2 + 0.1 * (x - m))
                .collect()
        })
        .collect();
    assert!(crps(&narrow, &mu) > s.crps);

    // spread spectrum: white members and a white truth from the same law agree shell by
    // shell; members at half the amplitude show a quarter of the error's spectrum
    use closure_lab::closure::calibration::{deviation_spectra, spectrum_ratio};
    let grid = closure_lab::solver::Grid::new(64).unwrap();
    let white = |rng: &mut rand_chacha::ChaCha8Rng, amp: f64| -> Vec<f64> {
        (0..64 * 64).map(|_| amp * normal.sample(rng)).collect()
    };
    let (mut sp, mut er, mut sp_half) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..8 {
        let truth = white(&mut rng, 1.0);
        let ens: Vec<Vec<f64>> = (0..members).map(|_| white(&mut rng, 1.0)).collect();
        let half: Vec<Vec<f64>> = ens
            .iter()
            .map(|b| b.iter().map(|v| 0.5 * v).collect())
            .collect();
        let (s, e) = deviation_spectra(&grid, &ens, &truth);
        let (h, _) = deviation_spectra(&grid, &half, &truth);
        if sp.is_empty() {
            (sp, er, sp_half) = (s, e, h);
        } else {
            sp.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
            er.iter_mut().zip(&e).for_each(|(a, b)| *a += b);
            sp_half.iter_mut().zip(&h).for_each(|(a, b)| *a += b);
        }
    }
    // the error of the mean holds the truth plus the mean's own noise: (1 + 1/M)
    let ideal = members as f64 / (members as f64 + 1.0);
    let (ratio, _) = spectrum_ratio(&sp, &er);
    for k in 10..40 {
        assert!(
            (ratio[k] / ideal - 1.0).abs() < 0.2,
            "shell {k}: {}",
            ratio[k]
        );
    }
    let (ratio, worst) = spectrum_ratio(&sp_half, &er);
    for k in 10..40 {
        let expect = 0.25 / (1.0 + 0.25 / members as f64);
        assert!(
            (ratio[k] / expect - 1.0).abs() < 0.2,
            "half, shell {k}: {}",
            ratio[k]
        );
    }
    assert!(
        worst > 0.6,
        "an under-dispersed ensemble is flagged: {worst}"
    );
}
