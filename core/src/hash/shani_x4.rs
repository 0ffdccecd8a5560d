//! SHA-256's compression function on four independent states at once, with
//! the x86 SHA extensions (SHA-NI). The rounds are those of the usual
//! one-state SHA-NI code (Intel's "New Instructions Supporting the Secure
//! Hash Algorithm", 2013): two rounds per `sha256rnds2`, the message
//! schedule by `sha256msg1`/`sha256msg2`, the state kept as ABEF and CDGH.
//! Each step is issued for all four lanes in turn, so the lanes' dependency
//! chains overlap instead of each round waiting on the one before.

use std::arch::x86_64::*;

use super::message::Block;

pub(crate) const LANES: usize = 4;

/// FIPS 180-4 §4.2.2.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Whether this CPU has what the kernel uses (checked once, then cached by
/// the standard library).
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse2")
        && is_x86_feature_detected!("ssse3")
        && is_x86_feature_detected!("sse4.1")
}

/// Compresses `blocks[i]` into `states[i]`, for each lane. Callers check
/// [`available`] first; without those features this panics rather than run
/// instructions the CPU lacks.
pub(crate) fn compress_x4(states: &mut [[u32; 8]; LANES], blocks: [&Block; LANES]) {
    assert!(available(), "compress_x4 without SHA-NI");
    // SAFETY: the features the kernel is compiled for are present (above).
    unsafe { kernel(states, blocks) }
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn kernel(states: &mut [[u32; 8]; LANES], blocks: [&Block; LANES]) {
    // SAFETY (every load and store below): unaligned 16-byte accesses
    // within a `[u32; 8]` state (32 bytes), a 64-byte `Block`, or `K`
    // (256 bytes), at offsets that stay inside them.
    let byte_swap = _mm_set_epi64x(
        0x0C0D_0E0F_0809_0A0Bu64 as i64,
        0x0405_0607_0001_0203u64 as i64,
    );
    let mut abef = [_mm_setzero_si128(); LANES];
    let mut cdgh = [_mm_setzero_si128(); LANES];
    for (lane, state) in states.iter().enumerate() {
        let p = state.as_ptr() as *const __m128i;
        let dcba = unsafe { _mm_loadu_si128(p) };
        let hgfe = unsafe { _mm_loadu_si128(p.add(1)) };
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
        abef[lane] = _mm_alignr_epi8(cdab, efgh, 8);
        cdgh[lane] = _mm_blend_epi16(efgh, cdab, 0xF0);
    }
    let (abef_in, cdgh_in) = (abef, cdgh);
    let mut w = [[_mm_setzero_si128(); 4]; LANES];
    for (lane, block) in blocks.iter().enumerate() {
        let p = block.as_ptr() as *const __m128i;
        for (i, word) in w[lane].iter_mut().enumerate() {
            *word = _mm_shuffle_epi8(unsafe { _mm_loadu_si128(p.add(i)) }, byte_swap);
        }
    }
    let k = K.as_ptr() as *const __m128i;
    for i in 0..16 {
        let j = i & 3;
        let ki = unsafe { _mm_loadu_si128(k.add(i)) };
        for lane in 0..LANES {
            let wl = &mut w[lane];
            if i >= 4 {
                // W[i..i+4] from the 16 words before, in place of W[i-16..].
                let t1 = _mm_sha256msg1_epu32(wl[j], wl[(j + 1) & 3]);
                let t2 = _mm_alignr_epi8(wl[(j + 3) & 3], wl[(j + 2) & 3], 4);
                wl[j] = _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), wl[(j + 3) & 3]);
            }
            let wk = _mm_add_epi32(wl[j], ki);
            cdgh[lane] = _mm_sha256rnds2_epu32(cdgh[lane], abef[lane], wk);
            abef[lane] = _mm_sha256rnds2_epu32(abef[lane], cdgh[lane], _mm_shuffle_epi32(wk, 0x0E));
        }
    }
    for (lane, state) in states.iter_mut().enumerate() {
        let abef = _mm_add_epi32(abef[lane], abef_in[lane]);
        let cdgh = _mm_add_epi32(cdgh[lane], cdgh_in[lane]);
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        let p = state.as_mut_ptr() as *mut __m128i;
        unsafe {
            _mm_storeu_si128(p, _mm_blend_epi16(feba, dchg, 0xF0));
            _mm_storeu_si128(p.add(1), _mm_alignr_epi8(dchg, feba, 8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each lane's result is sha2's compression of the same block, with
    /// different states and blocks in every lane.
    #[test]
    fn four_lanes_compress_as_one() {
        if !available() {
            return;
        }
        let blocks: [Block; LANES] = std::array::from_fn(|l| {
            Block::from(std::array::from_fn::<u8, 64, _>(|i| (i * 7 + l * 61) as u8))
        });
        let mut states: [[u32; 8]; LANES] = std::array::from_fn(|l| {
            std::array::from_fn(|i| (i as u32 + 1).wrapping_mul(0x9e37_79b9) ^ l as u32)
        });
        let mut expected = states;
        for (state, block) in expected.iter_mut().zip(&blocks) {
            sha2::compress256(state, std::slice::from_ref(block));
        }
        compress_x4(&mut states, blocks.each_ref());
        assert_eq!(states, expected);
    }
}
