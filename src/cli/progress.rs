//! Progress of a training run (`train`, `distill`, `les-train`) on the terminal: a bar over
//! the whole run and a line per finished epoch; without a terminal, a line a minute.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::closure::fit::{HeldOut, Progress};

/// How a run's epoch line reads: (1-based epoch, mean loss, held-out score) → line.
pub(crate) type EpochLine = dyn Fn(usize, f64, HeldOut) -> String;

pub(crate) struct FitReport {
    bar: ProgressBar,
    last: Instant,
    epoch_line: Box<EpochLine>,
}

impl FitReport {
    pub(crate) fn new(epoch_line: Box<EpochLine>) -> Self {
        let style = ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len}  {msg}  elapsed {elapsed}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        FitReport {
            bar: ProgressBar::new(1).with_style(style),
            last: Instant::now(),
            epoch_line,
        }
    }

    /// The bar, for what a run does before its epochs (e.g. a teacher's pairs).
    pub(crate) fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// A line above the bar (or on stderr without a terminal).
    pub(crate) fn line(&self, line: String) {
        if self.bar.is_hidden() {
            tell!("{line}")
        } else {
            self.bar.println(line)
        }
    }

    pub(crate) fn report(&mut self, p: &Progress) {
        match *p {
            Progress::Step {
                epoch,
                epochs,
                iter,
                iters,
                loss,
            } => {
                self.bar.set_length((epochs * iters) as u64);
                self.bar.set_position((epoch * iters + iter) as u64);
                self.bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
                self.bar.set_message(format!("loss {loss:.3}"));
                if self.bar.is_hidden() && self.last.elapsed().as_secs() >= 60 {
                    self.last = Instant::now();
                    tell!(
                        "epoch {}/{epochs} iter {iter}/{iters} loss {loss:.4}",
                        epoch + 1
                    );
                }
            }
            Progress::Epoch {
                epoch,
                loss,
                held_out,
                ..
            } => self.line((self.epoch_line)(epoch + 1, loss, held_out)),
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
