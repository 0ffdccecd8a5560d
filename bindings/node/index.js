'use strict'
// stratalog for Node.js: an embeddable append-only, tamper-evident event log.
//
// This file is the public API. It validates arguments, turns numbers into
// the bigints the native addon takes, and builds Buffers, heads, reports and
// async iteration on top of it. The addon (src/*.rs) calls only the C ABI of
// stratalog (include/stratalog.h) and runs every disk operation on the libuv
// thread pool, except those of the *Sync methods, which run on the calling
// thread.

const { types } = require('node:util')
const { fileURLToPath } = require('node:url')
const native = require('./binding.js')

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const U64_MAX = 0xffffffffffffffffn
/** Default page size of readFrom(): 16 MiB (at least one event is returned). */
const DEFAULT_READ_BYTES = 16 * 1024 * 1024
/** Default chunk of iterate(): 1 MiB read per trip to the thread pool. */
const DEFAULT_CHUNK_BYTES = 1024 * 1024
const CHUNK_EVENTS = 65536
// Batches up to this many events reach the addon as call arguments (one
// Node-API call for all of them, see append.rs); larger ones as the array,
// which keeps the call's stack use bounded.
const SPREAD_MAX = 4096
const MAX_EVENT_BYTES = 0xffffffff
const STORE_TOKEN = Symbol('stratalog.Store')

// ---------------------------------------------------------------- arguments

function describe(value) {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    const name = value.constructor && value.constructor.name
    return name ? `an instance of ${name}` : 'an object'
  }
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value
    return `type string (${JSON.stringify(shown)})`
  }
  return `type ${typeof value} (${String(value)})`
}

function typeError(message, code = 'ERR_INVALID_ARG_TYPE') {
  const err = new TypeError(message)
  err.code = code
  return err
}

function rangeError(message) {
  const err = new RangeError(message)
  err.code = 'ERR_OUT_OF_RANGE'
  return err
}

/**
 * A u64 argument: a non-negative integer `number` up to 2^53 - 1 or a
 * `bigint` up to 2^64 - 1. Returns it as a bigint.
 */
function u64(name, value) {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      throw rangeError(`The value of "${name}" must be an integer. Received ${value}`)
    }
    if (value < 0 || value > MAX_SAFE) {
      throw rangeError(
        `The value of "${name}" is out of range. It must be >= 0 and <= 2^53 - 1 ` +
          `(Number.MAX_SAFE_INTEGER); pass a bigint for larger values. Received ${value}`,
      )
    }
    return BigInt(value)
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) {
      throw rangeError(
        `The value of "${name}" is out of range. It must be >= 0n and <= 2n ** 64n - 1n. Received ${value}n`,
      )
    }
    return value
  }
  throw typeError(`The "${name}" argument must be of type number or bigint. Received ${describe(value)}`)
}

/** A bigint from the addon as a number when exact, else as the bigint. */
function toNumber(value) {
  return typeof value === 'bigint' && value <= BigInt(MAX_SAFE) ? Number(value) : value
}

function bytes(name, value) {
  if (!types.isUint8Array(value)) {
    throw typeError(`The "${name}" argument must be a Buffer or Uint8Array. Received ${describe(value)}`)
  }
  if (value.byteLength > MAX_EVENT_BYTES) {
    throw rangeError(`"${name}" is ${value.byteLength} bytes; an event holds at most 2^32 - 1`)
  }
  return value
}

function bool(name, value) {
  if (typeof value !== 'boolean') {
    throw typeError(`The "${name}" option must be of type boolean. Received ${describe(value)}`)
  }
  return value
}

/** An options object (or undefined) whose keys are all in `allowed`. */
function optionsObject(name, value, allowed) {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(`The "${name}" argument must be an object. Received ${describe(value)}`)
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw typeError(
        `Unknown option "${key}" in "${name}"; expected one of: ${allowed.join(', ')}`,
        'ERR_INVALID_ARG_VALUE',
      )
    }
  }
  return value
}

/** The options of an append: `{ expectedOffset, fsync }`, both optional. */
function appendOptions(options) {
  const o = optionsObject('options', options, ['expectedOffset', 'fsync'])
  return {
    expected: o.expectedOffset === undefined || o.expectedOffset === null
      ? undefined
      : u64('options.expectedOffset', o.expectedOffset),
    fsync: o.fsync === undefined ? undefined : bool('options.fsync', o.fsync),
  }
}

/** Throws the error for the first event of `events` that is not one. */
function checkEvents(events) {
  for (let i = 0; i < events.length; i++) bytes(`events[${i}]`, events[i])
}

/**
 * The events read once, element by element, into a plain array, and
 * checked: what the slow paths append when the addon declined `events` (an
 * event that is not a Uint8Array, or an array that reads differently each
 * time: a Proxy, getters, its own iterator).
 */
function plainEvents(events) {
  const plain = new Array(events.length)
  for (let i = 0; i < plain.length; i++) plain[i] = events[i]
  checkEvents(plain)
  return plain
}

function eventsArray(events) {
  if (!Array.isArray(events)) {
    throw typeError(`The "events" argument must be an array of Buffer or Uint8Array. Received ${describe(events)}`)
  }
  return events
}

function toPath(path) {
  if (path instanceof URL) return fileURLToPath(path)
  if (typeof path !== 'string') {
    throw typeError(`The "path" argument must be of type string or an instance of URL. Received ${describe(path)}`)
  }
  if (path.length === 0) {
    throw typeError('The "path" argument must not be empty', 'ERR_INVALID_ARG_VALUE')
  }
  return path
}

function openOptions(options, allowed = ['segmentSize', 'checkpointInterval', 'compression', 'maxEventSize', 'fsync']) {
  const o = optionsObject('options', options, allowed)
  const out = {}
  for (const key of ['segmentSize', 'checkpointInterval', 'maxEventSize']) {
    if (o[key] !== undefined) out[key] = u64(`options.${key}`, o[key])
  }
  if (o.compression !== undefined) {
    if (typeof o.compression !== 'string') {
      throw typeError(`The "options.compression" option must be of type string. Received ${describe(o.compression)}`)
    }
    out.compression = o.compression
  }
  if (o.fsync !== undefined) out.fsync = bool('options.fsync', o.fsync)
  return out
}

function byteLimit(name, value, fallback, max) {
  if (value === undefined) return fallback
  if (value === Infinity) return max
  const n = u64(name, value)
  if (n === 0n) throw rangeError(`The value of "${name}" must be at least 1. Received 0`)
  return n > max ? max : n
}

// ---------------------------------------------------------------- results

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
    /** @type {number | bigint} */
    this.nextOffset = toNumber(next)
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

  /** Whether `other` is the same head. */
  equals(other) {
    return (
      other instanceof ChainHead &&
      BigInt(other.nextOffset) === BigInt(this.nextOffset) &&
      other.hash.equals(this.hash)
    )
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
  h.nextOffset = next <= MAX_SAFE ? next : BigInt(digits)
  h.hash = Buffer.from(hex, 'hex')
  h.hex = hex
  h.text = text
  return Object.freeze(h)
}

function toReport(report) {
  return {
    events: report.events,
    bytes: report.bytes,
    checkpoints: report.checkpoints,
    segments: report.segments,
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
  if (typeof first === 'bigint') return first + BigInt(i)
  const offset = first + i
  return offset <= MAX_SAFE ? offset : BigInt(first) + BigInt(i)
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

/**
 * What `store.iterate()` returns: an async iterator (and iterable) of
 * `{ offset, data }`, with `next()`, `return()` and `throw()` like an async
 * generator. It reads a chunk of events per trip to the thread pool and
 * hands them out from memory: `next()` on a buffered event is an already
 * resolved promise, with none of an async generator's per-event machinery.
 * While it hands out one chunk, the pool already reads and verifies the
 * next (one request in flight at most), so reading and consuming overlap.
 * The native iterator is made on the first `next()` (so a closed store
 * rejects there) and freed at the end, on an error, or by `return()`.
 */
class EventIterator {
  #nativeStore
  #stream
  #start
  #chunkBytes
  #iter = null
  #pending = null
  #done = false
  #first = 0
  #data = null
  #lengths = null
  #i = 0
  #pos = 0

  constructor(nativeStore, stream, start, chunkBytes) {
    this.#nativeStore = nativeStore
    this.#stream = stream
    this.#start = start
    this.#chunkBytes = chunkBytes
  }

  [Symbol.asyncIterator]() {
    return this
  }

  next() {
    if (this.#lengths !== null && this.#i < this.#lengths.length) return Promise.resolve(this.#take())
    return this.#fill()
  }

  return(value) {
    this.#close()
    return Promise.resolve({ value, done: true })
  }

  throw(err) {
    this.#close()
    return Promise.reject(err)
  }

  /** Asks the pool for the next chunk; its failure is seen by #fill. */
  #request() {
    const pending = settle(this.#iter.next(this.#chunkBytes, CHUNK_EVENTS))
    pending.catch(() => {})
    this.#pending = pending
  }

  async #fill() {
    if (this.#done) return { value: undefined, done: true }
    let chunk
    try {
      if (this.#iter === null) {
        this.#iter = this.#nativeStore.iter(this.#stream, this.#start)
        this.#request()
      }
      const pending = this.#pending
      this.#pending = null
      chunk = await pending
      // A chunk read ahead before the store was closed is not handed out
      // after: ask again, and the addon rejects with STRATALOG_CLOSED.
      if (chunk !== null && this.#nativeStore.closed) chunk = await settle(this.#iter.next(this.#chunkBytes, CHUNK_EVENTS))
    } catch (err) {
      this.#close()
      throw err
    }
    if (this.#done) return { value: undefined, done: true }
    if (chunk === null || chunk.lengths.length === 0) {
      this.#close()
      return { value: undefined, done: true }
    }
    this.#first = chunk.first
    this.#data = chunk.data
    this.#lengths = chunk.lengths
    this.#i = 0
    this.#pos = 0
    this.#request()
    return this.#take()
  }

  #take() {
    const i = this.#i
    const end = this.#pos + this.#lengths[i]
    const value = { offset: offsetAt(this.#first, i), data: this.#data.subarray(this.#pos, end) }
    this.#pos = end
    this.#i = i + 1
    return { value, done: false }
  }

  #close() {
    this.#done = true
    this.#lengths = null
    this.#data = null
    const iter = this.#iter
    const pending = this.#pending
    this.#iter = null
    this.#pending = null
    if (iter === null) return
    // A read in flight holds the native iterator: free it when that ends
    // rather than block this thread until it does.
    if (pending === null) iter.close()
    else pending.then(() => iter.close(), () => iter.close())
  }
}

// `await using it = store.iterate(...)` frees the iterator too, like an
// async generator does, where the runtime has explicit resource management.
if (typeof Symbol.asyncDispose === 'symbol') {
  EventIterator.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.return().then(() => undefined)
  }
}

// ---------------------------------------------------------------- Store

/**
 * An open store. Create one with `Store.open()`, `Store.openSync()`,
 * `Store.openInMemory()` or `Store.openReadOnly()`; release it with
 * `close()`.
 */
class Store {
  #native
  #appendTarget
  // Streams with an append in flight -> the appends made since, in call
  // order (see #appendInOrder), and the sync() calls waiting for them
  // (`{ landed }` entries).
  #appending = new Map()

  constructor(token, nativeStore) {
    if (token !== STORE_TOKEN) {
      throw typeError(
        'Store cannot be constructed directly: use Store.open(), Store.openSync(), ' +
          'Store.openInMemory() or Store.openReadOnly()',
        'ERR_ILLEGAL_CONSTRUCTOR',
      )
    }
    this.#native = nativeStore
    this.#appendTarget = nativeStore.appendTarget()
  }

  /** Opens (creating it if needed) the store in directory `path` for writing. */
  static async open(path, options) {
    const p = toPath(path)
    const o = openOptions(options)
    return new Store(STORE_TOKEN, await settle(native.NativeStore.open(p, o)))
  }

  /** `Store.open()` on the calling thread. */
  static openSync(path, options) {
    return new Store(STORE_TOKEN, native.NativeStore.openSync(toPath(path), openOptions(options)))
  }

  /** A new empty store held in memory only (synchronous: no disk). */
  static openInMemory(options) {
    return new Store(STORE_TOKEN, native.NativeStore.openInMemory(openOptions(options)))
  }

  /**
   * Opens an existing store for reading only: no lock, works while another
   * process appends, sees the streams as they were when it opened.
   */
  static async openReadOnly(path, options) {
    const p = toPath(path)
    const o = openOptions(options, ['maxEventSize'])
    return new Store(STORE_TOKEN, await settle(native.NativeStore.openReadOnly(p, o)))
  }

  /** Whether the store was opened read-only (false once closed). */
  get readOnly() {
    return this.#native.readOnly
  }

  /** Whether close() was called. */
  get closed() {
    return this.#native.closed
  }

  /** The options the store was opened with. */
  options() {
    const o = this.#native.options()
    return {
      segmentSize: toNumber(o.segmentSize),
      checkpointInterval: toNumber(o.checkpointInterval),
      compression: o.compression,
      maxEventSize: toNumber(o.maxEventSize),
      fsync: o.fsync,
    }
  }

  /**
   * Appends `events` to `stream` atomically and resolves to the new head.
   * The events are copied before this returns.
   */
  async appendBatch(stream, events, options) {
    const s = u64('stream', stream)
    eventsArray(events)
    let expected
    let fsync
    let optionsError = null
    try {
      const o = appendOptions(options)
      expected = o.expected
      fsync = o.fsync
    } catch (err) {
      optionsError = err
    }
    const queue = this.#appending.get(s)
    if (queue === undefined && optionsError === null) {
      // The addon checks and copies the events in one pass on this thread
      // (the one copy an append makes; the caller may reuse its buffers as
      // soon as this returns). It returns null, doing nothing, when an
      // event is not a Uint8Array: the slow path below says which.
      const task = events.length <= SPREAD_MAX
        ? native.appendEvents(this.#appendTarget, s, expected, fsync, undefined, ...events)
        : native.appendEvents(this.#appendTarget, s, expected, fsync, events)
      if (task !== null) return this.#appendInOrder(s, task)
    }
    const lengths = new Uint32Array(events.length)
    if (queue !== undefined && optionsError === null) {
      // Behind an append in flight: copied now (by the addon, in one pass),
      // appended in its turn.
      const data = events.length <= SPREAD_MAX
        ? native.packEvents(lengths, undefined, ...events)
        : native.packEvents(lengths, events)
      if (data !== null) return this.#enqueue(queue, data, lengths, expected, fsync)
    }
    const plain = plainEvents(events)
    for (let i = 0; i < plain.length; i++) lengths[i] = plain[i].byteLength
    if (optionsError !== null) throw optionsError
    const data = Buffer.concat(plain)
    if (queue !== undefined) return this.#enqueue(queue, data, lengths, expected, fsync)
    return this.#appendInOrder(s, this.#native.appendBatch(s, data, lengths, expected, fsync))
  }

  #enqueue(queue, data, lengths, expectedOffset, fsync) {
    return new Promise((resolve, reject) => {
      queue.push({ data, lengths, options: { expectedOffset, fsync }, resolve, reject })
    })
  }

  // Appends to one stream land in the order they were called, even when
  // the caller does not await each before the next: while one is in
  // flight, later ones queue (already copied) and then go to the pool
  // together, in order, as one group that pays one fsync. Appends to
  // different streams run in parallel.
  async #appendInOrder(stream, task) {
    this.#appending.set(stream, [])
    try {
      return fromNativeHead(await settle(task))
    } finally {
      this.#appendQueued(stream)
    }
  }

  #appendQueued(stream) {
    const queue = this.#appending.get(stream)
    if (queue.length === 0) {
      this.#appending.delete(stream)
      return
    }
    // Concurrent appenders whose appends just settled append again within
    // a few promise jobs: waiting one turn of the event loop lets them join
    // this group (and its fsync) instead of forming the next one alone.
    setImmediate(() => this.#appendGroup(stream))
  }

  #appendGroup(stream) {
    const queue = this.#appending.get(stream)
    this.#appending.set(stream, [])
    // sync() calls queued here wait for the appends before them (and with
    // them) to settle.
    const batches = queue.filter((q) => q.landed === undefined)
    const landed = () => {
      for (const q of queue) if (q.landed !== undefined) q.landed()
      this.#appendQueued(stream)
    }
    if (batches.length === 0) {
      landed()
      return
    }
    let task
    try {
      task = this.#native.appendGroup(
        stream,
        batches.map((q) => q.data),
        batches.map((q) => q.lengths),
        batches.map((q) => q.options),
      )
    } catch (err) {
      task = Promise.reject(err)
    }
    task.then(
      (outcomes) => {
        outcomes.forEach((outcome, i) => {
          if (outcome instanceof Error) batches[i].reject(outcome)
          else batches[i].resolve(fromNativeHead(outcome))
        })
      },
      (err) => {
        for (const q of batches) q.reject(err)
      },
    ).finally(landed)
  }

  /** Appends one event; `appendBatch(stream, [event], options)`. */
  async append(stream, event, options) {
    bytes('event', event)
    return this.appendBatch(stream, [event], options)
  }

  /**
   * `appendBatch()` on the calling thread: appends `events` to `stream`
   * atomically and returns the new head, or throws. It blocks the event
   * loop until the append is done (with `fsync`, or when the append rolls
   * over to a new segment, that includes a flush to disk), and in exchange
   * skips the round trip through the thread pool and the copy of the
   * events, which on small batches cost more than the append itself. Throws
   * `ERR_INVALID_STATE` while an async append to the same stream has not
   * settled: it would land before it.
   */
  appendBatchSync(stream, events, options) {
    const s = u64('stream', stream)
    eventsArray(events)
    // Errors in the order appendBatch reports them: the events, the
    // options, then the stream's state.
    let o
    try {
      o = appendOptions(options)
    } catch (err) {
      checkEvents(events)
      throw err
    }
    if (this.#appending.has(s)) {
      checkEvents(events)
      const err = new Error(
        `stream ${s} has an async append that has not settled; await it before appending ` +
          'synchronously (the synchronous append would land first)',
      )
      err.code = 'ERR_INVALID_STATE'
      throw err
    }
    const head = this.#appendSync(s, events, o)
    return fromNativeHead(head !== null ? head : this.#appendSync(s, plainEvents(events), o))
  }

  #appendSync(stream, events, { expected, fsync }) {
    return events.length <= SPREAD_MAX
      ? native.appendEventsSync(this.#appendTarget, stream, expected, fsync, undefined, ...events)
      : native.appendEventsSync(this.#appendTarget, stream, expected, fsync, events)
  }

  /** Appends one event on the calling thread; `appendBatchSync(stream, [event], options)`. */
  appendSync(stream, event, options) {
    bytes('event', event)
    return this.appendBatchSync(stream, [event], options)
  }

  /**
   * Events of `stream` from `offset` on, stopping before their total size
   * would pass `maxBytes` (default 16 MiB), but at least one if there is one.
   * The Buffers are views of one allocation per call.
   */
  async readFrom(stream, offset = 0, options) {
    const s = u64('stream', stream)
    const off = u64('offset', offset)
    const o = optionsObject('options', options, ['maxBytes'])
    const maxBytes = byteLimit('options.maxBytes', o.maxBytes, BigInt(DEFAULT_READ_BYTES), U64_MAX)
    return split(await settle(this.#native.readFrom(s, off, maxBytes)))
  }

  /**
   * Async iteration over `stream` from `options.start` (default 0) to the
   * head as it was when iteration began, `chunkBytes` (default 1 MiB) at a
   * time: `for await (const { offset, data } of store.iterate(7)) {}`.
   */
  iterate(stream, options) {
    const s = u64('stream', stream)
    const o = optionsObject('options', options, ['start', 'chunkBytes'])
    const start = o.start === undefined ? 0n : u64('options.start', o.start)
    const chunkBytes = Number(byteLimit('options.chunkBytes', o.chunkBytes, BigInt(DEFAULT_CHUNK_BYTES), 0xffffffffn))
    return new EventIterator(this.#native, s, start, chunkBytes)
  }

  /** The chain head of `stream`, from memory (synchronous, no I/O). */
  chainHead(stream) {
    return fromNativeHead(this.#native.chainHead(u64('stream', stream)))
  }

  /** Verifies every checksum, offset and chain link of `stream`. */
  async verify(stream) {
    return toReport(await settle(this.#native.verify(u64('stream', stream))))
  }

  /**
   * verify(), and also proves that `stream` still holds, unchanged, the
   * history `head` summarizes (catches truncation and rollback).
   */
  async verifyAgainst(stream, head) {
    const s = u64('stream', stream)
    const h = headArgument(head)
    return toReport(await settle(this.#native.verifyAgainst(s, u64('head.nextOffset', h.nextOffset), h.hash)))
  }

  /**
   * What `stream` holds, counted without reading its records:
   * `{ segments, bytes, firstOffset, nextOffset }` (all 0 for a stream
   * that does not exist).
   */
  async stats(stream) {
    return settle(this.#native.stats(u64('stream', stream)))
  }

  /** The ids of the streams that hold at least one event, ascending. */
  async streams() {
    return settle(this.#native.streams())
  }

  /**
   * Makes every append so far durable: those to `stream`, or with no
   * argument those to every stream. Appends called before it that are
   * still in flight or queued land first, so it covers them too.
   */
  async sync(stream) {
    const s = stream === undefined ? undefined : u64('stream', stream)
    const pending = s === undefined ? [...this.#appending.keys()] : this.#appending.has(s) ? [s] : []
    if (pending.length > 0) {
      await Promise.all(pending.map((id) => new Promise((resolve) => this.#appending.get(id).push({ landed: resolve }))))
    }
    await settle(this.#native.sync(s))
  }

  /**
   * Waits for the operations in flight, syncs, releases the writer lock and
   * frees the store. Later calls reject with STRATALOG_CLOSED. A second
   * close() does nothing.
   */
  close() {
    this.#native.close()
  }
}

module.exports = {
  Store,
  ChainHead,
  /** The stratalog library version, e.g. "0.1.0". */
  version: native.version(),
}
