//! The plots along the bottom: ω error with and without closure, closure error and
//! ensemble spread, energy and enstrophy, and the energy spectrum — all against the
//! same simulation time axis. Each run has one colour in every plot (and in the key above
//! them); no legend sits on the data.

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Line, Plot, PlotPoints, VLine};

use crate::experiment::runner::Snapshot;
use crate::experiment::{History, Run, Yardstick};

/// The plots, left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlotId {
    Error,
    Closure,
    Energy,
    Spectrum,
}

/// Colours from the Okabe–Ito palette (distinct under the common colour-vision
/// deficiencies): one per run, then the closure diagnostics.
pub fn run_colour(r: Run) -> Color32 {
    match r {
        Run::Truth => Color32::from_rgb(0x00, 0x9E, 0x73),
        Run::With => Color32::from_rgb(0xD5, 0x5E, 0x00),
        Run::Without => Color32::from_rgb(0x00, 0x72, 0xB2),
        Run::Yardstick(Yardstick::Smagorinsky) => Color32::from_rgb(0xCC, 0x79, 0xA7),
        Run::Yardstick(Yardstick::Fno) => Color32::from_rgb(0xF0, 0xE4, 0x42),
    }
}

/// One line of a plot.
pub struct Series {
    pub plot: PlotId,
    pub name: String,
    /// The run the line belongs to (`None`: a closure diagnostic).
    pub run: Option<Run>,
    pub colour: Color32,
    pub dashed: bool,
    pub points: Vec<[f64; 2]>,
}

fn of_run(plot: PlotId, run: Run, name: String, points: Vec<[f64; 2]>) -> Series {
    Series {
        plot,
        name,
        run: Some(run),
        colour: run_colour(run),
        dashed: false,
        points,
    }
}

fn diagnostic(name: &str, colour: Color32, points: Vec<[f64; 2]>) -> Series {
    Series {
        plot: PlotId::Closure,
        name: name.into(),
        run: None,
        colour,
        dashed: false,
        points,
    }
}

/// Every line of every plot from the history and the newest spectra. `show_held`: add
/// the held (stale) draw's error.
pub fn series(h: &History, spectra: Option<&[(Run, Vec<f64>)]>, show_held: bool) -> Vec<Series> {
    let mut out = vec![
        of_run(
            PlotId::Error,
            Run::With,
            Run::With.label().into(),
            h.series(|s| Some(s.d_fro_with)),
        ),
        of_run(
            PlotId::Error,
            Run::Without,
            Run::Without.label().into(),
            h.series(|s| Some(s.d_fro_without)),
        ),
    ];
    // errors span decades (16×16 sensors: 10⁻³ fresh, 10⁻¹ held): log axis
    let lg = |v: Option<f64>| v.filter(|x| *x > 0.0).map(f64::log10);
    out.push(diagnostic(
        "fresh member",
        Color32::from_rgb(0xE6, 0x9F, 0x00),
        h.series(|s| lg(s.fresh_d_fro)),
    ));
    out.push(diagnostic(
        "fresh mean (skill)",
        run_colour(Run::With),
        h.series(|s| lg(s.fresh_skill)),
    ));
    out.push(diagnostic(
        "spread",
        Color32::from_rgb(0x56, 0xB4, 0xE9),
        h.series(|s| lg(s.fresh_spread)),
    ));
    if show_held {
        let mut held = diagnostic(
            "held (stale)",
            Color32::GRAY,
            h.series(|s| lg(s.closure_d_fro)),
        );
        held.dashed = true;
        out.push(held);
    }
    for (k, run) in [Run::Truth, Run::With, Run::Without]
        .into_iter()
        .enumerate()
    {
        out.push(of_run(
            PlotId::Energy,
            run,
            format!("E {}", run.label()),
            h.series(|s| Some(s.energy[k])),
        ));
        let mut z = of_run(
            PlotId::Energy,
            run,
            format!("Z/100 {}", run.label()),
            h.series(|s| Some(s.enstrophy[k] / 100.0)),
        );
        z.dashed = true;
        out.push(z);
    }
    if let Some(spectra) = spectra {
        // 10 decades below the peak: shells emptied by dealiasing or the LES filter hold
        // round-off only
        let top = spectra
            .iter()
            .flat_map(|(_, sp)| sp.iter())
            .fold(0.0f64, |m, v| m.max(*v));
        for (run, sp) in spectra {
            let pts: Vec<[f64; 2]> = sp
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(_, v)| **v > 1e-10 * top)
                .map(|(i, v)| [(i as f64).log10(), v.log10()])
                .collect();
            out.push(of_run(PlotId::Spectrum, *run, run.label().into(), pts));
        }
    }
    out
}

fn line(s: &Series) -> Line<'static> {
    let l = Line::new(s.name.clone(), PlotPoints::from(s.points.clone())).color(s.colour);
    if s.dashed {
        l.style(egui_plot::LineStyle::dashed_loose())
    } else {
        l
    }
}

/// A key entry: a coloured bar and the name.
fn key(ui: &mut egui::Ui, colour: Color32, name: &str, dashed: bool) {
    ui.label(
        RichText::new(if dashed { "╍" } else { "━" })
            .color(colour)
            .strong(),
    );
    ui.label(RichText::new(name).small());
}

/// `card_ratio`: the learned model's a-priori spread/skill at this density and sampler
/// from its card; `show_held` is the setting the closure plot's checkbox edits.
pub(crate) fn plots_ui(
    ui: &mut egui::Ui,
    h: &History,
    snap: Option<&Snapshot>,
    card_ratio: Option<f64>,
    show_held: &mut bool,
) {
    let all = series(h, snap.map(|s| s.spectra.as_slice()), *show_held);
    let runs: Vec<Run> = snap.map_or(vec![Run::Truth, Run::With, Run::Without], |s| {
        s.spectra.iter().map(|(r, _)| *r).collect()
    });
    ui.horizontal_wrapped(|ui| {
        for r in runs {
            key(ui, run_colour(r), r.label(), false);
            ui.add_space(8.0);
        }
        ui.label(RichText::new("· energy: solid E, dashed Z/100").weak());
    });
    // the panel keeps its height (content shorter than the panel would shrink it)
    ui.set_min_height(ui.available_height());
    let link = egui::Id::unique("time-axis");
    // the key row, a title row (two in the closure column) and spacing sit above the
    // plots; leaving less than the panel's height keeps the panel from growing each frame
    let height = (ui.available_height() - 72.0).max(80.0);
    let width = (ui.available_width() / 4.0 - 14.0).max(120.0);
    let plot = |id: &str, x: &str, y: &str| {
        Plot::new(id.to_string())
            .height(height)
            .width(width)
            .x_axis_label(x.to_string())
            .y_axis_label(y.to_string())
    };
    let draw = |p: &mut egui_plot::PlotUi, id: PlotId| {
        for s in all.iter().filter(|s| s.plot == id) {
            p.line(line(s));
        }
    };
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label("D_Fro of ω vs truth");
            plot("err", "t [s]", "D_Fro")
                .link_axis(link, [true, false])
                .show(ui, |p| draw(p, PlotId::Error));
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.horizontal(|ui| {
                ui.label("closure D_Fro (fresh draws)").on_hover_text(
                    "fresh: each new ensemble against the truth's closure of the step it was \
                     drawn for (member, and ensemble mean = skill), with the ensemble spread \
                     on the same scale — calibrated when spread ≈ skill (ratio ≈ 1). The live \
                     ratio is mean spread ÷ mean skill over the draws since the last change of \
                     sensors, ensemble or model (± one standard error of the per-draw \
                     ratios); in the coupled run the closure sees the model run's ω, which \
                     drifts from the truth's, and the ratio includes that drift. The card's \
                     ratio is the a-priori one, measured on the true state for this sampler \
                     and sensor density (closure-lab eval) over 84 held-out states.",
                );
                ui.checkbox(show_held, "held").on_hover_text(
                    "add the sample in use against the current true closure (dashed). The \
                     truth draws new noise every step, so a held sample is stale by \
                     construction: its error is large even for a perfect closure",
                );
            });
            ui.horizontal(|ui| {
                for s in all.iter().filter(|s| s.plot == PlotId::Closure) {
                    key(ui, s.colour, &s.name, s.dashed);
                }
            });
            let p_z = closure_readouts(ui, h, snap, card_ratio);
            plot("closure", "t [s]", "log₁₀ D_Fro")
                .height(height - if p_z { 62.0 } else { 44.0 })
                .link_axis(link, [true, false])
                .show(ui, |p| draw(p, PlotId::Closure));
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label("energy E and enstrophy Z/100");
            plot("energy", "t [s]", "E, Z/100")
                .link_axis(link, [true, false])
                .show(ui, |p| draw(p, PlotId::Energy));
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label("spectrum (dashed: dealiasing limit)");
            plot("spectrum", "log₁₀ k", "log₁₀ E(k)").show(ui, |p| {
                draw(p, PlotId::Spectrum);
                if let Some(s) = snap {
                    let k = crate::solver::grid::dealias_limit(s.fields.n);
                    p.vline(
                        VLine::new(format!("k = {k:.0}"), k.log10())
                            .color(Color32::GRAY)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                }
            });
        });
    });
}

/// The closure column's readouts: the live spread/skill (with the card's a-priori ratio)
/// and, in the subgrid flow, the enstrophy drain of closure and truth. Returns whether the
/// drain line is shown.
fn closure_readouts(
    ui: &mut egui::Ui,
    h: &History,
    snap: Option<&Snapshot>,
    card_ratio: Option<f64>,
) -> bool {
    let live = snap.and_then(|s| s.spread_skill).map_or("—".into(), |r| {
        let pm = r.se.map_or(String::new(), |se| format!(" ± {se:.2}"));
        format!("{:.2}{pm} over {} draws", r.value, r.draws)
    });
    let card = card_ratio.map_or(String::new(), |r| format!(" · card {r:.2}"));
    let learned = snap.is_none_or(|s| s.config.closure == crate::experiment::ClosureMode::Learned);
    ui.label(
        RichText::new(if learned {
            format!("spread/skill {live}{card}")
        } else {
            "no learned closure: nothing to score".into()
        })
        .small(),
    );
    let p_z = h.last().and_then(|s| s.p_z);
    let shown = p_z.is_some();
    if let Some([closure, truth]) = p_z {
        ui.label(
            RichText::new(format!(
                "enstrophy drain P_Z: closure {closure:.1} · true Π {truth:.1}"
            ))
            .small(),
        )
        .on_hover_text(
            "P_Z = −⟨Π ω̄⟩, the subgrid term's share of the resolved enstrophy \
             tendency (negative: a drain to the unresolved scales), of the closure on \
             the LES run with it and of the true Π on the filtered DNS",
        );
    }
    shown
}
