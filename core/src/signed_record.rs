//! The last checkpoint signed for each origin, kept durably so that the
//! store never signs two inconsistent views of one log (docs/FORMAT.md,
//! *Signed checkpoint record*).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::hash::{to_hex, Hash};
use crate::io::StorageDir;
use crate::layout;

const MAGIC: &[u8; 8] = b"STRATSIG";
const VERSION: u32 = 1;
const FIXED: usize = 8 + 4 + 4 + 8 + 32;

/// A signed tree head: its size and root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedHead {
    pub size: u64,
    pub root: Hash,
}

fn path(dir: &str, origin: &str) -> PathBuf {
    std::path::Path::new(dir).join(to_hex(&Sha256::digest(origin.as_bytes())))
}

fn damaged(dir: &dyn StorageDir, rel: &std::path::Path, reason: &str) -> Error {
    Error::Corruption {
        stream: 0,
        offset: 0,
        file: dir.display(rel),
        reason: format!("signed checkpoint record: {reason}"),
    }
}

/// The last head signed for `origin`, if any. A record that fails its
/// checks is `Corruption`: forgetting it would let the store sign a fork.
pub fn load(dir: &dyn StorageDir, origin: &str) -> Result<Option<SignedHead>> {
    load_in(dir, layout::SIGNED_DIR, origin)
}

/// The head recorded under `key` in directory `records` (`signed/`, or
/// `witnessed/` for what each witness cosigned).
pub fn load_in(dir: &dyn StorageDir, records: &str, origin: &str) -> Result<Option<SignedHead>> {
    let rel = path(records, origin);
    let bytes = match dir.read(&rel) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(|| format!("reading {}", dir.display(&rel).display())),
    };
    if bytes.len() < FIXED + 4 {
        return Err(damaged(dir, &rel, "too short"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(damaged(dir, &rel, "CRC mismatch"));
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    if &body[..8] != MAGIC || u32_at(8) != VERSION {
        return Err(damaged(dir, &rel, "bad magic or version"));
    }
    let origin_len = u32_at(12) as usize;
    if body.len() != FIXED + origin_len || &body[FIXED..] != origin.as_bytes() {
        return Err(damaged(dir, &rel, "it names another origin"));
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&body[16..24]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&body[24..56]);
    Ok(Some(SignedHead {
        size: u64::from_le_bytes(size),
        root,
    }))
}

/// Records `head` as the last one signed for `origin`, durably.
pub fn save(dir: &dyn StorageDir, origin: &str, head: &SignedHead) -> Result<()> {
    save_in(dir, layout::SIGNED_DIR, origin, head)
}

/// Records `head` under `origin` in directory `records`, durably.
pub fn save_in(dir: &dyn StorageDir, records: &str, origin: &str, head: &SignedHead) -> Result<()> {
    let mut bytes = Vec::with_capacity(FIXED + origin.len() + 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(origin.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&head.size.to_le_bytes());
    bytes.extend_from_slice(&head.root);
    bytes.extend_from_slice(origin.as_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let parent = PathBuf::from(records);
    dir.create_dir(&parent)
        .context(|| format!("creating {}", dir.display(&parent).display()))?;
    let rel = path(records, origin);
    dir.write_atomic(&rel, &bytes)
        .context(|| format!("writing {}", dir.display(&rel).display()))
}
