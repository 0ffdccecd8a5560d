//! Reading manifests from the bucket: one stream's, or every stream's at
//! open, many at once.
//!
//! Invariants kept here:
//! - A manifest is only ever returned whole: its object and every part it
//!   names, each checked as it decodes (`decode_part`) and the entries
//!   checked as one chain (`ManifestObject::assemble`).
//! - A part named but missing is a prune racing the read (it moves the
//!   manifest, then deletes the parts it dropped), so the manifest is read
//!   again; only one that stays missing is `Corruption`.
//! - Reading many streams' manifests is the same as reading each one
//!   alone: the objects and their parts are fetched in batches, and a
//!   stream that meets a missing part falls back to the one-stream read.

use super::catalog::Catalog;
use super::manifest::{decode_part, Manifest, ManifestObject};
use super::uploader::Etags;
use super::{manifest_key, part_key, Object, Tier};
use crate::error::Error;
use crate::layout;

/// Times a reader goes back to a manifest whose part it found missing: a
/// prune moved the manifest and deleted the part between the two reads.
const PART_MISSING_REREADS: usize = 3;

/// Streams whose manifests are fetched in one batch (and then their parts
/// in another), so a bucket of thousands of streams costs a round trip
/// per batch, not per stream, while little is held at once.
const MANIFESTS_PER_BATCH: usize = 128;

/// A stream's manifest with the etag its compare-and-swap goes by (`None`:
/// the bucket has no manifest of the stream, and the manifest is empty).
pub(crate) type Fetched = (Manifest, Option<String>);

/// Reads the bucket's manifest of `stream` and its parts, with the
/// manifest's etag. A manifest or part that does not decode, or a part
/// the manifest names that stays missing, is `Corruption` of the stream.
pub(crate) fn fetch_manifest(tier: &dyn Tier, stream: u64) -> crate::Result<Fetched> {
    let key = manifest_key(stream);
    let mut missing = String::new();
    for _ in 0..PART_MISSING_REREADS {
        let read = tier
            .get(&key)
            .map_err(|e| Error::io(format!("reading {}/{key}", tier.url()), e))?;
        let Some(object) = read else {
            return Ok((Manifest::empty(stream), None));
        };
        let read = ManifestRead::decode(tier, stream, object)?;
        let found = tier.get_all(read.part_keys.clone());
        match read.assemble(tier, found)? {
            Ok(fetched) => return Ok(fetched),
            Err(part) => missing = part,
        }
    }
    Err(corrupt(
        tier,
        stream,
        &key,
        format!("it names the manifest part {missing}, which is missing"),
    ))
}

/// `fetch_manifest` of each of `streams`, in their order: the manifests a
/// batch at a time, then all their parts at once.
pub(crate) fn fetch_manifests(tier: &dyn Tier, streams: &[u64]) -> crate::Result<Vec<Fetched>> {
    let mut fetched = Vec::with_capacity(streams.len());
    for batch in streams.chunks(MANIFESTS_PER_BATCH) {
        let keys: Vec<String> = batch.iter().map(|&s| manifest_key(s)).collect();
        let objects = all_outcomes(tier, keys, "the manifests")?;
        let mut reads = Vec::with_capacity(batch.len());
        for (&stream, object) in batch.iter().zip(objects) {
            let object = object.map_err(|e| {
                Error::io(
                    format!("reading {}/{}", tier.url(), manifest_key(stream)),
                    e,
                )
            })?;
            reads.push(match object {
                Some(object) => Some(ManifestRead::decode(tier, stream, object)?),
                None => None,
            });
        }
        let part_keys: Vec<String> = reads
            .iter()
            .flatten()
            .flat_map(|r| r.part_keys.iter().cloned())
            .collect();
        let mut parts = all_outcomes(tier, part_keys, "the manifest parts")?.into_iter();
        for (&stream, read) in batch.iter().zip(reads) {
            let Some(read) = read else {
                fetched.push((Manifest::empty(stream), None));
                continue;
            };
            let its_parts = parts.by_ref().take(read.part_keys.len()).collect();
            match read.assemble(tier, its_parts)? {
                Ok(whole) => fetched.push(whole),
                // Moved by a prune meanwhile: read it again, alone.
                Err(_) => fetched.push(fetch_manifest(tier, stream)?),
            }
        }
    }
    Ok(fetched)
}

/// The manifests of every stream the bucket holds, with their etags.
pub(crate) fn load_catalog(tier: &dyn Tier, etags: &mut Etags) -> crate::Result<Catalog> {
    let catalog = Catalog::default();
    let dirs = tier
        .list_dirs(layout::STREAMS_DIR)
        .map_err(|e| Error::io(format!("listing {}/{}", tier.url(), layout::STREAMS_DIR), e))?;
    let streams: Vec<u64> = dirs
        .iter()
        .filter_map(|dir| layout::parse_stream_dir(dir))
        .collect();
    for (manifest, etag) in fetch_manifests(tier, &streams)? {
        etags.insert(manifest.stream, etag);
        catalog.set(manifest);
    }
    Ok(catalog)
}

/// `tier.get_all(keys)`, refusing an answer that does not give one outcome
/// per key.
fn all_outcomes(
    tier: &dyn Tier,
    keys: Vec<String>,
    what: &str,
) -> crate::Result<Vec<std::io::Result<Option<Object>>>> {
    let count = keys.len();
    let found = tier.get_all(keys);
    if found.len() != count {
        return Err(Error::io(
            format!("reading {what} in {}", tier.url()),
            std::io::Error::other("the bucket gave no outcome for some of them"),
        ));
    }
    Ok(found)
}

fn corrupt(tier: &dyn Tier, stream: u64, key: &str, reason: String) -> Error {
    Error::Corruption {
        stream,
        offset: 0,
        file: format!("{}/{key}", tier.url()).into(),
        reason,
    }
}

/// A manifest object read and decoded, its parts not yet.
struct ManifestRead {
    stream: u64,
    object: ManifestObject,
    etag: Option<String>,
    part_keys: Vec<String>,
}

impl ManifestRead {
    fn decode(tier: &dyn Tier, stream: u64, read: Object) -> crate::Result<ManifestRead> {
        let key = manifest_key(stream);
        let object = ManifestObject::decode(&read.bytes, stream)
            .map_err(|r| corrupt(tier, stream, &key, r))?;
        let part_keys = object.parts.iter().map(|p| part_key(stream, p)).collect();
        Ok(ManifestRead {
            stream,
            object,
            etag: read.etag,
            part_keys,
        })
    }

    /// The whole manifest from its parts as fetched (one outcome per part,
    /// in order), or the key of a part that was missing.
    fn assemble(
        self,
        tier: &dyn Tier,
        found: Vec<std::io::Result<Option<Object>>>,
    ) -> crate::Result<Result<Fetched, String>> {
        let stream = self.stream;
        if found.len() != self.part_keys.len() {
            return Err(Error::io(
                format!(
                    "reading the parts of {}/{}",
                    tier.url(),
                    manifest_key(stream)
                ),
                std::io::Error::other("the bucket gave no outcome for some of them"),
            ));
        }
        let mut parts = Vec::with_capacity(found.len());
        for ((part, key), got) in self.object.parts.iter().zip(self.part_keys).zip(found) {
            let got = got.map_err(|e| Error::io(format!("reading {}/{key}", tier.url()), e))?;
            let Some(got) = got else {
                return Ok(Err(key));
            };
            parts.push(
                decode_part(&got.bytes, stream, part)
                    .map_err(|r| corrupt(tier, stream, &key, r))?,
            );
        }
        let manifest = self
            .object
            .assemble(parts)
            .map_err(|r| corrupt(tier, stream, &manifest_key(stream), r))?;
        Ok(Ok((manifest, self.etag)))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::hash::ChainHead;
    use crate::tier::manifest::ManifestEntry;
    use crate::tier::memory::MemoryTier;

    /// A manifest of `stream` with `segments` entries, its oldest folded
    /// into parts of two entries.
    pub(in crate::tier) fn put_manifest(
        bucket: &MemoryTier,
        stream: u64,
        segments: u64,
    ) -> Manifest {
        let mut manifest = Manifest::empty(stream);
        let mut at = ChainHead::EMPTY;
        for i in 0..segments {
            let end = ChainHead {
                next_offset: at.next_offset + 5,
                hash: [i as u8 + 1; 32],
            };
            manifest.entries.push(ManifestEntry {
                base: at,
                end,
                segment_len: 100,
                index_len: 10,
                epoch: 1,
                segment_sha256: [0; 32],
                rules: None,
            });
            at = end;
        }
        for (part, bytes) in manifest.fold(2, 1) {
            bucket.put(&part_key(stream, &part), bytes).unwrap();
        }
        bucket
            .put(&manifest_key(stream), manifest.encode())
            .unwrap();
        manifest
    }

    /// Many streams read at once read as each does alone: with parts,
    /// without, and with no manifest at all, across batches.
    #[test]
    fn many_manifests_read_as_each_does_alone() {
        let bucket = MemoryTier::new();
        let count = MANIFESTS_PER_BATCH as u64 + 7;
        let streams: Vec<u64> = (1..=count).collect();
        for &stream in &streams {
            if stream % 5 != 0 {
                put_manifest(&bucket, stream, stream % 6);
            }
        }
        let many = fetch_manifests(&bucket, &streams).unwrap();
        assert_eq!(many.len(), streams.len());
        for (&stream, fetched) in streams.iter().zip(&many) {
            assert_eq!(
                *fetched,
                fetch_manifest(&bucket, stream).unwrap(),
                "{stream}"
            );
            assert_eq!(fetched.0.stream, stream);
            assert_eq!(fetched.1.is_none(), stream % 5 == 0, "{stream}");
            assert_eq!(
                fetched.0.entries.len() as u64,
                if stream % 5 == 0 { 0 } else { stream % 6 }
            );
        }
        assert!(many.iter().any(|(m, _)| !m.parts.is_empty()));

        let mut etags = Etags::new();
        let catalog = load_catalog(&bucket, &mut etags).unwrap();
        let held: Vec<u64> = streams.iter().copied().filter(|s| s % 5 != 0).collect();
        assert_eq!(catalog.streams(), held);
        assert_eq!(etags.len(), held.len());
    }

    /// A part that is missing in the batch read (a prune moved the
    /// manifest meanwhile) is read again alone; one that stays missing, or
    /// a part with other bytes, is corruption of that stream.
    #[test]
    fn a_missing_or_damaged_part_is_reread_then_reported() {
        let bucket = MemoryTier::new();
        let manifests: Vec<Manifest> = (1..=3).map(|s| put_manifest(&bucket, s, 5)).collect();
        let gone = part_key(2, &manifests[1].parts[0]);
        let bytes = bucket.get(&gone).unwrap().unwrap().bytes;
        bucket.delete(&gone).unwrap();
        match fetch_manifests(&bucket, &[1, 2, 3]) {
            Err(Error::Corruption { stream, reason, .. }) => {
                assert_eq!(stream, 2);
                assert!(reason.contains("which is missing"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        bucket.put(&gone, damaged).unwrap();
        match fetch_manifests(&bucket, &[1, 2, 3]) {
            Err(Error::Corruption { stream, file, .. }) => {
                assert_eq!(stream, 2);
                assert!(file.to_string_lossy().ends_with(&gone), "{file:?}");
            }
            other => panic!("{other:?}"),
        }
        bucket.put(&gone, bytes).unwrap();
        let fetched = fetch_manifests(&bucket, &[1, 2, 3]).unwrap();
        let read: Vec<Manifest> = fetched.into_iter().map(|(m, _)| m).collect();
        assert_eq!(read, manifests);
    }

    /// A bucket whose first batch read misses one part, as when a prune
    /// moves the manifest and deletes the part between the two reads.
    #[derive(Debug)]
    struct PartGoneOnce {
        bucket: MemoryTier,
        part: String,
        missed: std::sync::atomic::AtomicBool,
    }

    impl Tier for PartGoneOnce {
        fn url(&self) -> &str {
            "memory://"
        }
        fn get(&self, key: &str) -> std::io::Result<Option<Object>> {
            self.bucket.get(key)
        }
        fn get_all(&self, keys: Vec<String>) -> Vec<std::io::Result<Option<Object>>> {
            use std::sync::atomic::Ordering;
            keys.iter()
                .map(
                    |key| match key == &self.part && !self.missed.swap(true, Ordering::SeqCst) {
                        true => Ok(None),
                        false => self.bucket.get(key),
                    },
                )
                .collect()
        }
        fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> std::io::Result<Vec<u8>> {
            self.bucket.get_range(key, range)
        }
        fn head(&self, key: &str) -> std::io::Result<Option<super::super::ObjectInfo>> {
            self.bucket.head(key)
        }
        fn put_create(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<super::super::Put> {
            self.bucket.put_create(key, bytes)
        }
        fn put_update(
            &self,
            key: &str,
            bytes: Vec<u8>,
            etag: &str,
        ) -> std::io::Result<super::super::Put> {
            self.bucket.put_update(key, bytes, etag)
        }
        fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
            self.bucket.put(key, bytes)
        }
        fn list_dirs(&self, dir: &str) -> std::io::Result<Vec<String>> {
            self.bucket.list_dirs(dir)
        }
        fn list_objects(&self, dir: &str) -> std::io::Result<Vec<String>> {
            self.bucket.list_objects(dir)
        }
        fn delete(&self, key: &str) -> std::io::Result<()> {
            self.bucket.delete(key)
        }
    }

    /// The stream whose part the batch read missed is read again alone,
    /// and every stream's manifest comes back whole.
    #[test]
    fn a_part_missed_by_the_batch_read_is_read_again() {
        let bucket = MemoryTier::new();
        let manifests: Vec<Manifest> = (1..=3).map(|s| put_manifest(&bucket, s, 5)).collect();
        let racing = PartGoneOnce {
            part: part_key(2, &manifests[1].parts[1]),
            bucket: bucket.clone(),
            missed: Default::default(),
        };
        let before = bucket.gets_of(&manifest_key(2));
        let fetched = fetch_manifests(&racing, &[1, 2, 3]).unwrap();
        assert!(racing.missed.into_inner());
        let read: Vec<Manifest> = fetched.into_iter().map(|(m, _)| m).collect();
        assert_eq!(read, manifests);
        assert_eq!(
            bucket.gets_of(&manifest_key(2)) - before,
            2,
            "read again alone"
        );
        assert_eq!(bucket.gets_of(&manifest_key(1)), 1);
    }
}
