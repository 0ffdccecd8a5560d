//! Where things live inside a store directory.
//!
//! ```text
//! STRATALOG                          store marker (format version)
//! LOCK                               writer lock (advisory, flock)
//! OPEN                               a writer has the store open (removed by a clean close)
//! streams/<stream:020>/<base:020>.seg   segment starting at offset `base`
//! streams/<stream:020>/<base:020>.idx   index of a sealed segment
//! streams/<stream:020>/TAIL             tail marker of the active segment
//! streams/<stream:020>/ANCHOR           where a pruned stream starts now
//! cursors/<stream:020>/<name>           a consumer's committed position
//! trees/<stream:020>/nodes              Merkle tree nodes above 64-leaf chunks
//! trees/<stream:020>/<first:020>.leaves leaf hashes, 65,536 per file
//! signed/<sha256(origin):hex>           the last checkpoint signed for an origin
//! signed/LOCK                           held while one is checked and recorded
//! witnessed/<sha256(origin, witness):hex> the last size a witness cosigned
//! TIER                               this writer's id on its tier (tier/agent.rs)
//! ```
//! Zero-padded decimal names sort in numeric order.

use std::path::{Path, PathBuf};

pub const STORE_MARKER: &str = "STRATALOG";
pub const LOCK_FILE: &str = "LOCK";
/// Present from a writer's open to its clean close: found at open, it says
/// the last writer did not close, so every stream is recovered at once.
pub const OPEN_MARKER: &str = "OPEN";
pub const STREAMS_DIR: &str = "streams";
pub const SEGMENT_EXT: &str = "seg";
pub const INDEX_EXT: &str = "idx";
pub const TAIL_FILE: &str = "TAIL";
pub const ANCHOR_FILE: &str = "ANCHOR";
/// Written by the first open with a tier: the store is tiered from then on.
pub const TIER_FILE: &str = "TIER";

/// Whether `dir` is a tiered store's directory (it has a `TIER` file).
pub(crate) fn is_tiered_dir(dir: &dyn crate::io::StorageDir) -> bool {
    dir.read(Path::new(TIER_FILE)).is_ok()
}

pub fn streams_dir() -> PathBuf {
    PathBuf::from(STREAMS_DIR)
}

pub fn stream_dir(stream: u64) -> PathBuf {
    Path::new(STREAMS_DIR).join(format!("{stream:020}"))
}

pub fn segment_path(stream: u64, base_offset: u64) -> PathBuf {
    stream_dir(stream).join(format!("{base_offset:020}.{SEGMENT_EXT}"))
}

pub fn index_path(stream: u64, base_offset: u64) -> PathBuf {
    stream_dir(stream).join(format!("{base_offset:020}.{INDEX_EXT}"))
}

/// The tail marker of a stream: one per stream, naming the segment it
/// describes inside, so a rotation leaves nothing stale to clean up.
pub fn tail_path(stream: u64) -> PathBuf {
    stream_dir(stream).join(TAIL_FILE)
}

/// Suffix a prune gives the files it removes before unlinking them in the
/// background; a writer that finds such a file at open removes it.
pub const PRUNED_SUFFIX: &str = ".pruned";

/// The name a pruned file has until it is unlinked.
pub fn pruned_path(rel: &Path) -> PathBuf {
    let mut name = rel.as_os_str().to_owned();
    name.push(PRUNED_SUFFIX);
    PathBuf::from(name)
}

/// The prune anchor of a stream (see `prune_anchor`).
pub fn anchor_path(stream: u64) -> PathBuf {
    stream_dir(stream).join(ANCHOR_FILE)
}

pub const CURSORS_DIR: &str = "cursors";

/// Where the named consumer cursors of `stream` live.
pub fn cursor_dir(stream: u64) -> PathBuf {
    Path::new(CURSORS_DIR).join(format!("{stream:020}"))
}

/// One cursor; `name` is checked to be a plain file name first.
pub fn cursor_path(stream: u64, name: &str) -> PathBuf {
    cursor_dir(stream).join(name)
}

pub const TREES_DIR: &str = "trees";
pub const TREE_NODES_FILE: &str = "nodes";
pub const TREE_LEAVES_EXT: &str = "leaves";

/// Where the Merkle tree of `stream` is kept (a cache of the segments).
pub fn tree_dir(stream: u64) -> PathBuf {
    Path::new(TREES_DIR).join(format!("{stream:020}"))
}

pub fn tree_nodes_path(stream: u64) -> PathBuf {
    tree_dir(stream).join(TREE_NODES_FILE)
}

/// The leaf-hash file whose first leaf is `first`.
pub fn tree_leaves_path(stream: u64, first: u64) -> PathBuf {
    tree_dir(stream).join(format!("{first:020}.{TREE_LEAVES_EXT}"))
}

/// The first leaf of a leaf-hash file name, if `name` is one.
pub fn parse_tree_leaves_name(name: &str) -> Option<u64> {
    parse_number(name.strip_suffix(TREE_LEAVES_EXT)?.strip_suffix('.')?)
}

pub const SIGNED_DIR: &str = "signed";
/// The last checkpoint each witness cosigned for an origin, by the hex
/// SHA-256 of `<origin>\n<witness verifier key>`.
pub const WITNESSED_DIR: &str = "witnessed";

/// Held while a checkpoint is checked against and recorded in `signed/`.
pub const SIGNED_LOCK: &str = "LOCK";

/// The stream id a directory name under `streams/` stands for.
pub fn parse_stream_dir(name: &str) -> Option<u64> {
    parse_number(name)
}

/// The base offset of a segment file name, if `name` is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    parse_number(name.strip_suffix(SEGMENT_EXT)?.strip_suffix('.')?)
}

/// The base offset of an index file name, if `name` is one.
pub fn parse_index_name(name: &str) -> Option<u64> {
    parse_number(name.strip_suffix(INDEX_EXT)?.strip_suffix('.')?)
}

fn parse_number(digits: &str) -> Option<u64> {
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let path = segment_path(7, 1234);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_segment_name(name), Some(1234));
        assert_eq!(parse_segment_name("00000000000000001234.idx"), None);
        assert_eq!(parse_segment_name("1234.seg"), None);
        assert_eq!(
            parse_stream_dir(&format!("{:020}", u64::MAX)),
            Some(u64::MAX)
        );
    }
}
