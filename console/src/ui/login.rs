//! The login screen of a seat on a real site: the user name (from the config, editable), the
//! password (never shown, never kept after the login), and why the last try was refused.

use crate::i18n::I18n;

/// What the screen holds between frames.
#[derive(Debug, Default)]
pub struct LoginView {
    pub user: String,
    pub password: String,
    /// The server's reason for refusing the last try.
    pub refused: Option<String>,
    /// A try is on its way.
    pub waiting: bool,
}

/// Draws the screen; returns (user, password) when the officer logs in.
pub fn login(ui: &mut egui::Ui, view: &mut LoginView, tr: &I18n) -> Option<(String, String)> {
    let mut submit = false;
    egui::CentralPanel::default().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.25);
            ui.heading(tr.t("app.title"));
            ui.add_space(24.0);
            egui::Grid::new("login").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                let label = ui.label(tr.t("login.user"));
                ui.add(egui::TextEdit::singleline(&mut view.user).desired_width(240.0)).labelled_by(label.id);
                ui.end_row();
                let label = ui.label(tr.t("login.password"));
                let field = ui
                    .add(egui::TextEdit::singleline(&mut view.password).password(true).desired_width(240.0))
                    .labelled_by(label.id);
                submit |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
            });
            ui.add_space(12.0);
            let ready = !view.waiting && !view.user.trim().is_empty() && !view.password.is_empty();
            submit |= ui.add_enabled(ready, egui::Button::new(tr.t("login.submit"))).clicked();
            if view.waiting {
                ui.label(tr.t("login.waiting"));
            } else if let Some(reason) = &view.refused {
                ui.colored_label(crate::ui::theme::BAD, tr.t("login.refused"));
                ui.colored_label(crate::ui::theme::BAD, reason);
            }
        });
    });
    let ready = !view.waiting && !view.user.trim().is_empty() && !view.password.is_empty();
    if !(submit && ready) {
        return None;
    }
    view.waiting = true;
    view.refused = None;
    Some((view.user.trim().to_owned(), std::mem::take(&mut view.password)))
}
