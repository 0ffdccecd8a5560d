'use strict'
// store.iterate(): an async iterator that reads a chunk per trip to the
// thread pool and hands events out from memory.

const { offsetAt, settle } = require('./results.js')

const CHUNK_EVENTS = 65536
/** The key of EventIterator's internal extend (store.follow() only). */
const EXTEND = Symbol('stratalog.extend')

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
  #resumable
  #iter = null
  #pending = null
  #done = false
  #first = 0
  #data = null
  #lengths = null
  #i = 0
  #pos = 0

  // `resumable` (store.follow() only): at its end it keeps the native
  // iterator, for [EXTEND]() to take on, until return() or a failure.
  constructor(nativeStore, stream, start, chunkBytes, resumable = false) {
    this.#nativeStore = nativeStore
    this.#stream = stream
    this.#start = start
    this.#chunkBytes = chunkBytes
    this.#resumable = resumable
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
      if (this.#iter === null) this.#iter = this.#nativeStore.iter(this.#stream, this.#start)
      // None in flight: the first chunk, or the first after [EXTEND]().
      if (this.#pending === null) this.#request()
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
      // Nothing is in flight after the end (no read ahead of an empty chunk).
      if (this.#resumable) this.#end()
      else this.#close()
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

  /**
   * Internal (store.follow()): takes an iterator that reached its end on to
   * the stream's head as it is now, verifying on from where it stopped
   * rather than again from a checkpoint; later `next()` calls read on.
   * Resolves to false, doing nothing, if it cannot (closed, failed, never
   * read, or not at its end): make a new one. Rejects as a chunk would
   * (STRATALOG_CLOSED on a closed store), closing the iterator.
   */
  async [EXTEND]() {
    const iter = this.#iter
    if (!this.#resumable || iter === null || !this.#done || this.#pending !== null) return false
    const pending = settle(iter.extend())
    pending.catch(() => {})
    // A return() meanwhile frees the native iterator once this ends.
    this.#pending = pending
    let extended
    try {
      extended = await pending
    } catch (err) {
      if (this.#iter === iter) {
        this.#pending = null
        this.#close()
      }
      throw err
    }
    if (this.#iter !== iter) return false // closed meanwhile
    this.#pending = null
    if (!extended) return false
    this.#done = false
    return true
  }

  #take() {
    const i = this.#i
    const end = this.#pos + this.#lengths[i]
    const value = { offset: offsetAt(this.#first, i), data: this.#data.subarray(this.#pos, end) }
    this.#pos = end
    this.#i = i + 1
    return { value, done: false }
  }

  /** At the end of a resumable iterator: the native one stays. */
  #end() {
    this.#done = true
    this.#lengths = null
    this.#data = null
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

module.exports = { CHUNK_EVENTS, EXTEND, EventIterator }
