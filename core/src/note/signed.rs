//! C2SP signed notes: a text, a blank line, and signature lines
//! `— <key name> <base64(key ID || signature)>`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::key::{SigningKey, VerifierKey};
use crate::error::{Error, Result};

/// The em dash and space that start a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Verifiers must accept at least 16 signatures; more is refused.
const MAX_SIGNATURES: usize = 100;

fn failed(reason: impl Into<String>) -> Error {
    Error::Verification(reason.into())
}

/// Signs `text` (which must end in a newline) and returns the note.
pub fn sign(text: &str, key: &SigningKey) -> Result<String> {
    check_text(text).map_err(|e| Error::invalid(e.to_string()))?;
    let sig = key.sign(text.as_bytes());
    Ok(format!(
        "{text}\n{SIG_PREFIX}{} {}\n",
        key.name(),
        BASE64.encode(sig)
    ))
}

fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(failed("a note's text must end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(failed(
            "a note must not contain control characters other than newline",
        ));
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    /// `key ID || signature`, as decoded from the line.
    pub bytes: Vec<u8>,
}

/// A note split into its text and signatures, nothing verified yet.
#[derive(Debug, Clone)]
pub struct Note<'a> {
    pub text: &'a str,
    pub signatures: Vec<Signature>,
}

/// Splits `note` at its last blank line and parses the signature lines.
pub fn parse(note: &str) -> Result<Note<'_>> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(failed(
            "a note must not contain control characters other than newline",
        ));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| failed("a note needs a blank line before its signatures"))?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    if !sigs.ends_with('\n') {
        return Err(failed("a note must end with a newline"));
    }
    let mut signatures = Vec::new();
    for line in sigs[..sigs.len() - 1].split('\n') {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| failed(format!("not a signature line: {line:?}")))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or_else(|| failed(format!("not a signature line: {line:?}")))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| failed(format!("signature of {name:?} is not base64")))?;
        if name.is_empty() || bytes.len() < 4 {
            return Err(failed(format!("not a signature line: {line:?}")));
        }
        signatures.push(Signature {
            name: name.to_owned(),
            bytes,
        });
        if signatures.len() > MAX_SIGNATURES {
            return Err(failed("a note with more than 100 signatures"));
        }
    }
    if signatures.is_empty() {
        return Err(failed("a note without signatures"));
    }
    Ok(Note { text, signatures })
}

/// Parses `note` and checks it carries a valid signature by `key`;
/// returns its text. Signatures by other keys are ignored; one that claims
/// to be by `key` (name and key ID) and does not verify fails the note.
pub fn open<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str> {
    let parsed = parse(note)?;
    if !signed_by(&parsed, key)? {
        return Err(failed(format!(
            "the note carries no signature by the key {}+{:08x}",
            key.name(),
            key.id()
        )));
    }
    Ok(parsed.text)
}

/// Whether `note` carries a valid signature by `key`: false if none claims
/// to be by it, an error if one does and does not verify.
pub fn signed_by(parsed: &Note<'_>, key: &VerifierKey) -> Result<bool> {
    let mut verified = false;
    for sig in &parsed.signatures {
        if sig.name != key.name() || sig.bytes[..4] != key.id().to_be_bytes() {
            continue;
        }
        if !key.verifies(parsed.text, &sig.bytes) {
            return Err(failed(format!(
                "the signature by {} does not verify: the note was changed or signed by another key",
                key.name()
            )));
        }
        verified = true;
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of c2sp.org/signed-note.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn the_spec_example_verifies() {
        let vkey = VerifierKey::parse(SPEC_VKEY).unwrap();
        assert_eq!(vkey.to_string(), SPEC_VKEY);
        assert_eq!(
            open(SPEC_NOTE, &vkey).unwrap(),
            "This is an example message.\n"
        );
        let edited = SPEC_NOTE.replace("example message", "exemplary message");
        assert!(open(&edited, &vkey).is_err());
    }

    #[test]
    fn sign_then_open_round_trips_and_other_keys_fail() {
        let key = SigningKey::from_seed("example.com/log", &[7u8; 32]);
        let note = sign("hello\nworld\n", &key).unwrap();
        assert_eq!(open(&note, &key.verifier()).unwrap(), "hello\nworld\n");
        let other = SigningKey::from_seed("example.com/log", &[8u8; 32]);
        let err = open(&note, &other.verifier()).unwrap_err();
        assert!(err.to_string().contains("no signature by the key"), "{err}");
        assert!(sign("no newline", &key).is_err());
        assert!(sign("bell\u{7}\n", &key).is_err());
    }
}
