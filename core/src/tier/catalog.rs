//! The manifests a store knows, by stream: what the bucket holds, as the
//! tiered directory lists it and the uploader last wrote or read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::manifest::{Manifest, ManifestEntry};

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    manifests: RwLock<BTreeMap<u64, Arc<Manifest>>>,
}

impl Catalog {
    pub(crate) fn get(&self, stream: u64) -> Option<Arc<Manifest>> {
        self.manifests.read().get(&stream).cloned()
    }

    pub(crate) fn set(&self, manifest: Manifest) {
        self.manifests
            .write()
            .insert(manifest.stream, Arc::new(manifest));
    }

    pub(crate) fn streams(&self) -> Vec<u64> {
        self.manifests.read().keys().copied().collect()
    }

    /// The entry of the segment of `stream` based at `base`.
    pub(crate) fn entry(&self, stream: u64, base: u64) -> Option<ManifestEntry> {
        self.get(stream)?.entry(base).cloned()
    }
}
