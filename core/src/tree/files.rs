//! The tree's files: leaf-hash blocks and the node file (docs/FORMAT.md,
//! *Merkle tree files*). Both are caches of the segments: every entry
//! carries a CRC32 over its position and hash, and one that fails it is
//! reported as damaged (`None`), never returned.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{IoContext, Result};
use crate::hash::Hash;
use crate::io::{ByteFile, StorageDir};
use crate::layout;

/// Leaves per chunk: the tree stores every node at or above this height.
pub const CHUNK: u64 = 64;
/// Chunks per leaf-hash file.
pub const CHUNKS_PER_FILE: u64 = 1024;
/// One chunk's leaf hashes and their CRC32.
pub const BLOCK_LEN: usize = CHUNK as usize * 32 + 4;
/// One node hash and its CRC32.
pub const NODE_LEN: usize = 32 + 4;

/// Where node `n` at `level` (counted in chunks: level 0 holds chunk
/// roots) lies in the node file: each chunk root is written after the
/// nodes before it, and each node right after its right child.
pub fn stored_index(level: u32, n: u64) -> u64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut index = 0;
    while n > 0 {
        index += n;
        n >>= 1;
    }
    index + u64::from(level)
}

/// Node entries the file holds once it covers `chunks` chunks.
pub fn stored_count(chunks: u64) -> u64 {
    2 * chunks - u64::from(chunks.count_ones())
}

fn block_crc(stream: u64, chunk: u64, hashes: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&stream.to_le_bytes());
    crc.update(&chunk.to_le_bytes());
    crc.update(hashes);
    crc.finalize()
}

fn node_crc(stream: u64, index: u64, hash: &Hash) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&stream.to_le_bytes());
    crc.update(&index.to_le_bytes());
    crc.update(hash);
    crc.finalize()
}

/// Node entries per cached page of the node file.
const PAGE_ENTRIES: u64 = 128;
/// Pages kept per stream: 1.1 MiB, all of the nodes of a stream of about
/// four million events; the nodes near the root, which every proof reads,
/// for any stream.
const CACHED_PAGES: usize = 256;
/// Leaf-file handles kept per stream: 4,194,304 leaves' worth.
const OPEN_LEAF_FILES: usize = 64;

/// The tree files of one stream.
#[derive(Debug)]
pub struct TreeFiles {
    stream: u64,
    dir: Arc<dyn StorageDir>,
    nodes: Option<Arc<dyn ByteFile>>,
    /// Leaf files opened so far, by number (descriptors are the pool's to
    /// budget; this keeps at most `OPEN_LEAF_FILES` handles).
    leaves: std::collections::HashMap<u64, Arc<dyn ByteFile>>,
    /// Whole pages of the node file as read, by page number.
    pages: std::collections::HashMap<u64, Page>,
}

/// A page of the node file as read. Entries are CRC-checked on first use,
/// not at load: a proof reads a dozen entries of as many pages, and
/// checking all 128 of each page it loads would cost it more than the read.
#[derive(Debug)]
struct Page {
    bytes: Box<[u8]>,
    /// Bit `i`: entry `i` passed its CRC.
    checked: u128,
}

const _: () = assert!(PAGE_ENTRIES <= u128::BITS as u64);

impl Page {
    /// Entry `slot` (node `index`), checked against its CRC the first time.
    fn entry(&mut self, stream: u64, index: u64, slot: usize) -> Option<Hash> {
        let at = slot * NODE_LEN;
        let entry: &[u8; NODE_LEN] = self.bytes.get(at..at + NODE_LEN)?.try_into().ok()?;
        let bit = 1u128 << slot;
        if self.checked & bit != 0 {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&entry[..32]);
            return Some(hash);
        }
        let hash = checked_node(stream, index, entry)?;
        self.checked |= bit;
        Some(hash)
    }
}

/// The hash of node entry `index` read as `entry`, if it passes its CRC.
fn checked_node(stream: u64, index: u64, entry: &[u8; NODE_LEN]) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&entry[..32]);
    (node_crc(stream, index, &hash).to_le_bytes() == entry[32..]).then_some(hash)
}

impl TreeFiles {
    pub fn new(stream: u64, dir: Arc<dyn StorageDir>) -> TreeFiles {
        TreeFiles {
            stream,
            dir,
            nodes: None,
            leaves: std::collections::HashMap::new(),
            pages: std::collections::HashMap::new(),
        }
    }

    fn show(&self, rel: PathBuf) -> String {
        self.dir.display(&rel).display().to_string()
    }

    fn open_or_create(&self, rel: PathBuf, create: bool) -> Result<Option<Arc<dyn ByteFile>>> {
        match self.dir.open(&rel, true) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                self.dir
                    .create_dir(&layout::tree_dir(self.stream))
                    .context(|| format!("creating {}", self.show(layout::tree_dir(self.stream))))?;
                self.dir
                    .write_cache(&rel, &[])
                    .context(|| format!("creating {}", self.show(rel.clone())))?;
                let file = self
                    .dir
                    .open(&rel, true)
                    .context(|| format!("opening {}", self.show(rel.clone())))?;
                Ok(Some(file))
            }
            Err(e) => Err(e).context(|| format!("opening {}", self.show(rel))),
        }
    }

    fn nodes(&mut self, create: bool) -> Result<Option<Arc<dyn ByteFile>>> {
        if self.nodes.is_none() {
            self.nodes = self.open_or_create(layout::tree_nodes_path(self.stream), create)?;
        }
        Ok(self.nodes.clone())
    }

    fn leaves(&mut self, file_no: u64, create: bool) -> Result<Option<Arc<dyn ByteFile>>> {
        if let Some(file) = self.leaves.get(&file_no) {
            return Ok(Some(file.clone()));
        }
        let rel = layout::tree_leaves_path(self.stream, file_no * CHUNKS_PER_FILE * CHUNK);
        let file = self.open_or_create(rel, create)?;
        if let Some(file) = &file {
            if self.leaves.len() >= OPEN_LEAF_FILES {
                self.leaves.clear();
            }
            self.leaves.insert(file_no, file.clone());
        }
        Ok(file)
    }

    /// How many whole chunks the files hold: complete leaf blocks from the
    /// first file on, and node entries for at least as many.
    pub fn stored_chunks(&mut self) -> Result<u64> {
        let node_entries = match self.nodes(false)? {
            Some(f) => f.len().context(|| "reading the tree's node file".into())? / NODE_LEN as u64,
            None => 0,
        };
        let mut by_nodes = node_entries / 2;
        while by_nodes > 0 && stored_count(by_nodes) > node_entries {
            by_nodes -= 1;
        }
        while stored_count(by_nodes + 1) <= node_entries {
            by_nodes += 1;
        }
        let mut blocks = 0;
        loop {
            let file_no = blocks / CHUNKS_PER_FILE;
            let Some(file) = self.leaves(file_no, false)? else {
                break;
            };
            let len = file.len().context(|| "reading a tree leaf file".into())?;
            let held = (len / BLOCK_LEN as u64).min(CHUNKS_PER_FILE);
            blocks += held;
            if held < CHUNKS_PER_FILE {
                break;
            }
        }
        Ok(by_nodes.min(blocks))
    }

    /// Makes the files durable up to `chunks` chunks, given that the first
    /// `from` already are: the leaf files from the one holding chunk
    /// `from`, the node file, and the directory's entries.
    pub fn sync(&mut self, from: u64, chunks: u64) -> Result<()> {
        if chunks == 0 {
            return Ok(());
        }
        for file_no in from / CHUNKS_PER_FILE..chunks.div_ceil(CHUNKS_PER_FILE) {
            if let Some(file) = self.leaves(file_no, false)? {
                file.sync_data()
                    .context(|| "fsync of a tree leaf file".into())?;
            }
        }
        if let Some(nodes) = self.nodes(false)? {
            nodes
                .sync_data()
                .context(|| "fsync of the tree's node file".into())?;
        }
        let rel = layout::tree_dir(self.stream);
        self.dir
            .sync_dir(&rel)
            .context(|| format!("fsync of {}", self.show(rel.clone())))
    }

    /// Cuts the files back to their first `chunks` chunks.
    pub fn truncate(&mut self, chunks: u64) -> Result<()> {
        self.pages.clear();
        if let Some(nodes) = self.nodes(false)? {
            nodes
                .truncate(stored_count(chunks) * NODE_LEN as u64)
                .context(|| "cutting the tree's node file".into())?;
        }
        let keep_files = chunks.div_ceil(CHUNKS_PER_FILE);
        let names = match self.dir.list(&layout::tree_dir(self.stream)) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).context(|| "listing the tree's files".into()),
        };
        self.leaves.clear();
        for name in names {
            let Some(first) = layout::parse_tree_leaves_name(&name) else {
                continue;
            };
            let file_no = first / (CHUNKS_PER_FILE * CHUNK);
            let rel = layout::tree_leaves_path(self.stream, first);
            if file_no >= keep_files {
                self.dir
                    .remove(&rel)
                    .context(|| format!("removing {}", self.show(rel.clone())))?;
            } else if file_no + 1 == keep_files {
                let blocks = chunks - file_no * CHUNKS_PER_FILE;
                let file = self
                    .dir
                    .open(&rel, true)
                    .context(|| format!("opening {}", self.show(rel.clone())))?;
                file.truncate(blocks * BLOCK_LEN as u64)
                    .context(|| format!("cutting {}", self.show(rel.clone())))?;
            }
        }
        Ok(())
    }

    /// The 64 leaf hashes of `chunk`; `None` if they are missing or fail
    /// their CRC.
    pub fn read_block(&mut self, chunk: u64) -> Result<Option<[Hash; CHUNK as usize]>> {
        let Some(file) = self.leaves(chunk / CHUNKS_PER_FILE, false)? else {
            return Ok(None);
        };
        let pos = (chunk % CHUNKS_PER_FILE) * BLOCK_LEN as u64;
        let mut buf = [0u8; BLOCK_LEN];
        match file.read_exact_at(&mut buf, pos) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).context(|| "reading a tree leaf file".into()),
        }
        let (hashes, crc) = buf.split_at(BLOCK_LEN - 4);
        if block_crc(self.stream, chunk, hashes).to_le_bytes() != crc {
            return Ok(None);
        }
        let mut out = [[0u8; 32]; CHUNK as usize];
        for (leaf, bytes) in out.iter_mut().zip(hashes.chunks_exact(32)) {
            leaf.copy_from_slice(bytes);
        }
        Ok(Some(out))
    }

    pub fn write_block(&mut self, chunk: u64, leaves: &[Hash]) -> Result<()> {
        debug_assert_eq!(leaves.len(), CHUNK as usize);
        let mut buf = Vec::with_capacity(BLOCK_LEN);
        for leaf in leaves {
            buf.extend_from_slice(leaf);
        }
        let crc = block_crc(self.stream, chunk, &buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let file = self
            .leaves(chunk / CHUNKS_PER_FILE, true)?
            .ok_or_else(|| crate::error::Error::invalid("tree leaf file vanished"))?;
        file.write_all_at(&buf, (chunk % CHUNKS_PER_FILE) * BLOCK_LEN as u64)
            .context(|| "writing a tree leaf file".into())
    }

    /// Node entry `index`; `None` if missing or failing its CRC.
    pub fn read_node(&mut self, index: u64) -> Result<Option<Hash>> {
        let page_no = index / PAGE_ENTRIES;
        let slot = (index % PAGE_ENTRIES) as usize;
        if let Some(page) = self.pages.get_mut(&page_no) {
            return Ok(page.entry(self.stream, index, slot));
        }
        let Some(file) = self.nodes(false)? else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; PAGE_ENTRIES as usize * NODE_LEN].into_boxed_slice();
        match file.read_exact_at(&mut bytes, page_no * PAGE_ENTRIES * NODE_LEN as u64) {
            Ok(()) => {}
            // The last page is not whole yet: read the one entry.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let mut entry = [0u8; NODE_LEN];
                return match file.read_exact_at(&mut entry, index * NODE_LEN as u64) {
                    Ok(()) => Ok(checked_node(self.stream, index, &entry)),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(e) => Err(e).context(|| "reading the tree's node file".into()),
                };
            }
            Err(e) => return Err(e).context(|| "reading the tree's node file".into()),
        }
        if self.pages.len() >= CACHED_PAGES {
            // Keep the pages near the root, which every proof reads.
            if let Some(&evict) = self.pages.keys().max() {
                self.pages.remove(&evict);
            }
        }
        let page = self
            .pages
            .entry(page_no)
            .or_insert(Page { bytes, checked: 0 });
        Ok(page.entry(self.stream, index, slot))
    }

    /// Writes node entries `first..` in one write.
    pub fn write_nodes(&mut self, first: u64, hashes: &[Hash]) -> Result<()> {
        let last = first + hashes.len() as u64;
        for page in first / PAGE_ENTRIES..=last / PAGE_ENTRIES {
            self.pages.remove(&page);
        }
        let mut buf = Vec::with_capacity(hashes.len() * NODE_LEN);
        for (i, hash) in hashes.iter().enumerate() {
            buf.extend_from_slice(hash);
            buf.extend_from_slice(&node_crc(self.stream, first + i as u64, hash).to_le_bytes());
        }
        let file = self
            .nodes(true)?
            .ok_or_else(|| crate::error::Error::invalid("tree node file vanished"))?;
        file.write_all_at(&buf, first * NODE_LEN as u64)
            .context(|| "writing the tree's node file".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_order_is_append_order() {
        // Appending chunk roots one by one, each followed by the parents it
        // completes, gives every node the place `stored_index` names.
        let mut next = 0u64;
        for chunk in 0..300u64 {
            assert_eq!(stored_index(0, chunk), next, "chunk {chunk}");
            next += 1;
            let mut level = 0;
            let mut x = chunk;
            while x & 1 == 1 {
                level += 1;
                x >>= 1;
                assert_eq!(stored_index(level, x), next, "level {level} node {x}");
                next += 1;
            }
            assert_eq!(stored_count(chunk + 1), next);
        }
    }
}
