//! Roots, proofs, checkpoints, receipts and tiles of a stream's Merkle tree
//! (docs/FORMAT.md, *Merkle tree*).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::{Mutex, RwLockReadGuard};

use super::Store;
use crate::error::{Error, IoContext, Result};
use crate::hash::Hash;
use crate::layout;
use crate::merkle::{self, proof};
use crate::note::checkpoint::{check_origin, Checkpoint};
use crate::note::key::SigningKey;
use crate::note::receipt;
use crate::signed_record::{self, SignedHead};
use crate::stream::Stream;
use crate::tier::{tile_leaves, SyncTarget};
use crate::tiles;
use crate::tree::StreamTree;
use crate::witness::{self, Answer, Witness};

/// Trees kept loaded at once (see `Store::tree_of`).
const LOADED_TREES: usize = 64;

impl Store {
    /// The tree of `stream`, loaded on first use. At most `LOADED_TREES`
    /// stay loaded (each with its bounded caches), so a store that signs
    /// for thousands of streams keeps the memory of a few dozen; a tree
    /// let go reloads from its files in a few reads.
    pub(super) fn tree_of(&self, stream: &Stream) -> Result<Arc<Mutex<StreamTree>>> {
        if let Some(tree) = self.trees.lock().get(&stream.id) {
            return Ok(tree.clone());
        }
        // One load at a time, so a stream never has two trees at once: a
        // load cuts chunks it finds beyond the stream, and must never cut
        // what a loaded tree has since written (and a prune made durable).
        let _loading = self.tree_loads.lock();
        if let Some(tree) = self.trees.lock().get(&stream.id) {
            return Ok(tree.clone());
        }
        let dir = self.tree_dir.clone();
        let tree = match self.bucket.as_deref() {
            None => StreamTree::load(stream, dir, None)?,
            Some(bucket) => {
                let from_bucket = |end: u64, each: &mut dyn FnMut(Hash) -> Result<()>| {
                    tile_leaves::leaf_hashes(bucket, stream.id, end, each)
                };
                StreamTree::load(stream, dir, Some(&from_bucket))?
            }
        };
        let tree = Arc::new(Mutex::new(tree));
        let mut trees = self.trees.lock();
        if trees.len() >= LOADED_TREES && !trees.contains_key(&stream.id) {
            // One no call is using (only the map holds it), so no two
            // trees of one stream ever write its files at once. Which one
            // matters little: a wrong guess costs one reload.
            let idle = trees
                .iter()
                .find(|(_, tree)| Arc::strong_count(tree) == 1)
                .map(|(&id, _)| id);
            if let Some(id) = idle {
                trees.remove(&id);
            }
        }
        Ok(trees.entry(stream.id).or_insert(tree).clone())
    }

    /// The stream and the tree size `size` names (`None`: the whole stream).
    fn sized(&self, stream: u64, size: Option<u64>) -> Result<(Option<Arc<Stream>>, u64)> {
        let found = self.stream(stream)?;
        let next_offset = match &found {
            Some(s) => s.chain_head()?.next_offset,
            None => 0,
        };
        let size = size.unwrap_or(next_offset);
        if size > next_offset {
            return Err(Error::OffsetOutOfRange {
                stream,
                offset: size,
                next_offset,
            });
        }
        Ok((found, size))
    }

    fn with_tree<T>(
        &self,
        stream: &Stream,
        size: u64,
        op: impl FnMut(&mut dyn proof::Subtrees) -> Result<T>,
    ) -> Result<T> {
        let tree = self.tree_of(stream)?;
        let mut tree = tree.lock();
        tree.with(stream, size, op)
    }

    fn root_at(&self, stream: Option<&Stream>, size: u64) -> Result<Hash> {
        match stream {
            Some(s) if size > 0 => self.with_tree(s, size, |src| proof::range_hash(src, 0, size)),
            _ => Ok(merkle::empty_root()),
        }
    }

    /// The root of `stream`'s Merkle tree over its first `size` events
    /// (`None`: all of them).
    pub fn tree_root(&self, stream: u64, size: Option<u64>) -> Result<Hash> {
        let _op = self.begin()?;
        let (found, size) = self.sized(stream, size)?;
        self.root_at(found.as_deref(), size)
    }

    /// The inclusion proof of event `offset` in the tree of the first
    /// `size` events (`None`: all of them), from the leaf's sibling up.
    pub fn inclusion_proof(
        &self,
        stream: u64,
        offset: u64,
        size: Option<u64>,
    ) -> Result<Vec<Hash>> {
        let _op = self.begin()?;
        let (found, size) = self.sized(stream, size)?;
        let Some(found) = found.filter(|_| offset < size) else {
            return Err(Error::invalid(format!(
                "event {offset} is not in the tree of size {size} of stream {stream}"
            )));
        };
        self.with_tree(&found, size, |src| proof::inclusion(src, offset, size))
    }

    /// The consistency proof from the tree of the first `old_size` events
    /// to the tree of the first `size` (`None`: all of them).
    pub fn consistency_proof(
        &self,
        stream: u64,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<Vec<Hash>> {
        let _op = self.begin()?;
        let (found, size) = self.sized(stream, size)?;
        if old_size > size {
            return Err(Error::invalid(format!(
                "old tree size {old_size} is larger than the tree size {size}"
            )));
        }
        match found {
            Some(s) => self.with_tree(&s, size, |src| proof::consistency(src, old_size, size)),
            None => Ok(Vec::new()),
        }
    }

    /// The 40-byte leaf data of event `offset`: `u64_le(offset) || h(offset)`.
    pub fn leaf_data(&self, stream: u64, offset: u64) -> Result<[u8; merkle::LEAF_DATA_LEN]> {
        let _op = self.begin()?;
        let (_, hash) = self.chain_around(stream, offset)?;
        Ok(merkle::leaf_data(offset, &hash))
    }

    /// `(h(offset - 1), h(offset))`, verified from the nearest checkpoint.
    fn chain_around(&self, stream: u64, offset: u64) -> Result<(Hash, Hash)> {
        let Some(found) = self.stream(stream)? else {
            return Err(Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset: 0,
            });
        };
        let mut cursor = found.cursor(offset)?;
        let before = cursor.head().hash;
        match cursor.next_event()? {
            Some(_) => Ok((before, cursor.head().hash)),
            None => Err(Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset: cursor.end().next_offset,
            }),
        }
    }

    /// A signed C2SP checkpoint of `stream`'s tree of the first `size`
    /// events (`None`: all of them). `origin` defaults to
    /// `<key name>/<stream>`.
    ///
    /// The store never signs two inconsistent checkpoints for one origin:
    /// it keeps the last head it signed for each (durably, before the note
    /// is returned) and refuses with [`Error::CheckpointRefused`] a smaller
    /// size, another root for the same size, or a tree that does not
    /// contain the one signed before (a store restored from an old backup
    /// and appended to differently).
    ///
    /// Nor does it sign events a crash can take: a writer first makes the
    /// events the tree covers durable (an fsync, if appends since the last
    /// one are among them) and, in a tiered store, waits until the bucket
    /// holds them and their tiles (sealing the active segment if they
    /// reach into it), failing as [`Store::sync_tier`] does, with
    /// [`Error::Locked`] once the tier was taken over. So a machine lost
    /// after a checkpoint leaves every event it signed in the bucket.
    /// [`Store::witness_checkpoint`], [`Store::receipt`] and
    /// [`Store::export_tiles`] sign the same way. A read-only handle
    /// fsyncs the writer's segment it read first, as
    /// [`Store::commit_cursor`] does. A reader of a bucket, with no
    /// directory to record what it signed in, refuses with
    /// [`Error::InvalidArgument`].
    pub fn checkpoint(
        &self,
        stream: u64,
        key: &SigningKey,
        size: Option<u64>,
        origin: Option<&str>,
    ) -> Result<String> {
        let mut op = self.begin()?;
        self.checkpoint_note(&mut op, stream, key, size, origin)
            .map(|(note, _)| note)
    }

    /// `op` is the caller's operation guard, let go while the note waits
    /// for the bucket (see `make_signable`).
    fn checkpoint_note(
        &self,
        op: &mut RwLockReadGuard<'_, ()>,
        stream: u64,
        key: &SigningKey,
        size: Option<u64>,
        origin: Option<&str>,
    ) -> Result<(String, Checkpoint)> {
        let origin = match origin {
            Some(o) => o.to_owned(),
            None => format!("{}/{stream}", key.name()),
        };
        check_origin(&origin)?;
        self.check_keeps_records("sign a checkpoint")?;
        let (found, size) = self.sized(stream, size)?;
        if let Some(found) = &found {
            self.make_signable(op, found, size)?;
        }
        let root = self.root_at(found.as_deref(), size)?;
        let checkpoint = Checkpoint { origin, size, root };
        let note = checkpoint.sign(key)?;
        // The check and the record are one step, against other threads and
        // against other processes (a read-only handle signs too).
        let _signing = self.signing.lock();
        let parent = std::path::Path::new(crate::layout::SIGNED_DIR);
        self.dir
            .create_dir(parent)
            .context(|| format!("creating {}", self.dir.display(parent).display()))?;
        let lock_path = parent.join(crate::layout::SIGNED_LOCK);
        let _lock = self
            .dir
            .lock_file(&lock_path)
            .context(|| format!("locking {}", self.dir.display(&lock_path).display()))?;
        let refuse = |reason: String| Error::CheckpointRefused {
            origin: checkpoint.origin.clone(),
            reason,
        };
        let last = signed_record::load(self.dir.as_ref(), &checkpoint.origin)?;
        if let Some(last) = last {
            if size < last.size {
                return Err(refuse(format!(
                    "a checkpoint of size {} was signed before; a smaller size ({size}) is never signed",
                    last.size
                )));
            }
            let root_then = if size == last.size {
                root
            } else {
                self.root_at(found.as_deref(), last.size)?
            };
            if root_then != last.root {
                return Err(refuse(format!(
                    "the tree of size {} signed before had another root: this stream's history differs from what was signed (restored from an old backup?)",
                    last.size
                )));
            }
        }
        if last.is_none_or(|l| l.size < size) {
            signed_record::save(
                self.dir.as_ref(),
                &checkpoint.origin,
                &SignedHead { size, root },
            )?;
        }
        Ok((note, checkpoint))
    }

    /// Makes the first `size` events of `stream` survive what the store
    /// promises to survive before anything signs them: durable on disk,
    /// and in a tiered store in the bucket too, its tiles included. A note
    /// signed over events that a power loss, or the loss of the machine,
    /// then took would stay valid, while the history written in their
    /// place (a standby continues from the bucket) could be signed as
    /// well: two signed trees that no one log holds. A read-only handle
    /// makes the writer's appends it read durable through its own
    /// descriptor, as `commit_cursor` does; what a reader of a bucket
    /// reads is in the bucket already.
    fn make_signable(
        &self,
        op: &mut RwLockReadGuard<'_, ()>,
        stream: &Stream,
        size: u64,
    ) -> Result<()> {
        if size == 0 || (!self.writable && self.bucket.is_some()) {
            return Ok(());
        }
        if !self.writable {
            if layout::is_tiered_dir(self.dir.as_ref()) {
                return Err(Error::invalid(
                    "a read-only handle of a tiered store's directory cannot sign: what it reads may not be in the bucket yet (sign from the writer, which waits for the upload)",
                ));
            }
            return stream.sync();
        }
        let sealed_end = stream.sealed_end();
        let durable = size <= sealed_end || stream.unsynced()?.is_none();
        if !self.owner.is_current() {
            // A forked child writes nothing, and must not touch the
            // uploader's state (its lock may have been held at the fork).
            return match (&self.tier, durable) {
                (None, true) => Ok(()),
                _ => self.check_owner(),
            };
        }
        let target = SyncTarget {
            stream: stream.id,
            first: 0,
            end: size,
        };
        let uploaded = self.tier.as_ref().is_none_or(|agent| agent.holds(&target));
        if durable && uploaded {
            return Ok(());
        }
        match &self.tier {
            None => stream.sync(),
            Some(agent) => {
                // Sealing makes the segment durable too.
                if size > sealed_end {
                    stream.seal_now()?;
                }
                // The wait may be long (the uploader's round, a bucket
                // retried): not while holding the operation guard, which
                // `close` waits for, and every later call behind it.
                let uploaded = RwLockReadGuard::unlocked(op, || agent.sync_stream(target));
                if self.closed.load(Ordering::Acquire) {
                    return Err(Error::Closed);
                }
                uploaded
            }
        }
    }

    /// A signed checkpoint, as [`Store::checkpoint`] makes it, cosigned by
    /// every witness in `witnesses` (C2SP tlog-witness): each gets the
    /// checkpoint and a consistency proof from the last size it cosigned
    /// for this origin (remembered durably in the store; a witness that
    /// remembers another size says so, and is answered from there), and
    /// its cosignature lines are checked against its key and appended.
    /// Fails with [`Error::WitnessFailed`] naming the first witness that
    /// did not cosign (what the others cosigned is remembered, so a retry
    /// asks them again at no cost).
    pub fn witness_checkpoint(
        &self,
        stream: u64,
        key: &SigningKey,
        witnesses: &[Witness],
        size: Option<u64>,
        origin: Option<&str>,
    ) -> Result<String> {
        let mut op = self.begin()?;
        // Each witness gets the log's note alone; what they cosign is
        // gathered after it.
        let (signed, checkpoint) = self.checkpoint_note(&mut op, stream, key, size, origin)?;
        let mut note = signed.clone();
        let found = self.stream(stream)?;
        for witness in witnesses {
            let record = format!("{}\n{}", checkpoint.origin, witness.vkey);
            let mut old =
                signed_record::load_in(self.dir.as_ref(), layout::WITNESSED_DIR, &record)?
                    .map_or(0, |h| h.size);
            let mut answered = None;
            for _ in 0..2 {
                if old > checkpoint.size {
                    break;
                }
                let proof = match &found {
                    Some(s) if old > 0 => self.with_tree(s, checkpoint.size, |src| {
                        proof::consistency(src, old, checkpoint.size)
                    })?,
                    _ => Vec::new(),
                };
                match witness::add_checkpoint(witness, old, &proof, &signed)? {
                    Answer::Cosigned(lines) => {
                        answered = Some(lines);
                        break;
                    }
                    Answer::Conflict(theirs) => old = theirs,
                }
            }
            let Some(lines) = answered else {
                return Err(Error::WitnessFailed {
                    witness: format!("{} ({})", witness.vkey.name(), witness.url),
                    reason: format!(
                        "it last cosigned size {old} for {}, and this checkpoint is of size {}",
                        checkpoint.origin, checkpoint.size
                    ),
                });
            };
            signed_record::save_in(
                self.dir.as_ref(),
                layout::WITNESSED_DIR,
                &record,
                &SignedHead {
                    size: checkpoint.size,
                    root: checkpoint.root,
                },
            )?;
            note.push_str(&lines);
        }
        Ok(note)
    }

    /// An offline receipt (C2SP tlog-proof) for event `offset`: its
    /// inclusion proof in the tree of the first `size` events (`None`: all
    /// of them), the chain hash before it, and the checkpoint signed by
    /// `key`. [`crate::verify_receipt`] checks it with the event bytes and
    /// the verifier key alone.
    pub fn receipt(
        &self,
        stream: u64,
        offset: u64,
        key: &SigningKey,
        size: Option<u64>,
    ) -> Result<String> {
        let mut op = self.begin()?;
        let (found, size) = self.sized(stream, size)?;
        let Some(found) = found.filter(|_| offset < size) else {
            return Err(Error::invalid(format!(
                "event {offset} is not in the tree of size {size} of stream {stream}"
            )));
        };
        let proof = self.with_tree(&found, size, |src| proof::inclusion(src, offset, size))?;
        let (before, _) = self.chain_around(stream, offset)?;
        let (note, _) = self.checkpoint_note(&mut op, stream, key, Some(size), None)?;
        Ok(receipt::format(offset, &before, &proof, &note))
    }

    /// Writes `stream`'s tree of the first `size` events (`None`: all of
    /// them) as a static C2SP tlog-tiles directory under `dest`: the signed
    /// `checkpoint`, the hash tiles, and the entry bundles, whose entries
    /// are the 40-byte leaf data. Returns the checkpoint.
    pub fn export_tiles(
        &self,
        stream: u64,
        key: &SigningKey,
        dest: &Path,
        size: Option<u64>,
    ) -> Result<String> {
        let mut op = self.begin()?;
        let (found, size) = self.sized(stream, size)?;
        let (note, _) = self.checkpoint_note(&mut op, stream, key, Some(size), None)?;
        if let Some(found) = found.filter(|_| size > 0) {
            let mut writer = tiles::TileWriter::new(dest, size)?;
            let mut cursor = found.cursor(0)?;
            while cursor.next_offset() < size {
                let Some((offset, _)) = cursor.next_event()? else {
                    break;
                };
                writer.add_entry(&merkle::leaf_data(offset, &cursor.head().hash))?;
            }
            self.with_tree(&found, size, |src| writer.finish(src))?;
        }
        tiles::write_checkpoint(dest, &note)?;
        Ok(note)
    }
}
