//! Offline receipts: a C2SP tlog-proof for one event.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 h(n-1)>
//! index <n>
//! <base64 inclusion proof hash>     (zero or more)
//!
//! <signed checkpoint>
//! ```
//!
//! The `extra` line carries the chain hash before the event, so a holder
//! of the event bytes alone recomputes `h(n)`, the leaf, and its inclusion.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::checkpoint::{decode_hash, parse_decimal, Checkpoint};
use super::key::VerifierKey;
use crate::error::{Error, Result};
use crate::hash::{chain_step, Hash};
use crate::merkle;

/// The first line of every tlog-proof.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";

fn failed(reason: impl Into<String>) -> Error {
    Error::Verification(reason.into())
}

/// The receipt text for event `index`.
pub fn format(index: u64, prev_hash: &Hash, proof: &[Hash], checkpoint_note: &str) -> String {
    let mut out = format!(
        "{RECEIPT_HEADER}\nextra {}\nindex {index}\n",
        BASE64.encode(prev_hash)
    );
    for hash in proof {
        out.push_str(&BASE64.encode(hash));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(checkpoint_note);
    out
}

/// A receipt's parts, nothing verified yet.
#[derive(Debug, Clone)]
pub struct Receipt<'a> {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: &'a str,
}

/// Splits a tlog-proof into its parts.
pub fn parse(text: &str) -> Result<Receipt<'_>> {
    let (head, checkpoint) = text
        .split_once("\n\n")
        .ok_or_else(|| failed("a receipt needs a blank line before its checkpoint"))?;
    let mut lines = head.split('\n');
    if lines.next() != Some(RECEIPT_HEADER) {
        return Err(failed(format!(
            "a receipt starts with the line {RECEIPT_HEADER}"
        )));
    }
    let mut line = lines.next();
    let mut extra = None;
    if let Some(encoded) = line.and_then(|l| l.strip_prefix("extra ")) {
        extra = Some(
            BASE64
                .decode(encoded)
                .map_err(|_| failed("the receipt's extra line is not base64"))?,
        );
        line = lines.next();
    }
    let index = line
        .and_then(|l| l.strip_prefix("index "))
        .and_then(parse_decimal)
        .ok_or_else(|| failed("the receipt has no valid `index <n>` line"))?;
    let proof = lines
        .map(|l| {
            decode_hash(l).ok_or_else(|| failed(format!("proof line {l:?} is not a base64 hash")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Receipt {
        extra,
        index,
        proof,
        checkpoint,
    })
}

/// Checks that `event` is event `index` of the log the receipt's checkpoint
/// signs, by `key`: `h(n) = SHA-256(h(n-1) || u64_le(n) || event)` from
/// the receipt's `extra`, the leaf's inclusion proof, and the signature.
/// Returns the checkpoint.
pub fn verify(text: &str, key: &VerifierKey, event: &[u8]) -> Result<(u64, Checkpoint)> {
    let receipt = parse(text)?;
    let checkpoint = Checkpoint::open(receipt.checkpoint, key)?;
    let prev: Hash = receipt
        .extra
        .as_deref()
        .and_then(|e| e.try_into().ok())
        .ok_or_else(|| {
            failed("the receipt's extra line must carry the 32-byte chain hash before the event")
        })?;
    let chain_hash = chain_step(&prev, receipt.index, event);
    let leaf = merkle::event_leaf_hash(receipt.index, &chain_hash);
    merkle::verify::inclusion(
        receipt.index,
        checkpoint.size,
        &leaf,
        &receipt.proof,
        &checkpoint.root,
    )
    .map_err(|_| {
        failed(format!(
            "event {} is not in the checkpointed tree of size {}: the event, the chain hash before it or the proof was changed",
            receipt.index, checkpoint.size
        ))
    })?;
    Ok((receipt.index, checkpoint))
}
