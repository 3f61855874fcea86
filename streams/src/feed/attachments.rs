//! The center's attachments: the photos a unit reports back with and a grid worker reports
//! with, kept by the server beside its log.
//!
//! An attachment is named by the SHA-256 of its bytes (`sha256:<64 hex>`), so the same photo
//! sent twice is kept once and a name can never point at other bytes. What is kept is checked by
//! its bytes, never its file name: at most [`MAX_BYTES`], a JPEG or a PNG by its signature, and
//! decoded whole (a JPEG must also end, as a cut-off upload does not) — anything else is refused
//! with the reason. Files live in `DATA/attachments/ab/<hex>` (written whole, then renamed), a
//! small JPEG thumbnail beside each, made on first asking.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest attachment kept.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 240;

/// The image types kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
}

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
        }
    }

    /// The type the bytes say they are (their signature), whatever the file was called.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else {
            None
        }
    }
}

/// An attachment as kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// `sha256:<hex>`: what messages carry in their `attachments`.
    pub id: String,
    #[serde(rename = "type")]
    pub mime: String,
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
}

/// Why an attachment was not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{bytes} bytes is over the limit of {MAX_BYTES} bytes (10 MiB)")]
    TooLarge { bytes: usize },
    #[error("not a photo: the bytes are neither a JPEG nor a PNG (whatever the file is called)")]
    NotAnImage,
    #[error("a damaged or cut-off {0}: {1}")]
    Damaged(&'static str, String),
    #[error("the attachment store failed: {0}")]
    Store(String),
}

/// The largest picture decoded, a side; a photo is never larger (a phone's 12 MP is 4000 px).
pub const MAX_SIDE: u32 = 8192;
/// The most memory one decode may take: a picture small in bytes and huge in pixels (an
/// "image bomb") is refused instead of filling the server's memory.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes a JPEG or PNG within [`MAX_SIDE`] and a bounded allocation.
pub fn decode(bytes: &[u8]) -> Result<image::DynamicImage, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader =
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.limits(limits);
    reader.decode().map_err(|e| e.to_string())
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::http::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The hex part of an attachment id, checked (64 hex digits), so it can name a file.
pub fn hex_of(id: &str) -> Option<&str> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())).then_some(hex)
}

/// Checks that `bytes` are a whole JPEG or PNG within the limit; its type and size.
pub fn check(bytes: &[u8]) -> Result<(ImageType, u32, u32), Refusal> {
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge { bytes: bytes.len() });
    }
    let kind = ImageType::sniff(bytes).ok_or(Refusal::NotAnImage)?;
    let name = match kind {
        ImageType::Jpeg => "JPEG",
        ImageType::Png => "PNG",
    };
    // A JPEG decoder fills a cut-off picture in grey rather than fail: its end marker must be
    // there (some cameras pad a few bytes after it).
    if kind == ImageType::Jpeg && !bytes[bytes.len().saturating_sub(64)..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(Refusal::Damaged(name, "it does not end (no end-of-image marker): cut off in transfer?".into()));
    }
    let picture = decode(bytes).map_err(|e| Refusal::Damaged(name, e))?;
    Ok((kind, picture.width(), picture.height()))
}

/// The attachments folder of a server.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    dir: PathBuf,
}

impl AttachmentStore {
    /// The store in `data_dir/attachments` (made when the first attachment comes).
    pub fn new(data_dir: &Path) -> AttachmentStore {
        AttachmentStore { dir: data_dir.join("attachments") }
    }

    fn path(&self, hex: &str, suffix: &str) -> PathBuf {
        self.dir.join(&hex[..2]).join(format!("{hex}{suffix}"))
    }

    /// Checks and keeps `bytes` (once: a second put of the same bytes finds them). Blocking.
    pub fn put(&self, bytes: &[u8]) -> Result<Attachment, Refusal> {
        let (kind, width, height) = check(bytes)?;
        let hex = sha256_hex(bytes);
        let path = self.path(&hex, "");
        if !path.exists() {
            write_whole(&path, bytes).map_err(|e| Refusal::Store(format!("{}: {e}", path.display())))?;
        }
        Ok(Attachment { id: format!("sha256:{hex}"), mime: kind.mime().into(), bytes: bytes.len(), width, height })
    }

    /// The bytes of an attachment and their type; `None` for an id not kept. Blocking.
    pub fn get(&self, id: &str) -> Option<(Vec<u8>, ImageType)> {
        let bytes = std::fs::read(self.path(hex_of(id)?, "")).ok()?;
        let kind = ImageType::sniff(&bytes)?;
        Some((bytes, kind))
    }

    /// A JPEG of the attachment at most [`THUMBNAIL_SIDE`] pixels a side, made on first asking
    /// and kept. Blocking.
    pub fn thumbnail(&self, id: &str) -> Option<Vec<u8>> {
        let hex = hex_of(id)?;
        let path = self.path(hex, ".thumb.jpg");
        if let Ok(bytes) = std::fs::read(&path) {
            return Some(bytes);
        }
        let (bytes, _) = self.get(id)?;
        let small = decode(&bytes).ok()?.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).into_rgb8();
        let mut jpeg = std::io::Cursor::new(Vec::new());
        small.write_to(&mut jpeg, image::ImageFormat::Jpeg).ok()?;
        let jpeg = jpeg.into_inner();
        if let Err(e) = write_whole(&path, &jpeg) {
            tracing::warn!(path = %path.display(), error = %e, "thumbnail not kept");
        }
        Some(jpeg)
    }
}

/// Writes a file whole: to a temporary name, synced, then renamed into place.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension(format!("part{}", fastrand::u32(..)));
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Pictures for tests and the simulators: a JPEG and a PNG made here, `w`×`h`, a gradient with
/// a seed so two differ.
pub mod samples {
    pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
        encode(w, h, seed, image::ImageFormat::Jpeg)
    }

    pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
        encode(w, h, seed, image::ImageFormat::Png)
    }

    fn encode(w: u32, h: u32, seed: u8, format: image::ImageFormat) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, seed])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        // Encoding a picture made here into memory does not fail.
        let _ = picture.write_to(&mut out, format);
        out.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_and_a_png_are_kept_byte_for_byte_under_their_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path());
        for (bytes, mime) in [(samples::jpeg(640, 480, 1), "image/jpeg"), (samples::png(320, 200, 2), "image/png")] {
            let kept = store.put(&bytes).unwrap();
            assert_eq!(kept.mime, mime);
            assert_eq!(kept.id, format!("sha256:{}", sha256_hex(&bytes)));
            assert_eq!(store.put(&bytes).unwrap(), kept, "the same bytes again: the same attachment");
            let (back, _) = store.get(&kept.id).unwrap();
            assert_eq!(back, bytes);
            let thumb = image::load_from_memory(&store.thumbnail(&kept.id).unwrap()).unwrap();
            assert!(thumb.width() <= THUMBNAIL_SIDE && thumb.height() <= THUMBNAIL_SIDE);
        }
        // The SHA-256 of a known text, to tie the digest to the standard.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn too_large_not_an_image_and_cut_off_are_refused_with_their_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path());
        let big = vec![0xFFu8; 20 * 1024 * 1024];
        assert_eq!(store.put(&big), Err(Refusal::TooLarge { bytes: 20 * 1024 * 1024 }));
        // A text file named photo.jpg is still text.
        assert_eq!(store.put("现场照片".repeat(100).as_bytes()), Err(Refusal::NotAnImage));
        let jpeg = samples::jpeg(640, 480, 3);
        let cut = store.put(&jpeg[..jpeg.len() / 2]).unwrap_err();
        assert!(matches!(cut, Refusal::Damaged("JPEG", _)), "{cut}");
        let png = samples::png(64, 64, 4);
        assert!(matches!(store.put(&png[..png.len() - 20]), Err(Refusal::Damaged("PNG", _))));
        // A picture of few bytes and many pixels is refused before it is decoded.
        let bomb = samples::png(MAX_SIDE + 1, 1, 5);
        assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
        let refused = store.put(&bomb).unwrap_err();
        assert!(matches!(refused, Refusal::Damaged("PNG", _)), "{refused}");
        assert!(std::fs::read_dir(dir.path().join("attachments")).is_err(), "nothing was kept");
    }

    #[test]
    fn an_id_that_is_not_a_sha256_names_no_file() {
        let store = AttachmentStore::new(Path::new("/nonexistent"));
        assert_eq!(hex_of("sha256:../../etc/passwd"), None);
        assert_eq!(hex_of(&"A".repeat(64)), None, "lowercase only: one name per attachment");
        assert!(store.get("sha256:zz").is_none());
    }
}
