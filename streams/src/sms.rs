//! SMS text as SMPP carries it.

/// The text of a short message: UCS-2 big-endian (data_coding 8, how Chinese travels) or,
/// otherwise, the bytes as UTF-8 (ASCII digits and letters, which is what handsets answer with).
pub fn decode_text(bytes: &[u8], ucs2: bool) -> String {
    if ucs2 {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ucs2_and_plain_text_decode() {
        assert_eq!(super::decode_text(&[0x6e, 0xe1, 0x61, 0x0f], true), "满意");
        assert_eq!(super::decode_text(b"4", false), "4");
    }
}
