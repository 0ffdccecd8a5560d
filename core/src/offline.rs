//! What a third party checks with no store: proofs, checkpoints and
//! receipts, given hashes, notes and verifier keys.

use crate::error::Result;
use crate::hash::Hash;
use crate::merkle;
use crate::note::checkpoint::Checkpoint;
use crate::note::key::VerifierKey;
use crate::note::receipt;

/// Checks that `proof` proves the leaf with data `leaf_data` (for a
/// stratalog stream, the 40 bytes `u64_le(n) || h(n)`) is number
/// `leaf_index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_index: u64,
    size: u64,
    root: &Hash,
    proof: &[Hash],
    leaf_data: &[u8],
) -> Result<()> {
    let leaf = merkle::leaf_hash(leaf_data);
    merkle::verify::inclusion(leaf_index, size, &leaf, proof, root)
}

/// Checks that `proof` proves the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `size` leaves with root `root`.
pub fn verify_consistency(
    old_size: u64,
    size: u64,
    old_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    merkle::verify::consistency(old_size, size, old_root, root, proof)
}

/// Verifies a signed checkpoint note against the verifier key text
/// `vkey` and returns what it says.
pub fn verify_checkpoint(note: &str, vkey: &str) -> Result<Checkpoint> {
    Checkpoint::open(note, &VerifierKey::parse(vkey)?)
}

/// Verifies an offline receipt for `event` against the verifier key text
/// `vkey`: the chain step from the receipt's `extra` hash, the leaf's
/// inclusion, and the checkpoint's signature. Returns the event's offset
/// and the checkpoint.
pub fn verify_receipt(receipt: &str, vkey: &str, event: &[u8]) -> Result<(u64, Checkpoint)> {
    receipt::verify(receipt, &VerifierKey::parse(vkey)?, event)
}

/// Verifies a checkpoint signed by the log key `vkey` and cosigned by at
/// least `min_cosignatures` of the witnesses whose (type 0x04) verifier
/// keys are `witness_vkeys`; cosignatures by other keys are ignored, and
/// one that claims a listed key and does not verify fails the note.
pub fn verify_witnessed_checkpoint(
    note: &str,
    vkey: &str,
    witness_vkeys: &[&str],
    min_cosignatures: usize,
) -> Result<Checkpoint> {
    let checkpoint = verify_checkpoint(note, vkey)?;
    let parsed = crate::note::signed::parse(note)?;
    let mut cosigned = 0;
    for witness in witness_vkeys {
        let witness = VerifierKey::parse(witness)?;
        if !witness.is_cosigner() {
            return Err(crate::Error::invalid(format!(
                "witness key {witness} is not a cosignature key (type 0x04)"
            )));
        }
        if crate::note::signed::signed_by(&parsed, &witness)? {
            cosigned += 1;
        }
    }
    if cosigned < min_cosignatures {
        return Err(crate::Error::Verification(format!(
            "the checkpoint carries {cosigned} valid cosignatures of the witnesses given, {min_cosignatures} are required"
        )));
    }
    Ok(checkpoint)
}
