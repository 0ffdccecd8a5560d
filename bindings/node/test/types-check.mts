// Compiled with `tsc --noEmit --strict` against the installed package's
// index.d.mts (ESM). It must type-check; it is never run.
import stratalog, {
  ChainHead,
  SigningKey,
  Store,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  verifyWitnessedCheckpoint,
  version,
} from 'stratalog'
import type {
  AppendOptions,
  CheckedCheckpoint,
  CheckpointOptions,
  IteratedEvent,
  OpenOptions,
  StratalogError,
  StratalogErrorCode,
  TierOptions,
  TierStats,
  TreeOptions,
  U64,
  U64Result,
  VerifyReport,
  WitnessSpec,
  WitnessedCheckpointOptions,
} from 'stratalog'

async function main(): Promise<void> {
  const options: OpenOptions = { segmentSize: 1 << 20, checkpointInterval: 1024n, compression: 'zstd', fsync: false }
  const store: Store = await Store.open('data', options)
  const sync: Store = Store.openSync(new URL('file:///tmp/data'))
  const memory: Store = Store.openInMemory({ maxEventSize: 1024 })
  const reader: Store = await Store.openReadOnly('data', { maxEventSize: 1 << 20 })

  const append: AppendOptions = { expectedOffset: 0, fsync: true }
  const head: ChainHead = await store.appendBatch(7, [Buffer.from('alpha'), new Uint8Array([1, 2])], append)
  // Offsets, counts and sizes are numbers: arithmetic needs no Number().
  const next: number = head.nextOffset - 1
  const exact: bigint = head.nextOffsetBig + 1n
  const hash: Buffer = head.hash
  const hex: string = head.hex
  const text: string = head.text
  await store.append(7n, Buffer.from('gamma'), { expectedOffset: null })

  const events: Buffer[] = await store.readFrom(7, 0, { maxBytes: 1 << 20 })
  for await (const { offset, data } of store.iterate(7, { start: 0, chunkBytes: 65536 })) {
    const o: number = offset + 1
    const d: Buffer = data
    void o
    void d
  }
  const event: IteratedEvent | undefined = (await store.iterate(7).next()).value ?? undefined

  const current: ChainHead = store.chainHead(7)
  const report: VerifyReport = await store.verify(7)
  const grown: number = (await store.wait(7, 0, { timeout: 10 })) - 1
  const resumeAt: number = (await store.cursor(7, 'siem-export')) + 0
  for await (const { offset, data } of store.follow(7, { from: resumeAt, signal: AbortSignal.timeout(10) })) {
    const o: number = offset + 1
    const d: Buffer = data
    void o
    void d
  }
  await store.commitCursor(7, 'siem-export', resumeAt)
  const perEvent: number = report.bytes / report.events
  const stats = await store.stats(7)
  const held: number = stats.nextOffset - stats.firstOffset + stats.segments
  const cut: number = store.tornTails.reduce((n, t) => n + t.droppedBytes, 0)
  const room: number = store.options().segmentSize - 4096
  await store.verifyAgainst(7, head)
  await store.verifyAgainst(7, head.text)
  await store.verifyAgainst(7, { nextOffset: 2, hash })
  const streams: Array<number | bigint> = await store.streams()
  await store.sync()
  await store.sync(7n)
  const first: number = (await store.prune(7, 2)) + (await store.firstOffset(7n))
  const keptLast: number = await store.pruneKeepLast(7, 100n)
  const keptBytes: number = await store.pruneKeepBytes(7n, 1 << 20)
  const tierOptions: TierOptions = { endpoint: 'http://127.0.0.1:9000', allowHttp: true, region: 'us-east-1' }
  const tiered: Store = await Store.open('data', { tier: 's3://bucket/p', tierOptions, localCacheBytes: 1n << 30n })
  await tiered.syncTier()
  const tierStats: TierStats = tiered.tierStats()
  const pending: number = tierStats.pendingSegments + tierStats.pendingBytes
  const lastError: string | null = tierStats.lastError
  const fromBucket: Store = await Store.openReadOnly('s3://bucket/p', { tierOptions })
  void pending
  void lastError
  void fromBucket
  const timed: Store = Store.openInMemory({ timestamps: true })
  const recorded: boolean = timed.options().timestamps
  const since: number = await timed.seekTime(7, new Date('2026-12-04T15:00:00Z'))
  const sinceMs: number = (await timed.seekTime(7n, Date.now())) + (await timed.seekTime(7, 1n << 40n))
  const keptNewer: number = await store.pruneKeepNewer(7, new Date(Date.now() - 86_400_000))
  void recorded
  void since
  void sinceMs
  void keptNewer
  const backedUp: Map<number | bigint, ChainHead> = await store.backup('/tmp/stratalog-types-backup')
  for (const [id, backupHead] of backedUp) await reader.verifyAgainst(id, backupHead)
  try {
    await store.readFrom(7, 0)
  } catch (err) {
    const e = err as StratalogError
    if (e.code === 'STRATALOG_PRUNED') {
      const from: U64Result | undefined = e.firstOffset
      void from
    }
  }
  void first
  void keptLast
  void keptBytes
  const readOnly: boolean = reader.readOnly
  const closed: boolean = store.closed
  const compression: 'none' | 'lz4' | 'zstd' = store.options().compression
  store.close()

  try {
    await memory.append(1, Buffer.alloc(2048))
  } catch (e) {
    const err = e as StratalogError
    const code: string = err.code
    const max = err.maxSize
    void code
    void max
  }
  const parsed: ChainHead = ChainHead.parse(text)
  const same: boolean = parsed.equals(current)
  const made = new ChainHead(2n, Buffer.alloc(32))
  const v: string = version
  const viaDefault: typeof Store = stratalog.Store

  const syncHead: ChainHead = store.appendBatchSync(8, [Buffer.from('delta')], { expectedOffset: 0, fsync: false })
  const syncOne: ChainHead = store.appendSync(8n, new Uint8Array([3]))

  // @ts-expect-error strings are not events
  await store.append(7, 'gamma')
  // @ts-expect-error a time is a Date or milliseconds, not a string
  await store.seekTime(7, '2026-12-04')
  // @ts-expect-error sync appends return the head, not a promise
  const notPromise: Promise<ChainHead> = store.appendSync(8, Buffer.from('x'))
  // @ts-expect-error unknown compression
  Store.openInMemory({ compression: 'gzip' })
  // @ts-expect-error Store has no public constructor
  new Store()
  // @ts-expect-error heads are read-only
  head.nextOffset = 3

  // Keys, trees, proofs, checkpoints, receipts, tiles.
  const key: SigningKey = SigningKey.generate('example.com/audit')
  key.save('audit.key')
  const loaded: SigningKey = SigningKey.fromFile(new URL('file:///tmp/audit.key'))
  const fromText: SigningKey = SigningKey.fromText('PRIVATE+KEY+...')
  const vkey: string = key.vkey + key.name + String(loaded) + JSON.stringify(fromText)
  const tree: TreeOptions = { size: 2 }
  const root: Buffer = await store.treeRoot(7, tree)
  const rootAll: Buffer = await store.treeRoot(7n)
  const leaf: Buffer = await store.leafData(7, 1n)
  const proof: Buffer[] = await store.inclusionProof(7, 1, { size: 2n })
  const consistency: Buffer[] = await store.consistencyProof(7, 1, { size: null })
  const cpOptions: CheckpointOptions = { size: 2, origin: 'example.com/audit/7' }
  const note: string = await store.checkpoint(7, key, cpOptions)
  const receipt: string = await store.receipt(7, 1, key, { size: 2 })
  const tiles: string = await store.exportTiles(7, key, 'tiles', { size: 2 })
  const offset: number = verifyReceipt(receipt, vkey, Buffer.from('beta')) + 1
  const checked: CheckedCheckpoint = verifyCheckpoint(note, vkey)
  const treeSize: number = checked.size + 1
  verifyInclusion(1, checked.size, checked.root, proof, leaf)
  verifyConsistency(1n, 2n, root, new Uint8Array(32), consistency)
  const refused: StratalogErrorCode = 'STRATALOG_CHECKPOINT_REFUSED'
  const failed: StratalogErrorCode = 'STRATALOG_VERIFICATION_FAILED'
  // Witnesses.
  const witness: WitnessSpec = { vkey: key.cosignerVkey, url: new URL('http://127.0.0.1:8080') }
  const witnesses: WitnessSpec[] = [`${key.cosignerVkey} http://127.0.0.1:8081`, witness]
  const cosigned: string = await store.witnessCheckpoint(7, key, witnesses, { size: 2, origin: 'example.com/audit/7' })
  const quorum: WitnessedCheckpointOptions = { min: 2 }
  const witnessed: CheckedCheckpoint = verifyWitnessedCheckpoint(cosigned, vkey, [key.cosignerVkey], quorum)
  const witnessedOne: CheckedCheckpoint = verifyWitnessedCheckpoint(cosigned, vkey, [key.cosignerVkey])
  const witnessFailed: StratalogErrorCode = 'STRATALOG_WITNESS_FAILED'
  // @ts-expect-error a witness is a string or { vkey, url }
  await store.witnessCheckpoint(7, key, [{ vkey: 'x' }])
  // @ts-expect-error min is a number
  verifyWitnessedCheckpoint(cosigned, vkey, [], { min: 1n })
  // @ts-expect-error the cosigner key is read-only
  key.cosignerVkey = 'x'
  // @ts-expect-error SigningKey has no public constructor
  new SigningKey()
  // @ts-expect-error a key, not its verifier key
  await store.checkpoint(7, vkey)
  // @ts-expect-error unknown option
  await store.receipt(7, 1, key, { origin: 'x' })
  // @ts-expect-error the verifier key is read-only
  key.vkey = 'x'

  void [rootAll, tiles, offset, treeSize, refused, failed, witnessed, witnessedOne, witnessFailed]
  void [grown, next, exact, perEvent, held, cut, room, hex, events, event, report, streams, readOnly, closed, compression, same, made, v, viaDefault, sync, syncHead, syncOne, notPromise]
}

void main
