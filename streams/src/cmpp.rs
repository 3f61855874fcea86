//! CMPP 2.0's wire (China Mobile's SP–gateway protocol, 《中国移动通信互联网短信网关接口协议》
//! v2.0): frames (length, command, sequence, body), fixed-width text fields, the connect's
//! authenticator. The console's CMPP channel speaks it as an SP, the demo's simulated gateway as
//! the gateway.

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt};

pub const CONNECT: u32 = 0x0000_0001;
pub const CONNECT_RESP: u32 = 0x8000_0001;
pub const TERMINATE: u32 = 0x0000_0002;
pub const TERMINATE_RESP: u32 = 0x8000_0002;
pub const SUBMIT: u32 = 0x0000_0004;
pub const SUBMIT_RESP: u32 = 0x8000_0004;
pub const DELIVER: u32 = 0x0000_0005;
pub const DELIVER_RESP: u32 = 0x8000_0005;
pub const ACTIVE_TEST: u32 = 0x0000_0008;
pub const ACTIVE_TEST_RESP: u32 = 0x8000_0008;

/// CMPP 2.0.
pub const VERSION: u8 = 0x20;
/// The longest frame read (a deliver is under 200 bytes; the spec's largest under 400).
pub const MAX_FRAME: u32 = 4096;

/// One frame: length, command, sequence, body.
pub fn frame(command: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(&(12 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(&command.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// `text` in a fixed-width field, cut or padded with zero bytes.
pub fn field(text: &str, width: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.bytes().take(width).collect();
    out.resize(width, 0);
    out
}

/// A fixed-width text field as read (up to its first zero byte).
pub fn text_of(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// The connect's body: SP id, authenticator, version, timestamp.
pub fn connect_body(sp_id: &str, secret: &str, timestamp: u32) -> Vec<u8> {
    let mut body = field(sp_id, 6);
    body.extend_from_slice(&authenticator(sp_id, secret, timestamp));
    body.push(VERSION);
    body.extend_from_slice(&timestamp.to_be_bytes());
    body
}

/// The SP's authenticator: MD5 of the SP id, nine zero bytes, the shared secret and the time
/// (`MMDDHHMMSS`).
pub fn authenticator(sp_id: &str, secret: &str, timestamp: u32) -> [u8; 16] {
    let mut digest = Md5::new();
    digest.update(field(sp_id, 6));
    digest.update([0u8; 9]);
    digest.update(secret.as_bytes());
    digest.update(format!("{timestamp:010}").as_bytes());
    digest.finalize().into()
}

/// Now as the gateway's clock says it: `MMDDHHMMSS`, Beijing time.
pub fn timestamp() -> u32 {
    chrono::Utc::now().with_timezone(&crate::feed::ZONE).format("%m%d%H%M%S").to_string().parse().unwrap_or(0)
}

/// Reads one frame: command, sequence, body.
pub async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> Result<(u32, u32, Vec<u8>), String> {
    let mut head = [0u8; 12];
    reader.read_exact(&mut head).await.map_err(|e| format!("read: {e}"))?;
    let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (length, command, sequence) = (word(0), word(4), word(8));
    if !(12..=MAX_FRAME).contains(&length) {
        return Err(format!("a frame of {length} bytes (the gateway is not speaking CMPP?)"));
    }
    let mut body = vec![0u8; length as usize - 12];
    reader.read_exact(&mut body).await.map_err(|e| format!("read: {e}"))?;
    Ok((command, sequence, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authenticator_is_md5_of_the_sp_id_nine_zeros_the_secret_and_the_time() {
        let body = connect_body("901234", "secret", 1_206_010_203);
        assert_eq!(body.len(), 6 + 16 + 1 + 4);
        // As a gateway computes it (and as Python's hashlib did for these values).
        let mut expected = Md5::new();
        expected.update(b"901234\0\0\0\0\0\0\0\0\0secret1206010203");
        assert_eq!(&body[6..22], expected.finalize().as_slice());
        assert_eq!((body[22], &body[23..27]), (0x20, &1_206_010_203u32.to_be_bytes()[..]));
    }
}
