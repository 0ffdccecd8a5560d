'use strict'
// What the addon returns, made into the public values: ChainHead, verify
// reports, pages of events; and settle(), which gives addon errors the
// caller's stack.

const { types } = require('node:util')
const native = require('../binding.js')
const { MAX_SAFE, describe, typeError, rangeError, u64 } = require('./arguments.js')

/**
 * A stream's chain head: how many events it holds (`nextOffset`) and the
 * SHA-256 chain hash of the last one (`hash`, 32 bytes; all zero for an
 * empty stream). `hex` is the hash in lowercase hex; `text` (also
 * `toString()` and `toJSON()`) is the head's text form
 * "<nextOffset>:<64 hex digits>", which `ChainHead.parse()` reads back.
 */
class ChainHead {
  constructor(nextOffset, hash) {
    const next = u64('nextOffset', nextOffset)
    if (!types.isUint8Array(hash)) {
      throw typeError(`The "hash" argument must be a Buffer or Uint8Array. Received ${describe(hash)}`)
    }
    if (hash.byteLength !== 32) {
      throw typeError(`The "hash" argument must be 32 bytes. Received ${hash.byteLength}`, 'ERR_INVALID_ARG_VALUE')
    }
    defineNextOffset(this, next)
    /** @type {Buffer} */
    this.hash = Buffer.from(hash)
    /** @type {string} */
    this.hex = this.hash.toString('hex')
    /** @type {string} */
    this.text = native.headToText(next, this.hash)
    Object.freeze(this)
  }

  /** Parses "<nextOffset>:<64 hex digits>" (either case, whitespace around ignored). */
  static parse(text) {
    if (typeof text !== 'string') {
      throw typeError(`The "text" argument must be of type string. Received ${describe(text)}`)
    }
    return fromNativeHead(native.parseHead(text))
  }

  /** `nextOffset` as a bigint: exact for every head. */
  get nextOffsetBig() {
    return BigInt(this.text.slice(0, this.text.length - 65))
  }

  /** Whether `other` is the same head. */
  equals(other) {
    return other instanceof ChainHead && other.text === this.text
  }

  toString() {
    return this.text
  }

  toJSON() {
    return this.text
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `ChainHead(${this.text})`
  }
}

/**
 * Sets `head.nextOffset`: a number, exact up to 2^53 - 1. A head past that
 * (more events than any store will hold) has an accessor that throws a
 * RangeError pointing at `nextOffsetBig`, rather than a number that lies or
 * a bigint its type does not admit.
 */
function defineNextOffset(head, next) {
  if (next <= BigInt(MAX_SAFE)) {
    head.nextOffset = Number(next)
    return
  }
  Object.defineProperty(head, 'nextOffset', {
    enumerable: true,
    get() {
      throw rangeError(`This head's nextOffset (${next}) is above 2^53 - 1: read nextOffsetBig instead`)
    },
  })
}

/**
 * An offset, count or size the library returned, as the number the types
 * promise. Above 2^53 - 1 (which no store reaches: that many events or
 * bytes) it is a RangeError, never an inexact number.
 */
function safeNumber(name, value) {
  if (typeof value === 'number') return value
  if (value <= BigInt(MAX_SAFE)) return Number(value)
  throw rangeError(`${name} is ${value}, above 2^53 - 1`)
}

/**
 * A ChainHead from a head the addon returns: its text form
 * "<nextOffset>:<64 hex digits>", written by the library, so taken as it
 * is, without the constructor's checks and second native call (this runs
 * once per append).
 */
function fromNativeHead(text) {
  const colon = text.length - 65
  const digits = text.slice(0, colon)
  const next = Number(digits)
  const hex = text.slice(colon + 1)
  const h = Object.create(ChainHead.prototype)
  if (next <= MAX_SAFE) h.nextOffset = next
  else defineNextOffset(h, BigInt(digits))
  h.hash = Buffer.from(hex, 'hex')
  h.hex = hex
  h.text = text
  return Object.freeze(h)
}

function toReport(report) {
  return {
    events: safeNumber('events', report.events),
    bytes: safeNumber('bytes', report.bytes),
    checkpoints: safeNumber('checkpoints', report.checkpoints),
    segments: safeNumber('segments', report.segments),
    head: fromNativeHead(report.head),
  }
}

/** A head argument: a ChainHead, its text form, or { nextOffset, hash }. */
function headArgument(head) {
  if (head instanceof ChainHead) return head
  if (typeof head === 'string') return ChainHead.parse(head)
  if (head !== null && typeof head === 'object') return new ChainHead(head.nextOffset, head.hash)
  throw typeError(
    `The "head" argument must be a ChainHead, its text form or { nextOffset, hash }. Received ${describe(head)}`,
  )
}

/** Splits a chunk from the addon into per-event Buffers (views, no copy). */
function split(chunk) {
  const { data, lengths } = chunk
  const events = new Array(lengths.length)
  let pos = 0
  for (let i = 0; i < lengths.length; i++) {
    const end = pos + lengths[i]
    events[i] = data.subarray(pos, end)
    pos = end
  }
  return events
}

function offsetAt(first, i) {
  const offset = safeNumber('an event offset', first) + i
  return offset <= MAX_SAFE ? offset : safeNumber('an event offset', BigInt(first) + BigInt(i))
}

/**
 * Awaits a promise from the addon. An error it rejects with was made on the
 * JS thread after the pool finished, so it has no JavaScript frames: give it
 * the caller's (async) stack.
 */
async function settle(promise) {
  try {
    return await promise
  } catch (err) {
    if (err instanceof Error) Error.captureStackTrace(err, settle)
    throw err
  }
}

module.exports = { ChainHead, fromNativeHead, toReport, headArgument, split, offsetAt, settle, safeNumber }
