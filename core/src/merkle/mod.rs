//! The RFC 6962 Merkle tree over a stream's chain (RFC 9162 §2.1).
//!
//! ```text
//! leaf data(n) = u64_le(n) || h(n)                      40 bytes
//! leaf hash    = SHA-256(0x00 || leaf data)
//! node hash    = SHA-256(0x01 || left || right)
//! ```
//!
//! The tree commits to the chain and the chain to every payload, so no
//! payload is hashed twice. This module is pure: it knows nothing of files.
//! [`proof`] builds proofs from any source of perfect-subtree hashes,
//! [`verify`] checks them with nothing but the hashes.

pub mod proof;
pub mod verify;

use sha2::{Digest, Sha256};

use crate::hash::{sha256_padded, sha256_padded_x4, Block, Hash};

/// Bytes of one leaf's data: the offset and the chain hash after it.
pub const LEAF_DATA_LEN: usize = 40;

/// The leaf data of event `offset`, whose chain hash is `chain_hash`.
pub fn leaf_data(offset: u64, chain_hash: &Hash) -> [u8; LEAF_DATA_LEN] {
    let mut data = [0u8; LEAF_DATA_LEN];
    data[..8].copy_from_slice(&offset.to_le_bytes());
    data[8..].copy_from_slice(chain_hash);
    data
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    if data.len() == LEAF_DATA_LEN {
        // One padded block: the tree's leaves, hashed as `node_hash` is.
        let mut block = Block::default();
        block[1..1 + LEAF_DATA_LEN].copy_from_slice(data);
        block[1 + LEAF_DATA_LEN] = 0x80;
        block[56..].copy_from_slice(&((1 + LEAF_DATA_LEN as u64) * 8).to_be_bytes());
        return sha256_padded(&[block]);
    }
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The leaf hash of event `offset` with chain hash `chain_hash`.
pub fn event_leaf_hash(offset: u64, chain_hash: &Hash) -> Hash {
    leaf_hash(&leaf_data(offset, chain_hash))
}

/// `SHA-256(0x01 || left || right)`. Proofs are made of little else, so
/// the two padded blocks of its 65-byte message go straight to the
/// compression function (the same SHA-256, without the buffering).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_padded(&node_message(left, right))
}

/// The padded blocks of a node's message, `0x01 || left || right`, the
/// 0x80 and the length. The hashes sit one byte off the 16-byte words the
/// compression function loads, so each word is assembled in a register
/// and stored whole: built byte-aligned with copies, a word would be read
/// back from two stores still in flight, which the CPU cannot forward and
/// waits out (it cost more than the hashing of the level).
fn node_message(left: &Hash, right: &Hash) -> [Block; 2] {
    let word = |hash: &Hash, half: usize| {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[16 * half..16 * half + 16]);
        u128::from_le_bytes(bytes)
    };
    let (l0, l1, r0, r1) = (word(left, 0), word(left, 1), word(right, 0), word(right, 1));
    let words = [
        l0 << 8 | 0x01,
        l1 << 8 | l0 >> 120,
        r0 << 8 | l1 >> 120,
        r1 << 8 | r0 >> 120,
        0x80 << 8 | r1 >> 120,
        0,
        0,
        u128::from(u64::from_le_bytes((65u64 * 8).to_be_bytes())) << 64,
    ];
    let mut blocks = [Block::default(); 2];
    for (i, w) in words.iter().enumerate() {
        let at = 16 * (i % 4);
        blocks[i / 4][at..at + 16].copy_from_slice(&w.to_le_bytes());
    }
    blocks
}

/// The level above `children` (node hashes side by side, an even number):
/// `parents[i] = node_hash(children[2i], children[2i + 1])`. The nodes of
/// a level are independent, so they are hashed four at a time
/// (`sha256_padded_x4`): a proof expands a whole chunk, 63 nodes.
pub(crate) fn node_hashes(children: &[Hash], parents: &mut [Hash]) {
    debug_assert_eq!(children.len(), 2 * parents.len());
    let whole = parents.len() / 4 * 4;
    let (by_four, rest) = parents.split_at_mut(whole);
    for (four, eight) in by_four.chunks_exact_mut(4).zip(children.chunks_exact(8)) {
        let messages = std::array::from_fn(|i| node_message(&eight[2 * i], &eight[2 * i + 1]));
        four.copy_from_slice(&sha256_padded_x4(&messages));
    }
    for (parent, pair) in rest.iter_mut().zip(children.chunks_exact(2).skip(whole)) {
        *parent = node_hash(&pair[0], &pair[1]);
    }
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The root of the tree over `leaves` (leaf hashes), computed in memory.
/// For tests, vectors and small trees; stores use [`proof::range_hash`].
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly less than `n` (`n` ≥ 2).
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(1 << 40), 1 << 39);
        assert_eq!(largest_power_of_two_below((1 << 40) + 1), 1 << 40);
    }

    #[test]
    fn node_hash_is_sha256_of_its_message() {
        // Every byte distinct, so a byte out of place in the message shows.
        let ascending: Hash = std::array::from_fn(|i| i as u8 + 1);
        let descending: Hash = std::array::from_fn(|i| 0xff - i as u8);
        for (l, r) in [
            ([0u8; 32], [0u8; 32]),
            ([7u8; 32], [255u8; 32]),
            (ascending, descending),
            (descending, ascending),
        ] {
            let mut message = vec![1u8];
            message.extend_from_slice(&l);
            message.extend_from_slice(&r);
            assert_eq!(node_hash(&l, &r), <Hash>::from(Sha256::digest(&message)));
        }
        for len in [0usize, 39, 40, 41, 100] {
            let data = vec![0x5a; len];
            let mut message = vec![0u8];
            message.extend_from_slice(&data);
            assert_eq!(leaf_hash(&data), <Hash>::from(Sha256::digest(&message)));
        }
    }

    #[test]
    fn node_hashes_are_node_hash_of_each_pair() {
        // Every count around the groups of four, so whole groups, the
        // ones left over, and both together are all checked.
        let children: Vec<Hash> = (0..38u8)
            .map(|i| std::array::from_fn(|j| i.wrapping_mul(37) ^ (j as u8).wrapping_mul(11)))
            .collect();
        for parents_len in 0..=19 {
            let kids = &children[..2 * parents_len];
            let mut parents = vec![[0xeeu8; 32]; parents_len];
            node_hashes(kids, &mut parents);
            let expected: Vec<Hash> = kids
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            assert_eq!(parents, expected, "{parents_len} parents");
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            crate::hash::to_hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
