//! The store marker file: says "this directory is a stratalog store" and
//! which format version wrote it.
//!
//! ```text
//! 0  [8] magic "STRATSTO"
//! 8  u32 format version (1)
//! 12 u32 CRC32 of bytes 0..12
//! ```

use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::io::StorageDir;
use crate::layout::STORE_MARKER;
use crate::segment::header::FORMAT_VERSION;

const MAGIC: [u8; 8] = *b"STRATSTO";

fn encode() -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&MAGIC);
    b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&b[..12]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Checks the marker; `Ok(false)` when there is none.
pub fn check(dir: &dyn StorageDir) -> Result<bool> {
    let rel = Path::new(STORE_MARKER);
    let bytes = match dir.read(rel) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(Error::io(
                format!("reading {}", dir.display(rel).display()),
                e,
            ))
        }
    };
    if bytes.len() != 16 || bytes[..8] != MAGIC {
        return Err(Error::invalid(format!(
            "{} is not a stratalog store marker",
            dir.display(rel).display()
        )));
    }
    if crc32fast::hash(&bytes[..12]).to_le_bytes() != bytes[12..16] {
        return Err(Error::Corruption {
            stream: 0,
            offset: 0,
            file: dir.display(rel),
            reason: "store marker checksum mismatch".into(),
        });
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != FORMAT_VERSION {
        return Err(Error::invalid(format!(
            "store format version {version} is not supported (this build reads {FORMAT_VERSION})"
        )));
    }
    Ok(true)
}

pub fn write(dir: &dyn StorageDir) -> Result<()> {
    let rel = Path::new(STORE_MARKER);
    dir.write_atomic(rel, &encode())
        .context(|| format!("writing {}", dir.display(rel).display()))
}
