//! The hub's files endpoint against clients that are not ours (curl, coreutils' sha256sum) and
//! our own: photos go up and come down byte for byte under their SHA-256, and what is not a
//! whole photo within the limit is refused with a status and a reason.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use streams::feed::attachments::samples;
use streams::feed::{Grant, Hub, HubConfig, HubHandle, Role, files};

const UNIT: &str = "police-terminal";
const FIELD: &str = "field-token";
const DISPATCHER: &str = "dispatcher-token";

async fn hub(dir: &Path) -> HubHandle {
    let tokens = HashMap::from([
        (UNIT.to_string(), Grant::unit_terminal("police")),
        (FIELD.to_string(), Grant::new(Role::FieldTerminal, "field")),
        (DISPATCHER.to_string(), Grant::new(Role::Dispatcher, "dispatcher")),
    ]);
    let files = Some("127.0.0.1:0".parse().unwrap());
    Hub::start(HubConfig { files, ..HubConfig::on_loopback(dir, tokens) }).await.unwrap()
}

/// `curl` sends `file` (or nothing) with `token`; its status and body.
fn curl(url: &str, token: Option<&str>, upload: Option<&Path>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "-", "-w", "\n%{http_code}"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if let Some(file) = upload {
        // Content-Type says JPEG whatever the bytes are: the endpoint must look at the bytes.
        cmd.args(["-H", "Content-Type: image/jpeg", "--data-binary"]).arg(format!("@{}", file.display()));
    }
    let out = cmd.arg(url).output().expect("curl (make deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

fn sha256sum(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_go_up_and_come_down_byte_for_byte_and_what_is_not_a_whole_photo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(dir.path()).await;
    let base = hub.files_url().expect("the hub serves files").to_owned();
    let url = format!("{base}/v1/attachments");
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // A JPEG through our client, as a unit's seat sends it.
    let jpeg = samples::jpeg(1280, 720, 7);
    let kept = files::upload(&base, UNIT, None, jpeg.clone()).await.unwrap();
    assert_eq!(kept.id, format!("sha256:{}", sha256sum(&file("photo.jpg", &jpeg))), "named by its SHA-256");
    assert_eq!((kept.mime.as_str(), kept.width, kept.height, kept.bytes), ("image/jpeg", 1280, 720, jpeg.len()));
    assert_eq!(files::fetch(&base, FIELD, None, &kept.id, false).await.unwrap(), jpeg, "byte for byte");
    let thumb = files::fetch(&base, FIELD, None, &kept.id, true).await.unwrap();
    assert!(thumb.starts_with(&[0xFF, 0xD8]) && thumb.len() < jpeg.len(), "a small JPEG");

    // A PNG through curl, and back through curl.
    let png = samples::png(400, 300, 9);
    let (code, body) = tokio::task::spawn_blocking({
        let (url, path) = (url.clone(), file("photo.png", &png));
        move || curl(&url, Some(FIELD), Some(&path))
    })
    .await
    .unwrap();
    assert_eq!(code, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (answer["type"].as_str(), id.clone()),
        (Some("image/png"), format!("sha256:{}", sha256sum(&file("p.png", &png))))
    );
    let (code, _) = tokio::task::spawn_blocking({
        let (url, path) = (url.clone(), file("again.png", &png));
        move || curl(&url, Some(FIELD), Some(&path))
    })
    .await
    .unwrap();
    assert_eq!(code, 200, "the same photo again is kept once");
    let back = dir.path().join("back.png");
    let status = Command::new("curl")
        .args(["-sS", "-f", "-H", &format!("Authorization: Bearer {UNIT}"), "-o"])
        .arg(&back)
        .arg(format!("{url}/{}", id.trim_start_matches("sha256:")))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&back).unwrap(), png);

    // Refusals, each with its status and its reason.
    let refusals = tokio::task::spawn_blocking({
        let url = url.clone();
        let (big, text, cut) = (
            file("big.jpg", &vec![0xFF; 20 * 1024 * 1024]),
            file("notes.jpg", "现场情况说明：这不是照片。".repeat(50).as_bytes()),
            file("cut.jpg", &jpeg[..jpeg.len() * 2 / 3]),
        );
        move || {
            [
                curl(&url, Some(UNIT), Some(&big)),
                curl(&url, Some(UNIT), Some(&text)),
                curl(&url, Some(UNIT), Some(&cut)),
                curl(&url, None, Some(&text)),
                curl(&url, Some("nobody"), Some(&text)),
                curl(&url, Some(DISPATCHER), Some(&text)),
                curl(&format!("{url}/{}", "0".repeat(64)), Some(UNIT), None),
            ]
        }
    })
    .await
    .unwrap();
    let expected = [
        (413, "over the limit"),
        (415, "neither a JPEG nor a PNG"),
        (422, "does not end"),
        (401, "Bearer"),
        (401, "not valid"),
        (403, "may not"),
        (404, "no such attachment"),
    ];
    for ((code, body), (want, says)) in refusals.iter().zip(expected) {
        assert_eq!(*code, want, "{body}");
        assert!(body.contains(says), "{want}: {body}");
    }
    // Our client refuses an oversized photo before sending it, with the same reason.
    let too_big = files::upload(&base, UNIT, None, vec![0xFF; 20 * 1024 * 1024]).await.unwrap_err();
    assert!(too_big.contains("over the limit"), "{too_big}");
    let refused = files::upload(&base, UNIT, None, b"hello".to_vec()).await.unwrap_err();
    assert!(refused.starts_with("415"), "{refused}");
}
