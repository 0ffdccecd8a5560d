//! Ordered groups of batches that share one fsync: the rule every binding
//! that queues appends (Node's, for one) relies on, kept here once.

use super::Stream;
use crate::error::Result;
use crate::hash::ChainHead;

/// One batch of a group: its events, the next offset it expects (if any),
/// and whether it must be durable when the group returns.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a, E> {
    pub events: &'a [E],
    pub expected_offset: Option<u64>,
    pub fsync: bool,
}

impl Stream {
    /// Appends `batches` in order, each atomically and with its own
    /// outcome, then makes the durable ones durable with one fsync.
    ///
    /// The rule: a batch that fails (a wrong expected offset, an event too
    /// large) fails alone, and the batches after it still run. One fsync,
    /// after the last batch, covers every durable batch that was written;
    /// if it fails, every one of them fails with it, because their
    /// durability is unknown, and the stream is poisoned. Batches that did
    /// not ask for durability keep their heads.
    pub fn append_batches<E: AsRef<[u8]>>(
        &self,
        batches: &[Batch<'_, E>],
    ) -> Vec<Result<ChainHead>> {
        let mut outcomes: Vec<Result<ChainHead>> = batches
            .iter()
            .map(|b| self.append_batch(b.events, b.expected_offset, false))
            .collect();
        let durable: Vec<usize> = batches
            .iter()
            .zip(&outcomes)
            .enumerate()
            .filter(|(_, (batch, outcome))| batch.fsync && outcome.is_ok())
            .map(|(i, _)| i)
            .collect();
        if durable.is_empty() {
            return outcomes;
        }
        if let Err(err) = self.sync() {
            for &i in &durable[1..] {
                outcomes[i] = Err(err.replicate());
            }
            outcomes[durable[0]] = Err(err);
        }
        outcomes
    }
}
