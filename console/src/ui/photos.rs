//! Photos in the views: a row of thumbnails under a report (a click opens one large), and the
//! window that shows it. What is not an attachment of the center (a terminal's URL) stays a link.

use egui::RichText;

use crate::i18n::I18n;
use crate::photos::{Photos, Shown, Size};
use crate::ui::theme;

/// The height of a thumbnail in a report.
const THUMBNAIL_HEIGHT: f32 = 72.0;

/// The photo shown large, if any.
#[derive(Default)]
pub struct PhotoViewer {
    pub open: Option<String>,
}

/// The thumbnails of `ids`; a click opens one in the viewer.
pub fn thumbnails(ui: &mut egui::Ui, photos: &Photos, tr: &I18n, ids: &[String], viewer: &mut PhotoViewer) {
    ui.horizontal_wrapped(|ui| {
        for (n, id) in ids.iter().enumerate() {
            let label = tr.f("photo.n", &[("n", &(n + 1).to_string())]);
            match photos.get(id, Size::Thumbnail) {
                Shown::Ready(texture) => {
                    let image = egui::Image::new(&texture).max_height(THUMBNAIL_HEIGHT);
                    if ui.add(egui::Button::image_and_text(image, label)).on_hover_text(tr.t("photo.open")).clicked() {
                        viewer.open = Some(id.clone());
                    }
                }
                Shown::Loading => {
                    ui.label(RichText::new(tr.f("photo.loading", &[("photo", &label)])).color(theme::MUTED));
                }
                // An older terminal's URL: a link, as it came.
                Shown::Failed(_) if streams::feed::attachments::hex_of(id).is_none() => {
                    ui.hyperlink(id);
                }
                Shown::Failed(reason) => {
                    let text = tr.f("photo.failed", &[("photo", &label)]);
                    ui.label(RichText::new(text).color(theme::WARN)).on_hover_text(reason);
                }
            }
        }
    });
}

impl PhotoViewer {
    /// The open photo, large, in a window of its own.
    pub fn ui(&mut self, ctx: &egui::Context, photos: &Photos, tr: &I18n) {
        let Some(id) = self.open.clone() else { return };
        let mut open = true;
        egui::Window::new(tr.t("photo.title")).open(&mut open).resizable(true).collapsible(false).show(ctx, |ui| {
            match photos.get(&id, Size::Full) {
                Shown::Ready(texture) => {
                    let room = ctx.content_rect().size() * 0.75;
                    ui.add(egui::Image::new(&texture).max_size(room).maintain_aspect_ratio(true));
                }
                Shown::Loading => {
                    ui.spinner();
                }
                Shown::Failed(reason) => {
                    ui.label(RichText::new(tr.f("photo.failed_why", &[("why", &reason)])).color(theme::WARN));
                }
            }
        });
        if !open {
            self.open = None;
        }
    }
}
