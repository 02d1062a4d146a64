//! Images out of the app: one panel without GUI chrome (title, field at 1×/2×/4× its
//! grid resolution, colorbar with values) or the whole window, saved as PNG — through a
//! native save dialog on its own thread (the simulation keeps running), or straight into
//! the export folder — or copied to the clipboard.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use image::RgbaImage;

/// What to do with a panel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelAction {
    Save,
    Copy,
}

/// Routes finished images to files and reports what happened as one-line messages.
pub struct Exporter {
    tx: Sender<String>,
    rx: Receiver<String>,
    dialog_open: Arc<AtomicBool>,
    shot_tx: Sender<RgbaImage>,
    shot_rx: Receiver<RgbaImage>,
    open_tx: Sender<PathBuf>,
    open_rx: Receiver<PathBuf>,
}

/// A save dialog's title and file filter.
struct FileKind {
    title: &'static str,
    filter: (&'static str, &'static str),
}

impl Default for Exporter {
    fn default() -> Self {
        let (tx, rx) = channel();
        let (shot_tx, shot_rx) = channel();
        let (open_tx, open_rx) = channel();
        Exporter {
            open_tx,
            open_rx,
            tx,
            rx,
            dialog_open: Arc::new(AtomicBool::new(false)),
            shot_tx,
            shot_rx,
        }
    }
}

/// An egui image as an RGBA buffer.
pub(crate) fn to_rgba(img: &egui::ColorImage) -> Option<RgbaImage> {
    let [w, h] = img.size;
    let px: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    RgbaImage::from_raw(w as u32, h as u32, px)
}

/// An RGBA buffer as an egui image (for the clipboard).
pub(crate) fn to_color_image(img: &RgbaImage) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied(
        [img.width() as usize, img.height() as usize],
        img.as_raw(),
    )
}

fn save_to(img: &RgbaImage, path: &Path) -> String {
    match crate::render::export::save_png(img, path) {
        Ok(()) => format!(
            "saved {} ({}×{})",
            path.display(),
            img.width(),
            img.height()
        ),
        Err(e) => e.to_string(),
    }
}

impl Exporter {
    /// Save `img` as `name` (a PNG file name): in `dir` directly, or — with `dialog` —
    /// wherever the user picks in a native save dialog opened on a worker thread.
    pub fn save(&self, img: RgbaImage, name: &str, dir: &str, dialog: bool) {
        let file = FileKind {
            title: "Save image",
            filter: ("PNG image", "png"),
        };
        self.save_with(file, name, dir, dialog, move |p| save_to(&img, p));
    }

    /// Save `text` (an experiment spec) as `name`, like [`Self::save`].
    pub(crate) fn save_text(&self, text: String, name: &str, dir: &str, dialog: bool) {
        let file = FileKind {
            title: "Save experiment",
            filter: ("experiment spec (TOML)", "toml"),
        };
        self.save_with(
            file,
            name,
            dir,
            dialog,
            move |p| match crate::atomic::write_bytes(p, text.as_bytes()) {
                Ok(()) => format!(
                    "saved {} (run it: closure-lab render --config {0})",
                    p.display()
                ),
                Err(e) => format!("cannot save {}: {e}", p.display()),
            },
        );
    }

    /// Write a file through `write` (which returns the message to show): into `dir`, or
    /// where a save dialog on a worker thread says.
    fn save_with(
        &self,
        kind: FileKind,
        name: &str,
        dir: &str,
        dialog: bool,
        write: impl FnOnce(&Path) -> String + Send + 'static,
    ) {
        if !dialog {
            let msg = write(&PathBuf::from(dir).join(name));
            let _ = self.tx.send(msg);
            return;
        }
        if self.dialog_open.swap(true, Ordering::SeqCst) {
            let _ = self
                .tx
                .send("a save dialog is already open; finish it first".into());
            return;
        }
        let (tx, open, name, dir) = (
            self.tx.clone(),
            self.dialog_open.clone(),
            name.to_string(),
            dir.to_string(),
        );
        let spawned = std::thread::Builder::new()
            .name("save-dialog".into())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title(kind.title)
                    .set_directory(&dir)
                    .set_file_name(&name)
                    .add_filter(kind.filter.0, &[kind.filter.1])
                    .save_file();
                let msg = match picked {
                    Some(p) => write(&p),
                    None => format!(
                        "nothing saved (dialog cancelled or unavailable; untick \"ask where to save\" to save into {dir})"
                    ),
                };
                open.store(false, Ordering::SeqCst);
                let _ = tx.send(msg);
            });
        if let Err(e) = spawned {
            self.dialog_open.store(false, Ordering::SeqCst);
            let _ = self.tx.send(format!("cannot open a save dialog: {e}"));
        }
    }

    /// Ask for an experiment spec to open in a native dialog on a worker thread; the
    /// answer arrives through [`Self::take_opened`].
    pub(crate) fn open_dialog(&self) {
        if self.dialog_open.swap(true, Ordering::SeqCst) {
            let _ = self
                .tx
                .send("a file dialog is already open; finish it first".into());
            return;
        }
        let (tx, open, msg) = (
            self.open_tx.clone(),
            self.dialog_open.clone(),
            self.tx.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("open-dialog".into())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title("Open an experiment (a spec saved by the app or --print-config)")
                    .add_filter("experiment spec (TOML)", &["toml"])
                    .pick_file();
                open.store(false, Ordering::SeqCst);
                match picked {
                    Some(p) => {
                        let _ = tx.send(p);
                    }
                    None => {
                        let _ = msg
                            .send("no experiment opened (dialog cancelled or unavailable)".into());
                    }
                }
            });
        if let Err(e) = spawned {
            self.dialog_open.store(false, Ordering::SeqCst);
            let _ = self.tx.send(format!("cannot open a file dialog: {e}"));
        }
    }

    /// A spec file picked in the open dialog, once.
    pub(crate) fn take_opened(&self) -> Option<PathBuf> {
        self.open_rx.try_recv().ok()
    }

    /// Ask the integration for a picture of the whole window; it arrives in a later frame
    /// ([`Exporter::take_window_shot`]).
    pub(crate) fn request_window_shot(&self, ctx: &egui::Context) {
        let tx = self.shot_tx.clone();
        let tx_msg = self.tx.clone();
        let ctx2 = ctx.clone();
        ctx.request_screenshot(move |img: Arc<egui::ColorImage>| {
            match to_rgba(&img) {
                Some(im) => {
                    let _ = tx.send(im);
                }
                None => {
                    let _ = tx_msg.send("screenshot buffer has the wrong size".into());
                }
            }
            ctx2.request_repaint();
        });
    }

    /// A window screenshot that has arrived, if any.
    pub(crate) fn take_window_shot(&self) -> Option<RgbaImage> {
        self.shot_rx.try_recv().ok()
    }

    /// Messages from finished saves.
    pub fn messages(&self) -> Vec<String> {
        self.rx.try_iter().collect()
    }

    pub(crate) fn dialog_open(&self) -> bool {
        self.dialog_open.load(Ordering::SeqCst)
    }
}
