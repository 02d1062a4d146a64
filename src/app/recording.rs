//! In-app recording: the chosen panels side by side (by default truth | with | without,
//! the published animation), one frame every `every` seconds of simulation time, colours
//! fixed from the first frame. It runs as an observer on the simulation thread, so frames
//! are taken at exact simulation times however slowly the window repaints.

use std::path::{Path, PathBuf};

use crate::experiment::runner::{Observer, Snapshot};
use crate::experiment::{Experiment, Panel};
use crate::render::record::{Recorder, strip, strip_size};
use crate::render::{Colormap, PanelRanges, Range, panel_style};

use super::settings::{RecordFormat, Settings};

pub struct Recording {
    rec: Recorder,
    next_t: f64,
    every: f64,
    frames: usize,
    panels: Vec<(Panel, Range, Colormap)>,
    scale: usize,
    path: PathBuf,
}

impl Recording {
    /// A recording of the settings' panels, styled from the snapshot, into the export
    /// folder.
    pub fn start(s: &Settings, snap: &Snapshot) -> Result<Self, String> {
        let f = &snap.fields;
        let name = format!("closure-lab-{}-t{:.2}", s.preset, f.t);
        let dir = Path::new(&s.export_dir);
        let path = match s.record_format {
            RecordFormat::Gif => dir.join(format!("{name}.gif")),
            RecordFormat::Mp4 => dir.join(format!("{name}.mp4")),
            RecordFormat::Png => dir.join(format!("{name}/")),
        };
        let scale = (256 / f.n).max(1);
        let ranges = PanelRanges::new(f, Range::symmetric_quantile(&[&f.truth], 0.995));
        let panels: Vec<(Panel, Range, Colormap)> = Panel::ALL
            .into_iter()
            .filter(|p| s.record_panels.contains(p))
            .map(|p| {
                let (r, c) = panel_style(p, f.panel(p), &ranges, s.diverging, s.sequential);
                (p, r, c)
            })
            .collect();
        if panels.is_empty() {
            return Err("choose at least one panel to record (the row under Record)".into());
        }
        let size = strip_size(panels.len(), f.n, scale);
        let rec = Recorder::create(&path, 10.0, size).map_err(|e| e.to_string())?;
        Ok(Recording {
            rec,
            next_t: f.t,
            every: s.record_every,
            frames: 0,
            panels,
            scale,
            path,
        })
    }
}

impl Observer for Recording {
    fn observe(&mut self, exp: &mut Experiment) -> Result<(), String> {
        if exp.t() + 1e-9 < self.next_t {
            return Ok(());
        }
        let f = exp.fields(None);
        let panels: Vec<(&[f64], Range, Colormap)> = self
            .panels
            .iter()
            .map(|&(p, range, cmap)| (f.panel(p), range, cmap))
            .collect();
        let img = strip(&panels, f.n, self.scale);
        self.rec
            .push(&img)
            .map_err(|e| format!("recording to {} stopped: {e}", self.path.display()))?;
        self.frames += 1;
        self.next_t += self.every;
        Ok(())
    }

    fn progress(&self) -> String {
        format!("{} frames", self.frames)
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        let frames = self.frames;
        self.rec
            .finish()
            .map(|p| format!("saved {} ({frames} frames)", p.display()))
            .map_err(|e| e.to_string())
    }
}
