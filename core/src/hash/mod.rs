//! The hash chain: `h(-1) = 0^32`, `h(n) = SHA-256(h(n-1) || u64_le(n) || payload(n))`.

mod lanes;
mod message;
#[cfg(target_arch = "x86_64")]
mod shani_x4;

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

pub(crate) use lanes::sha256_padded_x4;
pub use lanes::{chain_steps, Link};
use message::ChainMessage;
pub(crate) use message::{sha256_padded, Block};

/// A 32-byte SHA-256 chain hash.
pub type Hash = [u8; 32];

/// The hash before the first event of every stream.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// One link of the chain: the hash of event `offset` given the hash before it.
///
/// Every append, verified read and `verify` computes one per event, so the
/// message goes to SHA-256's compression function block by block, padded
/// here (`message.rs`), without the buffering of the `Digest` API: about a
/// quarter faster for 100-byte events. The tests check it against that API
/// for every length around the block boundaries.
pub fn chain_step(prev: &Hash, offset: u64, payload: &[u8]) -> Hash {
    ChainMessage::new(prev, offset, payload).digest()
}

/// The summary of a stream's whole history: how many events it holds and the
/// chain hash of the last one (the genesis hash for an empty stream).
///
/// Keep a head somewhere the store's owner cannot rewrite, and
/// `Store::verify_against` later proves the stream still holds that history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHead {
    pub next_offset: u64,
    pub hash: Hash,
}

impl ChainHead {
    /// The head of an empty stream.
    pub const EMPTY: ChainHead = ChainHead {
        next_offset: 0,
        hash: GENESIS_HASH,
    };

    /// The hash as 64 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        to_hex(&self.hash)
    }

    /// The head after appending `payload` to this one.
    pub fn advance(&self, payload: &[u8]) -> ChainHead {
        ChainHead {
            next_offset: self.next_offset + 1,
            hash: chain_step(&self.hash, self.next_offset, payload),
        }
    }
}

/// `"<next_offset>:<64 hex digits>"`; `FromStr` parses it back.
impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.next_offset, self.hash_hex())
    }
}

impl FromStr for ChainHead {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::invalid(format!("not a chain head (expected OFFSET:HEX64): {s:?}"));
        let (offset, hex) = s.trim().split_once(':').ok_or_else(bad)?;
        // Decimal as Display writes it: digits only (no sign), no leading
        // zero, so one head has one text form up to the hex digits' case.
        let canonical = !offset.is_empty()
            && offset.bytes().all(|b| b.is_ascii_digit())
            && (offset == "0" || !offset.starts_with('0'));
        if !canonical {
            return Err(bad());
        }
        let next_offset = offset.parse::<u64>().map_err(|_| bad())?;
        let hash = from_hex(hex).ok_or_else(bad)?;
        if next_offset == 0 && hash != GENESIS_HASH {
            return Err(Error::invalid("an empty stream's head has the zero hash"));
        }
        Ok(ChainHead { next_offset, hash })
    }
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Parses exactly 64 hex digits (either case).
pub fn from_hex(s: &str) -> Option<Hash> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain hash as its definition reads, through the `Digest` API.
    fn by_definition(prev: &Hash, offset: u64, payload: &[u8]) -> Hash {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(prev);
        hasher.update(offset.to_le_bytes());
        hasher.update(payload);
        hasher.finalize().into()
    }

    /// Every payload length from empty to past three blocks: the message
    /// ending in the first block, exactly filling one, leaving no room for
    /// the length, and with whole blocks between.
    #[test]
    fn chain_step_is_sha256_of_its_message() {
        let prev: Hash = std::array::from_fn(|i| i as u8 * 7 + 1);
        let payload: Vec<u8> = (0..300u32).map(|i| (i * 31 + 5) as u8).collect();
        for len in 0..payload.len() {
            for offset in [0, 1, u64::MAX - len as u64] {
                assert_eq!(
                    chain_step(&prev, offset, &payload[..len]),
                    by_definition(&prev, offset, &payload[..len]),
                    "payload of {len} bytes"
                );
            }
        }
        let big = vec![0xa5u8; 1 << 16];
        assert_eq!(chain_step(&prev, 9, &big), by_definition(&prev, 9, &big));
    }

    #[test]
    fn display_parse_round_trip() {
        let head = ChainHead::EMPTY.advance(b"alpha");
        let text = head.to_string();
        assert_eq!(text.parse::<ChainHead>().unwrap(), head);
        assert!("1:zz".parse::<ChainHead>().is_err());
        assert!("x:00".parse::<ChainHead>().is_err());
        let hex = head.hash_hex();
        for offset in ["+1", "01", "", "1 ", "-1", "18446744073709551616"] {
            let text = format!("{offset}:{hex}");
            assert!(text.parse::<ChainHead>().is_err(), "{text}");
        }
        // Surrounding whitespace and upper-case hex are accepted.
        assert_eq!(
            format!(" 1:{}\n", hex.to_uppercase())
                .parse::<ChainHead>()
                .unwrap(),
            head
        );
        assert!(format!("0:{}", "11".repeat(32))
            .parse::<ChainHead>()
            .is_err());
    }
}
