//! Named consumer cursors: where a consumer of a stream (say "siem-export")
//! has processed up to, committed by the consumer and read back when it
//! restarts, so it resumes where it left off (at-least-once).
//!
//! A cursor is one small file, `cursors/<stream:020>/<name>`, replaced
//! atomically and durably on each commit (docs/FORMAT.md, "Cursors").
//! Cursors are not events: they never touch a segment or the chain, and a
//! read-only store commits its own without the writer lock.
//!
//! Invariants kept here:
//! - A cursor is never ahead of the data: a commit is refused past the
//!   stream's end as this handle knows it, and is made durable only after
//!   the events before it are (their segment is fsynced first, through
//!   whatever descriptor this handle has, read-only or not); and a cursor
//!   read back past the stream's end (its events were lost in between) is
//!   reported at the end.
//! - A cursor file that fails its checks is `Corruption`, never a silent
//!   restart from 0.

use crate::error::{Error, IoContext, Result};
use crate::io::StorageDir;
use crate::layout;

const MAGIC: &[u8; 8] = b"STRATCUR";
const VERSION: u32 = 1;
/// magic, version, name length, stream, offset; then the name and a CRC.
const FIXED_LEN: usize = 8 + 4 + 4 + 8 + 8;

/// The longest cursor name, in bytes.
pub const MAX_CURSOR_NAME: usize = 128;

/// Checks a cursor name: 1 to 128 ASCII letters, digits, '.', '_' or '-',
/// not starting with '.' nor ending with ".tmp". It becomes a file name, so
/// it is kept to what is one everywhere, and never one of the temp files
/// an atomic write leaves.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CURSOR_NAME
        && !name.starts_with('.')
        && !name.ends_with(crate::io::TEMP_SUFFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "a cursor name is 1 to {MAX_CURSOR_NAME} ASCII letters, digits, '.', '_' or '-', not starting with '.' nor ending with \".tmp\"; got {name:?}"
        )))
    }
}

fn encode(stream: u64, name: &str, offset: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_LEN + name.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(&stream.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The offset a cursor file records, after checking every field against
/// what the file must be.
fn decode(bytes: &[u8], stream: u64, name: &str) -> std::result::Result<u64, String> {
    let want_len = FIXED_LEN + name.len() + 4;
    if bytes.len() != want_len {
        return Err(format!("{} bytes, expected {want_len}", bytes.len()));
    }
    let (body, crc) = bytes.split_at(want_len - 4);
    let u32_at =
        |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&body[at..at + 8]);
        u64::from_le_bytes(b)
    };
    if crc != crc32fast::hash(body).to_le_bytes() {
        return Err("checksum mismatch".into());
    }
    if &body[..8] != MAGIC || u32_at(8) != VERSION {
        return Err("not a version-1 cursor file".into());
    }
    if u32_at(12) as usize != name.len()
        || u64_at(16) != stream
        || &body[FIXED_LEN..] != name.as_bytes()
    {
        return Err("it names another stream or cursor".into());
    }
    Ok(u64_at(24))
}

/// The committed position of cursor `name` on `stream`, 0 if it was never
/// committed. `next_offset` is the stream's end: a cursor past it is
/// reported there.
pub(crate) fn get(dir: &dyn StorageDir, stream: u64, name: &str, next_offset: u64) -> Result<u64> {
    check_name(name)?;
    let rel = layout::cursor_path(stream, name);
    let bytes = match dir.read(&rel) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(Error::io(
                format!("reading {}", dir.display(&rel).display()),
                e,
            ))
        }
    };
    let offset = decode(&bytes, stream, name).map_err(|reason| Error::Corruption {
        stream,
        offset: 0,
        file: dir.display(&rel),
        reason: format!("cursor {name:?}: {reason}"),
    })?;
    Ok(offset.min(next_offset))
}

/// Records, atomically and durably, that the consumer `name` of `stream`
/// has processed everything before `offset`. The caller has made those
/// events durable and checked that `offset` is not past the stream's end.
pub(crate) fn commit(dir: &dyn StorageDir, stream: u64, name: &str, offset: u64) -> Result<()> {
    check_name(name)?;
    let parent = layout::cursor_dir(stream);
    dir.create_dir(&parent)
        .context(|| format!("creating {}", dir.display(&parent).display()))?;
    let rel = layout::cursor_path(stream, name);
    dir.write_atomic(&rel, &encode(stream, name, offset))
        .context(|| format!("writing {}", dir.display(&rel).display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_file_round_trips_and_every_field_is_checked() {
        let bytes = encode(7, "siem-export", 1234);
        assert_eq!(decode(&bytes, 7, "siem-export"), Ok(1234));
        assert!(decode(&bytes, 8, "siem-export").is_err());
        assert!(decode(&bytes, 7, "siem-exporx").is_err());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b, 7, "siem-export").is_err(), "byte {i}");
        }
        assert!(decode(&bytes[..bytes.len() - 1], 7, "siem-export").is_err());
    }

    #[test]
    fn names_are_checked() {
        for good in ["a", "siem-export", "v1.2_x", &"n".repeat(MAX_CURSOR_NAME)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "é",
            "x.tmp",
            &"n".repeat(MAX_CURSOR_NAME + 1),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
