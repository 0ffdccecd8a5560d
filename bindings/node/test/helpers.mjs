// Shared by the tests: temporary stores, the spec's test vectors, file paths.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** A fresh directory path (not created) removed after the test. */
export function tempStore(t, name = 'store') {
  const parent = mkdtempSync(join(tmpdir(), 'stratalog-node-'))
  t.after(() => rmSync(parent, { recursive: true, force: true }))
  return join(parent, name)
}

/** docs/FORMAT.md: heads after appending alpha, beta, gamma and '' to an empty stream. */
export const EVENTS = ['alpha', 'beta', 'gamma', ''].map((s) => Buffer.from(s))
export const VECTORS = [
  [1, '94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009'],
  [2, 'd18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141'],
  [3, '4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861'],
  [4, '3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc'],
]

const pad = (n) => String(n).padStart(20, '0')

/** <store>/streams/<stream:020>/<base:020>.seg */
export function segmentPath(dir, stream, base = 0) {
  return join(dir, 'streams', pad(stream), `${pad(base)}.seg`)
}

/** The segment header is 80 bytes (format version 2); each record 60 bytes plus its payload. */
export const SEGMENT_HEADER = 80
export const RECORD_OVERHEAD = 60

/** The garbage collector, exposed at run time. */
export function exposeGc() {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc')
}

/** A deterministic event: `size` bytes derived from `n`. */
export function eventFor(n, size = 32) {
  const buf = Buffer.alloc(size)
  for (let i = 0; i < size; i++) buf[i] = (n * 31 + i * 7) & 0xff
  buf.writeUInt32LE(n >>> 0, 0)
  return buf
}
