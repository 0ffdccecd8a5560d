'use strict'
// Store: the public class, its appends kept in call order per stream, and
// every other operation handed to the addon.

const native = require('../binding.js')
const { U64_MAX, typeError, rangeError, u64, toNumber, bytes, optionsObject, appendOptions, checkEvents, plainEvents, eventsArray, toPath, openOptions, byteLimit, unixMillis } = require('./arguments.js')
const { fromNativeHead, toReport, headArgument, split, settle, safeNumber } = require('./results.js')
const { EXTEND, EventIterator } = require('./iterator.js')
const { keyArg, treeOptions, splitHashes, witnessesArg } = require('./proofs.js')

/** Default page size of readFrom(): 16 MiB (at least one event is returned). */
const DEFAULT_READ_BYTES = 16 * 1024 * 1024
/** Default chunk of iterate(): 1 MiB read per trip to the thread pool. */
const DEFAULT_CHUNK_BYTES = 1024 * 1024
// Batches up to this many events reach the addon as call arguments (one
// Node-API call for all of them, see append.rs); larger ones as the array,
// which keeps the call's stack use bounded.
const SPREAD_MAX = 4096
const STORE_TOKEN = Symbol('stratalog.Store')

/**
 * An open store. Create one with `Store.open()`, `Store.openSync()`,
 * `Store.openInMemory()` or `Store.openReadOnly()`; release it with
 * `close()`.
 */
/** What `follow()`'s abort promise resolves to. */
const ABORTED = Symbol('aborted')
/** How long one wait of `follow()` with a signal holds a waiter thread. */
const FOLLOW_SLICE_MS = 1000

function cursorName(name) {
  if (typeof name !== 'string') {
    throw typeError(`The "name" argument must be of type string. Received ${typeof name}`)
  }
  return name
}

class Store {
  #native
  #appendTarget
  #tornTails
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
    this.#tornTails = Object.freeze(
      nativeStore.tornTails().map((t) =>
        Object.freeze({
          stream: toNumber(t.stream),
          segment: t.segment,
          keptLength: safeNumber('keptLength', t.keptLength),
          droppedBytes: safeNumber('droppedBytes', t.droppedBytes),
        }),
      ),
    )
    for (const t of this.#tornTails) {
      // A cut tail must never go unnoticed: Node prints warnings on stderr
      // unless the process chose otherwise (--no-warnings, a 'warning'
      // listener).
      process.emitWarning(
        `stream ${t.stream}: ${nativeStore.readOnly ? 'ignored' : 'cut off'} an unfinished batch of ` +
          `${t.droppedBytes} bytes at the end of ${t.segment} ` +
          '(left by a crash during an append; no acknowledged event is in it)',
        { type: 'StratalogRecoveryWarning', code: 'STRATALOG_TORN_TAIL' },
      )
    }
  }

  /**
   * The unfinished batches this open found at the ends of streams, left by a
   * crash in the middle of an append: `{ stream, segment, keptLength,
   * droppedBytes }`, cut off by a writable open, ignored by a read-only one.
   * Empty after a clean shutdown. Each one was also emitted as a process
   * warning (code STRATALOG_TORN_TAIL) when the store opened.
   */
  get tornTails() {
    return this.#tornTails
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
   * process appends. It is a snapshot: it sees the streams, heads and events
   * as they were when it opened, never what the writer appends afterwards,
   * except what `wait()` takes in (it follows the writer). A torn tail it
   * finds is ignored, not cut,
   * and listed in `tornTails`.
   */
  static async openReadOnly(path, options) {
    const p = typeof path === 'string' && path.includes('://') ? path : toPath(path)
    const o = openOptions(options, ['maxEventSize', 'maxOpenFiles', 'tierOptions'])
    return new Store(STORE_TOKEN, await settle(native.NativeStore.openReadOnly(p, o)))
  }

  /**
   * Seals the active segment of every stream holding unsealed events and
   * resolves once the tier's bucket holds everything appended before the
   * call. Rejects with STRATALOG_INVALID_ARGUMENT on a store without a
   * tier, STRATALOG_LOCKED once another writer took the tier over,
   * STRATALOG_IO if an upload fails meanwhile (uploads go on in the
   * background; call again to wait again).
   */
  async syncTier() {
    return settle(this.#native.syncTier())
  }

  /**
   * What the tier's uploader is doing now: `{ pendingSegments,
   * pendingBytes, uploadedSegments, uploadedBytes, evictedSegments,
   * copiedBackSegments, epoch, fenced, lastError }` (`lastError` null once a round succeeds).
   */
  tierStats() {
    const s = this.#native.tierStats()
    return {
      pendingSegments: safeNumber('pendingSegments', s.pendingSegments),
      pendingBytes: safeNumber('pendingBytes', s.pendingBytes),
      uploadedSegments: safeNumber('uploadedSegments', s.uploadedSegments),
      uploadedBytes: safeNumber('uploadedBytes', s.uploadedBytes),
      evictedSegments: safeNumber('evictedSegments', s.evictedSegments),
      copiedBackSegments: safeNumber('copiedBackSegments', s.copiedBackSegments),
      epoch: safeNumber('epoch', s.epoch),
      fenced: s.fenced,
      lastError: s.lastError ?? null,
    }
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
      segmentSize: safeNumber('segmentSize', o.segmentSize),
      checkpointInterval: safeNumber('checkpointInterval', o.checkpointInterval),
      compression: o.compression,
      maxEventSize: safeNumber('maxEventSize', o.maxEventSize),
      fsync: o.fsync,
      maxOpenFiles: safeNumber('maxOpenFiles', o.maxOpenFiles),
      timestamps: o.timestamps,
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

  /**
   * Every event of `stream` from `options.from` (default 0) on, then the
   * new ones as they are appended, as an async iterator of
   * `{ offset, data }`, like `tail -f`. On a read-only store it follows the
   * writer in another process, whole committed batches only. It never
   * blocks the event loop or holds the libuv pool while it waits (see
   * `wait()`), and it ends when
   * `options.signal` (an AbortSignal) aborts or the store is closed.
   */
  follow(stream, options) {
    const s = u64('stream', stream)
    const o = optionsObject('options', options, ['from', 'signal'])
    const from = o.from === undefined ? 0n : u64('options.from', o.from)
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
      throw typeError('The "options.signal" option must be an AbortSignal')
    }
    return this.#follow(s, from, o.signal)
  }

  async *#follow(stream, from, signal) {
    const aborted = signal
      ? new Promise((resolve) => {
          if (signal.aborted) resolve(ABORTED)
          else signal.addEventListener('abort', () => resolve(ABORTED), { once: true })
        })
      : null
    let next = from
    // One iterator, taken on after each wait: it verifies on from where it
    // stopped instead of again from the nearest checkpoint.
    let events = null
    try {
      while (!signal?.aborted) {
        let grown
        try {
          // With a signal, waits are sliced so that an abort leaves no wait
          // holding a waiter thread for long.
          const waiting = this.wait(stream, next, { timeout: signal ? FOLLOW_SLICE_MS : undefined })
          waiting.catch(() => {}) // a rejection after an abort is nobody's
          grown = aborted ? await Promise.race([waiting, aborted]) : await waiting
        } catch (err) {
          if (err.code === 'STRATALOG_TIMEOUT') continue
          if (err.code === 'STRATALOG_CLOSED') return
          throw err
        }
        if (grown === ABORTED) return
        try {
          if (events === null || !(await events[EXTEND]())) {
            events?.return()
            events = new EventIterator(this.#native, stream, next, DEFAULT_CHUNK_BYTES, true)
          }
          for (;;) {
            const { value: event, done } = await events.next()
            if (done) break
            next = BigInt(event.offset) + 1n
            yield event
            if (signal?.aborted) return
          }
        } catch (err) {
          if (err.code === 'STRATALOG_CLOSED') return
          throw err
        }
      }
    } finally {
      events?.return()
    }
  }

  /** The chain head of `stream`, from memory (synchronous, no I/O). */
  chainHead(stream) {
    return fromNativeHead(this.#native.chainHead(u64('stream', stream)))
  }

  /**
   * The head the events `stream` still holds continue: its first offset F
   * and the chain hash of event F - 1, which the prune anchor keeps (the
   * empty head unless it was pruned), once the first segment is seen to
   * start from it (STRATALOG_CHAIN_MISMATCH otherwise).
   */
  async firstHead(stream) {
    return fromNativeHead(await settle(this.#native.firstHead(u64('stream', stream))))
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
   * Resolves to `stream`'s next offset once it is greater than `offset`: at
   * once if it already is, otherwise as soon as an append takes it there.
   * `timeout` (milliseconds; default forever) bounds the wait: it then
   * rejects with STRATALOG_TIMEOUT; closing the store rejects it with
   * STRATALOG_CLOSED. The wait runs on a thread of the addon's own (one
   * per wait in flight, kept a while for the next), never the event loop
   * or the libuv pool: waits in flight leave appends and reads free, and
   * `process.exit()` does not wait for them. A read-only store follows
   * the writer in another process: the wait takes in what it committed
   * since (whole batches only), and later reads see it.
   */
  async wait(stream, offset, options) {
    const o = optionsObject('options', options, ['timeout'])
    let timeout // undefined, null and Infinity: wait forever
    if (o.timeout !== undefined && o.timeout !== null && o.timeout !== Infinity) {
      if (typeof o.timeout !== 'number') {
        throw typeError(`The "options.timeout" option must be of type number. Received ${typeof o.timeout}`)
      }
      if (!(o.timeout >= 0)) {
        throw rangeError(`The "options.timeout" option must be >= 0 milliseconds. Received ${o.timeout}`)
      }
      timeout = o.timeout
    }
    const next = await settle(this.#native.wait(u64('stream', stream), u64('offset', offset), timeout))
    return safeNumber('nextOffset', next)
  }

  /**
   * Where the consumer `name` of `stream` committed it had processed up to
   * (`commitCursor()`): the offset to resume reading from. 0 if it never
   * committed; never past the stream's end as this store knows it. Rejects
   * with STRATALOG_INVALID_ARGUMENT for a bad name (1 to 128 ASCII letters,
   * digits, '.', '_' or '-', not starting with '.'), STRATALOG_CORRUPTION
   * if the cursor's file fails its checks.
   */
  async cursor(stream, name) {
    const offset = await settle(this.#native.cursor(u64('stream', stream), cursorName(name)))
    return safeNumber('offset', offset)
  }

  /**
   * Records, atomically and durably, that the consumer `name` of `stream`
   * has processed every event before `offset`, so `cursor()` returns it
   * after a restart, a crash or a power loss (at-least-once: commit after
   * processing). The events before `offset` are made durable first, so a
   * cursor is never ahead of the data. Works on a read-only store, without
   * the writer lock. Cursors are not events and never touch the chain.
   * Rejects with STRATALOG_OFFSET_OUT_OF_RANGE past the stream's end.
   */
  async commitCursor(stream, name, offset) {
    await settle(this.#native.commitCursor(u64('stream', stream), cursorName(name), u64('offset', offset)))
  }

  /**
   * What `stream` holds, counted without reading its records:
   * `{ segments, bytes, firstOffset, nextOffset }` (all 0 for a stream
   * that does not exist).
   */
  async stats(stream) {
    const s = await settle(this.#native.stats(u64('stream', stream)))
    return {
      segments: safeNumber('segments', s.segments),
      bytes: safeNumber('bytes', s.bytes),
      firstOffset: safeNumber('firstOffset', s.firstOffset),
      nextOffset: safeNumber('nextOffset', s.nextOffset),
    }
  }

  /**
   * The first offset `stream` still holds: 0 unless it was pruned. Reads
   * and iterators below it reject with STRATALOG_PRUNED.
   */
  async firstOffset(stream) {
    const first = await settle(this.#native.firstOffset(u64('stream', stream)))
    return safeNumber('firstOffset', first)
  }

  /**
   * Removes the events of `stream` below `before`, a whole sealed segment at
   * a time, and resolves to the stream's first offset afterwards. A segment
   * goes only if all its events lie below `before`, and the active segment
   * never goes, so the result may be below `before`. The prune is durable
   * before any file is removed. Afterwards reads and iterators below the
   * first offset reject with STRATALOG_PRUNED (`err.firstOffset` says where
   * the stream starts); `verify()` starts there and `verifyAgainst()` a
   * head kept before still passes; heads, roots, proofs and checkpoints
   * about retained events stay byte-identical. Rejects with
   * STRATALOG_READ_ONLY on a read-only store. Runs on the libuv pool.
   */
  async prune(stream, before) {
    const s = u64('stream', stream)
    const b = u64('before', before)
    return safeNumber('firstOffset', await settle(this.#native.prune(s, b)))
  }

  /**
   * `prune()` so that `stream` keeps at least its last `count` events (as
   * far as whole sealed segments allow); resolves to the first offset.
   */
  async pruneKeepLast(stream, count) {
    const s = u64('stream', stream)
    const c = u64('count', count)
    return safeNumber('firstOffset', await settle(this.#native.pruneKeepLast(s, c)))
  }

  /**
   * `prune()` so that the segment files of `stream` hold at most `maxBytes`
   * bytes (oldest first; the active segment always stays, whatever its
   * size); resolves to the first offset.
   */
  async pruneKeepBytes(stream, maxBytes) {
    const s = u64('stream', stream)
    const m = u64('maxBytes', maxBytes)
    return safeNumber('firstOffset', await settle(this.#native.pruneKeepBytes(s, m)))
  }

  /**
   * The first offset of `stream` from which every batch was appended at or
   * after `when`, by the time each batch of a store opened with
   * `{ timestamps: true }` records: the offset just after the last batch
   * recorded earlier, the stream's first offset if none is, its next offset
   * if all are. `when` is a `Date` or milliseconds since the Unix epoch (a
   * number, rounded down, or a bigint). Batches written without timestamps
   * are never taken as earlier, so a store that recorded none resolves to
   * its first offset whatever `when` is; a stream that does not exist to
   * 0. Read from there with `readFrom()` or `iterate()`. Runs on the libuv
   * pool.
   */
  async seekTime(stream, when) {
    const s = u64('stream', stream)
    const ms = unixMillis('when', when)
    return safeNumber('offset', await settle(this.#native.seekTime(s, ms)))
  }

  /**
   * `prune()` so that `stream` keeps every batch appended at or after
   * `when` (as `seekTime()` finds them; whole sealed segments go, as far as
   * that allows, so older batches may stay); resolves to the first offset.
   * On a store that recorded no times nothing is removed.
   */
  async pruneKeepNewer(stream, when) {
    const s = u64('stream', stream)
    const ms = unixMillis('when', when)
    return safeNumber('firstOffset', await settle(this.#native.pruneKeepNewer(s, ms)))
  }

  /**
   * Backs the store up into directory `dest` (a path or file: URL) while
   * appends go on, and resolves to a Map of each stream id in the backup to
   * its head there. Sealed segments are hard-linked where possible, active
   * ones copied up to a committed head, a BACKUP manifest is written last;
   * the backup is itself a store: `Store.openReadOnly(dest)` and
   * `verifyAgainst()` each head. A second backup into the same `dest` copies
   * only what is new. Works on a read-only store too. Rejects with
   * STRATALOG_INVALID_ARGUMENT if `dest` holds anything but a backup (left
   * untouched) or is the store itself. Runs on the libuv pool.
   */
  async backup(dest) {
    const d = toPath(dest)
    const pairs = await settle(this.#native.backup(d))
    return new Map(pairs.map(([stream, head]) => [stream, fromNativeHead(head)]))
  }

  /**
   * The manifest of the backup this store is (opened on a backup's
   * directory, usually read-only): `{ stream, firstOffset, head }` for each
   * stream, ascending, as the backup was taken; `null` for a store that is
   * not a backup. Verify a backup against it (`verifyAgainst()` each
   * head): a stream it does not list is not part of the backup, and the
   * manifest of a first backup cut short lists none.
   */
  async backupManifest() {
    const streams = await settle(this.#native.backupManifest())
    if (streams === null) return null
    return streams.map((s) => ({
      stream: s.stream,
      firstOffset: safeNumber('firstOffset', s.firstOffset),
      head: fromNativeHead(s.head),
    }))
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
   * The RFC 6962 Merkle root (32 bytes) of `stream`'s tree over its first
   * `options.size` events (default: all of them). The empty tree's root is
   * SHA-256 of nothing. Rejects with STRATALOG_OFFSET_OUT_OF_RANGE for a
   * size past the end.
   */
  async treeRoot(stream, options) {
    const s = u64('stream', stream)
    const { size } = treeOptions(options)
    return settle(this.#native.treeRoot(s, size))
  }

  /**
   * The 40-byte leaf data of event `offset`, `u64_le(offset) || h(offset)`
   * (its chain hash): what `verifyInclusion()` takes as `leafData`.
   */
  async leafData(stream, offset) {
    return settle(this.#native.leafData(u64('stream', stream), u64('offset', offset)))
  }

  /**
   * The inclusion proof of event `offset` in the tree of the first
   * `options.size` events (default: all), from the leaf's sibling up: an
   * array of 32-byte Buffers. Rejects with STRATALOG_INVALID_ARGUMENT if
   * `offset >= size`.
   */
  async inclusionProof(stream, offset, options) {
    const s = u64('stream', stream)
    const off = u64('offset', offset)
    const { size } = treeOptions(options)
    return splitHashes(await settle(this.#native.inclusionProof(s, off, size)))
  }

  /**
   * The consistency proof from the tree of the first `oldSize` events to
   * that of the first `options.size` (default: all): an array of 32-byte
   * Buffers. Rejects with STRATALOG_INVALID_ARGUMENT if `oldSize > size`.
   */
  async consistencyProof(stream, oldSize, options) {
    const s = u64('stream', stream)
    const m = u64('oldSize', oldSize)
    const { size } = treeOptions(options)
    return splitHashes(await settle(this.#native.consistencyProof(s, m, size)))
  }

  /**
   * A C2SP checkpoint of `stream`'s tree of the first `options.size` events
   * (default: all), signed by `key`: the note
   * "<origin>\n<size>\n<base64 root>\n\n— <key name> <base64 signature>\n".
   * `options.origin` defaults to "<key name>/<stream>". The store never signs
   * two inconsistent checkpoints for one origin: it records the last one
   * durably and rejects with STRATALOG_CHECKPOINT_REFUSED a smaller size or
   * a tree that does not extend it (a store restored from an old backup).
   */
  async checkpoint(stream, key, options) {
    const s = u64('stream', stream)
    const k = keyArg('key', key)
    const { size, origin } = treeOptions(options, ['size', 'origin'])
    return settle(this.#native.checkpoint(s, k, size, origin))
  }

  /**
   * A checkpoint as `checkpoint()` signs it, cosigned by every witness in
   * `witnesses` (C2SP tlog-witness): each is a "<cosigner vkey> <URL
   * prefix>" string or a `{ vkey, url }` object, and is sent the checkpoint
   * and a consistency proof from the last size it cosigned for the origin
   * (remembered in the store, under `witnessed/`) by a POST to
   * <prefix>/add-checkpoint. A witness that remembers another size (409) is
   * answered from that size, once. Each witness's cosignature lines (C2SP
   * tlog-cosignature) are checked against its key and appended: resolves to
   * the cosigned note. The requests are made from the libuv pool, never the
   * event loop (30 s timeout each). Rejects with STRATALOG_WITNESS_FAILED
   * naming the first witness that did not cosign (unreachable, an HTTP
   * error such as 422 for a tree it cannot prove consistent, no valid
   * cosignature); what the others cosigned is remembered, so a retry costs
   * them nothing. `options` are `checkpoint()`'s.
   */
  async witnessCheckpoint(stream, key, witnesses, options) {
    const s = u64('stream', stream)
    const k = keyArg('key', key)
    const w = witnessesArg('witnesses', witnesses)
    const { size, origin } = treeOptions(options, ['size', 'origin'])
    return settle(this.#native.witnessCheckpoint(s, k, w, size, origin))
  }

  /**
   * An offline receipt for event `offset` (a C2SP tlog-proof: its index,
   * the chain hash before it, its inclusion proof and a checkpoint of the
   * first `options.size` events, default all, signed by `key` for the
   * default origin). `verifyReceipt(receipt, key.vkey, event)` checks it
   * with no store. Signing follows `checkpoint()`'s rules.
   */
  async receipt(stream, offset, key, options) {
    const s = u64('stream', stream)
    const off = u64('offset', offset)
    const k = keyArg('key', key)
    const { size } = treeOptions(options)
    return settle(this.#native.receipt(s, off, k, size))
  }

  /**
   * Writes `stream`'s tree of the first `options.size` events (default: all)
   * under directory `dir` as a static C2SP tlog-tiles log (`checkpoint`,
   * `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` whose entries are the
   * 40-byte leaf data) and resolves to the signed checkpoint it wrote.
   */
  async exportTiles(stream, key, dir, options) {
    const s = u64('stream', stream)
    const k = keyArg('key', key)
    const d = toPath(dir)
    const { size } = treeOptions(options)
    return settle(this.#native.exportTiles(s, k, d, size))
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

module.exports = { Store }
