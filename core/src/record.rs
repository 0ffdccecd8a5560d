//! The record: the unit written to a segment. See docs/FORMAT.md.
//!
//! ```text
//! 0   [4]  magic "SLRC"
//! 4   u8   kind        0 = event, 1 = checkpoint, 2 = time
//! 5   u8   codec       0 = raw, 1 = lz4, 2 = zstd
//! 6   u8   flags       bit 0 = COMMIT (last record of a batch)
//! 7   u8   reserved    0
//! 8   u64  offset      event offset; for a checkpoint, the next event's
//! 16  [32] prev_hash   chain hash before this offset
//! 48  u32  stored_len  bytes of payload as stored
//! 52  u32  header_crc  CRC32 of bytes 0..52
//! 56  [stored_len] payload
//! ..  u32  crc         CRC32 of header and payload
//! ```
//! All integers little-endian. The header CRC lets a reader trust
//! `stored_len` before reading the payload, which is how recovery tells a
//! torn tail (a valid header whose record runs past the end of the file)
//! from damage (a complete record whose bytes are wrong).

use crate::hash::Hash;

pub const MAGIC: [u8; 4] = *b"SLRC";
pub const HEADER_LEN: usize = 56;
pub const TRAILER_LEN: usize = 4;
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;

pub const FLAG_COMMIT: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Event = 0,
    Checkpoint = 1,
    /// The append time of the batch it begins: 8 bytes, u64_le Unix
    /// milliseconds (in segments whose header says TIMED).
    Time = 2,
}

/// Stored length of a time record's payload.
pub const TIME_LEN: u32 = 8;

/// The Unix milliseconds a time record holds (its payload already checked
/// to be `TIME_LEN` bytes by `decode_header` and the record CRC).
pub fn time_of(stored: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&stored[..8]);
    u64::from_le_bytes(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Raw = 0,
    Lz4 = 1,
    Zstd = 2,
}

/// A decoded, checksum-verified record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub codec: Codec,
    pub flags: u8,
    pub offset: u64,
    pub prev_hash: Hash,
    pub stored_len: u32,
}

impl Header {
    pub fn record_len(&self) -> u64 {
        OVERHEAD as u64 + u64::from(self.stored_len)
    }

    pub fn is_commit(&self) -> bool {
        self.flags & FLAG_COMMIT != 0
    }
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFault {
    Magic,
    Checksum,
    /// Checksum fine, but a field holds a value this version never writes.
    Field(&'static str),
}

impl HeaderFault {
    pub fn describe(self) -> String {
        match self {
            HeaderFault::Magic => "bad record marker".into(),
            HeaderFault::Checksum => "record header checksum mismatch".into(),
            HeaderFault::Field(what) => format!("invalid record header field: {what}"),
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Decodes the header at the start of `buf`, which must hold at least
/// [`HEADER_LEN`] bytes.
pub fn decode_header(buf: &[u8]) -> Result<Header, HeaderFault> {
    let b = &buf[..HEADER_LEN];
    if b[0..4] != MAGIC {
        return Err(HeaderFault::Magic);
    }
    if crc32fast::hash(&b[..52]) != u32_at(b, 52) {
        return Err(HeaderFault::Checksum);
    }
    let kind = match b[4] {
        0 => Kind::Event,
        1 => Kind::Checkpoint,
        2 => Kind::Time,
        _ => return Err(HeaderFault::Field("kind")),
    };
    let codec = match b[5] {
        0 => Codec::Raw,
        1 => Codec::Lz4,
        2 => Codec::Zstd,
        _ => return Err(HeaderFault::Field("codec")),
    };
    if b[6] & !FLAG_COMMIT != 0 || b[7] != 0 {
        return Err(HeaderFault::Field("flags"));
    }
    let mut prev_hash = [0u8; 32];
    prev_hash.copy_from_slice(&b[16..48]);
    let header = Header {
        kind,
        codec,
        flags: b[6],
        offset: u64_at(b, 8),
        prev_hash,
        stored_len: u32_at(b, 48),
    };
    if kind == Kind::Checkpoint && (header.stored_len != 0 || codec != Codec::Raw) {
        return Err(HeaderFault::Field("checkpoint payload"));
    }
    if kind == Kind::Checkpoint && header.is_commit() {
        return Err(HeaderFault::Field("checkpoint flags"));
    }
    if kind == Kind::Time
        && (header.stored_len != TIME_LEN || codec != Codec::Raw || header.is_commit())
    {
        return Err(HeaderFault::Field("time record"));
    }
    Ok(header)
}

/// Checks the trailing CRC of a whole record (`header.record_len()` bytes)
/// whose header already passed [`decode_header`]: the CRC over bytes 0..52
/// is then the stored header CRC, so only the rest is hashed.
pub fn record_crc_ok(record: &[u8]) -> bool {
    let body = record.len() - TRAILER_LEN;
    let mut crc = crc32fast::Hasher::new_with_initial_len(u32_at(record, 52), 52);
    crc.update(&record[52..body]);
    crc.finalize() == u32_at(record, body)
}

/// Appends a record to `out`. `write_payload` appends the stored payload and
/// returns the codec it used, which is returned.
pub fn encode(
    out: &mut Vec<u8>,
    kind: Kind,
    flags: u8,
    offset: u64,
    prev_hash: &Hash,
    write_payload: impl FnOnce(&mut Vec<u8>) -> Codec,
) -> Codec {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[kind as u8, 0, flags, 0]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(prev_hash);
    out.extend_from_slice(&[0u8; 8]);
    let codec = write_payload(out);
    let stored_len = out.len() - start - HEADER_LEN;
    let header = &mut out[start..start + HEADER_LEN];
    header[5] = codec as u8;
    // Callers bound payloads by max_event_size, which fits in u32.
    header[48..52].copy_from_slice(&(stored_len as u32).to_le_bytes());
    let header_crc = crc32fast::hash(&header[..52]);
    header[52..56].copy_from_slice(&header_crc.to_le_bytes());
    // The record CRC continues from the header CRC instead of re-hashing it.
    let mut crc = crc32fast::Hasher::new_with_initial_len(header_crc, 52);
    crc.update(&out[start + 52..]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    codec
}

/// The stored payload of a whole record (`header.record_len()` bytes).
pub fn stored_payload(record: &[u8]) -> &[u8] {
    &record[HEADER_LEN..record.len() - TRAILER_LEN]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(payload: &'static [u8]) -> impl FnOnce(&mut Vec<u8>) -> Codec {
        move |out| {
            out.extend_from_slice(payload);
            Codec::Raw
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut buf = Vec::new();
        encode(&mut buf, Kind::Event, 0, 42, &[7u8; 32], raw(b"hello"));
        assert_eq!(buf.len(), OVERHEAD + 5);
        let header = decode_header(&buf).unwrap();
        assert_eq!(header.offset, 42);
        assert_eq!(header.prev_hash, [7u8; 32]);
        assert_eq!(header.stored_len, 5);
        assert!(!header.is_commit());
        assert!(record_crc_ok(&buf));
    }

    #[test]
    fn record_crc_covers_header_and_payload() {
        let mut buf = Vec::new();
        encode(
            &mut buf,
            Kind::Event,
            FLAG_COMMIT,
            9,
            &[3u8; 32],
            raw(b"some payload"),
        );
        let body = buf.len() - TRAILER_LEN;
        assert_eq!(crc32fast::hash(&buf[..body]).to_le_bytes(), buf[body..]);
    }

    #[test]
    fn every_bit_flip_is_caught() {
        let mut buf = Vec::new();
        encode(
            &mut buf,
            Kind::Event,
            FLAG_COMMIT,
            1,
            &[1u8; 32],
            raw(b"payload"),
        );
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut damaged = buf.clone();
                damaged[byte] ^= 1 << bit;
                let caught = decode_header(&damaged).is_err() || !record_crc_ok(&damaged);
                assert!(caught, "flip of byte {byte} bit {bit} went unnoticed");
            }
        }
    }
}
