//! Plants fuzzer bytes into an in-memory store and exercises every read path.

use std::path::Path;
use std::sync::Arc;

use stratalog_core::io::memory::MemoryDir;
use stratalog_core::io::StorageDir;
use stratalog_core::{Options, Store};

pub const STREAM_DIR: &str = "streams/00000000000000000001";

pub fn options() -> Options {
    Options {
        segment_size: 4096,
        checkpoint_interval: 2,
        max_event_size: 1 << 16,
        ..Options::default()
    }
}

pub fn empty_store() -> MemoryDir {
    let dir = MemoryDir::new();
    drop(Store::open_on(Arc::new(dir.clone()), options(), true));
    let _ = dir.create_dir(Path::new(STREAM_DIR));
    dir
}

pub fn plant(dir: &MemoryDir, name: &str, bytes: &[u8]) {
    let _ = dir.write_atomic(&Path::new(STREAM_DIR).join(name), bytes);
}

pub fn exercise(dir: &MemoryDir) {
    for writable in [false, true] {
        let Ok(store) = Store::open_on(Arc::new(dir.clone()), options(), writable) else { continue };
        let _ = store.verify(1);
        let _ = store.chain_head(1);
        for offset in [0u64, 1, 3, 7, 20] {
            let _ = store.read_from(1, offset, 256);
        }
        for item in store.iter(1, 0).into_iter().flatten().take(64) {
            let _ = item;
        }
        if writable {
            let _ = store.append_batch(1, &[b"more".as_slice()], None, false);
            let _ = store.verify(1);
        }
    }
}
