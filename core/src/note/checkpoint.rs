//! C2SP tlog-checkpoint: the signed head of a tree.
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::key::{SigningKey, VerifierKey};
use super::signed;
use crate::error::{Error, Result};
use crate::hash::Hash;

/// The head of one tree, as a checkpoint names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Checks an origin: non-empty, one line, no control characters.
pub(crate) fn check_origin(origin: &str) -> Result<()> {
    if origin.is_empty() || origin.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "checkpoint origin {origin:?} must be a non-empty line without control characters"
        )));
    }
    Ok(())
}

fn failed(reason: impl Into<String>) -> Error {
    Error::Verification(reason.into())
}

impl Checkpoint {
    /// Refuses a checkpoint of another log than `origin` (any, for
    /// `None`): a note checks out only against the key and the origin a
    /// verifier expects (C2SP tlog-checkpoint), and one key may sign many
    /// origins (a store's streams).
    pub fn expect_origin(&self, origin: Option<&str>) -> Result<()> {
        match origin {
            Some(expected) if expected != self.origin => Err(Error::Verification(format!(
                "the checkpoint is of origin {:?}, not the expected {expected:?}",
                self.origin
            ))),
            _ => Ok(()),
        }
    }

    /// The note text: origin, size and root, one per line.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// The signed checkpoint note.
    pub fn sign(&self, key: &SigningKey) -> Result<String> {
        check_origin(&self.origin)?;
        signed::sign(&self.text(), key)
    }

    /// Parses a checkpoint's note text (extension lines are allowed and
    /// ignored).
    pub fn parse_text(text: &str) -> Result<Checkpoint> {
        let mut lines = text
            .strip_suffix('\n')
            .ok_or_else(|| failed("a checkpoint must end with a newline"))?
            .split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(failed("a checkpoint has an origin, a size and a root line"));
        };
        if origin.is_empty() || lines.any(str::is_empty) {
            return Err(failed("a checkpoint's lines must not be empty"));
        }
        let size = parse_decimal(size)
            .ok_or_else(|| failed(format!("checkpoint tree size {size:?} is not a decimal")))?;
        let root = decode_hash(root)
            .ok_or_else(|| failed("checkpoint root is not a base64 SHA-256 hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Verifies `note`'s signature by `key` and parses the checkpoint in it.
    pub fn open(note: &str, key: &VerifierKey) -> Result<Checkpoint> {
        Checkpoint::parse_text(signed::open(note, key)?)
    }
}

/// An ASCII decimal without leading zeroes (but `0`).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A base64 SHA-256 hash.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    BASE64.decode(s).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_bad_texts_fail() {
        let cp = Checkpoint {
            origin: "example.com/log/7".into(),
            size: 12,
            root: [9u8; 32],
        };
        assert_eq!(Checkpoint::parse_text(&cp.text()).unwrap(), cp);
        let key = SigningKey::from_seed("example.com/log", &[1u8; 32]);
        let note = cp.sign(&key).unwrap();
        assert_eq!(Checkpoint::open(&note, &key.verifier()).unwrap(), cp);
        for bad in [
            "o\n012\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "o\n12\nnot base64\n",
            "o\n12\n",
            "\n12\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
        ] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
    }
}
