//! A unit's report back with photos: the photo files are read and uploaded to the hub's files
//! endpoint off the UI thread, then the report goes into the seat's durable queue carrying what
//! was kept. A photo the endpoint refuses (too large, not a photo, cut off, not there) is left
//! out and its reason shown; the report's words and the other photos still go. A report waits
//! for the endpoint while the seat has not yet been told where it is.
//!
//! What is not promised: a seat that stops while its photos are uploading loses that report
//! (it was not queued yet) and shows the step to take again.

use std::path::PathBuf;
use std::sync::mpsc;

use crate::core::desk::MAX_PHOTOS;
use streams::feed::Body;
use streams::feed::attachments::MAX_BYTES;

/// A report whose photos were uploaded (or refused): the command to send, and why each refused
/// photo was left out.
pub struct Ready {
    pub command: Body,
    pub refused: Vec<String>,
}

/// Where photos go: the endpoint, the seat's token, the site CA.
pub struct Endpoint<'a> {
    pub files: &'a str,
    pub token: &'a str,
    pub trust: Option<&'a streams::feed::tls::Trust>,
}

/// Reports with photos on their way.
pub struct Reports {
    waiting: Vec<(Body, Vec<PathBuf>)>,
    /// Uploading now.
    uploading: usize,
    done: (mpsc::Sender<Ready>, mpsc::Receiver<Ready>),
}

impl Default for Reports {
    fn default() -> Reports {
        Reports { waiting: vec![], uploading: 0, done: mpsc::channel() }
    }
}

impl Reports {
    /// The center keeps no photos (its hub has no files endpoint): the reports waiting go
    /// without theirs, each photo left out with `why`.
    pub fn without_photos(&mut self, why: &str) -> Vec<Ready> {
        self.waiting
            .drain(..)
            .map(|(command, photos)| {
                let refused = photos.iter().map(|p| format!("{}: {why}", p.display())).collect();
                Ready { command, refused }
            })
            .collect()
    }

    /// Whether a report waits or uploads: only then is there anything to pump.
    pub fn busy(&self) -> bool {
        !self.waiting.is_empty() || self.uploading > 0
    }

    /// A report to send once its photos are up.
    pub fn submit(&mut self, command: Body, photos: Vec<PathBuf>) {
        self.waiting.push((command, photos));
    }

    /// Starts the uploads of what waits (once the endpoint is known) and returns the reports
    /// ready to send. UI thread, each frame.
    pub fn pump(
        &mut self,
        endpoint: Option<Endpoint<'_>>,
        runtime: &tokio::runtime::Handle,
        waker: &streams::Waker,
    ) -> Vec<Ready> {
        if let Some(endpoint) = endpoint {
            for (command, photos) in self.waiting.drain(..) {
                self.uploading += 1;
                let (tx, waker) = (self.done.0.clone(), waker.clone());
                let (files, token) = (endpoint.files.to_owned(), endpoint.token.to_owned());
                let trust = endpoint.trust.cloned();
                runtime.spawn(async move {
                    let ready = upload(command, photos, (&files, &token, trust.as_ref())).await;
                    let _ = tx.send(ready);
                    waker();
                });
            }
        }
        let ready: Vec<Ready> = self.done.1.try_iter().collect();
        self.uploading -= ready.len().min(self.uploading);
        ready
    }
}

/// A photo file's bytes: a plain file within the endpoint's limit (not a device, not gigabytes).
fn read_photo(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    if meta.len() > MAX_BYTES as u64 {
        return Err(format!("{} bytes is over the limit of {MAX_BYTES} bytes (10 MiB)", meta.len()));
    }
    std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))
}

/// Uploads each photo in turn and puts the ids kept into the command's attachments.
async fn upload(
    mut command: Body,
    photos: Vec<PathBuf>,
    (files, token, trust): (&str, &str, Option<&streams::feed::tls::Trust>),
) -> Ready {
    let mut kept = vec![];
    let mut refused = vec![];
    for (n, path) in photos.into_iter().enumerate() {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        if n >= MAX_PHOTOS {
            refused.push(format!("{name}: a report carries at most {MAX_PHOTOS} photos"));
            continue;
        }
        let read = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || read_photo(&path)).await
        };
        let sent = match read {
            Ok(Ok(bytes)) => streams::feed::files::upload(files, token, trust, bytes).await,
            Ok(Err(e)) => Err(e),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(attachment) => kept.push(attachment.id),
            Err(reason) => {
                tracing::warn!(photo = %path.display(), %reason, "photo not sent with the report");
                refused.push(format!("{name}: {reason}"));
            }
        }
    }
    if let Body::Progress(progress) = &mut command {
        progress.attachments.extend(kept);
    }
    Ready { command, refused }
}
