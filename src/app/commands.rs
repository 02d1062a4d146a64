//! One command enum drives buttons, menus and keyboard shortcuts (rerun's pattern). The
//! regions of the window return commands from their `ui()`; the app applies them once
//! per frame ([`super::ClosureLabApp::apply`]).

use eframe::egui::{Key, KeyboardShortcut, Modifiers};

use super::export::PanelAction;
use crate::experiment::Panel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    PlayPause,
    Step,
    StepMany,
    Reset,
    NewSeed,
    Screenshot,
    SavePanel,
    CopyPanel,
    Record,
    ToggleSensors,
    LockRange,
    ShowShortcuts,
    ShowAbout,
    ResetEverything,
    /// Switch to the preset with this id (keeps the grid).
    SelectPreset(crate::experiment::presets::PresetId),
    /// Save or copy this panel as an image.
    PanelImage(Panel, PanelAction),
    /// The settings changed: apply them to the running experiment (live or restart).
    ApplySettings,
    /// The closure's compute device changed: load the models again, then restart.
    ReloadModels,
    /// Forget the messages shown in the status bar.
    ClearMessages,
    /// Open a closure model file (native dialog) and offer it in the model picker.
    OpenModel,
    /// Save the preset and every setting as an experiment spec (TOML) that `render
    /// --config` and `posterior --config` run.
    SaveExperiment,
    /// Open an experiment spec and run it.
    OpenExperiment,
}

impl Command {
    /// Order matters for shortcuts: egui matches Ctrl+P also when Shift is held, so the
    /// Shift variants come first and consume their key press.
    pub const ALL: [Command; 17] = [
        Command::OpenExperiment,
        Command::SaveExperiment,
        Command::Screenshot,
        Command::CopyPanel,
        Command::SavePanel,
        Command::Record,
        Command::PlayPause,
        Command::Step,
        Command::StepMany,
        Command::Reset,
        Command::NewSeed,
        Command::ToggleSensors,
        Command::LockRange,
        Command::ShowShortcuts,
        Command::ShowAbout,
        Command::ResetEverything,
        Command::OpenModel,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Command::PlayPause => "Play / pause",
            Command::Step => "Single step",
            Command::StepMany => "Advance 100 steps",
            Command::Reset => "Reset (same seed)",
            Command::NewSeed => "New seed",
            Command::Screenshot => "Save window screenshot",
            Command::SavePanel => "Save panel image",
            Command::CopyPanel => "Copy panel image",
            Command::Record => "Start / stop recording",
            Command::ToggleSensors => "Show sensors",
            Command::LockRange => "Lock colour range",
            Command::ShowShortcuts => "Keyboard shortcuts",
            Command::ShowAbout => "About this model",
            Command::ResetEverything => "Reset everything",
            Command::SelectPreset(_) => "Select preset",
            Command::PanelImage(_, PanelAction::Save) => "Save this panel…",
            Command::PanelImage(_, PanelAction::Copy) => "Copy this panel",
            Command::ApplySettings => "Apply settings",
            Command::ReloadModels => "Reload models",
            Command::ClearMessages => "Clear messages",
            Command::OpenModel => "Open model…",
            Command::SaveExperiment => "Save experiment…",
            Command::OpenExperiment => "Open experiment…",
        }
    }

    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        let k = |key| Some(KeyboardShortcut::new(Modifiers::NONE, key));
        match self {
            Command::PlayPause => k(Key::Space),
            Command::Step => k(Key::Period),
            Command::StepMany => k(Key::N),
            Command::Reset => k(Key::R),
            Command::NewSeed => k(Key::S),
            Command::Screenshot => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::P,
            )),
            Command::SavePanel => Some(KeyboardShortcut::new(Modifiers::COMMAND, Key::P)),
            Command::CopyPanel => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::C,
            )),
            Command::Record => Some(KeyboardShortcut::new(Modifiers::COMMAND, Key::R)),
            Command::ToggleSensors => k(Key::O),
            Command::LockRange => k(Key::L),
            Command::OpenModel => Some(KeyboardShortcut::new(Modifiers::COMMAND, Key::O)),
            Command::SaveExperiment => Some(KeyboardShortcut::new(Modifiers::COMMAND, Key::S)),
            Command::OpenExperiment => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::O,
            )),
            Command::ShowShortcuts => k(Key::F1),
            Command::ShowAbout
            | Command::ResetEverything
            | Command::SelectPreset(_)
            | Command::PanelImage(..)
            | Command::ApplySettings
            | Command::ReloadModels
            | Command::ClearMessages => None,
        }
    }
}
