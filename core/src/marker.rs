//! The store marker file: says "this directory is a stratalog store" and
//! which format version wrote it.
//!
//! ```text
//! 0  [8] magic "STRATSTO"
//! 8  u32 format version (2; a store 0.1 wrote says 1)
//! 12 u32 CRC32 of bytes 0..12
//! ```

use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::io::StorageDir;
use crate::layout::STORE_MARKER;
use crate::segment::FORMAT_VERSION;

const MAGIC: [u8; 8] = *b"STRATSTO";

fn encode() -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&MAGIC);
    b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&b[..12]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

/// The oldest format version this build reads. Version 1 stores (0.1) are
/// read as they are; a writer upgrades their marker before it writes a
/// version-2 segment, so that 0.1 refuses the store instead of reporting
/// its new segments as damage.
const OLDEST_READABLE: u32 = 1;

/// Checks the marker and returns its format version; `Ok(None)` when there
/// is none.
pub fn check(dir: &dyn StorageDir) -> Result<Option<u32>> {
    let rel = Path::new(STORE_MARKER);
    let bytes = match dir.read(rel) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
    if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&version) {
        return Err(Error::invalid(format!(
            "store format version {version} is not supported (this build reads {OLDEST_READABLE} to {FORMAT_VERSION})"
        )));
    }
    Ok(Some(version))
}

/// Makes sure a store about to be written carries this build's marker,
/// writing it when it is missing or older.
pub fn ensure_current(dir: &dyn StorageDir, found: Option<u32>) -> Result<()> {
    if found == Some(FORMAT_VERSION) {
        return Ok(());
    }
    write(dir)
}

pub fn write(dir: &dyn StorageDir) -> Result<()> {
    let rel = Path::new(STORE_MARKER);
    dir.write_atomic(rel, &encode())
        .context(|| format!("writing {}", dir.display(rel).display()))
}
