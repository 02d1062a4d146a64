//! `les-eval --resolution`: is the DNS grid fine enough? The same spun-up state run on the
//! DNS grid and on a finer one, compared after filtering to the LES grid.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::eval::{Accum, LesEvalOptions, spin_up_reporting};
use super::filter::{cutoff_wavenumber, embed};
use super::{FilteredDns, LesFlow, check_cancel, stats};
use crate::solver::{Grid, SolverError};

/// The resolution check of one ν: the same spun-up state run on the DNS grid and on a
/// finer one, compared after filtering to the LES grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolutionRow {
    pub nu: f64,
    pub dns_n: usize,
    pub fine_n: usize,
    pub t_run: f64,
    /// relative L2 distance of the filtered fields at `at[i]` time units after the start
    pub at: Vec<f64>,
    pub field_gap: Vec<f64>,
    /// normalised spectral RMSE between the two runs' time-mean filtered spectra
    pub spectral_rmse_e: f64,
    pub spectral_rmse_z: f64,
    /// time-mean rms of Π and enstrophy transfer −⟨Πω̄⟩ of each run
    pub pi_rms: [f64; 2],
    pub p_z: [f64; 2],
    /// time-mean fraction of enstrophy above 2/3 of each grid's Nyquist wavenumber
    pub tail: [f64; 2],
}

/// Run the resolution check for one ν (`opts.dns_n` against `fine_n`).
pub(crate) fn resolution_nu(
    opts: &LesEvalOptions,
    nu: f64,
    fine_n: usize,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<ResolutionRow, SolverError> {
    let flow = opts.flow(nu);
    let (w, t0) = spin_up_reporting(&flow, opts, progress, cancel)?;
    let base = Grid::new(flow.dns_n)?;
    let fine_grid = Grid::new(fine_n)?;
    let fine_w = fine_grid.to_physical(&embed(&base, &base.to_spectral(&w), &fine_grid));
    let fine_flow = LesFlow {
        dns_n: fine_n,
        ..flow
    };
    let mut runs = [
        FilteredDns::new(flow, &w, t0)?,
        FilteredDns::new(fine_flow, &fine_w, t0)?,
    ];
    let lg = runs[0].les_grid().clone();
    let at = [0.1, 0.25, 0.5, 1.0];
    let mut gaps = Vec::new();
    let mut acc = [Accum::default(), Accum::default()];
    let (mut pi_rms, mut p_z, mut tail) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    let steps = (opts.t_run / flow.dt).round() as u64;
    let every = ((opts.sample_every / flow.dt).round() as u64).max(1);
    for step in 1..=steps {
        for r in runs.iter_mut() {
            r.step()?;
        }
        progress(1);
        check_cancel(cancel)?;
        let t = step as f64 * flow.dt;
        if at.iter().any(|a| (a - t).abs() < 0.5 * flow.dt) {
            let (a, b) = (
                lg.to_physical(runs[0].bar_hat()),
                lg.to_physical(runs[1].bar_hat()),
            );
            gaps.push(stats::rel_l2(&a, &b));
        }
        if step % every != 0 {
            continue;
        }
        for (i, r) in runs.iter().enumerate() {
            acc[i].add(&lg, r.bar_hat());
            let pi = lg.to_physical(r.pi_hat());
            let bar = lg.to_physical(r.prev_bar_hat());
            pi_rms[i] += stats::rms(&pi);
            p_z[i] += stats::enstrophy_transfer(&pi, &bar);
            let (_, z) = stats::spectra(r.dns.grid(), r.dns.omega_hat());
            let cut = r.dns.grid().n / 3;
            tail[i] += z[cut..].iter().sum::<f64>() / z.iter().sum::<f64>();
        }
    }
    let kmax = cutoff_wavenumber(lg.n) as usize;
    let ns = acc[0].samples.max(1) as f64;
    let mean = |v: [f64; 2]| [v[0] / ns, v[1] / ns];
    Ok(ResolutionRow {
        nu,
        dns_n: flow.dns_n,
        fine_n,
        t_run: opts.t_run,
        at: at.iter().copied().filter(|a| *a <= opts.t_run).collect(),
        field_gap: gaps,
        spectral_rmse_e: stats::spectral_rmse(
            &acc[0].mean(&acc[0].e),
            &acc[1].mean(&acc[1].e),
            kmax,
        ),
        spectral_rmse_z: stats::spectral_rmse(
            &acc[0].mean(&acc[0].z),
            &acc[1].mean(&acc[1].z),
            kmax,
        ),
        pi_rms: mean(pi_rms),
        p_z: mean(p_z),
        tail: mean(tail),
    })
}
