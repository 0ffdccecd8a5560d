//! The hash chain: `h(-1) = 0^32`, `h(n) = SHA-256(h(n-1) || u64_le(n) || payload(n))`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// A 32-byte SHA-256 chain hash.
pub type Hash = [u8; 32];

/// The hash before the first event of every stream.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// One link of the chain: the hash of event `offset` given the hash before it.
pub fn chain_step(prev: &Hash, offset: u64, payload: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(offset.to_le_bytes());
    hasher.update(payload);
    hasher.finalize().into()
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

    #[test]
    fn display_parse_round_trip() {
        let head = ChainHead::EMPTY.advance(b"alpha");
        let text = head.to_string();
        assert_eq!(text.parse::<ChainHead>().unwrap(), head);
        assert!("1:zz".parse::<ChainHead>().is_err());
        assert!("x:00".parse::<ChainHead>().is_err());
        assert!(format!("0:{}", "11".repeat(32))
            .parse::<ChainHead>()
            .is_err());
    }
}
