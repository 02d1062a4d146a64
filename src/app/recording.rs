//! In-app recording: the chosen panels side by side (by default truth | with | without,
//! the published animation), one frame every `every` seconds of simulation time, colour
//! scales over the whole recording (frames are kept until Stop, then coloured and encoded). It runs as an observer on the simulation thread, so frames
//! are taken at exact simulation times however slowly the window repaints.

use std::path::{Path, PathBuf};

use crate::experiment::runner::{Observer, Snapshot};
use crate::experiment::{Experiment, Panel};
use crate::render::record::Movie;

use super::settings::{RecordFormat, Settings};

pub struct Recording {
    movie: Movie,
    next_t: f64,
    every: f64,
    path: PathBuf,
}

impl Recording {
    /// A recording of the settings' panels into the export folder, starting now.
    pub fn start(s: &Settings, snap: &Snapshot) -> Result<Self, String> {
        let f = &snap.fields;
        let name = format!("closure-lab-{}-t{:.2}", s.preset, f.t);
        let dir = Path::new(&s.export_dir);
        let path = match s.record_format {
            RecordFormat::Gif => dir.join(format!("{name}.gif")),
            RecordFormat::Mp4 => dir.join(format!("{name}.mp4")),
            RecordFormat::Png => dir.join(format!("{name}/")),
        };
        let panels: Vec<Panel> = Panel::ALL
            .into_iter()
            .filter(|p| s.record_panels.contains(p))
            .collect();
        if panels.is_empty() {
            return Err("choose at least one panel to record (the row under Record)".into());
        }
        let scale = (256 / f.n).max(1);
        let movie = Movie::new(
            &path,
            10.0,
            &panels,
            snap.config.panels(),
            (s.diverging, s.sequential),
            scale,
            s.record_titles,
            s.record_colorbars,
        )
        .map_err(|e| e.to_string())?;
        Ok(Recording {
            movie,
            next_t: f.t,
            every: s.record_every,
            path,
        })
    }
}

impl Observer for Recording {
    fn observe(&mut self, exp: &mut Experiment) -> Result<(), String> {
        if exp.t() + 1e-9 < self.next_t {
            return Ok(());
        }
        self.movie
            .push(&exp.fields(None))
            .map_err(|e| format!("recording to {} stopped: {e}", self.path.display()))?;
        self.next_t += self.every;
        Ok(())
    }

    fn progress(&self) -> String {
        format!("{} frames", self.movie.frames())
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        let frames = self.movie.frames();
        self.movie
            .finish(|_, _| {})
            .map(|p| {
                format!(
                    "saved {} ({frames} frames, colour scales over all of them)",
                    p.display()
                )
            })
            .map_err(|e| e.to_string())
    }
}
