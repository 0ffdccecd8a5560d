'use strict'
// Signing keys, and the checks of proofs, checkpoints and receipts that need
// no store (issue 13). The store's side (roots, proofs, checkpoints,
// receipts, tiles) is in store.js; the arguments both take are here.

const { inspect, types } = require('node:util')
const native = require('../binding.js')
const { describe, typeError, rangeError, u64, optionsObject, toPath } = require('./arguments.js')
const { safeNumber } = require('./results.js')

const KEY_TOKEN = Symbol('stratalog.SigningKey')
const HASH_BYTES = 32

/** The native key of a SigningKey (set in the class's static block). */
let nativeKeyOf

function text(name, value) {
  if (typeof value !== 'string') {
    throw typeError(`The "${name}" argument must be of type string. Received ${describe(value)}`)
  }
  return value
}

/** A byte argument as a Buffer (a view of a Uint8Array, no copy). */
function byteView(name, value) {
  if (!types.isUint8Array(value)) {
    throw typeError(`The "${name}" argument must be a Buffer or Uint8Array. Received ${describe(value)}`)
  }
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** A 32-byte hash argument, as a Buffer. */
function hashArg(name, value) {
  const b = byteView(name, value)
  if (b.byteLength !== HASH_BYTES) {
    throw typeError(`The "${name}" argument must be 32 bytes. Received ${b.byteLength}`, 'ERR_INVALID_ARG_VALUE')
  }
  return b
}

/** A proof argument: an array of 32-byte hashes, as one Buffer of them back to back. */
function proofArg(name, value) {
  if (!Array.isArray(value)) {
    throw typeError(`The "${name}" argument must be an array of 32-byte Buffers. Received ${describe(value)}`)
  }
  const hashes = new Array(value.length)
  for (let i = 0; i < value.length; i++) hashes[i] = hashArg(`${name}[${i}]`, value[i])
  return Buffer.concat(hashes, hashes.length * HASH_BYTES)
}

/** Proof hashes back to back from the addon, as one Buffer per hash (views). */
function splitHashes(data) {
  const out = new Array(data.length / HASH_BYTES)
  for (let i = 0; i < out.length; i++) out[i] = data.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)
  return out
}

/** `{ size }` (and `origin` where allowed): size undefined for the stream's whole length. */
function treeOptions(options, allowed = ['size']) {
  const o = optionsObject('options', options, allowed)
  const out = { size: o.size === undefined || o.size === null ? undefined : u64('options.size', o.size) }
  if (allowed.includes('origin')) {
    if (o.origin === undefined || o.origin === null) out.origin = undefined
    else if (typeof o.origin !== 'string') {
      throw typeError(`The "options.origin" option must be of type string. Received ${describe(o.origin)}`)
    } else out.origin = o.origin
  }
  return out
}

/**
 * An Ed25519 key that signs checkpoints (C2SP signed-note), held inside the
 * library. Its key material is never shown: `inspect()`, `toString()` and
 * `JSON.stringify()` give the name and the verifier key only, and the only
 * way out for the private key is `save()` into a file of mode 0600.
 */
class SigningKey {
  #native
  #vkey
  #cosignerVkey

  constructor(token, nativeKey) {
    if (token !== KEY_TOKEN) {
      throw typeError(
        'SigningKey cannot be constructed directly: use SigningKey.generate(), SigningKey.fromFile() ' +
          'or SigningKey.fromText()',
        'ERR_ILLEGAL_CONSTRUCTOR',
      )
    }
    this.#native = nativeKey
    this.#vkey = nativeKey.vkey
  }

  static {
    nativeKeyOf = (key) => key.#native
  }

  /**
   * A new key named `name` (e.g. "example.com/audit": no spaces, no '+')
   * from the operating system's random source.
   */
  static generate(name) {
    return new SigningKey(KEY_TOKEN, native.NativeSigningKey.generate(text('name', name)))
  }

  /** The key in the key file at `path` (written by `save()` or `stratalog keygen`). Synchronous. */
  static fromFile(path) {
    return new SigningKey(KEY_TOKEN, native.NativeSigningKey.load(toPath(path)))
  }

  /** The key a private key text "PRIVATE+KEY+<name>+<hex id>+<base64>" holds (a key file's contents). */
  static fromText(privateKeyText) {
    return new SigningKey(KEY_TOKEN, native.NativeSigningKey.fromText(text('text', privateKeyText)))
  }

  /**
   * Writes the key to a new file at `path`, readable by its owner only
   * (mode 0600), durably. Never overwrites: an existing file is an error
   * (STRATALOG_IO, osError EEXIST). Synchronous.
   */
  save(path) {
    this.#native.save(toPath(path))
  }

  /** The verifier key "<name>+<8 hex key id>+<base64>": give it to whoever verifies. */
  get vkey() {
    return this.#vkey
  }

  /**
   * The verifier key of this key as a witness's cosigner (C2SP
   * tlog-cosignature, signature type 0x04): what a log lists a witness
   * that signs with this key under, in `witnessCheckpoint()` and
   * `verifyWitnessedCheckpoint()`.
   */
  get cosignerVkey() {
    if (this.#cosignerVkey === undefined) this.#cosignerVkey = this.#native.cosignerVkey
    return this.#cosignerVkey
  }

  /** The key's name (the first part of its verifier key). */
  get name() {
    return this.#vkey.slice(0, this.#vkey.indexOf('+'))
  }

  /** "SigningKey(<vkey>)": the public half only. */
  toString() {
    return `SigningKey(${this.#vkey})`
  }

  /** `{ name, vkey }`: the public half only. */
  toJSON() {
    return { name: this.name, vkey: this.#vkey }
  }

  [inspect.custom]() {
    return `SigningKey { name: ${JSON.stringify(this.name)}, vkey: ${JSON.stringify(this.#vkey)} }`
  }
}

/** The native key of a SigningKey argument. */
function keyArg(name, key) {
  if (!(key instanceof SigningKey)) {
    throw typeError(`The "${name}" argument must be a SigningKey. Received ${describe(key)}`)
  }
  return nativeKeyOf(key)
}

/** `options.origin`, the log a verifier expects (undefined: any). */
function originOption(options, allowed = ['origin']) {
  const o = optionsObject('options', options, allowed)
  return [o, o.origin === undefined || o.origin === null ? undefined : text('options.origin', o.origin)]
}

/**
 * Checks, with no store, that `receipt` (from `store.receipt()`) proves
 * `event` is in the log whose checkpoint `vkey` signed: the chain hash, the
 * leaf's inclusion and the signature, and, given `options.origin`, that
 * the checkpoint is of that log. Returns the event's offset; throws an
 * Error with code STRATALOG_VERIFICATION_FAILED (or STRATALOG_INVALID_ARGUMENT
 * for a `vkey` that is not a verifier key) otherwise.
 */
function verifyReceipt(receipt, vkey, event, options) {
  const [, origin] = originOption(options)
  const offset = native.verifyReceipt(text('receipt', receipt), text('vkey', vkey), byteView('event', event), origin)
  return safeNumber('offset', offset)
}

/**
 * Checks, with no store, a signed checkpoint note against `vkey` and,
 * given `options.origin`, that it is of that log; returns its
 * `{ size, root }`. Throws STRATALOG_VERIFICATION_FAILED otherwise.
 */
function verifyCheckpoint(note, vkey, options) {
  const [, origin] = originOption(options)
  const checked = native.verifyCheckpoint(text('note', note), text('vkey', vkey), origin)
  return { size: safeNumber('size', checked.size), root: checked.root }
}

/**
 * The witnesses argument of `store.witnessCheckpoint()`: an array of
 * "<verifier key> <URL prefix>" strings or `{ vkey, url }` objects, as the
 * strings the library takes. The library checks the key and the URL.
 */
function witnessesArg(name, value) {
  if (!Array.isArray(value)) {
    throw typeError(
      `The "${name}" argument must be an array of "<vkey> <url>" strings or { vkey, url } objects. ` +
        `Received ${describe(value)}`,
    )
  }
  return value.map((w, i) => {
    if (typeof w === 'string') return w
    if (w !== null && typeof w === 'object' && !Array.isArray(w)) {
      const vkey = text(`${name}[${i}].vkey`, w.vkey)
      const url = w.url instanceof URL ? w.url.href : text(`${name}[${i}].url`, w.url)
      return `${vkey} ${url}`
    }
    throw typeError(
      `The "${name}[${i}]" element must be a "<vkey> <url>" string or a { vkey, url } object. Received ${describe(w)}`,
    )
  })
}

/** An array of strings argument. */
function textArray(name, value) {
  if (!Array.isArray(value)) {
    throw typeError(`The "${name}" argument must be an array of strings. Received ${describe(value)}`)
  }
  return value.map((v, i) => text(`${name}[${i}]`, v))
}

/**
 * Checks, with no store, a checkpoint note signed by the log key `vkey` and
 * cosigned (C2SP tlog-cosignature) by at least `options.min` (default 1) of
 * the witnesses whose cosigner verifier keys are `witnessVkeys`; returns its
 * `{ size, root }`. Cosignatures by other keys are ignored; one that names a
 * listed key and does not verify fails the note. Given `options.origin`, the
 * note must be of that log. Throws
 * STRATALOG_VERIFICATION_FAILED otherwise (STRATALOG_INVALID_ARGUMENT for a
 * key that is not a cosigner key).
 */
function verifyWitnessedCheckpoint(note, vkey, witnessVkeys, options) {
  const n = text('note', note)
  const k = text('vkey', vkey)
  const keys = textArray('witnessVkeys', witnessVkeys)
  const [o, origin] = originOption(options, ['min', 'origin'])
  let min = 1
  if (o.min !== undefined && o.min !== null) {
    if (typeof o.min !== 'number') {
      throw typeError(`The "options.min" option must be of type number. Received ${describe(o.min)}`)
    }
    if (!Number.isInteger(o.min) || o.min < 0 || o.min > 0xffffffff) {
      throw rangeError(`The value of "options.min" must be an integer >= 0 and <= 2^32 - 1. Received ${o.min}`)
    }
    min = o.min
  }
  const checked = native.verifyWitnessedCheckpoint(n, k, keys, min, origin)
  return { size: safeNumber('size', checked.size), root: checked.root }
}

/**
 * Checks that `proof` proves the leaf `leafData` (for a stream, the 40 bytes
 * of `store.leafData()`) is number `leafIndex` of the tree of `size` leaves
 * whose root is `root`. Throws STRATALOG_VERIFICATION_FAILED otherwise.
 */
function verifyInclusion(leafIndex, size, root, proof, leafData) {
  const i = u64('leafIndex', leafIndex)
  const n = u64('size', size)
  native.verifyInclusion(i, n, hashArg('root', root), proofArg('proof', proof), byteView('leafData', leafData))
}

/**
 * Checks that `proof` proves the tree of `oldSize` leaves with root
 * `oldRoot` is a prefix of the tree of `size` leaves with root `root`.
 * Throws STRATALOG_VERIFICATION_FAILED otherwise.
 */
function verifyConsistency(oldSize, size, oldRoot, root, proof) {
  const m = u64('oldSize', oldSize)
  const n = u64('size', size)
  native.verifyConsistency(m, n, hashArg('oldRoot', oldRoot), hashArg('root', root), proofArg('proof', proof))
}

module.exports = {
  SigningKey,
  keyArg,
  treeOptions,
  splitHashes,
  text,
  verifyReceipt,
  verifyCheckpoint,
  verifyWitnessedCheckpoint,
  witnessesArg,
  verifyInclusion,
  verifyConsistency,
}
