//! The writer's lease on a tier: the `WRITER` object, which says who may
//! upload and under which epoch.
//!
//! ```text
//! stratalog-writer 1
//! id <32 hex digits: the writer, kept in the local store's TIER file>
//! epoch <n: +1 at every takeover>
//! ttl_ms <n: how long it lasts unrenewed>
//! renewal <n: +1 at every renewal>
//! host <name>
//! pid <n>
//! ```
//! The holder renews it by compare-and-swap every third of its ttl. A
//! second writer is refused ([`Error::Locked`]) while it is held, live or
//! not; with `takeover` it takes over an expired lease, raising the epoch.
//! A holder whose every event is in the bucket releases it when it closes
//! (`ttl_ms 0`): the next writer takes it at once, no takeover needed,
//! again raising the epoch.
//! Expiry is judged by the bucket's clock alone (the lease's last write
//! against a probe object written just now), so no two machines' clocks
//! are compared. The lease answers "who writes"; a fork is prevented by
//! each manifest's compare-and-swap (uploader.rs), which a writer that
//! lost its lease can no longer win.

use std::time::Duration;

use parking_lot::Mutex;

use super::{Put, Tier};
use crate::error::{Error, Result};

pub(crate) const WRITER_KEY: &str = "WRITER";

/// The coarsest clock a bucket keeps object times with (S3: seconds).
const CLOCK_RESOLUTION_MS: u64 = 1000;

/// The ttl of a lease its holder released: free for the next writer.
const RELEASED: u64 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseRecord {
    pub id: String,
    pub epoch: u64,
    pub ttl_ms: u64,
    pub renewal: u64,
    pub host: String,
    pub pid: u32,
}

impl LeaseRecord {
    fn encode(&self) -> Vec<u8> {
        format!(
            "stratalog-writer 1\nid {}\nepoch {}\nttl_ms {}\nrenewal {}\nhost {}\npid {}\n",
            self.id, self.epoch, self.ttl_ms, self.renewal, self.host, self.pid
        )
        .into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "stratalog-writer 1" {
            return None;
        }
        let mut field = |name: &str| -> Option<String> {
            let line = lines.next()?;
            Some(line.strip_prefix(name)?.strip_prefix(' ')?.to_owned())
        };
        Some(LeaseRecord {
            id: field("id")?,
            epoch: field("epoch")?.parse().ok()?,
            ttl_ms: field("ttl_ms")?.parse().ok()?,
            renewal: field("renewal")?.parse().ok()?,
            host: field("host")?,
            pid: field("pid")?.parse().ok()?,
        })
    }
}

/// A lease this process holds.
#[derive(Debug)]
pub(crate) struct Lease {
    record: Mutex<(LeaseRecord, String)>,
    /// How it was taken: what the bucket held then.
    taken: Taken,
}

/// How a lease was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Created: the bucket had no writer before.
    Created,
    /// From a writer that had released it, having closed with every
    /// event in the bucket.
    AfterRelease,
    /// Renewed (our own) or taken over (one that expired).
    Otherwise,
}

/// What a renewal found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Renewal {
    Held,
    /// Another writer holds it now (its description).
    Lost(String),
}

impl Lease {
    /// Takes the lease for writer `id`: creates it, renews our own (a
    /// restart on the same disk keeps its epoch), or, with `takeover`,
    /// takes over one that expired. Anything else is `Locked`. A new lease
    /// (or one taken over) gets an epoch of at least `min_epoch`: above
    /// every epoch a manifest carries, even if `WRITER` was lost.
    pub(crate) fn acquire(
        tier: &dyn Tier,
        id: &str,
        ttl: Duration,
        takeover: bool,
        min_epoch: u64,
    ) -> Result<Self> {
        let io = |e| Error::io(format!("reading the lease of {}", tier.url()), e);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let ours = |epoch: u64| LeaseRecord {
            id: id.to_owned(),
            epoch,
            ttl_ms,
            renewal: 0,
            host: hostname(),
            pid: std::process::id(),
        };
        // A create or swap that races another writer's is decided by the
        // bucket; the loop reads what won and decides again.
        for _ in 0..4 {
            let Some(current) = tier.get(WRITER_KEY).map_err(io)? else {
                let record = ours(min_epoch.max(1));
                if let Put::Done(etag) = tier.put_create(WRITER_KEY, record.encode()).map_err(io)? {
                    return Self::held(tier, record, etag, Taken::Created);
                }
                continue;
            };
            let held = LeaseRecord::decode(&current.bytes).ok_or_else(|| {
                Error::invalid(format!(
                    "{}/{WRITER_KEY} is not a stratalog writer lease",
                    tier.url()
                ))
            })?;
            let etag = current.etag.clone().unwrap_or_default();
            let taken = if held.ttl_ms == RELEASED {
                Taken::AfterRelease
            } else {
                Taken::Otherwise
            };
            // The same id on another host is a copy of this store's
            // directory (rsync, a cloned machine): another writer. So is
            // our own id under an epoch some manifest has passed.
            let ours_still = held.id == id
                && held.host == hostname()
                && held.epoch.saturating_add(1) >= min_epoch;
            let record = if ours_still {
                LeaseRecord {
                    renewal: held.renewal.wrapping_add(1),
                    ..ours(held.epoch)
                }
            } else if held.ttl_ms == RELEASED || (takeover && expired(tier, id, &held)?) {
                let epoch = held
                    .epoch
                    .checked_add(1)
                    .ok_or_else(|| {
                        Error::invalid(format!("{}: lease epochs exhausted", tier.url()))
                    })?
                    .max(min_epoch);
                ours(epoch)
            } else {
                let why = if takeover {
                    format!(
                        "renewed within its {} ms: the writer is alive, or died less than that ago",
                        held.ttl_ms
                    )
                } else {
                    format!(
                        "a takeover may take it once it has gone unrenewed for {} ms",
                        held.ttl_ms
                    )
                };
                return Err(Error::Locked(std::path::PathBuf::from(format!(
                    "{} (lease of writer {} on {}, pid {}, epoch {}; {why})",
                    tier.url(),
                    held.id,
                    held.host,
                    held.pid,
                    held.epoch
                ))));
            };
            if let Put::Done(etag) = tier
                .put_update(WRITER_KEY, record.encode(), &etag)
                .map_err(io)?
            {
                return Self::held(tier, record, etag, taken);
            }
        }
        Err(Error::Locked(std::path::PathBuf::from(tier.url())))
    }

    fn held(
        tier: &dyn Tier,
        record: LeaseRecord,
        etag: Option<String>,
        taken: Taken,
    ) -> Result<Self> {
        let etag = match etag {
            Some(etag) => etag,
            // A bucket that gives no version tag on writes: read it back.
            None => tier
                .head(WRITER_KEY)
                .map_err(|e| Error::io(format!("reading the lease of {}", tier.url()), e))?
                .and_then(|info| info.etag)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{} gives no version tags, so a writer cannot be fenced there",
                        tier.url()
                    ))
                })?,
        };
        Ok(Lease {
            record: Mutex::new((record, etag)),
            taken,
        })
    }

    pub(crate) fn taken(&self) -> Taken {
        self.taken
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.record.lock().0.epoch
    }

    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_millis(self.record.lock().0.ttl_ms)
    }

    /// Renews the lease by compare-and-swap.
    pub(crate) fn renew(&self, tier: &dyn Tier) -> std::io::Result<Renewal> {
        let mut guard = self.record.lock();
        let (record, etag) = &mut *guard;
        let next = LeaseRecord {
            renewal: record.renewal.wrapping_add(1),
            ..record.clone()
        };
        match tier.put_update(WRITER_KEY, next.encode(), etag)? {
            Put::Done(new) => {
                *record = next;
                if let Some(new) = new {
                    *etag = new;
                }
                Ok(Renewal::Held)
            }
            Put::Conflict => {
                // A retried request that did succeed also lands here: the
                // bytes in the bucket decide.
                let current = tier.get(WRITER_KEY)?;
                match current {
                    Some(obj) if obj.bytes == next.encode() => {
                        *record = next;
                        if let Some(new) = obj.etag {
                            *etag = new;
                        }
                        Ok(Renewal::Held)
                    }
                    Some(obj) => Ok(Renewal::Lost(LeaseRecord::decode(&obj.bytes).map_or_else(
                        || "an unreadable lease".to_owned(),
                        |held| {
                            format!("writer {} on {} (epoch {})", held.id, held.host, held.epoch)
                        },
                    ))),
                    None => Ok(Renewal::Lost("nobody (the lease was deleted)".to_owned())),
                }
            }
        }
    }
}

impl Lease {
    /// Gives the lease up (a clean close with everything in the bucket):
    /// the next writer takes it without waiting for it to expire. Only our
    /// own lease is released, by compare-and-swap; if it is not ours any
    /// more, or the bucket does not answer, nothing changes and the lease
    /// expires as it would have.
    pub(crate) fn release(&self, tier: &dyn Tier) -> std::io::Result<bool> {
        let mut guard = self.record.lock();
        let (record, etag) = &mut *guard;
        let released = LeaseRecord {
            ttl_ms: RELEASED,
            renewal: record.renewal.wrapping_add(1),
            ..record.clone()
        };
        match tier.put_update(WRITER_KEY, released.encode(), etag)? {
            Put::Done(new) => {
                *record = released;
                if let Some(new) = new {
                    *etag = new;
                }
                Ok(true)
            }
            Put::Conflict => Ok(false),
        }
    }
}

/// Whether `held` went unrenewed for longer than its ttl, by the bucket's
/// clock: its last write against a probe object writer `id` writes now.
fn expired(tier: &dyn Tier, id: &str, held: &LeaseRecord) -> Result<bool> {
    let io = |e| Error::io(format!("checking the lease of {}", tier.url()), e);
    let probe = format!("probes/{id}");
    tier.put(&probe, Vec::new()).map_err(io)?;
    let now = tier.head(&probe).map_err(io)?;
    let _ = tier.delete(&probe);
    let lease = tier.head(WRITER_KEY).map_err(io)?;
    Ok(match (now, lease) {
        (Some(now), Some(lease)) => {
            // S3 keeps object times to the second: a second of slack, so a
            // live lease is never judged expired by rounding.
            now.modified_unix_ms.saturating_sub(lease.modified_unix_ms)
                > held.ttl_ms.saturating_add(CLOCK_RESOLUTION_MS)
        }
        _ => false,
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown".to_owned())
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tier::memory::MemoryTier;

    #[test]
    fn a_second_writer_is_locked_and_takes_over_only_an_expired_lease() {
        let tier = MemoryTier::new();
        let a = Lease::acquire(&tier, "aaaa", Duration::from_millis(200), false, 0).expect("first");
        assert_eq!(a.epoch(), 1);
        let again =
            Lease::acquire(&tier, "aaaa", Duration::from_millis(200), false, 0).expect("same id");
        assert_eq!(again.epoch(), 1, "a restart keeps its epoch");
        let locked = Lease::acquire(&tier, "bbbb", Duration::from_millis(200), false, 0);
        match &locked {
            // The message says what would let this writer in.
            Err(e @ Error::Locked(_)) => {
                assert!(e.to_string().contains("unrenewed for 200 ms"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let live = Lease::acquire(&tier, "bbbb", Duration::from_millis(200), true, 0);
        if let Err(e) = &live {
            assert!(e.to_string().contains("renewed within its 200 ms"), "{e}");
        }
        assert!(
            matches!(live, Err(Error::Locked(_))),
            "a live lease is not taken"
        );
        assert_eq!(again.renew(&tier).expect("renews"), Renewal::Held);
        std::thread::sleep(Duration::from_millis(300 + CLOCK_RESOLUTION_MS));
        let b =
            Lease::acquire(&tier, "bbbb", Duration::from_millis(200), true, 0).expect("takeover");
        assert_eq!(b.epoch(), 2);
        match again.renew(&tier).expect("answers") {
            Renewal::Lost(who) => assert!(who.contains("bbbb"), "{who}"),
            Renewal::Held => panic!("the old writer still thinks it holds the lease"),
        }
        assert_eq!(b.renew(&tier).expect("renews"), Renewal::Held);
    }

    #[test]
    fn a_released_lease_is_taken_at_once_and_only_its_holder_releases_it() {
        let tier = MemoryTier::new();
        let a = Lease::acquire(&tier, "aaaa", Duration::from_secs(60), false, 0).expect("first");
        assert!(a.release(&tier).expect("answers"));
        let b = Lease::acquire(&tier, "bbbb", Duration::from_secs(60), false, 0)
            .expect("a released lease needs no takeover");
        assert_eq!(b.epoch(), 2, "a new writer raises the epoch");
        assert!(
            !a.release(&tier).expect("answers"),
            "a lease taken by another is not released"
        );
        assert!(matches!(
            Lease::acquire(&tier, "cccc", Duration::from_secs(60), false, 0),
            Err(Error::Locked(_))
        ));
        assert!(b.release(&tier).expect("answers"));
        let again = Lease::acquire(&tier, "bbbb", Duration::from_secs(60), false, 0)
            .expect("its own writer takes it back");
        assert_eq!(again.epoch(), 2, "and keeps its epoch");
        assert_eq!(again.ttl(), Duration::from_secs(60));
    }

    #[test]
    fn a_copy_of_the_store_on_another_host_is_another_writer() {
        let tier = MemoryTier::new();
        let copied = LeaseRecord {
            id: "aaaa".into(),
            epoch: 4,
            ttl_ms: 60_000,
            renewal: 0,
            host: "some-other-host".into(),
            pid: 1,
        };
        tier.overwrite(WRITER_KEY, copied.encode());
        assert!(matches!(
            Lease::acquire(&tier, "aaaa", Duration::from_secs(60), false, 0),
            Err(Error::Locked(_))
        ));
        // A lost WRITER never restarts the epochs below a manifest's.
        let fresh = MemoryTier::new();
        let lease = Lease::acquire(&fresh, "bbbb", Duration::from_secs(60), false, 9).expect("new");
        assert_eq!(lease.epoch(), 9);
    }

    /// A released lease at the last epoch cannot be taken: the next
    /// writer would share an epoch with the last one.
    #[test]
    fn the_last_epoch_is_never_reused() {
        let tier = MemoryTier::new();
        let last = LeaseRecord {
            id: "aaaa".into(),
            epoch: u64::MAX,
            ttl_ms: RELEASED,
            renewal: 0,
            host: hostname(),
            pid: 1,
        };
        tier.overwrite(WRITER_KEY, last.encode());
        let err = Lease::acquire(&tier, "bbbb", Duration::from_secs(60), true, 0).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("epochs exhausted")),
            "{err:?}"
        );
        // Its holder still renews its own lease at that epoch.
        let own = Lease::acquire(&tier, "aaaa", Duration::from_secs(60), false, 0).expect("own");
        assert_eq!(own.epoch(), u64::MAX);
    }

    #[test]
    fn records_round_trip_and_junk_is_refused() {
        let r = LeaseRecord {
            id: "ab".into(),
            epoch: 3,
            ttl_ms: 30_000,
            renewal: 9,
            host: "h".into(),
            pid: 42,
        };
        assert_eq!(LeaseRecord::decode(&r.encode()), Some(r));
        let tier = MemoryTier::new();
        tier.overwrite(WRITER_KEY, b"hello".to_vec());
        assert!(matches!(
            Lease::acquire(&tier, "x", Duration::from_secs(1), true, 0),
            Err(Error::InvalidArgument(_))
        ));
    }
}
