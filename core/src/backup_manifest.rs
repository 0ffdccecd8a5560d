//! The manifest of a backup: `BACKUP` at the root of the backup, written
//! last, listing each stream's first offset and head at the snapshot
//! (docs/FORMAT.md, "Backup manifest").
//!
//! Text, so an auditor reads it without tools:
//!
//! ```text
//! stratalog backup 1
//! stream <id> <first offset> <next offset>:<64 hex digits>
//! ...
//! crc32 <8 hex digits: CRC32 of every byte before this line>
//! ```

use crate::error::{Error, IoContext, Result};
use crate::hash::ChainHead;
use crate::io::StorageDir;

pub const MANIFEST_FILE: &str = "BACKUP";
const FIRST_LINE: &str = "stratalog backup 1";

/// One stream of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackedUpStream {
    pub stream: u64,
    /// The first offset the stream held (0 unless pruned).
    pub first_offset: u64,
    /// Its head at the snapshot: what the backup holds.
    pub head: ChainHead,
}

/// What a backup holds, stream by stream, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupManifest {
    pub streams: Vec<BackedUpStream>,
}

impl BackupManifest {
    pub fn encode(&self) -> String {
        let mut text = format!("{FIRST_LINE}\n");
        for s in &self.streams {
            text.push_str(&format!(
                "stream {} {} {}\n",
                s.stream, s.first_offset, s.head
            ));
        }
        let crc = crc32fast::hash(text.as_bytes());
        text.push_str(&format!("crc32 {crc:08x}\n"));
        text
    }

    pub fn decode(bytes: &[u8]) -> std::result::Result<BackupManifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or("too short")?;
        let (body, last) = text.split_at(body_end);
        let crc = last
            .strip_prefix("crc32 ")
            .and_then(|c| c.strip_suffix('\n'))
            .and_then(|c| u32::from_str_radix(c, 16).ok())
            .ok_or("no crc32 line at the end")?;
        if crc32fast::hash(body.as_bytes()) != crc {
            return Err("CRC mismatch".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some(FIRST_LINE) {
            return Err(format!("does not start with {FIRST_LINE:?}"));
        }
        let mut streams: Vec<BackedUpStream> = Vec::new();
        for line in lines {
            let fields: Vec<&str> = line.split(' ').collect();
            let parsed = match fields.as_slice() {
                ["stream", id, first, head] => (|| {
                    Some(BackedUpStream {
                        stream: id.parse().ok()?,
                        first_offset: first.parse().ok()?,
                        head: head.parse().ok()?,
                    })
                })(),
                _ => None,
            };
            let s = parsed.ok_or_else(|| format!("bad line {line:?}"))?;
            if streams.last().is_some_and(|p| p.stream >= s.stream) {
                return Err("streams are not in ascending order".into());
            }
            streams.push(s);
        }
        Ok(BackupManifest { streams })
    }
}

/// The manifest of the backup in `dir`, `None` if there is none.
pub fn read(dir: &dyn StorageDir) -> Result<Option<BackupManifest>> {
    let rel = std::path::Path::new(MANIFEST_FILE);
    match dir.read(rel) {
        Ok(bytes) => BackupManifest::decode(&bytes)
            .map(Some)
            .map_err(|reason| Error::Corruption {
                stream: 0,
                offset: 0,
                file: dir.display(rel),
                reason: format!("backup manifest: {reason}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("reading {}", dir.display(rel).display()),
            e,
        )),
    }
}

pub fn write(dir: &dyn StorageDir, manifest: &BackupManifest) -> Result<()> {
    let rel = std::path::Path::new(MANIFEST_FILE);
    dir.write_atomic(rel, manifest.encode().as_bytes())
        .context(|| format!("writing {}", dir.display(rel).display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let manifest = BackupManifest {
            streams: vec![
                BackedUpStream {
                    stream: 1,
                    first_offset: 0,
                    head: ChainHead::EMPTY,
                },
                BackedUpStream {
                    stream: 9,
                    first_offset: 64,
                    head: ChainHead {
                        next_offset: 100,
                        hash: [7; 32],
                    },
                },
            ],
        };
        let text = manifest.encode();
        assert!(text.starts_with("stratalog backup 1\nstream 1 0 0:0000"));
        assert_eq!(BackupManifest::decode(text.as_bytes()).unwrap(), manifest);
        let mut bad = text.clone().into_bytes();
        bad[25] ^= 1;
        assert!(BackupManifest::decode(&bad).is_err());
        assert!(BackupManifest::decode(&text.as_bytes()[..text.len() - 3]).is_err());
    }
}
