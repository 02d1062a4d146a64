//! The learned closure's sampling controls: steps, sampler, sampling range, ensemble,
//! resample cadence, waiting for draws, and what the model's calibration covers.

use crate::les::learn::drain::MeanTie;
use eframe::egui::{self, RichText};

use super::controls::{ControlsContext, WARN};
use super::settings::Settings;
use crate::closure::sampler::Sampler;
use crate::experiment::{LearnedModel, limits};

/// How the learned closure is sampled: steps, sampler, range, ensemble, cadence.
pub(super) fn sampling_ui(ui: &mut egui::Ui, s: &mut Settings, cx: &ControlsContext) {
    let e = &mut s.experiment;
    let steps = limits::SAMPLING_STEPS;
    let flow = e.sampler == Sampler::Flow;
    let range = if flow {
        crate::closure::flow::FLOW_STEPS
    } else {
        steps.range()
    };
    ui.add(
        egui::Slider::new(&mut e.sampling_steps, range)
            .logarithmic(!flow)
            .text(steps.name),
    );
    let nfe = e.sampler.nfe(e.sampling_steps);
    ui.label(format!(
        "{nfe} network evaluation{} per sample · {}",
        if nfe == 1 { "" } else { "s" },
        cx.latency_ms.map_or("latency —".to_string(), |l| format!(
            "{l:.0} ms per ensemble"
        ))
    ));
    let name = |s: Sampler| match s {
        Sampler::EulerMaruyama => "Euler–Maruyama (SDE)",
        Sampler::Heun => "Heun (ODE)",
        Sampler::Flow => "flow (1–2 steps, distilled)",
    };
    let has_flow = cx.compute.learned(s).is_some_and(LearnedModel::has_flow);
    let e = &mut s.experiment;
    let before = e.sampler;
    egui::ComboBox::from_label("sampler")
        .selected_text(name(e.sampler))
        .show_ui(ui, |ui| {
            for sm in [Sampler::Flow, Sampler::EulerMaruyama, Sampler::Heun] {
                if sm == Sampler::Flow && !has_flow {
                    continue;
                }
                ui.selectable_value(&mut e.sampler, sm, name(sm));
            }
        });
    if e.sampler == Sampler::Flow && !has_flow {
        // a model without a flow generator: fall back to the published sampler
        e.sampler = Sampler::EulerMaruyama;
    }
    if e.sampler != before {
        // each kind at its calibrated default step count
        e.sampling_steps = e.sampler.default_steps();
    }
    let t = limits::T_START;
    // a model may fix its own sampling range (docs/science.md §7.1)
    let (sampler, steps) = (e.sampler, e.sampling_steps);
    let learned = cx.compute.learned(s);
    let own = learned.and_then(|m| m.sample_range(sampler));
    let coverage = learned.map(|m| m.coverage(sampler, steps));
    let e = &mut s.experiment;
    let flow = e.sampler == Sampler::Flow;
    let slider = ui.add_enabled(
        own.is_none() && !flow,
        egui::Slider::new(&mut e.t_start, t.range())
            .logarithmic(true)
            .text(t.name),
    );
    if flow {
        slider.on_disabled_hover_text(
            "the flow generator runs its own path from noise (t = 0) to a sample (t = 1): \
             no diffusion start time",
        );
    } else if let Some([hi, lo]) = own {
        slider.on_disabled_hover_text(format!(
            "this model samples over its own range t = {hi} … {lo}"
        ));
    }
    if let Some(c) = coverage {
        calibrated_steps_ui(ui, c, e);
    }
    let k = limits::ENSEMBLE;
    ui.add(egui::Slider::new(&mut e.ensemble, k.range()).text(k.name));
    let r = limits::RESAMPLE_EVERY;
    ui.add(
        egui::Slider::new(&mut e.resample_every, r.range())
            .logarithmic(true)
            .text(r.name),
    );
    if e.flow.def().closes_subgrid_term() {
        tie_ui(ui, &mut e.tie);
    }
    let mut dont_wait = !e.blocking;
    ui.checkbox(&mut dont_wait, "don't wait for the closure")
        .on_hover_text(
            "off (default): the runs wait for every fresh sample, so a draw is used for exactly \
             the set interval — the published protocol; the pace then follows the sampler. \
             On: the runs go on with the held draw until the next arrives; faster, but each \
             draw is then held for as many steps as the sampler takes (see the readout)",
        );
    e.blocking = !dont_wait;
    let t = cx.draw_timing;
    if let Some(held) = t.held {
        let text = format!(
            "each draw held for {held} steps (set {}; longest {}) · in use for {} steps",
            e.resample_every,
            t.max_held.unwrap_or(held),
            t.age.unwrap_or(0)
        );
        let late = held > e.resample_every;
        ui.label(if late {
            RichText::new(text).color(WARN)
        } else {
            RichText::new(text)
        })
        .on_hover_text(
            "the resample interval actually achieved: steps between two fresh draws. Above \
             the set interval the sampler cannot keep up and the model run uses stale draws",
        );
    }
}

/// Flags a step count no spread-inflation table of the model was fitted at, naming the
/// table used instead, with a button back to its count; or a sampler kind without tables
/// of its own.
fn calibrated_steps_ui(
    ui: &mut egui::Ui,
    coverage: crate::closure::inflation::Coverage,
    e: &mut crate::experiment::ExperimentConfig,
) {
    use crate::closure::inflation::Coverage;
    let name = |s: Sampler| match s {
        Sampler::EulerMaruyama => "Euler–Maruyama",
        Sampler::Heun => "Heun",
        Sampler::Flow => "flow",
    };
    let used_at = |k: Option<usize>| k.map_or("its".to_owned(), |k| format!("the {k}-step"));
    let (text, back) = match coverage {
        Coverage::Fitted | Coverage::None => return,
        Coverage::NearestSteps { used, fitted } => {
            let fitted: Vec<String> = fitted.iter().map(usize::to_string).collect();
            (
                format!(
                    "spread calibrated at {} steps; at {} {} table is used",
                    fitted.join(", "),
                    e.sampling_steps,
                    used_at(Some(used))
                ),
                Some(used),
            )
        }
        Coverage::Borrowed { kind, steps } => (
            format!(
                "spread calibrated for {} only; {} borrows {} table",
                name(kind),
                name(e.sampler),
                used_at(steps)
            ),
            None,
        ),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(text).color(WARN)).on_hover_text(
            "the per-shell spread inflation carries the sampler's own variance error at the \
             step count it was fitted at: at other step counts the ensemble is narrower or \
             wider than calibrated (README, Measured numbers, \"Step counts\")",
        );
        if let Some(k) = back
            && ui.small_button(format!("use {k}")).clicked()
        {
            e.sampling_steps = k;
        }
    });
}

/// The subgrid closure's tie to the shipped FNO (what each choice is, and what it measured).
fn tie_ui(ui: &mut egui::Ui, tie: &mut Option<MeanTie>) {
    let name = |t: Option<MeanTie>| match t {
        None => "untied (the generator's own mean)",
        Some(MeanTie::ExactDrain) => "exact drain",
        Some(MeanTie::Fluctuations) => "FNO + fluctuations",
    };
    egui::ComboBox::from_label("members tied to the FNO")
        .selected_text(name(*tie))
        .show_ui(ui, |ui| {
            for t in [None, Some(MeanTie::ExactDrain), Some(MeanTie::Fluctuations)] {
                ui.selectable_value(tie, t, name(t));
            }
        })
        .response
        .on_hover_text(TIE_HELP);
}

const TIE_HELP: &str = "untied: each member is a draw of the stochastic model as it is. \
    exact drain: every member takes its components along ω̄ and ψ̄ from the shipped \
    deterministic FNO, so its enstrophy and energy transfer P_Z, P_E equal the FNO's; the \
    rest is the generator's (whose own mean is biased). FNO + fluctuations: the FNO plus the \
    difference of two draws over √2, projected off span{ω̄, ψ̄}: the FNO's mean and drain, \
    a draw's spread; twice the draws. Measured scores: README, subgrid section.";
