//! The subgrid (LES) case: Kolmogorov flow terms, the filter, the true Π, classical
//! closures and the a-posteriori scores.

use std::f64::consts::TAU;
use std::sync::Arc;

use closure_lab::les::eddy::{LEITH_CL, SMAGORINSKY_CS};
use closure_lab::les::{
    EddyModel, EddyViscosity, Filter, FilteredDns, LesFlow, Restriction, stats,
};
use closure_lab::metrics;
use closure_lab::solver::{C64, GrfParams, Grid, Scheme, Simulation, grf};

fn grid(n: usize) -> Arc<Grid> {
    Arc::new(Grid::new(n).expect("grid"))
}

fn max_diff_hat(a: &[C64], b: &[C64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).norm()))
}

fn max_norm_hat(a: &[C64]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.norm()))
}

/// A band-limited random field on `g` (the GRF, cut to the 64² resolved modes).
fn resolved_field(g: &Grid, seed: u64) -> Vec<C64> {
    let hat = grf::grf_hat(g, GrfParams::default(), seed);
    Restriction::new(g, g, Filter::Cutoff)
        .unwrap()
        .filtered(&hat)
}

#[test]
fn cutoff_filter_is_a_projection_and_filters_commute_with_linear_terms() {
    let (fine, coarse) = (grid(128), grid(64));
    let w = grf::grf_hat(&fine, GrfParams::default(), 3);
    let flow = LesFlow::default();
    for filter in [Filter::Cutoff, Filter::Gaussian] {
        let same = Restriction::new(&fine, &fine, filter).unwrap();
        let once = same.filtered(&w);
        let twice = same.filtered(&once);
        let gap = max_diff_hat(&once, &twice) / max_norm_hat(&once);
        match filter {
            Filter::Cutoff => assert!(gap < 1e-15, "T² ≠ T: {gap:e}"),
            // the Gaussian is not a projection: it must visibly differ
            Filter::Gaussian => assert!(gap > 1e-3, "Gaussian applied twice unchanged: {gap:e}"),
        }
        // T(Lω) = L(Tω) with L = νΔ − α, each on its own grid
        let down = Restriction::new(&fine, &coarse, filter).unwrap();
        let linear = |g: &Grid, h: &[C64]| -> Vec<C64> {
            h.iter()
                .zip(&g.k2)
                .map(|(c, k2)| c * -(flow.nu * TAU * TAU * k2 + flow.drag))
                .collect()
        };
        let a = down.filtered(&linear(&fine, &w));
        let b = linear(&coarse, &down.filtered(&w));
        let gap = max_diff_hat(&a, &b) / max_norm_hat(&a);
        assert!(
            gap < 1e-13,
            "{filter}: filter and linear terms do not commute: {gap:e}"
        );
        // nothing survives outside the coarse grid's dealiased modes
        for (s, c) in b.iter().enumerate() {
            if !coarse.dealias[s] {
                assert_eq!(*c, C64::default());
            }
        }
    }
}

#[test]
fn coarse_run_fed_the_true_subgrid_term_tracks_the_filtered_dns() {
    // every LES grid the case offers, the cut at that grid's own dealiasing limit
    for les_n in [32, 48, 64] {
        let flow = LesFlow {
            dns_n: 128,
            les_n,
            scheme: Scheme::Reference,
            dt: 1e-4,
            ..Default::default()
        };
        let g = grid(flow.dns_n);
        let w0 = flow.perturbed_laminar(&g, 4);
        let mut dns = FilteredDns::new(flow, &w0, 0.0).unwrap();
        let lg = dns.les_grid().clone();
        assert_eq!(lg.n, les_n);
        let start = lg.to_physical(dns.bar_hat());
        let mut les = Simulation::new(lg.clone(), flow.les_params(), &start, 0.0, 0).unwrap();
        let mut bare = Simulation::new(lg.clone(), flow.les_params(), &start, 0.0, 0).unwrap();
        for _ in 0..150 {
            dns.step().unwrap();
            les.step_with_closure_hat(Some(dns.pi_hat())).unwrap();
            bare.step().unwrap();
        }
        let scale = max_norm_hat(dns.bar_hat());
        let err = max_diff_hat(les.omega_hat(), dns.bar_hat()) / scale;
        assert!(
            err < 1e-12,
            "{les_n}² LES fed the true Π drifts from the filtered DNS: {err:e}"
        );
        let err_bare = max_diff_hat(bare.omega_hat(), dns.bar_hat()) / scale;
        assert!(
            err_bare > 1e-5,
            "the {les_n}² LES without closure should drift: {err_bare:e}"
        );
    }
}

#[test]
fn exact_drain_members_drain_what_the_mean_drains() {
    use closure_lab::les::learn::drain::DrainPlane;
    let g = grid(32);
    let bar_hat = resolved_field(&g, 5);
    let bar = g.to_physical(&bar_hat);
    let mut psi_hat = g.zeros_hat();
    g.poisson_hat(&bar_hat, &mut psi_hat);
    let psi = g.to_physical(&psi_hat);
    let plane = DrainPlane::new(&g, &bar_hat);
    assert_eq!(plane.dim(), 2);
    // a field with a known component along ω̄ loses exactly that component
    let other = g.to_physical(&resolved_field(&g, 6));
    let mut f: Vec<f64> = other.iter().zip(&bar).map(|(o, b)| o + 3.0 * b).collect();
    let zero = vec![0.0; f.len()];
    plane.take_drain_from(&zero, &mut f);
    let along = |f: &[f64], b: &[f64]| stats::enstrophy_transfer(f, b);
    assert!(along(&f, &bar).abs() < 1e-12 * along(&bar, &bar).abs());
    assert!(along(&f, &psi).abs() < 1e-12 * along(&psi, &psi).abs());
    // nothing outside the plane changes: what goes is 3ω̄ and what `other` had in it
    let expect = plane.components(&other);
    let removed: Vec<f64> = other.iter().zip(&f).map(|(o, x)| o - x).collect();
    let got = plane.components(&removed);
    for (a, b) in got.iter().zip(&expect) {
        assert!(
            (a - b).abs() < 1e-10 * (1.0 + b.abs()),
            "{got:?} vs {expect:?}"
        );
    }
    // members take the mean's transfers, to round-off; P_Z of the mean is not that of
    // the member before the projection
    let mean: Vec<f64> = bar
        .iter()
        .zip(&other)
        .map(|(b, o)| -0.4 * b + 0.1 * o)
        .collect();
    for seed in 10..14 {
        let mut member = g.to_physical(&resolved_field(&g, seed));
        let before = along(&member, &bar);
        plane.take_drain_from(&mean, &mut member);
        let (pz, pz_mean) = (along(&member, &bar), along(&mean, &bar));
        let (pe, pe_mean) = (along(&member, &psi), along(&mean, &psi));
        assert!((before - pz_mean).abs() > 1e-3 * pz_mean.abs());
        assert!(
            (pz - pz_mean).abs() < 1e-12 * pz_mean.abs(),
            "{pz} vs {pz_mean}"
        );
        assert!(
            (pe - pe_mean).abs() < 1e-12 * pe_mean.abs(),
            "{pe} vs {pe_mean}"
        );
    }
    // a zero state has nothing to drain: members pass unchanged
    let flat = DrainPlane::new(&g, &g.zeros_hat());
    assert_eq!(flat.dim(), 0);
    let mut m = other.clone();
    flat.take_drain_from(&mean, &mut m);
    assert_eq!(m, other);
}

#[test]
fn closures_compare_over_seeds_with_paired_intervals() {
    use closure_lab::les::compare::{MeanSe, PER_STEP, Paired, Score, markdown, summarize};
    use closure_lab::les::eval::LesRow;
    use std::collections::BTreeMap;
    let m = MeanSe::of(&[1.0, 2.0, 3.0, f64::NAN]);
    assert_eq!(m.n, 3);
    assert!((m.mean - 2.0).abs() < 1e-15 && (m.se - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
    // differences 1, 2, 3, 4, 5 (seed 9 unpaired): mean 3, se √(2.5/5), t(4, 0.975) = 2.776445
    let a: BTreeMap<u64, f64> = (1..=5)
        .map(|s| (s, 10.0 + 2.0 * s as f64))
        .chain([(9, 0.0)])
        .collect();
    let b: BTreeMap<u64, f64> = (1..=5).map(|s| (s, 10.0 + s as f64)).collect();
    let p = Paired::of(&a, &b).unwrap();
    let half = 2.776445105 * (0.5f64).sqrt();
    assert_eq!(p.n, 5);
    assert!((p.mean - 3.0).abs() < 1e-12);
    assert!((p.lo - (3.0 - half)).abs() < 1e-6 && (p.hi - (3.0 + half)).abs() < 1e-6);
    assert!(p.decided());
    // one pair: no interval
    assert!(Paired::of(&[(1, 1.0)].into(), &[(1, 0.0)].into()).is_none());
    // a hand-made table of three seeds: the closure beats none on E(k) by 0.1 ± 0.01
    let row = |seed: u64, closure: &str, e: f64| LesRow {
        spectral_rmse_e: e,
        spectral_rmse_z: e,
        w1_omega: if closure == "none" {
            0.5
        } else {
            0.5 + 0.01 * seed as f64 - 0.02
        },
        energy_dns: 2.0,
        blowups: u32::from(seed == 3 && closure == "none"),
        ..hand_row(seed, closure)
    };
    let rows: Vec<LesRow> = (1..=3)
        .flat_map(|s| {
            let e = 0.3 + 0.01 * s as f64;
            [
                row(s, "none", e),
                row(s, "smagorinsky", e - 0.1 - 0.01 * (s as f64 - 2.0)),
            ]
        })
        .collect();
    let summary = summarize(&rows);
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (
            summary[0].closure.as_str(),
            summary[0].runs,
            summary[0].blowups
        ),
        ("none", 3, 1)
    );
    assert!(
        summary[0].paired.is_empty(),
        "none is not paired with itself"
    );
    assert!((summary[0].energy_ratio.mean - 0.5).abs() < 1e-15);
    let smag = &summary[1];
    let e = smag
        .paired
        .iter()
        .find(|(r, s, _)| r == "none" && *s == Score::SpectralRmseE)
        .unwrap()
        .2;
    assert!((e.mean + 0.1).abs() < 1e-12 && e.decided() && e.hi < 0.0);
    // W1 differences −0.01, 0, 0.01: the interval holds 0
    let w = smag
        .paired
        .iter()
        .find(|(_, s, _)| *s == Score::W1Omega)
        .unwrap()
        .2;
    assert!(w.mean.abs() < 1e-12 && !w.decided());
    // no deterministic FNO in the table: no pairing against it
    assert!(smag.paired.iter().all(|(r, _, _)| r == "none"));
    // a closure drawn every 10 steps is paired with the same closure and model drawn
    // every step (and with none); another model's per-step rows are not its reference
    let learned = |seed: u64, closure: &str, model: &str, e: f64| LesRow {
        model: Some(model.into()),
        ..row(seed, closure, e)
    };
    let mut rows = rows;
    for s in 1..=3u64 {
        let e = 0.2 + 0.01 * s as f64;
        rows.push(learned(s, "learned-stochastic", "a", e));
        rows.push(learned(s, "learned-stochastic+held10", "a", e + 0.05));
        rows.push(learned(s, "learned-stochastic", "b", e + 1.0));
    }
    let summary = summarize(&rows);
    let held = summary
        .iter()
        .find(|x| x.closure == "learned-stochastic+held10")
        .unwrap();
    let d = held
        .paired
        .iter()
        .find(|(r, s, _)| r == PER_STEP && *s == Score::SpectralRmseE)
        .unwrap()
        .2;
    assert!((d.mean - 0.05).abs() < 1e-12 && d.n == 3, "{d:?}");
    let table = markdown(&summary);
    assert!(table.contains("ΔE − per-step"), "{table}");
    // a closure whose flow latent is correlated in time is paired with the white one
    for s in 1..=3u64 {
        let e = 0.2 + 0.01 * s as f64;
        rows.push(learned(s, "learned-stochastic+ar0.05", "a", e - 0.03));
    }
    let summary = summarize(&rows);
    let ar = summary
        .iter()
        .find(|x| x.closure == "learned-stochastic+ar0.05")
        .unwrap();
    let d = ar
        .paired
        .iter()
        .find(|(r, s, _)| r == PER_STEP && *s == Score::SpectralRmseE)
        .unwrap()
        .2;
    assert!((d.mean + 0.03).abs() < 1e-12 && d.n == 3, "{d:?}");
    assert!(
        summary
            .iter()
            .filter(|x| x.closure == "learned-stochastic")
            .all(|x| x.paired.iter().all(|(r, _, _)| r != PER_STEP)),
        "a per-step closure has no per-step reference"
    );
    // a closure tied to a mean is paired with the same model untied (held with held)
    use closure_lab::les::compare::UNTIED;
    for s in 1..=3u64 {
        let e = 0.2 + 0.01 * s as f64;
        rows.push(learned(s, "learned-stochastic+fluctuations", "a", e - 0.02));
        rows.push(learned(
            s,
            "learned-stochastic+exact-drain+held10",
            "a",
            e + 0.08,
        ));
    }
    let summary = summarize(&rows);
    let untied = |closure: &str| {
        summary
            .iter()
            .find(|x| x.closure == closure)
            .unwrap()
            .paired
            .iter()
            .find(|(r, s, _)| r == UNTIED && *s == Score::SpectralRmseE)
            .map(|p| p.2)
    };
    let d = untied("learned-stochastic+fluctuations").unwrap();
    assert!((d.mean + 0.02).abs() < 1e-12 && d.n == 3, "{d:?}");
    let d = untied("learned-stochastic+exact-drain+held10").unwrap();
    assert!((d.mean - 0.03).abs() < 1e-12 && d.n == 3, "{d:?}");
    assert!(untied("learned-stochastic").is_none());
    assert!(markdown(&summary).contains("ΔE − untied"));
}

#[test]
fn laminar_kolmogorov_flow_is_a_steady_state() {
    for scheme in [Scheme::Reference, Scheme::Etdrk4] {
        let flow = LesFlow {
            nu: 0.05,
            scheme,
            dt: 1e-3,
            ..Default::default()
        };
        let g = grid(64);
        let lam = flow.laminar(&g);
        let mut sim = Simulation::new(g.clone(), flow.dns_params(), &lam, 0.0, 0).unwrap();
        sim.advance(1000).unwrap();
        let err = sim
            .omega()
            .iter()
            .zip(&lam)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            / metrics::max_abs(&lam);
        assert!(err < 1e-11, "{scheme}: laminar state moved by {err:e}");
        // and it is not trivially zero: amplitude A/(ν(2πk_f)² + α)
        let k = TAU * flow.k_f as f64;
        let amp = flow.amplitude / (flow.nu * k * k + flow.drag);
        assert!((metrics::max_abs(&lam) - amp).abs() < 1e-9 * amp);
    }
}

#[test]
fn drag_decays_a_single_mode_at_its_rate() {
    let g = grid(32);
    let alpha = 0.7;
    let w0: Vec<f64> = (0..g.phys_len())
        .map(|i| (TAU * 3.0 * g.coords(i).0).cos())
        .collect();
    for (scheme, tol) in [(Scheme::Etdrk4, 1e-12), (Scheme::Reference, 1e-6)] {
        let flow = LesFlow {
            nu: 0.0,
            drag: alpha,
            amplitude: 0.0,
            scheme,
            dt: 1e-3,
            ..Default::default()
        };
        let mut sim = Simulation::new(g.clone(), flow.dns_params(), &w0, 0.0, 0).unwrap();
        sim.advance(1000).unwrap();
        let expect = (-alpha * sim.t()).exp();
        let got = sim.omega()[0];
        assert!(
            (got - expect).abs() < tol,
            "{scheme}: mode decayed to {got}, expected e^(−αt) = {expect}"
        );
    }
}

fn shear(g: &Grid, amp: f64, k: f64) -> Vec<C64> {
    let w: Vec<f64> = (0..g.phys_len())
        .map(|i| amp * (TAU * k * g.coords(i).1).cos())
        .collect();
    g.to_spectral(&w)
}

#[test]
fn smagorinsky_and_leith_give_their_closed_form_eddy_viscosity() {
    // ω = A cos(2πky): u = −A sin(2πky)/(2πk), v = 0, so |S̄| = |∂u/∂y| = |ω| and
    // |∇ω| = 2πk·A·|sin(2πky)|
    let g = grid(64);
    let (amp, k) = (3.0, 5.0);
    let w = shear(&g, amp, k);
    let delta = 1.0 / 64.0;
    let mut smag = EddyViscosity::new(g.clone(), EddyModel::Smagorinsky { cs: SMAGORINSKY_CS });
    let mut leith = EddyViscosity::new(g.clone(), EddyModel::Leith { cl: LEITH_CL });
    let nu_s = smag.eddy_viscosity(&w).to_vec();
    let nu_l = leith.eddy_viscosity(&w).to_vec();
    let scale_s = (SMAGORINSKY_CS * delta).powi(2) * amp;
    let scale_l = (LEITH_CL * delta).powi(3) * TAU * k * amp;
    for i in 0..g.phys_len() {
        let y = g.coords(i).1;
        let s = scale_s * (TAU * k * y).cos().abs();
        let l = scale_l * (TAU * k * y).sin().abs();
        assert!(
            (nu_s[i] - s).abs() < 1e-10 * scale_s,
            "Smagorinsky ν_t at {i}"
        );
        assert!((nu_l[i] - l).abs() < 1e-10 * scale_l, "Leith ν_t at {i}");
    }
}

#[test]
fn dynamic_coefficient_known_cases() {
    let g = grid(64);
    let mut dynamic = EddyViscosity::new(g.clone(), EddyModel::DynamicSmagorinsky);
    // a single shear mode carries no resolved flux across the test filter: C = 0
    dynamic.eddy_viscosity(&shear(&g, 2.0, 3.0));
    assert!(
        dynamic.coefficient().abs() < 1e-12,
        "shear: C = {}",
        dynamic.coefficient()
    );
    // on a broadband field C is positive, independent of the amplitude (L and M are both
    // quadratic), and of the order of Lilly's C_s² ≈ 0.03
    let w = resolved_field(&g, 11);
    dynamic.eddy_viscosity(&w);
    let c1 = dynamic.coefficient();
    let scaled: Vec<C64> = w.iter().map(|c| c * 7.5).collect();
    dynamic.eddy_viscosity(&scaled);
    let c2 = dynamic.coefficient();
    assert!(c1 > 1e-4 && c1 < 1.0, "C = {c1}");
    assert!(
        (c1 - c2).abs() < 1e-10 * c1,
        "C changed with amplitude: {c1} vs {c2}"
    );
}

#[test]
fn eddy_viscosity_closures_drain_energy_and_enstrophy() {
    let g = grid(64);
    let models = [
        EddyModel::Smagorinsky { cs: SMAGORINSKY_CS },
        EddyModel::Leith { cl: LEITH_CL },
        EddyModel::DynamicSmagorinsky,
    ];
    let mut pi = g.zeros_hat();
    for seed in 0..3 {
        let w = resolved_field(&g, 20 + seed);
        let omega = g.to_physical(&w);
        let psi_hat: Vec<C64> = w.iter().zip(&g.lap).map(|(c, l)| c / l).collect();
        let psi = g.to_physical(&psi_hat);
        for model in models {
            let mut m = EddyViscosity::new(g.clone(), model);
            m.subgrid_hat(&w, &mut pi);
            let p = g.to_physical(&pi);
            // the LES subtracts Π: tendencies −⟨Π ω̄⟩ and −⟨Π ψ⟩
            let dz = stats::enstrophy_transfer(&p, &omega);
            let de = stats::enstrophy_transfer(&p, &psi);
            // the dynamic model may clip its coefficient to 0 (then it does nothing)
            let clipped = m.coefficient() == 0.0;
            assert!(
                dz < 0.0 || clipped && dz == 0.0,
                "{model:?} seed {seed}: dZ/dt {dz}"
            );
            assert!(
                de < 0.0 || clipped && de == 0.0,
                "{model:?} seed {seed}: dE/dt {de}"
            );
        }
    }
}

#[test]
fn les_scores_on_hand_made_inputs() {
    let reference = [0.0, 1.0, 2.0, 4.0];
    let doubled = [0.0, 2.0, 4.0, 8.0];
    assert!(stats::spectral_rmse(&reference, &reference, 3) == 0.0);
    assert!((stats::spectral_rmse(&doubled, &reference, 3) - 1.0).abs() < 1e-15);
    // only shells 1..=kmax count
    assert!((stats::spectral_rmse(&[9.0, 1.0, 2.0, 8.0], &reference, 2)).abs() < 1e-15);
    let a: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
    let shifted: Vec<f64> = a.iter().map(|v| v + 0.25).collect();
    assert!((stats::wasserstein1(&a, &shifted) - 0.25).abs() < 1e-12);
    assert!(stats::wasserstein1(&a, &a) == 0.0);
    let affine: Vec<f64> = a.iter().map(|v| 2.0 * v + 1.0).collect();
    assert!((stats::correlation(&a, &affine) - 1.0).abs() < 1e-12);
    let neg: Vec<f64> = a.iter().map(|v| -v).collect();
    assert!((stats::correlation(&a, &neg) + 1.0).abs() < 1e-12);
    assert!((stats::rel_l2(&shifted, &shifted)).abs() < 1e-15);
    assert!((stats::rel_l2(&[0.0, 0.0], &[3.0, 4.0]) - 1.0).abs() < 1e-15);
    // Π = ω̄ drains enstrophy everywhere; Π = −ω̄ feeds it everywhere
    assert_eq!(stats::backscatter_fraction(&a, &a), 0.0);
    let frac = stats::backscatter_fraction(&neg, &a);
    let nonzero = a.iter().filter(|v| **v != 0.0).count() as f64 / a.len() as f64;
    assert!((frac - nonzero).abs() < 1e-15);
    assert!(stats::enstrophy_transfer(&a, &a) < 0.0);
}

fn small_job(
    trajectories: usize,
    shard: Option<closure_lab::les::data::Shard>,
) -> closure_lab::les::data::LesDataSpec {
    closure_lab::les::data::LesDataSpec {
        flow: LesFlow {
            dns_n: 128,
            ..Default::default()
        },
        trajectories,
        spin_up: 0.1,
        duration: 0.05,
        every: 0.025,
        seed: 3,
        shard,
    }
}

#[test]
fn shards_merge_into_the_file_of_one_run_and_gaps_or_overlaps_are_errors() {
    use closure_lab::les::data::{Shard, generate, merge, read};
    use std::sync::atomic::AtomicBool;
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let never = AtomicBool::new(false);
    let quiet = |_: u64, _: u64| {};
    generate(&small_job(3, None), &p("all.h5"), &quiet, &never).unwrap();
    for i in 0..2 {
        let shard = Some(Shard { index: i, count: 2 });
        generate(
            &small_job(3, shard),
            &p(&format!("s{i}.h5")),
            &quiet,
            &never,
        )
        .unwrap();
    }
    assert_eq!(
        merge(&[p("s1.h5"), p("s0.h5")], &p("merged.h5")).unwrap(),
        3
    );
    let (spec_all, all) = read(&p("all.h5")).unwrap();
    let (spec_merged, merged) = read(&p("merged.h5")).unwrap();
    assert_eq!(spec_all, spec_merged);
    assert_eq!(all, merged, "merged shards differ from a single run");
    assert!(
        all.iter().all(|t| t.pi.iter().any(|v| *v != 0.0)),
        "Π is stored"
    );
    // a missing shard and an overlap are named
    let gap = merge(&[p("s0.h5")], &p("gap.h5")).unwrap_err().to_string();
    assert!(
        gap.contains("trajectory 1") && gap.contains("missing"),
        "{gap}"
    );
    let twice = merge(&[p("s0.h5"), p("s0.h5")], &p("twice.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        twice.contains("trajectory 0") && twice.contains("overlapping"),
        "{twice}"
    );
    assert!(!p("gap.h5").exists() && !p("twice.h5").exists());
    // shards of another job do not merge
    let other = closure_lab::les::data::LesDataSpec {
        seed: 4,
        ..small_job(3, Some(Shard { index: 1, count: 2 }))
    };
    generate(&other, &p("other.h5"), &quiet, &never).unwrap();
    let mixed = merge(&[p("s0.h5"), p("other.h5")], &p("mixed.h5"))
        .unwrap_err()
        .to_string();
    assert!(mixed.contains("seed"), "{mixed}");
}

#[test]
fn resume_refuses_the_parts_of_a_different_job() {
    use closure_lab::les::data::generate;
    use std::sync::atomic::AtomicBool;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.h5");
    // an interrupted job leaves its parts folder with its spec
    let stopped = AtomicBool::new(true);
    assert!(generate(&small_job(2, None), &out, &|_, _| {}, &stopped).is_err());
    assert!(dir.path().join("d.h5.parts/spec.json").exists());
    let other = closure_lab::les::data::LesDataSpec {
        seed: 9,
        ..small_job(2, None)
    };
    let never = AtomicBool::new(false);
    let e = generate(&other, &out, &|_, _| {}, &never)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("different job") && e.contains("seed: 3 → 9"),
        "{e}"
    );
    let grid = closure_lab::les::data::LesDataSpec {
        flow: LesFlow {
            dns_n: 256,
            ..Default::default()
        },
        ..small_job(2, None)
    };
    let e = generate(&grid, &out, &|_, _| {}, &never)
        .unwrap_err()
        .to_string();
    assert!(e.contains("flow.dns_n: 128 → 256"), "{e}");
    // the same job resumes and finishes
    generate(&small_job(2, None), &out, &|_, _| {}, &never).unwrap();
    assert!(out.exists() && !dir.path().join("d.h5.parts").exists());
}

#[test]
fn fluctuation_members_have_the_means_mean_and_a_draws_spread() {
    use closure_lab::les::learn::drain::{DrainPlane, MeanTie};
    let g = grid(16);
    let plane = DrainPlane::new(&g, &resolved_field(&g, 5));
    let mean = g.to_physical(&resolved_field(&g, 7));
    // the generator's own mean is biased away from the deterministic one
    let bias: Vec<f64> = g
        .to_physical(&resolved_field(&g, 8))
        .iter()
        .map(|b| 3.0 * b)
        .collect();
    let k = 3000;
    let noise = |i: u64| g.to_physical(&grf::grf_hat(&g, GrfParams::default(), 1000 + i));
    let draws: Vec<Vec<f64>> = (0..2 * k as u64)
        .map(|i| noise(i).iter().zip(&bias).map(|(z, b)| z + b).collect())
        .collect();
    assert_eq!(MeanTie::Fluctuations.draws(k), 2 * k);
    let members = MeanTie::Fluctuations.members(&plane, &mean, draws.clone());
    assert_eq!(members.len(), k);
    let want = plane.components(&mean);
    for m in &members {
        for (a, b) in plane.components(m).iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-9 * (1.0 + b.abs()),
                "plane part {a} vs {b}"
            );
        }
    }
    let n2 = mean.len();
    let avg = |fs: &[Vec<f64>]| -> Vec<f64> {
        (0..n2)
            .map(|p| fs.iter().map(|f| f[p]).sum::<f64>() / fs.len() as f64)
            .collect()
    };
    let var = |fs: &[Vec<f64>]| -> f64 {
        let a = avg(fs);
        (0..n2)
            .map(|p| fs.iter().map(|f| (f[p] - a[p]).powi(2)).sum::<f64>() / (fs.len() - 1) as f64)
            .sum::<f64>()
    };
    // the members' mean is the deterministic mean, not the generator's (within sampling
    // error); the exact-drain members keep the generator's bias outside the plane
    let rms = |a: &[f64], b: &[f64]| {
        (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n2 as f64).sqrt()
    };
    let spread = (var(&draws) / n2 as f64).sqrt();
    let off = rms(&avg(&members), &mean);
    assert!(
        off < 3.0 * spread / (k as f64).sqrt(),
        "mean off by {off}, spread {spread}"
    );
    let exact = MeanTie::ExactDrain.members(&plane, &mean, draws[..k].to_vec());
    let off_exact = rms(&avg(&exact), &mean);
    assert!(
        off_exact > 10.0 * off,
        "exact drain keeps the bias: {off_exact} vs {off}"
    );
    // and their spread is a draw's outside the plane
    let zero = vec![0.0; n2];
    let off_plane: Vec<Vec<f64>> = draws[..k]
        .iter()
        .map(|d| {
            let mut d = d.clone();
            plane.take_drain_from(&zero, &mut d);
            d
        })
        .collect();
    let ratio = var(&members) / var(&off_plane);
    assert!((0.93..1.07).contains(&ratio), "variance ratio {ratio}");
    // two equal draws give the mean itself
    let same = vec![draws[0].clone(), draws[0].clone()];
    let m = MeanTie::Fluctuations.members(&plane, &mean, same);
    assert!(rms(&m[0], &mean) < 1e-12 * spread);
}

/// `les-eval --summarize … --against …`: the same closures and seeds under two settings
/// (a halved dt), paired by closure and seed, on a hand-made table.
#[test]
fn rows_under_another_setting_pair_by_closure_and_seed() {
    use closure_lab::les::compare::{against, shifts_markdown};
    use closure_lab::les::eval::LesRow;
    let row = |seed: u64, closure: &str, e: f64| LesRow {
        spectral_rmse_e: e,
        spectral_rmse_z: e,
        w1_omega: 0.1,
        ..hand_row(seed, closure)
    };
    // baseline: seeds 1…4, E = 0.2, 0.3, 0.4, 0.5 (mean 0.35, se √(1/240) ≈ 0.065)
    let baseline: Vec<LesRow> = (1..=4)
        .flat_map(|s| {
            let e = 0.1 + 0.1 * s as f64;
            [row(s, "none", e), row(s, "leith", e)]
        })
        .collect();
    // the other setting: seeds 1…3 only, none moved by +0.05 each, leith by −0.1, −0.1, +0.1
    let rows: Vec<LesRow> = (1..=3)
        .flat_map(|s| {
            let e = 0.1 + 0.1 * s as f64;
            let d = if s == 3 { 0.1 } else { -0.1 };
            [
                row(s, "none", e + 0.05),
                row(s, "leith", e + d),
                row(s, "oracle", e),
            ]
        })
        .collect();
    let shifts = against(&rows, &baseline);
    assert!(
        shifts.iter().all(|x| x.closure != "oracle"),
        "a closure the baseline lacks is left out"
    );
    let e = |c: &str| {
        shifts
            .iter()
            .find(|x| x.closure == c && x.score == "E(k) RMSE")
            .unwrap()
    };
    let none = e("none");
    assert_eq!((none.this.n, none.baseline.n), (3, 4));
    assert!((none.baseline.mean - 0.35).abs() < 1e-12);
    // the paired mean shift +0.05 over the baseline's se √(1/240) (its seed-to-seed scale)
    assert!((none.this.mean - 0.35).abs() < 1e-12);
    assert!((none.shift_over_se - 0.05 / (1.0f64 / 240.0).sqrt()).abs() < 1e-9);
    let p = none.paired.unwrap();
    assert!((p.mean - 0.05).abs() < 1e-12 && p.n == 3 && p.decided());
    let leith = e("leith").paired.unwrap();
    assert!((leith.mean + 0.1 / 3.0).abs() < 1e-12 && !leith.decided());
    let energy = shifts
        .iter()
        .find(|x| x.closure == "none" && x.score == "energy ÷ DNS")
        .unwrap();
    assert_eq!(energy.paired.unwrap().mean, 0.0);
    let table = shifts_markdown(&shifts);
    assert!(
        table.contains("| 2.0e-4 | 32² | none | E(k) RMSE | 0.350 ± 0.065 (4) |"),
        "{table}"
    );
}

/// Two models of one learned closure (`les-eval --model A,B`): B is paired by seed with
/// A, the first model, on a hand-made table; A has no such reference.
#[test]
fn a_second_model_of_a_closure_is_paired_with_the_first() {
    use closure_lab::les::compare::{FIRST_MODEL, Score, markdown, summarize};
    use closure_lab::les::eval::LesRow;
    let row = |seed: u64, model: &str, w1: f64| LesRow {
        model: Some(model.into()),
        w1_omega: w1,
        ..hand_row(seed, "learned-stochastic")
    };
    let rows: Vec<LesRow> = (1..=3)
        .flat_map(|s| {
            let w = 0.1 * s as f64;
            [row(s, "dear", w), row(s, "mixed", w + 0.02)]
        })
        .collect();
    let summary = summarize(&rows);
    assert!(summary[0].paired.iter().all(|(r, _, _)| r != FIRST_MODEL));
    let p = summary[1]
        .paired
        .iter()
        .find(|(r, s, _)| r == FIRST_MODEL && *s == Score::W1Omega)
        .unwrap()
        .2;
    assert!((p.mean - 0.02).abs() < 1e-12 && p.n == 3 && p.decided());
    assert!(markdown(&summary).contains("ΔW1 − first model"));
}

/// A table holding mean + noise pairs every other closure with it too (claim 1 names
/// both the FNO and mean + noise as the closures to beat).
#[test]
fn a_stochastic_closure_is_paired_with_mean_noise_when_the_table_holds_it() {
    use closure_lab::les::compare::{Score, summarize};
    use closure_lab::les::eval::LesRow;
    let row = |seed: u64, closure: &str, e: f64| LesRow {
        spectral_rmse_e: e,
        model: (closure != "none").then(|| format!("{closure}-model")),
        ..hand_row(seed, closure)
    };
    let rows: Vec<LesRow> = (1..=4)
        .flat_map(|s| {
            let e = 0.3 + 0.02 * s as f64;
            [
                row(s, "none", e),
                row(s, "mean-noise", e - 0.1),
                row(s, "learned-stochastic", e - 0.15 + 0.001 * s as f64),
            ]
        })
        .collect();
    let summary = summarize(&rows);
    let find = |closure: &str| summary.iter().find(|x| x.closure == closure).unwrap();
    let vs_mn = |closure: &str| {
        find(closure)
            .paired
            .iter()
            .find(|(r, s, _)| r == "mean-noise" && *s == Score::SpectralRmseE)
            .map(|p| p.2)
    };
    let p = vs_mn("learned-stochastic").expect("paired with mean + noise");
    assert!((p.mean + 0.0475).abs() < 1e-12 && p.decided(), "{p:?}");
    assert!(vs_mn("mean-noise").is_none(), "not paired with itself");
    assert!(vs_mn("none").is_some());
}

/// A hand-made `les-eval` row: seed and closure, every score 0.2, energies equal to the
/// DNS's; tests change the fields they are about.
fn hand_row(seed: u64, closure: &str) -> closure_lab::les::eval::LesRow {
    closure_lab::les::eval::LesRow {
        seed,
        closure: closure.into(),
        model: None,
        nu: 2e-4,
        dns_n: 256,
        les_n: 32,
        filter: closure_lab::les::Filter::Cutoff,
        cc: 0.0,
        rel_l2: 0.0,
        p_z: -1.0,
        p_z_true: -2.0,
        p_z_run: None,
        backscatter: 0.0,
        crps: 0.0,
        spread_skill: None,
        spectral_rmse_e: 0.2,
        spectral_rmse_z: 0.2,
        w1_omega: 0.2,
        energy: 1.0,
        enstrophy: 1.0,
        energy_dns: 1.0,
        enstrophy_dns: 1.0,
        blowups: 0,
        coefficient: None,
        t_run: 1.0,
        samples: 1,
    }
}

/// A closure's name in rows is written and read by one type: every combination of tie,
/// hold and memory reads back to its parts, and the references it is paired with drop
/// the memory (else the hold) and the tie.
#[test]
fn closure_names_read_back_into_their_parts() {
    use closure_lab::les::learn::drain::MeanTie;
    use closure_lab::les::name::ClosureName;
    use strum::IntoEnumIterator;
    for base in ["none", "smagorinsky", "learned-stochastic", "mean-noise"] {
        for tie in std::iter::once(None).chain(MeanTie::iter().map(Some)) {
            for held in [None, Some(10)] {
                for memory in [None, Some(0.05), Some(2.5e-4)] {
                    let name = ClosureName::new(base, tie, held, memory);
                    let p = name.parts();
                    assert_eq!((p.base, p.tie, p.held, p.memory), (base, tie, held, memory));
                    let json = serde_json::to_string(&name).unwrap();
                    assert_eq!(json, format!("\"{name}\""), "stored as its string");
                    assert_eq!(serde_json::from_str::<ClosureName>(&json).unwrap(), name);
                    let per_step = name.per_step().map(|n| n.parts().held);
                    match (memory, held) {
                        (Some(_), _) => assert_eq!(per_step.unwrap(), held),
                        (None, Some(_)) => assert_eq!(per_step.unwrap(), None),
                        (None, None) => assert!(per_step.is_none()),
                    }
                    assert_eq!(name.untied().is_some(), tie.is_some());
                    if let Some(u) = name.untied() {
                        let q = u.parts();
                        assert_eq!(
                            (q.base, q.tie, q.held, q.memory),
                            (base, None, held, memory)
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        ClosureName::from("learned-stochastic+fluctuations+held10").to_string(),
        "learned-stochastic+fluctuations+held10"
    );
}
