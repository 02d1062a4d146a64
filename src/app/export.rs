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
}

impl Default for Exporter {
    fn default() -> Self {
        let (tx, rx) = channel();
        let (shot_tx, shot_rx) = channel();
        Exporter {
            tx,
            rx,
            dialog_open: Arc::new(AtomicBool::new(false)),
            shot_tx,
            shot_rx,
        }
    }
}

/// An egui image as an RGBA buffer.
pub fn to_rgba(img: &egui::ColorImage) -> Option<RgbaImage> {
    let [w, h] = img.size;
    let px: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    RgbaImage::from_raw(w as u32, h as u32, px)
}

/// An RGBA buffer as an egui image (for the clipboard).
pub fn to_color_image(img: &RgbaImage) -> egui::ColorImage {
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
        if !dialog {
            let msg = save_to(&img, &PathBuf::from(dir).join(name));
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
                    .set_title("Save image")
                    .set_directory(&dir)
                    .set_file_name(&name)
                    .add_filter("PNG image", &["png"])
                    .save_file();
                let msg = match picked {
                    Some(p) => save_to(&img, &p),
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

    /// Ask the integration for a picture of the whole window; it arrives in a later frame
    /// ([`Exporter::take_window_shot`]).
    pub fn request_window_shot(&self, ctx: &egui::Context) {
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
    pub fn take_window_shot(&self) -> Option<RgbaImage> {
        self.shot_rx.try_recv().ok()
    }

    /// Messages from finished saves.
    pub fn messages(&self) -> Vec<String> {
        self.rx.try_iter().collect()
    }

    pub fn dialog_open(&self) -> bool {
        self.dialog_open.load(Ordering::SeqCst)
    }
}
