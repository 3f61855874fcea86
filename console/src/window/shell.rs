//! The window: the login screen when the seat is a person's on a remote server, then the
//! console. The embedded default (the demo) and a machine's token open the console at once.
//!
//! The login goes to the server on a thread of its own (the UI thread never waits on the
//! network); a refusal shows the server's reason, a session starts the console with it — a
//! unit's person gets their unit's seat (the server says which unit).

use std::sync::mpsc;

use crate::config::{Credentials, HubSetting};
use crate::i18n::I18n;
use crate::ui::login::LoginView;
use crate::window::app::{LinkageApp, Saved, StartOptions};

enum Stage {
    /// Waiting for the officer's login (and, once sent, the server's answer).
    Login {
        view: LoginView,
        url: String,
        trust: Option<streams::feed::tls::Trust>,
        tr: I18n,
        // Taken when the console starts.
        pending: Option<Box<(Saved, StartOptions)>>,
        answer: Option<mpsc::Receiver<Result<streams::feed::Session, String>>>,
    },
    Console(Box<LinkageApp>),
}

pub struct Shell {
    stage: Stage,
}

impl Shell {
    pub fn new(cc: &eframe::CreationContext<'_>, options: StartOptions) -> Result<Shell, String> {
        let saved = Saved::read(cc, options.screenshot.is_some());
        let stage = match &options.config.hub {
            HubSetting::Remote { url, who: Credentials::User(user), .. } => Stage::Login {
                view: LoginView { user: user.clone(), ..LoginView::default() },
                url: url.clone(),
                trust: options.config.hub.trust()?,
                tr: I18n::new(saved.lang(&options)),
                pending: Some(Box::new((saved, options))),
                answer: None,
            },
            _ => Stage::Console(Box::new(LinkageApp::start(&cc.egui_ctx, saved, options, None)?)),
        };
        Ok(Shell { stage })
    }
}

/// Logs in on a thread of its own; the answer comes back on the channel, the UI is woken.
fn log_in(
    ctx: &egui::Context,
    (url, trust): (String, Option<streams::feed::tls::Trust>),
    user: String,
    password: String,
) -> mpsc::Receiver<Result<streams::feed::Session, String>> {
    let (tx, rx) = mpsc::channel();
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        let answer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(streams::feed::login(&url, trust.as_ref(), &user, &password)));
        let _ = tx.send(answer);
        ctx.request_repaint();
    });
    rx
}

impl eframe::App for Shell {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let started = match &mut self.stage {
            Stage::Console(app) => return app.logic(ctx, frame),
            Stage::Login { view, answer, pending, .. } => match answer.as_ref().and_then(|rx| rx.try_recv().ok()) {
                None => None,
                Some(Err(reason)) => {
                    tracing::warn!(%reason, "login refused");
                    (view.waiting, view.refused, *answer) = (false, Some(reason), None);
                    None
                }
                Some(Ok(session)) => pending.take().map(|pending| {
                    let (saved, mut options) = *pending;
                    // A unit's person works at their unit's seat, whatever the config says.
                    match &session.unit {
                        Some(unit) => options.config.seat_for_person(unit),
                        None => Ok(()),
                    }
                    .and_then(|()| LinkageApp::start(ctx, saved, options, Some(session.token)))
                    .map_err(|e| (e, view))
                }),
            },
        };
        match started {
            Some(Ok(app)) => self.stage = Stage::Console(Box::new(app)),
            Some(Err((e, view))) => {
                tracing::error!(error = %e, "the console did not start");
                (view.waiting, view.refused) = (false, Some(e));
            }
            None => {}
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        match &mut self.stage {
            Stage::Console(app) => app.ui(ui, frame),
            Stage::Login { view, url, trust, tr, answer, .. } => {
                if let Some((user, password)) = crate::ui::login::login(ui, view, tr) {
                    *answer = Some(log_in(ui.ctx(), (url.clone(), trust.clone()), user, password));
                }
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Stage::Console(app) = &mut self.stage {
            app.save(storage);
        }
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        if let Stage::Console(app) = &mut self.stage {
            app.on_exit(gl);
        }
    }

    fn persist_egui_memory(&self) -> bool {
        match &self.stage {
            Stage::Console(app) => app.persist_egui_memory(),
            Stage::Login { .. } => false,
        }
    }
}
