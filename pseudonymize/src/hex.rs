//! Lower-case hex, for fingerprints and key files.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the hex of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xF)] as char);
    }
}

/// The hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    encode_into(bytes, &mut s);
    s
}

/// Decodes `text` (upper or lower case) into `out`, which must be exactly half its length.
/// Returns false, with `out` partly written, on a bad digit or length.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> bool {
    let text = text.as_bytes();
    if text.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            _ => return false,
        }
    }
    true
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x1f, 0xab, 0xff];
        let s = encode(&bytes);
        assert_eq!(s, "001fabff");
        let mut back = [0u8; 4];
        assert!(decode_into("001FABff", &mut back));
        assert_eq!(back, bytes);
        assert!(!decode_into("001fabf", &mut back));
        assert!(!decode_into("001fabfg", &mut back));
    }
}
