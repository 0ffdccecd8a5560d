//! Payload compression: applied per record, kept only when it saves bytes,
//! and bounded on the way back by the store's maximum event size.
//!
//! A compressed stored payload is `u32_le(raw_len) || compressed bytes`.

use crate::options::Compression;
use crate::record::Codec;

/// Compresses one payload at a time, reusing its contexts.
///
/// Invariant: the caller's bytes are read once. A payload that is
/// compressed is first copied to `raw`, which the compressor reads and
/// [`Encoder::raw_of`] returns for hashing; one stored raw is copied
/// straight into the record, which is then what gets hashed. So the chain
/// hash covers exactly the bytes stored. A caller whose memory another
/// thread writes during the append (a SharedArrayBuffer, in Node) is outside
/// Rust's rules, but in practice gets one consistent version stored instead
/// of a record that fails verification.
pub struct Encoder {
    compression: Compression,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    raw: Vec<u8>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("compression", &self.compression)
            .finish()
    }
}

/// Fast level: an audit log is written far more often than it is read.
const ZSTD_LEVEL: i32 = 1;
/// Capacity the encoder's buffers keep between batches (see `trim`).
const KEEP_BYTES: usize = 1 << 20;
/// Payloads this small never shrink enough to pay for the length prefix.
const MIN_COMPRESSIBLE: usize = 64;

impl Encoder {
    pub fn new(compression: Compression) -> Self {
        Encoder {
            compression,
            zstd: None,
            raw: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Appends the stored form of `raw` to `out` and returns its codec.
    pub fn write(&mut self, out: &mut Vec<u8>, raw: &[u8]) -> Codec {
        if raw.len() < MIN_COMPRESSIBLE || self.compression == Compression::None {
            out.extend_from_slice(raw);
            return Codec::Raw;
        }
        self.raw.clear();
        self.raw.extend_from_slice(raw);
        match self.compress() {
            Some(codec) if self.scratch.len() + 4 < self.raw.len() => {
                out.extend_from_slice(&(self.raw.len() as u32).to_le_bytes());
                out.extend_from_slice(&self.scratch);
                codec
            }
            _ => {
                out.extend_from_slice(&self.raw);
                Codec::Raw
            }
        }
    }

    /// Frees buffers grown past `KEEP_BYTES` by a large event, so a writer
    /// does not hold on to them between batches.
    pub fn trim(&mut self) {
        for buf in [&mut self.raw, &mut self.scratch] {
            if buf.capacity() > KEEP_BYTES {
                *buf = Vec::new();
            }
        }
    }

    /// The raw payload of the record the last [`Encoder::write`] appended,
    /// whose stored payload is `stored` and codec `codec`: the bytes its
    /// chain hash must cover.
    pub fn raw_of<'a>(&'a self, codec: Codec, stored: &'a [u8]) -> &'a [u8] {
        match codec {
            Codec::Raw => stored,
            Codec::Lz4 | Codec::Zstd => &self.raw,
        }
    }

    /// Compresses `self.raw` into `self.scratch`.
    fn compress(&mut self) -> Option<Codec> {
        self.scratch.clear();
        let raw = &self.raw;
        match self.compression {
            Compression::None => None,
            Compression::Lz4 => {
                self.scratch
                    .resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
                let n = lz4_flex::block::compress_into(raw, &mut self.scratch).ok()?;
                self.scratch.truncate(n);
                Some(Codec::Lz4)
            }
            Compression::Zstd => {
                if self.zstd.is_none() {
                    self.zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
                }
                let compressor = self.zstd.as_mut()?;
                self.scratch = compressor.compress(raw).ok()?;
                Some(Codec::Zstd)
            }
        }
    }
}

/// Restores a raw payload. Errors describe the damage; the caller adds
/// where it was found.
pub fn decode(codec: Codec, stored: &[u8], max_event_size: u64) -> Result<Vec<u8>, String> {
    if codec == Codec::Raw {
        return Ok(stored.to_vec());
    }
    let (len_bytes, body) = stored
        .split_first_chunk::<4>()
        .ok_or("compressed payload shorter than its length prefix")?;
    let raw_len = u32::from_le_bytes(*len_bytes) as usize;
    if raw_len as u64 > max_event_size {
        return Err(format!(
            "compressed payload claims {raw_len} bytes, over the maximum event size of {max_event_size}"
        ));
    }
    let raw = match codec {
        Codec::Raw => body.to_vec(),
        Codec::Lz4 => lz4_flex::block::decompress(body, raw_len).map_err(|e| e.to_string())?,
        Codec::Zstd => zstd::bulk::decompress(body, raw_len).map_err(|e| e.to_string())?,
    };
    if raw.len() != raw_len {
        return Err(format!(
            "payload decompressed to {} bytes, its prefix says {raw_len}",
            raw.len()
        ));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_each_codec() {
        let text = b"the quick brown fox jumps over the lazy dog ".repeat(20);
        for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let mut enc = Encoder::new(compression);
            let mut out = Vec::new();
            let codec = enc.write(&mut out, &text);
            if compression == Compression::None {
                assert_eq!(codec, Codec::Raw);
                assert_eq!(out, text);
            } else {
                assert_ne!(codec, Codec::Raw);
                assert!(out.len() < text.len());
                assert_eq!(decode(codec, &out, 1 << 20).unwrap(), text);
            }
            // What the chain hash covers is the payload the record holds.
            assert_eq!(enc.raw_of(codec, &out), text);
        }
    }

    #[test]
    fn trim_frees_only_buffers_grown_past_the_cap() {
        let mut enc = Encoder::new(Compression::Lz4);
        let mut out = Vec::new();
        enc.write(&mut out, &[7u8; 100]);
        enc.trim();
        assert!(
            enc.raw.capacity() >= 100,
            "small buffers are kept for reuse"
        );
        enc.write(&mut out, &vec![7u8; 2 * KEEP_BYTES]);
        assert!(enc.raw.capacity() > KEEP_BYTES);
        enc.trim();
        assert_eq!((enc.raw.capacity(), enc.scratch.capacity()), (0, 0));
    }

    #[test]
    fn incompressible_stays_raw() {
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let mut out = Vec::new();
        let mut enc = Encoder::new(Compression::Lz4);
        let codec = enc.write(&mut out, &noise);
        assert_eq!(codec, Codec::Raw);
        assert_eq!(out, noise);
        assert_eq!(enc.raw_of(codec, &out), noise);
    }

    #[test]
    fn decompression_is_bounded() {
        let text = vec![b'a'; 10_000];
        let mut out = Vec::new();
        let codec = Encoder::new(Compression::Zstd).write(&mut out, &text);
        assert!(decode(codec, &out, 9_999).is_err());
        assert!(decode(codec, &out[..3], 1 << 20).is_err());
    }
}
