//! The photos a seat shows (a unit's report back, a grid worker's report): fetched from the hub's
//! files endpoint and decoded off the UI thread, made textures by the UI thread only when they
//! are first shown, kept while the seat runs.
//!
//! A view asks [`Photos::get`] for an attachment at a size; the first ask only notes the wish
//! (the view is drawing and must not wait). [`Photos::pump`], run by the app's `logic` each frame,
//! starts the fetches wished for and turns what came back into textures.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use egui::{ColorImage, TextureHandle, TextureOptions};

/// A photo that could not be fetched is asked for again after this long.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// The longest side a full-size photo is shown at (a larger one is scaled down once, when it is
/// decoded).
const LARGEST_SIDE: u32 = 2048;

/// Which picture of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// The endpoint's small JPEG (240 px).
    Thumbnail,
    Full,
}

/// What a view can show of a photo now.
#[derive(Clone)]
pub enum Shown {
    Loading,
    Ready(TextureHandle),
    /// It could not be fetched or decoded, and why.
    Failed(String),
}

/// Where the photos come from: the hub's files endpoint and the seat's token.
pub struct Source {
    pub files: String,
    pub token: String,
    pub trust: Option<streams::feed::tls::Trust>,
    pub runtime: tokio::runtime::Handle,
    pub waker: streams::Waker,
}

type Key = (String, Size);
/// A fetched photo, decoded (or why not).
type Arrival = (Key, Result<ColorImage, String>);

/// The seat's photos.
#[derive(Default)]
pub struct Photos {
    source: Option<Source>,
    shown: HashMap<Key, Shown>,
    /// When each failure came: after [`RETRY_AFTER`] the photo is asked for again (the link
    /// was down, the session had ended).
    failed: HashMap<Key, std::time::Instant>,
    /// Asked for by a view and not yet fetching.
    wished: RefCell<HashSet<Key>>,
    arrived: Option<(mpsc::Sender<Arrival>, mpsc::Receiver<Arrival>)>,
}

impl Photos {
    /// The files endpoint the photos come from, once known.
    pub fn files(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.files.as_str())
    }

    /// Photos from `source` (once the hub said where its files endpoint is).
    pub fn connect(&mut self, source: Source) {
        // Failures from an earlier endpoint are asked again.
        self.shown.retain(|_, s| !matches!(s, Shown::Failed(_)));
        self.source = Some(source);
    }

    /// What to show of attachment `id` at `size`; the first ask starts its fetch (at the next
    /// pump). An id that is not an attachment of the endpoint (an older terminal's URL) fails.
    pub fn get(&self, id: &str, size: Size) -> Shown {
        let key = (id.to_owned(), size);
        if let Some(shown) = self.shown.get(&key) {
            return shown.clone();
        }
        if streams::feed::attachments::hex_of(id).is_none() {
            return Shown::Failed(format!("{id}: not an attachment of this center"));
        }
        self.wished.borrow_mut().insert(key);
        Shown::Loading
    }

    /// A photo made ready by hand (tests; a picture the seat already has).
    pub fn insert(&mut self, ctx: &egui::Context, id: &str, size: Size, image: ColorImage) {
        let texture = ctx.load_texture(format!("photo {id} {size:?}"), image, TextureOptions::LINEAR);
        self.shown.insert((id.to_owned(), size), Shown::Ready(texture));
    }

    /// Starts the fetches wished for and makes textures of what arrived. UI thread, each frame.
    pub fn pump(&mut self, ctx: &egui::Context) {
        let again: Vec<Key> =
            self.failed.iter().filter(|(_, at)| at.elapsed() >= RETRY_AFTER).map(|(k, _)| k.clone()).collect();
        for key in again {
            self.failed.remove(&key);
            self.shown.remove(&key);
        }
        let (tx, rx) = self.arrived.get_or_insert_with(mpsc::channel);
        while let Ok((key, decoded)) = rx.try_recv() {
            let shown = match decoded {
                Ok(image) => {
                    let name = format!("photo {} {:?}", key.0, key.1);
                    Shown::Ready(ctx.load_texture(name, image, TextureOptions::LINEAR))
                }
                Err(reason) => {
                    tracing::warn!(id = %key.0, %reason, "photo not shown");
                    self.failed.insert(key.clone(), std::time::Instant::now());
                    Shown::Failed(reason)
                }
            };
            self.shown.insert(key, shown);
        }
        let Some(source) = &self.source else { return };
        for key in self.wished.borrow_mut().drain() {
            if self.shown.contains_key(&key) {
                continue;
            }
            self.shown.insert(key.clone(), Shown::Loading);
            let (tx, waker) = (tx.clone(), source.waker.clone());
            let (files, token, trust) = (source.files.clone(), source.token.clone(), source.trust.clone());
            source.runtime.spawn(async move {
                let fetched =
                    streams::feed::files::fetch(&files, &token, trust.as_ref(), &key.0, key.1 == Size::Thumbnail);
                let decoded = match fetched.await {
                    Ok(bytes) => {
                        tokio::task::spawn_blocking(move || decode(&bytes)).await.unwrap_or_else(|e| Err(e.to_string()))
                    }
                    Err(reason) => Err(reason),
                };
                let _ = tx.send((key, decoded));
                waker();
            });
        }
    }
}

/// A JPEG or PNG as a picture egui can show, scaled down to [`LARGEST_SIDE`] if larger.
fn decode(bytes: &[u8]) -> Result<ColorImage, String> {
    let picture = streams::feed::attachments::decode(bytes).map_err(|e| format!("not a picture: {e}"))?;
    let picture = if picture.width().max(picture.height()) > LARGEST_SIDE {
        picture.thumbnail(LARGEST_SIDE, LARGEST_SIDE)
    } else {
        picture
    };
    let rgba = picture.to_rgba8();
    Ok(ColorImage::from_rgba_unmultiplied([rgba.width() as usize, rgba.height() as usize], rgba.as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_decoded_and_a_huge_one_scaled_down() {
        let small = decode(&streams::feed::attachments::samples::jpeg(320, 240, 1)).unwrap();
        assert_eq!(small.size, [320, 240]);
        let huge = decode(&streams::feed::attachments::samples::png(4096, 1024, 2)).unwrap();
        assert_eq!(huge.size, [2048, 512]);
        assert!(decode(b"not a picture").unwrap_err().contains("not a picture"));
    }

    #[test]
    fn the_first_ask_is_a_wish_and_a_url_that_is_no_attachment_fails_at_once() {
        let photos = Photos::default();
        let id = format!("sha256:{}", "a".repeat(64));
        assert!(matches!(photos.get(&id, Size::Thumbnail), Shown::Loading));
        assert_eq!(photos.wished.borrow().len(), 1);
        assert!(matches!(photos.get("https://files.example/1.jpg", Size::Full), Shown::Failed(_)));
    }
}
