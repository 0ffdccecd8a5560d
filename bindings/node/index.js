'use strict'
// stratalog for Node.js: an embeddable append-only, tamper-evident event log.
//
// This file is the public API's front door; lib/ holds its parts:
// arguments.js (checking and normalizing arguments), results.js (heads,
// reports, pages), iterator.js (async iteration), store.js (Store) and
// proofs.js (SigningKey and the checks that need no store).
// The addon (src/*.rs) reaches the library only through its C ABI
// (include/stratalog.h) and runs every disk operation on the libuv thread
// pool, except those of the *Sync methods, which run on the calling thread.

const native = require('./binding.js')
const { ChainHead } = require('./lib/results.js')
const { Store } = require('./lib/store.js')
const {
  SigningKey,
  verifyReceipt,
  verifyCheckpoint,
  verifyWitnessedCheckpoint,
  verifyInclusion,
  verifyConsistency,
} = require('./lib/proofs.js')

module.exports = {
  Store,
  ChainHead,
  SigningKey,
  verifyReceipt,
  verifyCheckpoint,
  verifyWitnessedCheckpoint,
  verifyInclusion,
  verifyConsistency,
  /** The stratalog library version, e.g. "0.2.0". */
  version: native.version(),
}
