/// <reference types="node" />
// Type declarations of the `stratalog` package (hand-written; checked by
// compiling test/types-check.ts with `tsc --noEmit --strict`).

/**
 * A stream id, an offset or a size. A `number` must be a non-negative
 * integer no larger than `Number.MAX_SAFE_INTEGER` (2^53 - 1), otherwise the
 * call fails with a `RangeError`; a `bigint` may go up to 2^64 - 1.
 */
export type U64 = number | bigint

/**
 * A stream id the library returns: a `number` when it is at most 2^53 - 1, a
 * `bigint` above, so no precision is ever lost (ids are yours to choose).
 * Offsets, counts and sizes are plain `number`s: exact, as no store holds
 * 2^53 events or bytes (a value past that throws a `RangeError` rather than
 * lose precision; `ChainHead.nextOffsetBig` is exact for any head).
 */
export type U64Result = number | bigint

/** Event payloads: bytes. Strings are rejected with a `TypeError`. */
export type EventData = Buffer | Uint8Array

/** The `err.code` of an error from the stratalog library. */
export type StratalogErrorCode =
  | 'STRATALOG_NULL_ARGUMENT'
  | 'STRATALOG_INVALID_ARGUMENT'
  | 'STRATALOG_IO'
  | 'STRATALOG_CORRUPTION'
  | 'STRATALOG_CHAIN_MISMATCH'
  | 'STRATALOG_OFFSET_MISMATCH'
  | 'STRATALOG_OFFSET_OUT_OF_RANGE'
  | 'STRATALOG_EVENT_TOO_LARGE'
  | 'STRATALOG_LOCKED'
  | 'STRATALOG_READ_ONLY'
  | 'STRATALOG_CLOSED'
  | 'STRATALOG_PANIC'
  | 'STRATALOG_POISONED'
  | 'STRATALOG_FORKED'
  | 'STRATALOG_TIMEOUT'
  | 'STRATALOG_VERIFICATION_FAILED'
  | 'STRATALOG_CHECKPOINT_REFUSED'
  | 'STRATALOG_WITNESS_FAILED'
  | 'STRATALOG_PRUNED'

/**
 * What operations reject (or throw) with when the library fails: a plain
 * `Error` whose `message` is the library's, `code` names the failure and
 * `status` is its number in the C ABI. The other fields are set when they
 * apply to the code.
 *
 * Invalid arguments are reported before anything runs, as a `TypeError`
 * (`code` 'ERR_INVALID_ARG_TYPE' or 'ERR_INVALID_ARG_VALUE') or a
 * `RangeError` ('ERR_OUT_OF_RANGE').
 */
export interface StratalogError extends Error {
  code: StratalogErrorCode
  status: number
  /** STRATALOG_IO: the OS error number (errno), 0 if there was none. */
  osError?: number
  /** CORRUPTION, CHAIN_MISMATCH, OFFSET_OUT_OF_RANGE, POISONED, TIMEOUT, PRUNED: the stream. */
  stream?: U64Result
  /**
   * CORRUPTION, CHAIN_MISMATCH: the offset where verification failed;
   * OFFSET_OUT_OF_RANGE, PRUNED: the offset asked for; TIMEOUT: the offset waited past.
   */
  offset?: U64Result
  /** OFFSET_MISMATCH: the offset the caller expected. */
  expectedOffset?: U64Result
  /** OFFSET_MISMATCH: the stream's actual next offset. */
  actualOffset?: U64Result
  /** OFFSET_OUT_OF_RANGE: where the stream ends. */
  nextOffset?: U64Result
  /** EVENT_TOO_LARGE: the size of the rejected event. */
  size?: U64Result
  /** EVENT_TOO_LARGE: the store's maximum event size. */
  maxSize?: U64Result
  /** PRUNED: the stream's first retained offset (reads may start there). */
  firstOffset?: U64Result
}

/** How a store is configured; every field is optional. */
export interface OpenOptions {
  /** Rotate a segment file before a batch would grow it past this (>= 4096). Default 64 MiB. */
  segmentSize?: U64
  /** A checkpoint record every this many events (>= 1). Default 256. */
  checkpointInterval?: U64
  /** Compression of new records. Default 'none'. */
  compression?: 'none' | 'lz4' | 'zstd'
  /**
   * Largest event accepted by appends. Default 16 MiB. Recorded in each new
   * segment; reads follow the limit each segment records, never this one.
   */
  maxEventSize?: U64
  /** Default durability of appends that do not say. Default false. */
  fsync?: boolean
  /**
   * Most segment files the store keeps open at once, whatever its number of
   * streams (>= 8). The least recently used are closed and reopened when next
   * used. Default 256.
   */
  maxOpenFiles?: U64
  /**
   * Each batch records the time it was appended (Unix milliseconds, 68 bytes
   * a batch), for `seekTime()` and `pruneKeepNewer()`. Recorded in each new
   * segment's header: a segment keeps the setting it was created with. Default false.
   */
  timestamps?: boolean
  /**
   * Upload every sealed segment to this object store ("s3://bucket/prefix", "az://container/prefix", "file:///path") in the background, never on the
   * append path. A second writer on the same tier rejects with STRATALOG_LOCKED.
   */
  tier?: string
  /**
   * The tier's options: object_store's keys for the scheme (`endpoint`, `region`, `allow_http`, ...; camelCase
   * such as `allowHttp` works too). Credentials come from the usual AWS environment variables.
   */
  tierOptions?: TierOptions
  /** Bytes of uploaded sealed segments kept locally; the oldest beyond it are read from the bucket. Default: all. */
  localCacheBytes?: U64
  /** Take the tier over from a writer whose lease went unrenewed for `tierLeaseMs`. Default false. */
  tierTakeover?: boolean
  /** How long the tier's writer lease lasts without renewal, in milliseconds. Default 30000. */
  tierLeaseMs?: U64
}

/** Options of an object store, e.g. `{ endpoint: 'http://127.0.0.1:9000', allowHttp: true, region: 'us-east-1' }`. */
export type TierOptions = Record<string, string | boolean | number>

/** What a tiered store's uploader is doing (`store.tierStats()`). */
export interface TierStats {
  /** Sealed segments (and their bytes) not yet in the bucket. */
  pendingSegments: number
  pendingBytes: number
  /** Segments (and bytes) this open uploaded. */
  uploadedSegments: number
  uploadedBytes: number
  /** Local copies deleted because the bucket holds them. */
  evictedSegments: number
  /** Segments read from the bucket and copied back into the local directory (within localCacheBytes). */
  copiedBackSegments: number
  /** The writer lease's epoch. */
  epoch: number
  /** Another writer took the tier over: nothing more is uploaded and appends reject with STRATALOG_LOCKED. */
  fenced: boolean
  /** Why the last upload failed; null once a round succeeds. */
  lastError: string | null
}

/**
 * Options of `Store.openReadOnly()`. A reader needs none: every segment
 * records the limits it was written under. Accepted so one options object
 * can serve both kinds of open.
 */
export interface ReadOnlyOptions {
  maxEventSize?: U64
  /** As for `Store.open()`. */
  maxOpenFiles?: U64
  /** For a tier's URL ("s3://bucket/prefix"): as for `Store.open()`. */
  tierOptions?: TierOptions
}

/** The options a store was opened with. */
/**
 * An unfinished batch an open found at the end of a stream (`store.tornTails`):
 * what a crash in the middle of an append leaves. A writable open cut it off, a
 * read-only open ignores it. No acknowledged event is ever in it.
 */
export interface TornTail {
  stream: U64Result
  /** The segment file. */
  segment: string
  /** The segment's length after the cut: the end of its last whole batch. */
  keptLength: number
  /** Bytes cut off (read-only: ignored). */
  droppedBytes: number
}

/** What a stream holds (`store.stats()`), counted without reading its records. */
export interface StreamStats {
  /** Segment files, sealed and active. */
  segments: number
  /** Their bytes: the whole of each sealed one, the committed part of the active one. */
  bytes: number
  /** The first event the stream holds. */
  firstOffset: number
  /** One past the last event. */
  nextOffset: number
}

export interface StoreOptions {
  segmentSize: number
  checkpointInterval: number
  compression: 'none' | 'lz4' | 'zstd'
  maxEventSize: number
  fsync: boolean
  maxOpenFiles: number
  timestamps: boolean
}

export interface AppendOptions {
  /**
   * Append only if the stream's next offset is this; otherwise reject with
   * STRATALOG_OFFSET_MISMATCH and write nothing. Omit for any offset.
   */
  expectedOffset?: U64 | null
  /** Durable when the promise resolves. Default: the store's `fsync` option. */
  fsync?: boolean
}

export interface ReadOptions {
  /**
   * Stop before the events' total size would pass this many bytes (but
   * return at least one event if there is one). Default 16 MiB; `Infinity`
   * for no limit.
   */
  maxBytes?: U64
}

export interface IterateOptions {
  /** First offset. Default 0. */
  start?: U64
  /** Bytes read per trip to the thread pool (memory bound). Default 1 MiB. */
  chunkBytes?: U64
}

export interface FollowOptions {
  /** First offset. Default 0. */
  from?: U64
  /** Ends the iteration when it aborts. */
  signal?: AbortSignal
}

/** One event of `store.iterate()` and `store.follow()`. */
export interface IteratedEvent {
  offset: number
  /** A view of a chunk of up to `chunkBytes`; copy it to keep it alone. */
  data: Buffer
}

/** What `verify()` and `verifyAgainst()` checked. */
export interface VerifyReport {
  /** Events checked (CRC, offset, chain link). */
  events: number
  /** Raw payload bytes hashed. */
  bytes: number
  /** Checkpoint records checked against the chain. */
  checkpoints: number
  /** Segment files read. */
  segments: number
  /** The head the stored chain leads to. */
  head: ChainHead
}

/** A head given as its parts (what `verifyAgainst()` accepts besides a ChainHead or its text). */
export interface ChainHeadLike {
  nextOffset: U64
  hash: Uint8Array
}

/** Which tree a root, proof, receipt or tiles export is about. */
export interface TreeOptions {
  /** The tree of the stream's first `size` events. Default (or null): all of them, as the call runs. */
  size?: U64 | null
}

/** Options of `store.checkpoint()`. */
export interface CheckpointOptions extends TreeOptions {
  /** The note's origin line. Default (or null): "<key name>/<stream>". */
  origin?: string | null
}

/**
 * A witness (C2SP tlog-witness): its cosigner verifier key (type 0x04, e.g.
 * `key.cosignerVkey` of the key it signs with) and its submission URL
 * prefix; the checkpoint is POSTed to "<url>/add-checkpoint". As a string:
 * "<vkey> <url>".
 */
export type WitnessSpec = string | { vkey: string; url: string | URL }

/** The log a verifier expects a checkpoint to be of. */
export interface OriginOptions {
  /**
   * The checkpoint's origin (its first line, e.g. "example.com/log/1"); a note of another log fails with
   * STRATALOG_VERIFICATION_FAILED. One key may sign many logs (a store's streams): a verifier that knows which it
   * expects should say so. Default (or null): any.
   */
  origin?: string | null
}

/** Options of `verifyWitnessedCheckpoint()`. */
export interface WitnessedCheckpointOptions extends OriginOptions {
  /** How many of the witnesses given must have cosigned. Default (or null): 1. */
  min?: number | null
}

/** One stream of a backup, as its manifest lists it (`store.backupManifest()`). */
export interface BackedUpStream {
  stream: U64Result
  /** The first offset it held (0 unless pruned). */
  firstOffset: number
  /** Its head when the backup was taken: what the backup holds. */
  head: ChainHead
}

/** What `verifyCheckpoint()` read from a checkpoint whose signature checks out. */
export interface CheckedCheckpoint {
  /** The tree size the checkpoint commits to. */
  size: number
  /** The tree's root hash (32 bytes). */
  root: Buffer
}

/**
 * An Ed25519 key that signs checkpoints (C2SP signed-note), held inside the
 * library. It never shows its key material: `inspect()`, `toString()` and
 * `JSON.stringify()` give its name and verifier key only; `save()` writes it
 * to a file of mode 0600. Its calls are synchronous.
 */
export declare class SigningKey {
  private constructor()
  /** A new key named `name` (e.g. "example.com/audit": no spaces, no '+') from the OS random source. */
  static generate(name: string): SigningKey
  /** The key in the key file at `path` (written by `save()` or `stratalog keygen`). */
  static fromFile(path: string | URL): SigningKey
  /** The key a private key text "PRIVATE+KEY+<name>+<hex id>+<base64>" (a key file's contents) holds. */
  static fromText(privateKeyText: string): SigningKey
  /** Writes the key to a new file (mode 0600, durably). An existing file is never overwritten: STRATALOG_IO, EEXIST. */
  save(path: string | URL): void
  /** The verifier key "<name>+<8 hex key id>+<base64>" that checks this key's signatures: give it to verifiers. */
  readonly vkey: string
  /**
   * The verifier key "<name>+<8 hex key id>+<base64>" of this key as a witness's cosigner (C2SP
   * tlog-cosignature, type 0x04): what a log lists a witness signing with this key under.
   */
  readonly cosignerVkey: string
  /** The key's name. */
  readonly name: string
  /** "SigningKey(<vkey>)". */
  toString(): string
  /** `{ name, vkey }`. */
  toJSON(): { name: string; vkey: string }
}

/**
 * Checks, with no store, that `receipt` (from `store.receipt()`) proves that
 * `event` is in the log whose checkpoint the verifier key `vkey` signed: the
 * chain hash, the leaf's inclusion and the signature. Returns the event's
 * offset. Throws a `StratalogError` with code STRATALOG_VERIFICATION_FAILED
 * (the message says what does not check out, including a checkpoint of
 * another log than `options.origin`), or STRATALOG_INVALID_ARGUMENT when
 * `vkey` is not a verifier key.
 */
export declare function verifyReceipt(receipt: string, vkey: string, event: EventData, options?: OriginOptions): number

/**
 * Checks, with no store, a signed checkpoint note against the verifier key
 * `vkey` (and, given `options.origin`, that it is of that log); returns its
 * size and root. Throws STRATALOG_VERIFICATION_FAILED.
 */
export declare function verifyCheckpoint(note: string, vkey: string, options?: OriginOptions): CheckedCheckpoint

/**
 * Checks, with no store, a checkpoint note signed by the log's verifier key
 * `vkey` and cosigned (C2SP tlog-cosignature) by at least `options.min`
 * (default 1) of the witnesses whose cosigner verifier keys are
 * `witnessVkeys`; returns its size and root. Cosignatures by other keys are
 * ignored; one that names a listed key and does not verify fails the note.
 * Throws STRATALOG_VERIFICATION_FAILED (STRATALOG_INVALID_ARGUMENT for a
 * witness key that is not a cosigner key).
 */
export declare function verifyWitnessedCheckpoint(
  note: string,
  vkey: string,
  witnessVkeys: readonly string[],
  options?: WitnessedCheckpointOptions,
): CheckedCheckpoint

/**
 * Checks that `proof` proves the leaf with data `leafData` (for a stream: the
 * 40 bytes of `store.leafData()`) is number `leafIndex` of the tree of `size`
 * leaves whose root is `root`. Throws STRATALOG_VERIFICATION_FAILED.
 */
export declare function verifyInclusion(
  leafIndex: U64,
  size: U64,
  root: Uint8Array,
  proof: readonly Uint8Array[],
  leafData: Uint8Array,
): void

/**
 * Checks that `proof` proves the tree of `oldSize` leaves with root `oldRoot`
 * is a prefix of the tree of `size` leaves with root `root`. Throws
 * STRATALOG_VERIFICATION_FAILED.
 */
export declare function verifyConsistency(
  oldSize: U64,
  size: U64,
  oldRoot: Uint8Array,
  root: Uint8Array,
  proof: readonly Uint8Array[],
): void

/**
 * A stream's chain head: the number of events and the SHA-256 chain hash of
 * the last one. Keep it where the store's owner cannot rewrite it;
 * `store.verifyAgainst(stream, head)` later proves the stream still holds
 * that history.
 */
export declare class ChainHead {
  /** Validates and copies the parts; `hash` must be 32 bytes. */
  constructor(nextOffset: U64, hash: Uint8Array)
  /** Parses the text form "<nextOffset>:<64 hex digits>". */
  static parse(text: string): ChainHead
  /**
   * Number of events; the offset the next event gets. Exact; for a head past
   * 2^53 - 1 events (which no store holds) reading it throws a `RangeError`:
   * use `nextOffsetBig`.
   */
  readonly nextOffset: number
  /** `nextOffset` as a bigint, exact for every head. */
  readonly nextOffsetBig: bigint
  /** Chain hash of event nextOffset - 1 (32 zero bytes for an empty stream). */
  readonly hash: Buffer
  /** `hash` as 64 lowercase hex digits. */
  readonly hex: string
  /** The text form "<nextOffset>:<hex>". */
  readonly text: string
  equals(other: unknown): boolean
  /** The text form. */
  toString(): string
  /** The text form. */
  toJSON(): string
}

/**
 * An open store: a directory (or memory) holding numbered streams of
 * events, each protected by a hash chain. Every method that can touch the
 * disk runs on the libuv thread pool and returns a Promise, except the
 * `*Sync` ones, which run on the calling thread.
 */
export declare class Store {
  private constructor()
  /** Opens (creating it if needed) the store in directory `path` for writing. Rejects with STRATALOG_LOCKED if another handle writes it. */
  static open(path: string | URL, options?: OpenOptions): Promise<Store>
  /** `Store.open()` on the calling thread. */
  static openSync(path: string | URL, options?: OpenOptions): Store
  /** A new empty store in memory; its contents go when it is closed. It has no tier: tier options throw STRATALOG_INVALID_ARGUMENT. */
  static openInMemory(options?: OpenOptions): Store
  /**
   * Opens an existing store for reading only (no lock; appends reject with STRATALOG_READ_ONLY). It is a snapshot
   * taken at open: it never sees what the writer appends afterwards, except what `wait()` takes in (it follows
   * the writer in another process). `path` may also be a tier's URL ("s3://bucket/prefix"): the store is then
   * read straight from the bucket with no local copy, every event verified as it is read, as the writer had
   * uploaded it when this opened.
   */
  static openReadOnly(path: string | URL, options?: ReadOnlyOptions): Promise<Store>

  /** Whether the store was opened read-only (false once closed). */
  readonly readOnly: boolean
  /**
   * The unfinished batches this open found at the ends of streams (empty after a clean shutdown); each was also
   * emitted as a process warning with code `STRATALOG_TORN_TAIL` when the store opened.
   */
  readonly tornTails: readonly TornTail[]
  /** Whether `close()` was called. */
  readonly closed: boolean
  /** The options the store was opened with. */
  options(): StoreOptions

  /**
   * Appends `events` to `stream` atomically; resolves to the new head. The events are copied before it returns.
   * Appends to one stream land in call order, even when not awaited one by one.
   */
  appendBatch(stream: U64, events: readonly EventData[], options?: AppendOptions): Promise<ChainHead>
  /** Appends one event. */
  append(stream: U64, event: EventData, options?: AppendOptions): Promise<ChainHead>
  /**
   * `appendBatch()` on the calling thread: returns the new head or throws. It blocks the event loop for the
   * append (including the flush with `fsync`), and skips the thread-pool round trip and the copy of the events,
   * which cost more than the append itself on small batches. Throws `ERR_INVALID_STATE` while an async append
   * to the same stream has not settled.
   */
  appendBatchSync(stream: U64, events: readonly EventData[], options?: AppendOptions): ChainHead
  /** Appends one event on the calling thread; see `appendBatchSync()`. */
  appendSync(stream: U64, event: EventData, options?: AppendOptions): ChainHead
  /** Events from `offset` (default 0), one page of up to `maxBytes`. */
  readFrom(stream: U64, offset?: U64, options?: ReadOptions): Promise<Buffer[]>
  /** Every event from `start` to the head as it was when iteration began, in bounded memory. */
  iterate(stream: U64, options?: IterateOptions): AsyncGenerator<IteratedEvent, void, undefined>
  /**
   * Every event of `stream` from `from` (default 0) on, then the new ones as they are appended (`tail -f`); on a
   * read-only store, the writer's in another process. Ends when `signal` aborts or the store is closed.
   */
  follow(stream: U64, options?: FollowOptions): AsyncGenerator<IteratedEvent, void, undefined>
  /** The chain head of `stream` (synchronous, from memory). */
  chainHead(stream: U64): ChainHead
  /**
   * The head the events `stream` still holds continue: its first offset F and the chain hash of event F - 1, which
   * the prune anchor keeps (the empty head unless it was pruned), once the first segment is seen to start from it
   * (STRATALOG_CHAIN_MISMATCH otherwise).
   */
  firstHead(stream: U64): Promise<ChainHead>
  /** Verifies every checksum, offset and chain link of `stream`. */
  verify(stream: U64): Promise<VerifyReport>
  /** `verify()`, and proves `stream` still holds the history `head` summarizes. */
  verifyAgainst(stream: U64, head: ChainHead | ChainHeadLike | string): Promise<VerifyReport>
  /**
   * Resolves to `stream`'s next offset once it is greater than `offset` (at once if it already is). `timeout` in
   * milliseconds (default: forever); rejects with STRATALOG_TIMEOUT when it passes, STRATALOG_CLOSED on close. A
   * reader of a bucket never grows: past its end it rejects with STRATALOG_INVALID_ARGUMENT at once. It waits on a
   * thread of the addon's own, never the libuv pool, so waits in flight never starve other calls.
   */
  wait(stream: U64, offset: U64, options?: { timeout?: number | null }): Promise<number>
  /**
   * Where consumer `name` of `stream` committed it had processed up to: the offset to resume reading from (0 if it
   * never committed; never past the stream's end).
   */
  cursor(stream: U64, name: string): Promise<number>
  /**
   * Commits, atomically and durably, that consumer `name` of `stream` has processed every event before `offset`
   * (the events are made durable first). Works on a read-only store. Rejects with STRATALOG_OFFSET_OUT_OF_RANGE past
   * the stream's end.
   */
  commitCursor(stream: U64, name: string, offset: U64): Promise<void>
  /** Segments, bytes and offsets of `stream`, without reading its records. */
  stats(stream: U64): Promise<StreamStats>
  /** The first offset `stream` still holds: 0 unless it was pruned (reads below it reject with STRATALOG_PRUNED). */
  firstOffset(stream: U64): Promise<number>
  /**
   * Removes the events of `stream` below `before`, whole sealed segments at a time (never the active one), and
   * resolves to the stream's first offset afterwards, which may be below `before`. Reads below it then reject with
   * STRATALOG_PRUNED; heads, proofs and `verifyAgainst()` an older head stay valid. With a tier, the bucket follows
   * in the background (manifest first, then the objects below it); `syncTier()` resolves once it has. Rejects with
   * STRATALOG_READ_ONLY on a read-only store.
   */
  prune(stream: U64, before: U64): Promise<number>
  /** `prune()` keeping at least the last `count` events of `stream`; resolves to the first offset. */
  pruneKeepLast(stream: U64, count: U64): Promise<number>
  /**
   * `prune()` keeping at most `maxBytes` bytes of `stream`'s segment files (the active segment always stays);
   * resolves to the first offset.
   */
  pruneKeepBytes(stream: U64, maxBytes: U64): Promise<number>
  /**
   * The first offset of `stream` from which every batch was appended at or after `when` (a `Date`, or milliseconds
   * since the Unix epoch: a number, rounded down, or a bigint), by the times a store opened with `timestamps` records:
   * just after the last batch recorded earlier, the stream's first offset if none is, its next offset if all are.
   * Batches written without timestamps never count as earlier; a stream that does not exist resolves to 0.
   */
  seekTime(stream: U64, when: Date | number | bigint): Promise<number>
  /**
   * `prune()` keeping every batch of `stream` appended at or after `when` (as `seekTime()` finds them); resolves to
   * the first offset. Nothing goes on a store that recorded no times.
   */
  pruneKeepNewer(stream: U64, when: Date | number | bigint): Promise<number>
  /**
   * Backs the store up into directory `dest` while appends go on (incremental into an earlier backup there) and
   * resolves to each stream's head in the backup, which is itself a store to open read-only and `verifyAgainst()`
   * them. Rejects with STRATALOG_INVALID_ARGUMENT if `dest` holds anything but a backup (left untouched).
   */
  backup(dest: string | URL): Promise<Map<U64Result, ChainHead>>
  /**
   * The manifest of the backup this store is (opened on a backup's directory): each stream's first offset and head
   * when the backup was taken, ascending; `null` for a store that is not a backup. Verify a backup against it
   * (`verifyAgainst()` each head): a stream it does not list is not part of the backup, and the manifest of a first
   * backup cut short lists none. Rejects with STRATALOG_CORRUPTION for a manifest that fails its checks.
   */
  backupManifest(): Promise<BackedUpStream[] | null>
  /** Ids of the streams that hold events, ascending. */
  streams(): Promise<U64Result[]>
  /**
   * The RFC 6962 Merkle root (32 bytes) of `stream`'s tree over its first `size` events (default: all). The leaf
   * of event n is its 40-byte leaf data `u64_le(n) || h(n)`. Rejects with STRATALOG_OFFSET_OUT_OF_RANGE past the end.
   */
  treeRoot(stream: U64, options?: TreeOptions): Promise<Buffer>
  /** The 40-byte leaf data of event `offset`: `u64_le(offset) || h(offset)`. */
  leafData(stream: U64, offset: U64): Promise<Buffer>
  /** The inclusion proof of event `offset` in the tree of `size` events (default: all): 32-byte hashes, bottom up. */
  inclusionProof(stream: U64, offset: U64, options?: TreeOptions): Promise<Buffer[]>
  /** The consistency proof from the tree of `oldSize` events to that of `size` (default: all). */
  consistencyProof(stream: U64, oldSize: U64, options?: TreeOptions): Promise<Buffer[]>
  /**
   * A C2SP checkpoint of the tree of `size` events (default: all) signed by `key`:
   * "<origin>\n<size>\n<base64 root>\n\n— <key name> <base64 signature>\n". Rejects with
   * STRATALOG_CHECKPOINT_REFUSED rather than sign a smaller size than before for the origin, or a tree that does
   * not extend the one signed before. Nor does it sign events a crash can take: a writer first makes them durable
   * (an fsync, if needed) and, in a tiered store, waits until the bucket holds them, sealing the active segment if
   * needed (rejecting as `syncTier()` does, and with STRATALOG_LOCKED once the tier was taken over).
   * `witnessCheckpoint()`, `receipt()` and `exportTiles()` sign the same way. A reader of a bucket, with no directory
   * to record what it signed in, rejects with STRATALOG_INVALID_ARGUMENT.
   */
  checkpoint(stream: U64, key: SigningKey, options?: CheckpointOptions): Promise<string>
  /**
   * `checkpoint()`'s checkpoint, cosigned by every witness (C2SP tlog-witness): each is sent the checkpoint and a
   * consistency proof from the size it last cosigned for the origin (remembered in the store's `witnessed/`; a
   * witness that says 409 is answered from its size, once), over HTTP from the libuv pool. Resolves to the note
   * with every witness's cosignature lines, checked against its key, appended. Rejects with
   * STRATALOG_WITNESS_FAILED naming the first witness that did not cosign (unreachable, an HTTP error, no valid
   * cosignature); what the others cosigned is remembered.
   */
  witnessCheckpoint(
    stream: U64,
    key: SigningKey,
    witnesses: readonly WitnessSpec[],
    options?: CheckpointOptions,
  ): Promise<string>
  /**
   * An offline receipt (C2SP tlog-proof) for event `offset` against a checkpoint of `size` events (default: all)
   * signed by `key`; `verifyReceipt()` checks it with the event bytes and the verifier key alone.
   */
  receipt(stream: U64, offset: U64, key: SigningKey, options?: TreeOptions): Promise<string>
  /**
   * Writes the tree of `size` events (default: all) under `dir` as a static C2SP tlog-tiles log and resolves to
   * the signed checkpoint it wrote there.
   */
  exportTiles(stream: U64, key: SigningKey, dir: string | URL, options?: TreeOptions): Promise<string>
  /**
   * Makes every append so far durable: those to `stream`, or with no argument those to every stream. Appends
   * called before it that are still in flight or queued land first, and are covered too.
   */
  sync(stream?: U64): Promise<void>
  /**
   * Seals every stream's unsealed events and resolves once the tier's bucket holds everything appended before
   * the call. Rejects with STRATALOG_INVALID_ARGUMENT without a tier, STRATALOG_LOCKED once another writer took
   * the tier over, STRATALOG_IO if an upload fails meanwhile (uploads go on in the background).
   */
  syncTier(): Promise<void>
  /** What the tier's uploader is doing now. Throws STRATALOG_INVALID_ARGUMENT without a tier. */
  tierStats(): TierStats
  /** Waits for operations in flight, syncs, releases the lock and frees the store. Idempotent. */
  close(): void
}

/** The stratalog library version, e.g. "0.2.0". */
export declare const version: string
