//! The controls on the left: transport, recording and export, the experiment's settings
//! (ranges from [`crate::experiment::limits`]) and the view. Sliders edit the settings in
//! place; everything else comes back as [`Command`]s.

use eframe::egui::{self, Color32, RichText};

use super::commands::Command;
use super::compute::Compute;
use super::settings::{
    Backend, ModelId, RangeMode, RecordFormat, Settings, Slot, limits as app_limits,
};
use crate::closure::sensors::density_label;
use crate::experiment::presets::PresetId;
use crate::experiment::{ClosureMode, Panel, limits};
use crate::render::Colormap;
use crate::solver::Case;

/// What the controls show but do not own.
pub struct ControlsContext<'a> {
    pub playing: bool,
    /// The recording's progress while one runs.
    pub recording: Option<&'a str>,
    pub dialog_open: bool,
    pub latency_ms: Option<f64>,
    /// How long the learned draws are held (the achieved resample interval).
    pub draw_timing: crate::experiment::DrawTiming,
    pub compute: &'a Compute,
    pub adapter: &'a str,
}

pub const WARN: Color32 = Color32::from_rgb(200, 140, 0);

/// Draw the controls; returns the commands the user gave.
pub(crate) fn controls_ui(
    ui: &mut egui::Ui,
    s: &mut Settings,
    cx: &ControlsContext,
) -> Vec<Command> {
    let before = s.clone();
    let mut out = Vec::new();
    header_ui(ui, s, cx);
    transport_ui(ui, cx, &mut out);
    ui.separator();
    experiment_ui(ui, s, cx, &mut out);
    ui.separator();
    egui::CollapsingHeader::new("Record and export")
        .default_open(false)
        .show(ui, |ui| {
            record_ui(ui, s, cx, &mut out);
            export_ui(ui, s, cx, &mut out);
        });
    egui::CollapsingHeader::new("View")
        .default_open(true)
        .show(ui, |ui| view_ui(ui, s, cx));
    ui.separator();
    ui.label(RichText::new(&cx.compute.device_note).small());
    ui.label(RichText::new(&cx.compute.model_note).small());
    ui.label(RichText::new(cx.adapter).small());
    if s.backend != before.backend {
        out.push(Command::ReloadModels);
    } else if *s != before {
        out.push(Command::ApplySettings);
    }
    out
}

fn button(ui: &mut egui::Ui, text: &str, hover: &str, c: Command, out: &mut Vec<Command>) {
    if ui.button(text).on_hover_text(hover).clicked() {
        out.push(c);
    }
}

/// What is on screen: the preset the runs started from, what the three runs are, and
/// whether they are running.
fn header_ui(ui: &mut egui::Ui, s: &Settings, cx: &ControlsContext) {
    ui.heading(crate::experiment::presets::get(s.preset).title);
    let e = &s.experiment;
    let term = e.term();
    let grid = e.flow.def().run_name();
    let closed = match e.closure {
        ClosureMode::Learned => format!("the learned stochastic {term}"),
        ClosureMode::Oracle => format!("the true {term} (oracle)"),
        ClosureMode::Off => "nothing (closure off)".into(),
        m => format!("the {} closure", m.label()),
    };
    ui.label(format!(
        "Three runs from one state: the truth, a {grid} run closed by {closed}, and the \
         {grid} run without closure."
    ));
    let (text, colour) = if cx.playing {
        ("Running".to_string(), ui.visuals().text_color())
    } else {
        ("Paused: press Play (Space)".to_string(), WARN)
    };
    ui.label(RichText::new(text).color(colour).strong());
}

fn transport_ui(ui: &mut egui::Ui, cx: &ControlsContext, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let play = if cx.playing { "Pause" } else { "Play" };
        for (text, c) in [
            (play, Command::PlayPause),
            ("Step", Command::Step),
            ("+100", Command::StepMany),
            ("Reset", Command::Reset),
            ("New seed", Command::NewSeed),
        ] {
            button(ui, text, c.label(), c, out);
        }
    });
}

fn record_ui(ui: &mut egui::Ui, s: &mut Settings, cx: &ControlsContext, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let label = match cx.recording {
            Some(p) => format!("Stop recording ({p})"),
            None => "Record".to_string(),
        };
        let hover = "the panels chosen below, one frame per interval of simulation time";
        button(ui, &label, hover, Command::Record, out);
        egui::ComboBox::from_label("format")
            .selected_text(s.record_format.to_string())
            .show_ui(ui, |ui| {
                for f in RecordFormat::ALL {
                    ui.selectable_value(&mut s.record_format, f, f.to_string());
                }
            });
        let every = app_limits::RECORD_EVERY;
        ui.add(
            egui::DragValue::new(&mut s.record_every)
                .range(every.range())
                .speed(0.01)
                .suffix(" s"),
        )
        .on_hover_text("simulation time between frames");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut s.record_titles, "titles")
            .on_hover_text("a title over each panel, the time over the first");
        ui.checkbox(&mut s.record_colorbars, "colorbars")
            .on_hover_text("each panel with its colorbar and unit (as a saved panel image)");
    });
    ui.add_enabled_ui(cx.recording.is_none(), |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label("record");
            for p in Panel::ALL {
                let on = s.record_panels.contains(&p);
                if ui.selectable_label(on, p.id()).clicked() {
                    if on {
                        s.record_panels.retain(|q| *q != p);
                    } else {
                        s.record_panels.push(p);
                    }
                }
            }
        });
    });
}

fn export_ui(ui: &mut egui::Ui, s: &mut Settings, cx: &ControlsContext, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("export-panel")
            .selected_text(s.export_panel.id())
            .show_ui(ui, |ui| {
                for p in Panel::ALL {
                    ui.selectable_value(&mut s.export_panel, p, p.id());
                }
            })
            .response
            .on_hover_text("panel saved or copied as an image (right-click any panel, too)");
        for &k in app_limits::EXPORT_SCALE.values {
            ui.selectable_value(&mut s.export_scale, k, format!("{k}×"))
                .on_hover_text("image pixels per grid point");
        }
    });
    ui.horizontal(|ui| {
        for (text, c) in [
            ("Save panel", Command::SavePanel),
            ("Copy panel", Command::CopyPanel),
            ("Window shot", Command::Screenshot),
        ] {
            button(ui, text, c.label(), c, out);
        }
    });
    ui.checkbox(&mut s.save_dialog, "ask where to save")
        .on_hover_text("native save dialog; untick to save straight into the export folder");
    if cx.dialog_open {
        ui.label(RichText::new("save dialog open …").italics());
    }
    ui.horizontal(|ui| {
        let label = ui.label("export folder");
        ui.text_edit_singleline(&mut s.export_dir)
            .labelled_by(label.id);
    });
    let pace = app_limits::STEPS_PER_SECOND;
    ui.add(
        egui::Slider::new(&mut s.steps_per_second, pace.range())
            .logarithmic(true)
            .text("steps / s"),
    )
    .on_hover_text("pace of the simulation thread while playing (it never waits for the window)");
}

/// Case row: G and H of the published flow, Π of the subgrid flow (switching flows
/// loads that flow's preset).
fn case_ui(ui: &mut egui::Ui, s: &mut Settings, out: &mut Vec<Command>) {
    let e = &mut s.experiment;
    let published = e.flow.def().has_cases();
    ui.horizontal_wrapped(|ui| {
        ui.label("Case");
        for (case, text, preset) in [
            (Case::G, "G: νΔω + 2σξ", PresetId::PaperG),
            (Case::H, "H: −u·∇ω + σξ", PresetId::PaperH),
        ] {
            if ui
                .selectable_label(published && e.case == case, text)
                .clicked()
            {
                if published {
                    e.case = case;
                } else {
                    out.push(Command::SelectPreset(preset));
                }
            }
        }
        let les = ui
            .selectable_label(!published, "Π: subgrid (LES)")
            .on_hover_text(
                "Kolmogorov flow: a DNS filtered to the LES grid against large-eddy runs on it",
            );
        if les.clicked() && published {
            out.push(Command::SelectPreset(PresetId::Les));
        }
    });
}

fn experiment_ui(
    ui: &mut egui::Ui,
    s: &mut Settings,
    cx: &ControlsContext,
    out: &mut Vec<Command>,
) {
    case_ui(ui, s, out);
    let e = &mut s.experiment;
    ui.horizontal_wrapped(|ui| {
        ui.label("Closure");
        for mode in ClosureMode::offered(e.flow) {
            ui.selectable_value(&mut e.closure, mode, mode.label());
        }
    });
    if e.closure == ClosureMode::Learned {
        model_picker_ui(ui, s, cx, out);
    }
    let e = &mut s.experiment;
    if e.flow.def().closes_subgrid_term() {
        subgrid_ui(ui, s);
        if s.experiment.closure == ClosureMode::Learned {
            super::sampling::sampling_ui(ui, s, cx);
        }
    } else {
        if e.closure == ClosureMode::Learned {
            sensors_ui(ui, e);
            super::sampling::sampling_ui(ui, s, cx);
        } else {
            ui.label(RichText::new(not_learned_note(e.closure, e.term())).weak());
        }
        let e = &mut s.experiment;
        nu_slider(ui, &mut e.nu);
        egui::ComboBox::from_label(limits::GRID.name)
            .selected_text(format!("{0}×{0}", e.n))
            .show_ui(ui, |ui| {
                for &k in limits::GRID.values {
                    ui.selectable_value(&mut e.n, k, format!("{k}×{k}"));
                }
            });
    }
    if let Some(w) = model_warning(s, cx) {
        ui.label(RichText::new(w).color(WARN));
    }
}

/// Why the sensor and sampler controls are not shown in a mode without a learned closure.
fn not_learned_note(mode: ClosureMode, term: &str) -> String {
    match mode {
        ClosureMode::Oracle => format!(
            "the oracle closure reads the true {term} off the truth each step: no sensors, \
             sampler or ensemble (choose \"learned\" for those)"
        ),
        _ => format!(
            "closure {}: the model run gets no {term}; sensors, sampler and ensemble belong \
             to the learned closure",
            mode.label()
        ),
    }
}

fn sensors_ui(ui: &mut egui::Ui, e: &mut crate::experiment::ExperimentConfig) {
    egui::ComboBox::from_label("sensors")
        .selected_text(density_label(e.sensors))
        .show_ui(ui, |ui| {
            for &k in limits::SENSORS.values.iter().filter(|&&k| k <= e.n) {
                ui.selectable_value(&mut e.sensors, k, density_label(k));
            }
        })
        .response
        .on_hover_text("s×s point readings of the true closure; none: the closure sees ω only");
}

/// The viscosity slider (log scale, range from the limits).
fn nu_slider(ui: &mut egui::Ui, nu: &mut f64) -> egui::Response {
    let l = limits::NU;
    ui.add(
        egui::Slider::new(nu, l.range())
            .logarithmic(true)
            .text(l.name)
            .custom_formatter(|v, _| format!("{v:.1e}")),
    )
}

/// The subgrid flow's own settings: ν, the LES grid and the DNS grid.
fn subgrid_ui(ui: &mut egui::Ui, s: &mut Settings) {
    let les_n = s.experiment.n;
    subgrid_grids_ui(ui, s);
    if s.experiment.n != les_n {
        // a subgrid model knows one LES grid: take the one shipped for the new grid
        s.model.set(Slot::Subgrid, ModelId::Default);
    }
}

/// [`subgrid_ui`]'s equation, ν and grids.
fn subgrid_grids_ui(ui: &mut egui::Ui, s: &mut Settings) {
    let e = &mut s.experiment;
    ui.label(
        RichText::new(format!(
            "∂ω/∂t + u·∇ω = νΔω − αω + A cos 8πy;  LES on {0}²: … − Π, Π = T[u·∇ω] − N_{0}(ω̄)",
            e.n
        ))
        .small(),
    );
    nu_slider(ui, &mut e.nu).on_hover_text(format!(
        "les-eval scores ν = {:?}; a smaller ν needs a finer DNS",
        crate::les::NU_CHOICES
    ));
    ui.horizontal(|ui| {
        egui::ComboBox::from_label(limits::LES_GRID.name)
            .selected_text(format!("{0}×{0}", e.n))
            .show_ui(ui, |ui| {
                for &k in limits::LES_GRID.values {
                    ui.add_enabled_ui(crate::les::grids_compatible(e.dns_n, k), |ui| {
                        ui.selectable_value(&mut e.n, k, format!("{k}×{k}"));
                    });
                }
            })
            .response
            .on_hover_text(
                "the runs shown; the filter keeps what this grid resolves after dealiasing, \
                 so on a coarser grid Π carries more of the flow. A learned model knows the \
                 LES grid it was trained on (others are flagged below)",
            );
        egui::ComboBox::from_label(limits::DNS_GRID.name)
            .selected_text(format!("{0}×{0}", e.dns_n))
            .show_ui(ui, |ui| {
                for &k in limits::DNS_GRID.values {
                    ui.add_enabled_ui(crate::les::grids_compatible(k, e.n), |ui| {
                        ui.selectable_value(&mut e.dns_n, k, format!("{k}×{k}"));
                    });
                }
            })
            .response
            .on_hover_text("the truth: at least twice the LES grid");
    });
    yardstick_ui(ui, e);
}

/// Which LES runs beside the others as the yardstick of the chosen closure.
fn yardstick_ui(ui: &mut egui::Ui, e: &mut crate::experiment::ExperimentConfig) {
    use crate::experiment::Yardstick;
    let fno =
        crate::les::learn::shipped::has(crate::les::learn::model::LesKind::Deterministic, e.n);
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("yardstick")
            .selected_text(e.yardstick.label())
            .show_ui(ui, |ui| {
                ui.selectable_value(
                    &mut e.yardstick,
                    Yardstick::Smagorinsky,
                    Yardstick::Smagorinsky.label(),
                );
                ui.add_enabled_ui(fno, |ui| {
                    ui.selectable_value(&mut e.yardstick, Yardstick::Fno, Yardstick::Fno.label())
                })
                .response
                .on_disabled_hover_text(format!("no deterministic FNO is shipped for {0}²", e.n));
            })
            .response
            .on_hover_text(
                "a fourth LES from the same start, drawn in the spectrum plot beside the \
                 chosen closure: Smagorinsky, or the shipped deterministic FNO of this LES \
                 grid (Π from its own state every step; the conditional mean the \
                 stochastic closure is scored against)",
            );
        if e.yardstick == Yardstick::Fno && !fno {
            ui.label(RichText::new(format!("no FNO for {0}²: Smagorinsky runs", e.n)).weak());
        }
    });
}

/// The learned model of the current case: shipped ones, then files opened this session.
fn model_picker_ui(
    ui: &mut egui::Ui,
    s: &mut Settings,
    cx: &ControlsContext,
    out: &mut Vec<Command>,
) {
    let slot = Slot::of(&s.experiment);
    let choices = cx.compute.choices(slot);
    let shown = cx.compute.pick(s).map(|(id, _)| id.clone());
    ui.horizontal(|ui| {
        let mut picked = shown.clone();
        egui::ComboBox::from_label("model")
            .selected_text(
                shown
                    .as_ref()
                    .map_or_else(|| "—".into(), ToString::to_string),
            )
            .width(190.0)
            .show_ui(ui, |ui| {
                for c in &choices {
                    ui.selectable_value(&mut picked, Some(c.clone()), c.to_string())
                        .on_hover_text(String::from(c.clone()));
                }
            });
        if let Some(picked) = picked.filter(|p| Some(p) != shown.as_ref()) {
            s.model.set(slot, picked);
            // a new model needs the runs started again (the spin-up is cached)
            out.push(Command::Reset);
        }
        button(
            ui,
            "Open…",
            "Open a model file (.bpk with its .json card) and add it to this list",
            Command::OpenModel,
            out,
        );
    });
}

/// Why the learned closure may not be what the user expects, if it may not.
fn model_warning(s: &Settings, cx: &ControlsContext) -> Option<String> {
    let e = &s.experiment;
    if e.closure != ClosureMode::Learned {
        return None;
    }
    let slot = Slot::of(e);
    match cx.compute.learned(s) {
        Some(m) => {
            let why = m.out_of_distribution(e);
            (!why.is_empty()).then(|| {
                format!(
                    "⚠ outside the model's training data: {}. Its samples may be wrong \
                     without looking wrong.",
                    why.join("; ")
                )
            })
        }
        None if cx.compute.loading() => Some(
            "loading the learned model onto the GPU; the model run has no closure until then"
                .into(),
        ),
        None => Some(format!(
            "⚠ no learned model for {slot}: the model run gets no closure"
        )),
    }
}

fn view_ui(ui: &mut egui::Ui, s: &mut Settings, cx: &ControlsContext) {
    let z = app_limits::UI_SCALE;
    ui.add(
        egui::Slider::new(&mut s.ui_scale, z.range())
            .step_by(0.05)
            .text(z.name),
    )
    .on_hover_text("zoom of the whole window; Ctrl + / Ctrl − / Ctrl 0 too");
    egui::ComboBox::from_label("ω colour map")
        .selected_text(s.diverging.name())
        .show_ui(ui, |ui| {
            for c in Colormap::DIVERGING {
                ui.selectable_value(&mut s.diverging, c, c.name());
            }
        });
    egui::ComboBox::from_label("spread/error map")
        .selected_text(s.sequential.name())
        .show_ui(ui, |ui| {
            for c in Colormap::SEQUENTIAL {
                ui.selectable_value(&mut s.sequential, c, c.name());
            }
        });
    ui.horizontal(|ui| {
        ui.label("ω range");
        ui.selectable_value(&mut s.range_mode, RangeMode::Auto, "auto");
        ui.selectable_value(&mut s.range_mode, RangeMode::Quantile, "99 %");
        ui.selectable_value(&mut s.range_mode, RangeMode::Locked, "locked");
    });
    ui.checkbox(&mut s.show_sensors, "show sensors");
    ui.add_enabled(
        cx.compute.shader,
        egui::Checkbox::new(&mut s.gpu_colormap, "colour maps on the GPU (WGSL shader)"),
    )
    .on_disabled_hover_text("needs the wgpu renderer");
    ui.horizontal(|ui| {
        ui.label("closure on");
        ui.selectable_value(&mut s.backend, Backend::Auto, "auto")
            .on_hover_text("GPU when the adapter is a real GPU, else CPU");
        ui.selectable_value(&mut s.backend, Backend::Cpu, "CPU");
        ui.add_enabled_ui(cx.compute.has_wgpu(), |ui| {
            ui.selectable_value(&mut s.backend, Backend::Gpu, "GPU")
                .on_hover_text("burn on eframe's wgpu device (slow on a software adapter)");
        });
    });
}
