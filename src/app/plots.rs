//! The plots along the bottom: ω error with and without closure, closure error and
//! ensemble spread, energy and enstrophy, and the energy spectrum — all against the
//! same simulation time axis.

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::experiment::History;
use crate::experiment::runner::Snapshot;

fn line(name: &str, pts: Vec<[f64; 2]>) -> Line<'static> {
    Line::new(name.to_string(), PlotPoints::from(pts))
}

/// `card_ratio`: the learned model's a-priori spread/skill at this density from its card.
pub fn plots_ui(ui: &mut egui::Ui, h: &History, snap: Option<&Snapshot>, card_ratio: Option<f64>) {
    let link = egui::Id::unique("time-axis");
    let height = (ui.available_height() - 24.0).max(80.0);
    let width = (ui.available_width() / 4.0 - 8.0).max(120.0);
    let time_plot = |id: &str| {
        Plot::new(id)
            .height(height)
            .width(width)
            .legend(Legend::default())
            .link_axis(link, [true, false])
    };
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.label("D_Fro of ω vs truth");
            time_plot("err").show(ui, |p| {
                p.line(line("with closure", h.series(|s| Some(s.d_fro_with))));
                p.line(line("without", h.series(|s| Some(s.d_fro_without))));
            });
        });
        ui.vertical(|ui| {
            let live = snap
                .and_then(|s| s.spread_skill)
                .map_or(String::new(), |r| format!(" · spread/skill {r:.2}"));
            let card = card_ratio.map_or(String::new(), |r| format!(" (card {r:.2})"));
            ui.label(format!("log₁₀ closure D_Fro{live}{card}"))
                .on_hover_text(
                    "fresh: each new ensemble against the truth's closure of the step it was \
                     drawn for (member, and ensemble mean = skill), with the ensemble spread \
                     on the same scale — calibrated when spread ≈ skill (ratio ≈ 1). In the \
                     coupled run the closure sees the model run's ω, which drifts from the \
                     truth's: the live ratio includes that drift, which the ensemble does not \
                     know about. The a-priori ratio is the model card's, measured on the \
                     true state (closure-lab eval, EM-10, 64²). The shipped models' members \
                     are spread per scale by factors fitted on held-out trajectories \
                     (closure-lab calibrate); an ensemble of one is left as drawn.\n\
                     held: the sample in use against the current true closure; the truth \
                     draws new noise every step, so a held sample is stale by construction.",
                );
            // errors span decades (16×16 sensors: 10⁻³ fresh, 10⁻¹ held): log axis
            let lg = |v: Option<f64>| v.filter(|x| *x > 0.0).map(f64::log10);
            time_plot("closure").show(ui, |p| {
                p.line(line("fresh member", h.series(|s| lg(s.fresh_d_fro))));
                p.line(line("fresh mean (skill)", h.series(|s| lg(s.fresh_skill))));
                p.line(line("spread", h.series(|s| lg(s.fresh_spread))));
                p.line(
                    line("held (stale)", h.series(|s| lg(s.closure_d_fro)))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            });
        });
        ui.vertical(|ui| {
            ui.label("energy (dashed: enstrophy/100)");
            time_plot("energy").show(ui, |p| {
                for (k, name) in ["truth", "with", "without"].iter().enumerate() {
                    p.line(line(&format!("E {name}"), h.series(|s| Some(s.energy[k]))));
                    p.line(
                        line(
                            &format!("Z/100 {name}"),
                            h.series(|s| Some(s.enstrophy[k] / 100.0)),
                        )
                        .style(egui_plot::LineStyle::dashed_loose()),
                    );
                }
            });
        });
        ui.vertical(|ui| {
            ui.label("spectrum log₁₀ S(k) vs log₁₀ k");
            Plot::new("spectrum")
                .height(height)
                .width(width)
                .legend(Legend::default())
                .show(ui, |p| {
                    let Some(snap) = snap else { return };
                    // shells emptied by dealiasing or the LES filter hold round-off only
                    let top = snap
                        .spectra
                        .first()
                        .map_or(0.0, |(_, sp)| sp.iter().fold(0.0f64, |m, v| m.max(*v)));
                    for (name, sp) in &snap.spectra {
                        let pts: Vec<[f64; 2]> = sp
                            .iter()
                            .enumerate()
                            .skip(1)
                            .filter(|(_, v)| **v > 1e-20 * top)
                            .map(|(i, v)| [(i as f64).log10(), v.log10()])
                            .collect();
                        p.line(line(name, pts));
                    }
                });
        });
    });
}
