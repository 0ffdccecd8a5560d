//! Signing keys, Merkle roots and proofs, signed checkpoints, witnesses'
//! cosignatures, receipts and tiles (issue 13), and their checks with no
//! store.
//!
//! `NativeSigningKey` is the native half of the JS `SigningKey`: it holds
//! the key inside the library and hands out only its verifier key, never
//! key material. The store methods run on the libuv pool like the other
//! store calls; the checks are pure computation and run on the calling
//! thread.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer};
use napi::Env;
use napi_derive::napi;
use stratalog_client::{self as client, SigningKey};

use crate::error::Failure;
use crate::job::{Job, Output};
use crate::store::NativeStore;
use crate::value::to_u64;

/// An Ed25519 key that signs checkpoints (C2SP signed-note), held by the
/// library. The key material never crosses into JavaScript except through
/// `save()` into a file.
#[napi]
#[derive(Debug)]
pub struct NativeSigningKey {
    key: Arc<SigningKey>,
}

fn made(key: client::Result<SigningKey>, env: &Env) -> napi::Result<NativeSigningKey> {
    key.map(|key| NativeSigningKey { key: Arc::new(key) })
        .map_err(|e| Failure::from(e).into_js(env))
}

/// A text argument the library takes as a C string: no NUL characters.
fn checked_text(what: &str, text: String) -> Result<String, Failure> {
    if text.contains('\0') {
        return Err(Failure::invalid_value(format!(
            "{what} must not contain NUL characters"
        )));
    }
    Ok(text)
}

#[napi]
impl NativeSigningKey {
    /// A new key named `name` from the OS random source.
    #[napi(factory)]
    pub fn generate(env: Env, name: String) -> napi::Result<NativeSigningKey> {
        let name = checked_text("name", name).map_err(|f| f.into_js(&env))?;
        made(SigningKey::generate(&name), &env)
    }

    /// The key the private key text ("PRIVATE+KEY+...") holds.
    #[napi(factory)]
    pub fn from_text(env: Env, text: String) -> napi::Result<NativeSigningKey> {
        let text = checked_text("text", text).map_err(|f| f.into_js(&env))?;
        made(SigningKey::from_text(&text), &env)
    }

    /// The key in the key file at `path`.
    #[napi(factory)]
    pub fn load(env: Env, path: String) -> napi::Result<NativeSigningKey> {
        let path = checked_text("path", path).map_err(|f| f.into_js(&env))?;
        made(SigningKey::load(&path), &env)
    }

    /// Writes a new key file (mode 0600, durably; never overwrites).
    #[napi]
    pub fn save(&self, env: Env, path: String) -> napi::Result<()> {
        checked_text("path", path)
            .and_then(|path| Ok(self.key.save(&path)?))
            .map_err(|f| f.into_js(&env))
    }

    /// The verifier key text "<name>+<hex id>+<base64>".
    #[napi(getter)]
    pub fn vkey(&self, env: Env) -> napi::Result<String> {
        self.key.vkey().map_err(|e| Failure::from(e).into_js(&env))
    }

    /// The verifier key of this key as a witness's cosigner (C2SP
    /// tlog-cosignature, type 0x04).
    #[napi(getter)]
    pub fn cosigner_vkey(&self, env: Env) -> napi::Result<String> {
        self.key
            .cosigner_vkey()
            .map_err(|e| Failure::from(e).into_js(&env))
    }
}

/// A tree size argument: undefined for the stream's whole length.
fn size_of(size: Option<&BigInt>) -> Result<Option<u64>, Failure> {
    size.map(|s| to_u64("size", s)).transpose()
}

/// Proof hashes back to back, 32 bytes each, bottom up (split by JS).
fn hashes(proof: Vec<[u8; 32]>) -> Output {
    Output::Bytes(proof.concat())
}

#[napi]
impl NativeStore {
    /// The Merkle root over the first `size` events (undefined: all), on
    /// the pool.
    #[napi]
    pub fn tree_root(
        &self,
        env: Env,
        stream: BigInt,
        size: Option<BigInt>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, size_of(size.as_ref())?)))();
        let (stream, size) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Bytes(store.tree_root(stream, size)?.to_vec()))))
    }

    /// The 40-byte leaf data of event `offset`, on the pool.
    #[napi]
    pub fn leaf_data(
        &self,
        env: Env,
        stream: BigInt,
        offset: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("offset", &offset)?)))();
        let (stream, offset) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Bytes(store.leaf_data(stream, offset)?.to_vec()))))
    }

    /// The inclusion proof of event `offset` in the tree of `size` events,
    /// as one Buffer of 32-byte hashes, on the pool.
    #[napi]
    pub fn inclusion_proof(
        &self,
        env: Env,
        stream: BigInt,
        offset: BigInt,
        size: Option<BigInt>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                to_u64("offset", &offset)?,
                size_of(size.as_ref())?,
            ))
        })();
        let (stream, offset, size) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(hashes(store.inclusion_proof(stream, offset, size)?))))
    }

    /// The consistency proof from `old_size` events to `size`, as one
    /// Buffer of 32-byte hashes, on the pool.
    #[napi]
    pub fn consistency_proof(
        &self,
        env: Env,
        stream: BigInt,
        old_size: BigInt,
        size: Option<BigInt>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                to_u64("oldSize", &old_size)?,
                size_of(size.as_ref())?,
            ))
        })();
        let (stream, old_size, size) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(hashes(store.consistency_proof(stream, old_size, size)?))))
    }

    /// A signed checkpoint note, on the pool.
    #[napi]
    pub fn checkpoint(
        &self,
        env: Env,
        stream: BigInt,
        key: &NativeSigningKey,
        size: Option<BigInt>,
        origin: Option<String>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                size_of(size.as_ref())?,
                origin_arg(origin)?,
            ))
        })();
        let (stream, size, origin) = args.map_err(|f: Failure| f.into_js(&env))?;
        let key = Arc::clone(&key.key);
        Ok(self.job(move |store| {
            let note = store.checkpoint(stream, &key, size, origin.as_deref())?;
            Ok(Output::Text(note))
        }))
    }

    /// A signed checkpoint note cosigned by every witness ("<verifier key>
    /// <URL prefix>" each), on the pool: the witnesses are asked over HTTP
    /// from the pool thread, never from the JS thread.
    #[napi]
    pub fn witness_checkpoint(
        &self,
        env: Env,
        stream: BigInt,
        key: &NativeSigningKey,
        witnesses: Vec<String>,
        size: Option<BigInt>,
        origin: Option<String>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                witnesses
                    .into_iter()
                    .map(|w| checked_text("witness", w))
                    .collect::<Result<Vec<_>, _>>()?,
                size_of(size.as_ref())?,
                origin_arg(origin)?,
            ))
        })();
        let (stream, witnesses, size, origin) = args.map_err(|f: Failure| f.into_js(&env))?;
        let key = Arc::clone(&key.key);
        Ok(self.job(move |store| {
            let specs: Vec<&str> = witnesses.iter().map(String::as_str).collect();
            let note = store.witness_checkpoint(stream, &key, &specs, size, origin.as_deref())?;
            Ok(Output::Text(note))
        }))
    }

    /// An offline receipt (tlog-proof) for event `offset`, on the pool.
    #[napi]
    pub fn receipt(
        &self,
        env: Env,
        stream: BigInt,
        offset: BigInt,
        key: &NativeSigningKey,
        size: Option<BigInt>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                to_u64("offset", &offset)?,
                size_of(size.as_ref())?,
            ))
        })();
        let (stream, offset, size) = args.map_err(|f: Failure| f.into_js(&env))?;
        let key = Arc::clone(&key.key);
        Ok(self.job(move |store| Ok(Output::Text(store.receipt(stream, offset, &key, size)?))))
    }

    /// Writes the tree as a tlog-tiles directory under `dir` and resolves
    /// to its signed checkpoint, on the pool.
    #[napi]
    pub fn export_tiles(
        &self,
        env: Env,
        stream: BigInt,
        key: &NativeSigningKey,
        dir: String,
        size: Option<BigInt>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                checked_text("dir", dir)?,
                size_of(size.as_ref())?,
            ))
        })();
        let (stream, dir, size) = args.map_err(|f: Failure| f.into_js(&env))?;
        let key = Arc::clone(&key.key);
        Ok(self.job(move |store| Ok(Output::Text(store.export_tiles(stream, &key, &dir, size)?))))
    }
}

/// A 32-byte hash argument.
fn hash32(what: &str, bytes: &[u8]) -> Result<[u8; 32], Failure> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        Failure::invalid_value(format!("{what} must be 32 bytes, not {}", bytes.len()))
    })
}

/// Proof hashes given back to back.
fn proof_hashes(proof: &[u8]) -> Result<Vec<[u8; 32]>, Failure> {
    if !proof.len().is_multiple_of(32) {
        return Err(Failure::invalid_value(
            "a proof is a whole number of 32-byte hashes",
        ));
    }
    Ok(proof
        .chunks_exact(32)
        .map(|c| <[u8; 32]>::try_from(c).unwrap_or([0; 32]))
        .collect())
}

/// Checks a receipt for `event` against the verifier key `vkey` (and its
/// log, given `origin`); returns the event's offset.
#[napi]
pub fn verify_receipt(
    env: Env,
    receipt: String,
    vkey: String,
    event: Buffer,
    origin: Option<String>,
) -> napi::Result<Output> {
    let checked = (|| {
        Ok((
            checked_text("receipt", receipt)?,
            checked_text("vkey", vkey)?,
            origin_arg(origin)?,
        ))
    })();
    let (receipt, vkey, origin) = checked.map_err(|f: Failure| f.into_js(&env))?;
    client::verify_receipt(&receipt, &vkey, origin.as_deref(), &event)
        .map(Output::Offset)
        .map_err(|e| Failure::from(e).into_js(&env))
}

/// A verified checkpoint's tree size and root.
#[napi(object)]
pub struct CheckedCheckpoint {
    pub size: BigInt,
    pub root: Buffer,
}

impl std::fmt::Debug for CheckedCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedCheckpoint")
            .field("size", &self.size.get_u64().1)
            .field("root", &&self.root[..])
            .finish()
    }
}

/// The origin a verifier expects, if any.
fn origin_arg(origin: Option<String>) -> Result<Option<String>, Failure> {
    origin.map(|o| checked_text("origin", o)).transpose()
}

/// A checkpoint's check, as `verifyCheckpoint()` returns it.
fn checked_checkpoint(
    env: &Env,
    checked: client::Result<(u64, [u8; 32])>,
) -> napi::Result<CheckedCheckpoint> {
    checked
        .map(|(size, root)| CheckedCheckpoint {
            size: BigInt::from(size),
            root: Buffer::from(root.to_vec()),
        })
        .map_err(|e| Failure::from(e).into_js(env))
}

/// Checks a signed checkpoint note against the verifier key `vkey` (and
/// its log, given `origin`).
#[napi]
pub fn verify_checkpoint(
    env: Env,
    note: String,
    vkey: String,
    origin: Option<String>,
) -> napi::Result<CheckedCheckpoint> {
    let checked = (|| {
        Ok((
            checked_text("note", note)?,
            checked_text("vkey", vkey)?,
            origin_arg(origin)?,
        ))
    })();
    let (note, vkey, origin) = checked.map_err(|f: Failure| f.into_js(&env))?;
    checked_checkpoint(
        &env,
        client::verify_checkpoint(&note, &vkey, origin.as_deref()),
    )
}

/// Checks a signed checkpoint note against the log's verifier key `vkey`
/// and at least `min` cosignatures of the witnesses `witness_vkeys` (and
/// its log, given `origin`).
#[napi]
pub fn verify_witnessed_checkpoint(
    env: Env,
    note: String,
    vkey: String,
    witness_vkeys: Vec<String>,
    min: u32,
    origin: Option<String>,
) -> napi::Result<CheckedCheckpoint> {
    let checked = (|| {
        Ok((
            checked_text("note", note)?,
            checked_text("vkey", vkey)?,
            witness_vkeys
                .into_iter()
                .map(|k| checked_text("witness vkey", k))
                .collect::<Result<Vec<_>, _>>()?,
            origin_arg(origin)?,
        ))
    })();
    let (note, vkey, witness_vkeys, origin) = checked.map_err(|f: Failure| f.into_js(&env))?;
    let keys: Vec<&str> = witness_vkeys.iter().map(String::as_str).collect();
    checked_checkpoint(
        &env,
        client::verify_witnessed_checkpoint(&note, &vkey, origin.as_deref(), &keys, min as usize),
    )
}

/// Checks an inclusion proof (`proof`: 32-byte hashes back to back).
#[napi]
pub fn verify_inclusion(
    env: Env,
    leaf_index: BigInt,
    size: BigInt,
    root: Buffer,
    proof: Buffer,
    leaf_data: Buffer,
) -> napi::Result<()> {
    (|| {
        let index = to_u64("leafIndex", &leaf_index)?;
        let size = to_u64("size", &size)?;
        let root = hash32("root", &root)?;
        let proof = proof_hashes(&proof)?;
        Ok(client::verify_inclusion(
            index, size, &root, &proof, &leaf_data,
        )?)
    })()
    .map_err(|f: Failure| f.into_js(&env))
}

/// Checks a consistency proof (`proof`: 32-byte hashes back to back).
#[napi]
pub fn verify_consistency(
    env: Env,
    old_size: BigInt,
    size: BigInt,
    old_root: Buffer,
    root: Buffer,
    proof: Buffer,
) -> napi::Result<()> {
    (|| {
        let old_size = to_u64("oldSize", &old_size)?;
        let size = to_u64("size", &size)?;
        let old_root = hash32("oldRoot", &old_root)?;
        let root = hash32("root", &root)?;
        let proof = proof_hashes(&proof)?;
        Ok(client::verify_consistency(
            old_size, size, &old_root, &root, &proof,
        )?)
    })()
    .map_err(|f: Failure| f.into_js(&env))
}
