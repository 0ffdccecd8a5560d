//! The SHA-256 input of one chain step, `prev || u64_le(offset) || payload`,
//! as padded 64-byte blocks (FIPS 180-4 §5.1.1): the payload's whole blocks
//! are slices of it, only the first block and the last one or two are
//! staged.

use super::Hash;

/// One 64-byte block of SHA-256's input.
pub(crate) type Block = sha2::digest::generic_array::GenericArray<u8, sha2::digest::consts::U64>;

pub(crate) const BLOCK: usize = 64;

/// Bytes before the payload: the hash before and the offset.
const PREFIX: usize = 40;

/// The padded blocks of one chain step's message. Loaded in place
/// (`load`), so a lane of `lanes.rs` reuses one for message after message.
#[derive(Debug, Clone)]
pub(crate) struct ChainMessage<'a> {
    first: Block,
    /// Whole blocks of the payload after those in `first`.
    middle: &'a [Block],
    /// The rest, the 0x80 and the length.
    tail: [Block; 2],
    tail_len: usize,
}

impl<'a> ChainMessage<'a> {
    pub(crate) fn new(prev: &Hash, offset: u64, payload: &'a [u8]) -> Self {
        let mut message = ChainMessage {
            first: Block::default(),
            middle: &[],
            tail: [Block::default(); 2],
            tail_len: 0,
        };
        message.load(prev, offset, payload);
        message
    }

    /// Makes this the message of another step. Every byte of the blocks
    /// it uses is written: what an earlier message left is never read.
    pub(crate) fn load(&mut self, prev: &Hash, offset: u64, payload: &'a [u8]) {
        let bits = ((PREFIX + payload.len()) as u64).wrapping_mul(8);
        self.first[..32].copy_from_slice(prev);
        self.first[32..PREFIX].copy_from_slice(&offset.to_le_bytes());
        let (head, rest) = payload.split_at(payload.len().min(BLOCK - PREFIX));
        self.first[PREFIX..PREFIX + head.len()].copy_from_slice(head);
        if PREFIX + head.len() < BLOCK {
            // The whole message is in the first block: the padding starts
            // there too.
            self.middle = &[];
            self.tail_len = pad(
                &mut self.first,
                &mut self.tail[0],
                PREFIX + head.len(),
                bits,
            );
            return;
        }
        self.middle = blocks_of(rest);
        let rest = &rest[self.middle.len() * BLOCK..];
        self.tail[0][..rest.len()].copy_from_slice(rest);
        let [last, extra] = &mut self.tail;
        self.tail_len = 1 + pad(last, extra, rest.len(), bits);
    }

    /// How many blocks it has.
    pub(crate) fn len(&self) -> usize {
        1 + self.middle.len() + self.tail_len
    }

    /// Block `i` (below `len()`).
    pub(crate) fn block(&self, i: usize) -> &Block {
        if i == 0 {
            &self.first
        } else if i <= self.middle.len() {
            &self.middle[i - 1]
        } else {
            &self.tail[i - 1 - self.middle.len()]
        }
    }

    /// Runs every block through the compression function from the initial
    /// state: the hash.
    pub(crate) fn digest(&self) -> Hash {
        let mut state = SHA256_IV;
        sha2::compress256(&mut state, std::slice::from_ref(&self.first));
        sha2::compress256(&mut state, self.middle);
        sha2::compress256(&mut state, &self.tail[..self.tail_len]);
        digest_of(state)
    }
}

/// Pads a message whose last `len` bytes (`len` < 64) start `last`: the
/// 0x80, zeros, and the length in bits in the last 8 bytes, of `last` if
/// they fit after the 0x80, else of `extra`. Returns how many blocks of
/// `extra` it took (0 or 1).
fn pad(last: &mut Block, extra: &mut Block, len: usize, bits: u64) -> usize {
    last[len] = 0x80;
    last[len + 1..].fill(0);
    let (block, taken) = if len + 1 + 8 <= BLOCK {
        (last, 0)
    } else {
        extra.fill(0);
        (extra, 1)
    };
    block[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
    taken
}

// What `blocks_of` relies on.
const _: () = assert!(std::mem::size_of::<Block>() == BLOCK && std::mem::align_of::<Block>() == 1);

/// The whole blocks at the start of `bytes` as SHA-256 input blocks,
/// without a copy, so a long payload goes to the compression function in
/// one call.
fn blocks_of(bytes: &[u8]) -> &[Block] {
    let n = bytes.len() / BLOCK;
    // SAFETY: a `Block` is 64 bytes with no padding and an alignment of 1
    // (asserted above), as `GenericArray::from_slice` relies on for one;
    // the `n` of them lie within `bytes`, borrowed for as long.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<Block>(), n) }
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
pub(crate) const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The hash a final state stands for.
pub(crate) fn digest_of(state: [u32; 8]) -> Hash {
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// SHA-256 of a message already padded into `blocks`.
pub(crate) fn sha256_padded(blocks: &[Block]) -> Hash {
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, blocks);
    digest_of(state)
}
