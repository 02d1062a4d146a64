//! One command enum drives buttons, menus and keyboard shortcuts (rerun's pattern).

use eframe::egui::{Key, KeyboardShortcut, Modifiers};

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
}

impl Command {
    /// Order matters for shortcuts: egui matches Ctrl+P also when Shift is held, so the
    /// Shift variants come first and consume their key press.
    pub const ALL: [Command; 14] = [
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
            Command::ShowShortcuts => k(Key::F1),
            Command::ShowAbout => None,
            Command::ResetEverything => None,
        }
    }
}
