//! Store configuration.

use crate::error::{Error, Result};
pub use crate::io::pool::MIN_OPEN_FILES;

/// Per-record payload compression. A payload is stored compressed only when
/// that makes it smaller; the chain hash always covers the raw payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    Lz4,
    Zstd,
}

impl Compression {
    /// Every codec, in the order of their numbers in the C ABI.
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Lz4, Compression::Zstd];

    /// The codec's name as every language spells it: "none", "lz4", "zstd".
    pub fn name(self) -> &'static str {
        // The names are ASCII, so this never falls back.
        self.c_name().to_str().unwrap_or("")
    }

    /// [`Compression::name`] NUL-terminated, for the C ABI.
    pub fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            Compression::None => c"none",
            Compression::Lz4 => c"lz4",
            Compression::Zstd => c"zstd",
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Compression {
    type Err = Error;

    /// Parses a name as [`Compression::name`] prints it, in any case.
    fn from_str(name: &str) -> Result<Self> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "compression must be \"none\", \"lz4\" or \"zstd\", got {name:?}"
                ))
            })
    }
}

/// How a store is configured. Every field has a sensible default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A segment is rotated before a batch would grow it past this many
    /// bytes. A batch larger than this gets a segment of its own.
    pub segment_size: u64,
    /// A checkpoint record is written before every event whose offset is a
    /// non-zero multiple of this. Reads verify the chain from the nearest
    /// checkpoint, so this bounds the extra work of a random read. The
    /// default, 256, costs one 60-byte record per 256 events and keeps a
    /// random read of 100 B events near 100 µs (1024 made it ~290 µs).
    pub checkpoint_interval: u64,
    /// Compression applied to new records.
    pub compression: Compression,
    /// Durability used by calls that do not say (`Store::append`, bindings
    /// called without an explicit fsync).
    pub fsync: bool,
    /// Largest event accepted by `append_batch`, and largest payload a read
    /// will decompress.
    pub max_event_size: u64,
    /// Most segment files the store keeps open at once, whatever its number
    /// of streams (at least 8). Beyond it the least recently used are
    /// closed and reopened on their next use, so a store of 100,000
    /// streams runs under the usual limit of 1,024 descriptors per process.
    /// The default, 256, leaves the rest of that limit to the application.
    /// When the process runs out of descriptors anyway (a lower
    /// `ulimit -n`, or an application that holds many), the store closes
    /// some of its own and lowers its bound instead of failing.
    pub max_open_files: u64,
    /// Whether each batch records its append time: a time record (Unix
    /// milliseconds) before its first event, which `seek_time` and the
    /// keep-newer-than retention policy read. Off by default: it costs 68
    /// bytes per batch. Recorded in each new segment's header.
    pub timestamps: bool,
}

/// The largest `max_event_size` the record format can carry.
pub const MAX_EVENT_SIZE_LIMIT: u64 = (u32::MAX - 8) as u64;

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_size: 64 << 20,
            checkpoint_interval: 256,
            compression: Compression::None,
            fsync: false,
            max_event_size: 16 << 20,
            max_open_files: 256,
            timestamps: false,
        }
    }
}

impl Options {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.segment_size < 4096 {
            return Err(Error::invalid(format!(
                "segment_size must be at least 4096 bytes, got {}",
                self.segment_size
            )));
        }
        if self.checkpoint_interval == 0 {
            return Err(Error::invalid("checkpoint_interval must be at least 1"));
        }
        if self.max_event_size == 0 || self.max_event_size > MAX_EVENT_SIZE_LIMIT {
            return Err(Error::invalid(format!(
                "max_event_size must be between 1 and {MAX_EVENT_SIZE_LIMIT}, got {}",
                self.max_event_size
            )));
        }
        if self.max_open_files < MIN_OPEN_FILES {
            return Err(Error::invalid(format!(
                "max_open_files must be at least {MIN_OPEN_FILES}, got {}",
                self.max_open_files
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_names_round_trip() {
        for c in Compression::ALL {
            assert_eq!(c.name().parse::<Compression>().ok(), Some(c));
            assert_eq!(c.name().to_uppercase().parse::<Compression>().ok(), Some(c));
        }
        assert_eq!(Compression::Zstd.to_string(), "zstd");
        for bad in ["", "gzip", "lz4 ", "zst"] {
            assert!(matches!(
                bad.parse::<Compression>(),
                Err(Error::InvalidArgument(_))
            ));
        }
    }
}
