//! Ed25519 keys in the C2SP signed-note encodings.
//!
//! ```text
//! key ID       = SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian
//! verifier key = <name>+<hex key ID>+<base64(0x01 || public key)>
//! private key  = PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>
//! ```
//!
//! The private encoding is the one Go's `golang.org/x/mod/sumdb/note` and
//! the tools built on it read and write.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The signature type byte of Ed25519 in signed notes.
pub const ED25519: u8 = 0x01;
/// The signature type byte of timestamped Ed25519 checkpoint cosignatures
/// (C2SP tlog-cosignature), what witnesses sign with.
pub const ED25519_COSIGNATURE: u8 = 0x04;

/// The header line of the message a v1 cosignature signs.
const COSIGNATURE_HEADER: &str = "cosignature/v1";

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// A key name: non-empty, no spaces, no `+`, no control characters.
pub(crate) fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("a key name must not be empty"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(Error::invalid(format!(
            "key name {name:?} must not contain spaces, '+' or control characters"
        )));
    }
    Ok(())
}

fn key_id(name: &str, signature_type: u8, public: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', signature_type]);
    hasher.update(public);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A key that signs checkpoints. Its `Debug` output shows the name and
/// key ID, never the key.
pub struct SigningKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}+{:08x})", self.name, self.id)
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate(name: &str) -> Result<SigningKey> {
        check_key_name(name)?;
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| {
            Error::io(
                "reading the OS random source",
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(SigningKey::from_seed(name, &seed))
    }

    /// The key whose RFC 8032 seed is `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> SigningKey {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let id = key_id(name, ED25519, key.verifying_key().as_bytes());
        SigningKey {
            name: name.to_owned(),
            id,
            key,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64>` (surrounding
    /// whitespace ignored), checking that the ID matches the key.
    pub fn from_text(text: &str) -> Result<SigningKey> {
        let bad = |why: &str| Error::invalid(format!("not a signed-note private key: {why}"));
        let rest = text
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or_else(|| bad("it does not start with PRIVATE+KEY+"))?;
        // Names and IDs hold no '+'; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it is not PRIVATE+KEY+<name>+<id>+<key>"));
        };
        check_key_name(name)?;
        let id = parse_key_id(hex_id).ok_or_else(|| bad("the key ID is not 8 hex digits"))?;
        let bytes = zeroize::Zeroizing::new(
            BASE64
                .decode(encoded)
                .map_err(|_| bad("the key is not base64"))?,
        );
        if bytes.len() != 33 || bytes[0] != ED25519 {
            return Err(bad("only Ed25519 keys (type 0x01, 32 bytes) are supported"));
        }
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[1..]);
        let key = SigningKey::from_seed(name, &seed);
        if key.id != id {
            return Err(bad("the key ID does not match the key"));
        }
        Ok(key)
    }

    /// The private key text (`PRIVATE+KEY+...`): write it to a file only
    /// its owner can read, never to a log.
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 33]);
        bytes[0] = ED25519;
        bytes[1..].copy_from_slice(self.key.as_bytes());
        zeroize::Zeroizing::new(format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(bytes.as_ref())
        ))
    }

    /// Reads a key file (the private key text).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<SigningKey> {
        let path = path.as_ref();
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading key file {}", path.display()), e))?,
        );
        SigningKey::from_text(&text)
    }

    /// Writes the private key text to a new file that only its owner can
    /// read (mode 0600), durably; an existing file is never overwritten.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use std::io::Write;
        let path = path.as_ref();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let context = |e| Error::io(format!("writing key file {}", path.display()), e);
        let mut file = options.open(path).map_err(context)?;
        let mut text = self.to_text();
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(context)?;
        file.sync_all().map_err(context)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The verifier key that checks this key's signatures.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            kind: ED25519,
            key: self.key.verifying_key(),
        }
    }

    /// The verifier key as text: `<name>+<hex id>+<base64>`.
    pub fn vkey(&self) -> String {
        self.verifier().to_string()
    }

    /// The verifier key of this key as a cosigner (a witness): signature
    /// type 0x04, so another key ID than [`SigningKey::vkey`]'s.
    pub fn cosigner(&self) -> VerifierKey {
        let public = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, ED25519_COSIGNATURE, public.as_bytes()),
            kind: ED25519_COSIGNATURE,
            key: public,
        }
    }

    /// A v1 cosignature of a checkpoint's note `text` at `timestamp` (POSIX
    /// seconds): `key ID || u64_be(timestamp) || Ed25519(message)`, the
    /// payload of a signature line, as a witness returns it.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Vec<u8> {
        let id = self.cosigner().id;
        let message = cosigned_message(text, timestamp);
        let mut out = Vec::with_capacity(4 + 8 + 64);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        out
    }

    /// The signature line's payload: `key ID || Ed25519(text)`.
    pub(crate) fn sign(&self, text: &[u8]) -> [u8; 68] {
        let mut out = [0u8; 68];
        out[..4].copy_from_slice(&self.id.to_be_bytes());
        out[4..].copy_from_slice(&self.key.sign(text).to_bytes());
        out
    }
}

fn parse_key_id(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// `cosignature/v1`, the time line, then the checkpoint's note text.
fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}")
}

/// A verifier key: who may sign, and the public key that checks it. Its
/// type is a log's signature (0x01) or a witness's cosignature (0x04).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    kind: u8,
    key: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; 33];
        bytes[0] = self.kind;
        bytes[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(bytes))
    }
}

impl VerifierKey {
    /// Parses `<name>+<hex id>+<base64(0x01 || public key)>`, checking
    /// that the ID matches the key.
    pub fn parse(text: &str) -> Result<VerifierKey> {
        let bad = |why: &str| Error::invalid(format!("not a signed-note verifier key: {why}"));
        // Names and IDs hold no '+'; base64 may.
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(hex_id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it is not <name>+<id>+<key>"));
        };
        if text.trim().starts_with(PRIVATE_PREFIX) {
            return Err(bad("this is a private key; give the verifier key"));
        }
        check_key_name(name)?;
        let id = parse_key_id(hex_id).ok_or_else(|| bad("the key ID is not 8 hex digits"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| bad("the key is not base64"))?;
        if bytes.len() != 33 || !matches!(bytes[0], ED25519 | ED25519_COSIGNATURE) {
            return Err(bad(
                "only Ed25519 keys (type 0x01, or 0x04 for a witness's cosignatures; 32 bytes) are supported",
            ));
        }
        let kind = bytes[0];
        if key_id(name, kind, &bytes[1..]) != id {
            return Err(bad("the key ID does not match the key"));
        }
        let mut public = [0u8; 32];
        public.copy_from_slice(&bytes[1..]);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| bad("the public key is not a valid Ed25519 point"))?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            kind,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether `signature` (`key ID || Ed25519 signature`) signs `text`.
    pub(crate) fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        if signature.len() < 4 || signature[..4] != self.id.to_be_bytes() {
            return false;
        }
        let (message, sig) = match (self.kind, signature.len()) {
            (ED25519, 68) => (std::borrow::Cow::Borrowed(text), &signature[4..]),
            (ED25519_COSIGNATURE, 76) => {
                let mut time = [0u8; 8];
                time.copy_from_slice(&signature[4..12]);
                let timestamp = u64::from_be_bytes(time);
                if timestamp == 0 || timestamp > i64::MAX as u64 {
                    return false;
                }
                (
                    std::borrow::Cow::Owned(cosigned_message(text, timestamp)),
                    &signature[12..],
                )
            }
            _ => return false,
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(message.as_bytes(), &sig).is_ok()
    }

    /// Whether this key checks a witness's cosignatures (type 0x04).
    pub fn is_cosigner(&self) -> bool {
        self.kind == ED25519_COSIGNATURE
    }
}
