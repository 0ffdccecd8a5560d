//! What a third party checks without the store: Ed25519 keys, C2SP signed
//! notes, checkpoints and receipts (tlog-proof).

pub mod checkpoint;
pub mod key;
pub mod receipt;
pub mod signed;
