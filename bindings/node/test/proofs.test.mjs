// Merkle roots, inclusion and consistency proofs, signed checkpoints,
// receipts, tiles and signing keys (issue 13), checked against an
// independent model written from the specs with node:crypto (merkle.mjs).
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { verify as ed25519Verify, createPublicKey } from 'node:crypto'
import test from 'node:test'
import {
  SigningKey,
  Store,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
} from 'stratalog'
import { EVENTS, VECTORS, eventFor, tempStore } from './helpers.mjs'
import {
  chainHashes,
  checkpointNote,
  consistencyPath,
  inclusionPath,
  leafDatas,
  leafHash,
  mth,
  noteKey,
  sha256,
} from './merkle.mjs'

/** A fixed key (its seed is 0x00..0x1f), so notes are byte for byte reproducible. */
const SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
const MODEL_KEY = noteKey('example.com/audit', SEED)

/** Asserts a library error with this code and status. */
function failsWith(code, status, message = /./) {
  return (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.code, code, err.message)
    assert.equal(err.status, status)
    assert.match(err.message, message)
    return true
  }
}
const VERIFICATION_FAILED = failsWith('STRATALOG_VERIFICATION_FAILED', 16)
const CHECKPOINT_REFUSED = failsWith('STRATALOG_CHECKPOINT_REFUSED', 17)

function flip(buf, at = 0) {
  const copy = Buffer.from(buf)
  copy[at] ^= 0x01
  return copy
}

async function specStore(stream = 7) {
  const store = Store.openInMemory()
  await store.appendBatch(stream, EVENTS)
  return store
}

test('the model reproduces the chain-hash vectors of docs/FORMAT.md', () => {
  const hashes = chainHashes(EVENTS)
  VECTORS.forEach(([next, hex], i) => {
    assert.equal(next, i + 1)
    assert.equal(hashes[i].toString('hex'), hex)
  })
})

test('tree roots of the spec stream for sizes 0..4 equal the independent computation', async () => {
  const store = await specStore()
  const leaves = leafDatas(EVENTS).map(leafHash)
  for (let size = 0; size <= 4; size++) {
    const root = await store.treeRoot(7, { size })
    assert.ok(Buffer.isBuffer(root))
    assert.equal(root.length, 32)
    assert.equal(root.toString('hex'), mth(leaves.slice(0, size)).toString('hex'), `size ${size}`)
  }
  // By hand, as RFC 6962 defines them.
  const [a, b, c, d] = leaves
  assert.deepEqual(await store.treeRoot(7, { size: 1 }), a)
  assert.deepEqual(await store.treeRoot(7, { size: 2 }), sha256(Buffer.from([1]), a, b))
  const ab = sha256(Buffer.from([1]), a, b)
  assert.deepEqual(await store.treeRoot(7, { size: 3 }), sha256(Buffer.from([1]), ab, c))
  assert.deepEqual(await store.treeRoot(7), sha256(Buffer.from([1]), ab, sha256(Buffer.from([1]), c, d)))
  assert.deepEqual(await store.treeRoot(7, { size: 4n }), await store.treeRoot(7))
  assert.deepEqual(await store.treeRoot(7, { size: null }), await store.treeRoot(7))
  // The empty tree, also of a stream that does not exist.
  assert.equal((await store.treeRoot(7, { size: 0 })).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  assert.deepEqual(await store.treeRoot(99), sha256(Buffer.alloc(0)))
  store.close()
})

test('leafData is u64_le(n) || h(n)', async () => {
  const store = await specStore()
  const model = leafDatas(EVENTS)
  for (let n = 0; n < EVENTS.length; n++) {
    const data = await store.leafData(7, n)
    assert.ok(Buffer.isBuffer(data))
    assert.equal(data.length, 40)
    assert.deepEqual(data, model[n])
    assert.equal(data.subarray(8).toString('hex'), VECTORS[n][1])
  }
  await assert.rejects(store.leafData(7, 4), failsWith('STRATALOG_OFFSET_OUT_OF_RANGE', 7))
  store.close()
})

test('every inclusion and consistency proof of a 70-event stream equals the model and verifies', async () => {
  const store = Store.openInMemory()
  const events = Array.from({ length: 70 }, (_, i) => eventFor(i, 4 + (i % 5)))
  await store.appendBatch(3, events)
  const leaves = leafDatas(events).map(leafHash)
  const datas = leafDatas(events)
  for (const size of [1, 2, 3, 5, 8, 63, 64, 65, 70]) {
    const root = await store.treeRoot(3, { size })
    assert.deepEqual(root, mth(leaves.slice(0, size)))
    for (let i = 0; i < size; i++) {
      const proof = await store.inclusionProof(3, i, { size })
      assert.ok(Array.isArray(proof))
      assert.deepEqual(proof.map((h) => h.toString('hex')), inclusionPath(i, leaves.slice(0, size)).map((h) => h.toString('hex')), `inclusion ${i} in ${size}`)
      verifyInclusion(i, size, root, proof, datas[i])
    }
    for (let m = 0; m <= size; m++) {
      const proof = await store.consistencyProof(3, m, { size })
      assert.deepEqual(proof.map((h) => h.toString('hex')), consistencyPath(m, leaves.slice(0, size)).map((h) => h.toString('hex')), `consistency ${m} -> ${size}`)
      verifyConsistency(m, size, await store.treeRoot(3, { size: m }), root, proof)
    }
  }
  // Without a size: the whole stream.
  assert.deepEqual(await store.inclusionProof(3, 10), inclusionPath(10, leaves))
  assert.deepEqual(await store.consistencyProof(3, 33n), consistencyPath(33, leaves))
  store.close()
})

test('roots and proofs on disk, across sealed segments and a reopen, equal the model', async (t) => {
  const dir = tempStore(t)
  const events = Array.from({ length: 300 }, (_, i) => eventFor(i, 40))
  const leaves = leafDatas(events).map(leafHash)
  let store = await Store.open(dir, { segmentSize: 4096 })
  for (let i = 0; i < 300; i += 50) await store.appendBatch(1, events.slice(i, i + 50))
  assert.deepEqual(await store.treeRoot(1, { size: 150 }), mth(leaves.slice(0, 150)))
  store.close()
  store = await Store.open(dir, { segmentSize: 4096 })
  for (const size of [1, 64, 128, 150, 255, 256, 257, 300]) {
    assert.deepEqual(await store.treeRoot(1, { size }), mth(leaves.slice(0, size)), `size ${size}`)
  }
  assert.deepEqual(await store.inclusionProof(1, 299), inclusionPath(299, leaves))
  assert.deepEqual(await store.inclusionProof(1, 17, { size: 200 }), inclusionPath(17, leaves.slice(0, 200)))
  assert.deepEqual(await store.consistencyProof(1, 150), consistencyPath(150, leaves))
  store.close()
  // A read-only store computes the same.
  const reader = await Store.openReadOnly(dir)
  assert.deepEqual(await reader.treeRoot(1), mth(leaves))
  assert.deepEqual(await reader.inclusionProof(1, 5, { size: 9 }), inclusionPath(5, leaves.slice(0, 9)))
  reader.close()
})

test('tampered inclusion proofs fail verification', async () => {
  const store = await specStore()
  const root = await store.treeRoot(7)
  const proof = await store.inclusionProof(7, 1)
  const data = await store.leafData(7, 1)
  verifyInclusion(1, 4, root, proof, data)
  verifyInclusion(1n, 4n, new Uint8Array(root), proof.map((h) => new Uint8Array(h)), new Uint8Array(data))
  assert.throws(() => verifyInclusion(1, 4, root, [flip(proof[0]), proof[1]], data), VERIFICATION_FAILED)
  assert.throws(() => verifyInclusion(1, 4, root, [proof[0], flip(proof[1], 31)], data), VERIFICATION_FAILED)
  assert.throws(() => verifyInclusion(1, 4, flip(root), proof, data), VERIFICATION_FAILED)
  assert.throws(() => verifyInclusion(1, 4, root, proof, flip(data, 20)), VERIFICATION_FAILED)
  assert.throws(() => verifyInclusion(0, 4, root, proof, data), VERIFICATION_FAILED, 'another index')
  // (A size whose path has the same shape, 3 here, cannot be told apart by
  // the proof alone: the signed checkpoint binds size and root together.)
  assert.throws(() => verifyInclusion(1, 2, root, proof, data), VERIFICATION_FAILED, 'another size')
  assert.throws(() => verifyInclusion(1, 4, root, [proof[0]], data), VERIFICATION_FAILED, 'a hash short')
  assert.throws(() => verifyInclusion(1, 4, root, [...proof, proof[0]], data), VERIFICATION_FAILED, 'a hash too many')
  assert.throws(() => verifyInclusion(4, 4, root, proof, data), VERIFICATION_FAILED, 'index past the tree')
  // The leaf's data from another event.
  const other = await store.leafData(7, 2)
  assert.throws(() => verifyInclusion(1, 4, root, proof, other), VERIFICATION_FAILED)
  store.close()
})

test('tampered consistency proofs fail verification', async () => {
  const store = await specStore()
  const events = [...EVENTS, Buffer.from('delta'), Buffer.from('epsilon'), Buffer.from('zeta')]
  await store.appendBatch(7, events.slice(4))
  const oldRoot = await store.treeRoot(7, { size: 3 })
  const root = await store.treeRoot(7)
  const proof = await store.consistencyProof(7, 3)
  assert.ok(proof.length >= 2)
  verifyConsistency(3, 7, oldRoot, root, proof)
  assert.throws(() => verifyConsistency(3, 7, oldRoot, root, [flip(proof[0]), ...proof.slice(1)]), VERIFICATION_FAILED)
  assert.throws(() => verifyConsistency(3, 7, oldRoot, root, proof.slice(0, -1)), VERIFICATION_FAILED)
  assert.throws(() => verifyConsistency(3, 7, flip(oldRoot), root, proof), VERIFICATION_FAILED)
  assert.throws(() => verifyConsistency(3, 7, oldRoot, flip(root), proof), VERIFICATION_FAILED)
  assert.throws(() => verifyConsistency(2, 7, oldRoot, root, proof), VERIFICATION_FAILED, 'another old size')
  assert.throws(() => verifyConsistency(3, 4, oldRoot, root, proof), VERIFICATION_FAILED, 'another size')
  // A history that differs: the old root of another stream's first 3 events.
  const other = Store.openInMemory()
  await other.appendBatch(7, [EVENTS[0], EVENTS[1], Buffer.from('gammA')])
  const forked = await other.treeRoot(7)
  assert.throws(() => verifyConsistency(3, 7, forked, root, proof), VERIFICATION_FAILED)
  other.close()
  store.close()
})

test('a checkpoint is the exact C2SP note, byte for byte the independent one', async () => {
  const store = await specStore()
  const key = SigningKey.fromText(MODEL_KEY.privateText)
  assert.equal(key.vkey, MODEL_KEY.vkey)
  assert.equal(key.name, 'example.com/audit')
  const root = await store.treeRoot(7)
  const note = await store.checkpoint(7, key)
  assert.equal(typeof note, 'string')
  // Default origin: "<key name>/<stream>".
  assert.equal(note, checkpointNote(MODEL_KEY, 'example.com/audit/7', 4, root))
  const m = /^(example\.com\/audit\/7)\n(4)\n([A-Za-z0-9+/]{43}=)\n\n— example\.com\/audit ([A-Za-z0-9+/]{91}=)\n$/.exec(note)
  assert.ok(m, JSON.stringify(note))
  assert.equal(Buffer.from(m[3], 'base64').toString('hex'), root.toString('hex'))
  const sig = Buffer.from(m[4], 'base64')
  assert.equal(sig.length, 68)
  assert.deepEqual(sig.subarray(0, 4), MODEL_KEY.keyId)
  // The Ed25519 signature covers the note's text up to the blank line.
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: MODEL_KEY.publicKey.toString('base64url') }, format: 'jwk' })
  assert.ok(ed25519Verify(null, Buffer.from(`${m[1]}\n4\n${m[3]}\n`), publicKey, sig.subarray(4)))
  // The same events and key text give the same bytes in another store, on any stream.
  const again = await specStore(12)
  assert.equal(await again.checkpoint(12, key, { origin: 'example.com/audit/7' }), note)
  again.close()
  // A set origin and size.
  const small = await store.checkpoint(7, key, { size: 2, origin: 'log.example/other' })
  assert.equal(small, checkpointNote(MODEL_KEY, 'log.example/other', 2, await store.treeRoot(7, { size: 2 })))
  // The checks with no store.
  assert.deepEqual(verifyCheckpoint(note, key.vkey), { size: 4, root })
  assert.deepEqual(verifyCheckpoint(small, MODEL_KEY.vkey).size, 2)
  store.close()
})

test('the checkpoint of the spec stream for the fixed key (a cross-language vector)', async () => {
  // Any binding (Python, C, the CLI) given the same key text and events
  // must print exactly this; Ed25519 signatures are deterministic.
  const store = await specStore()
  const key = SigningKey.fromText(MODEL_KEY.privateText)
  const expected = checkpointNote(MODEL_KEY, 'example.com/audit/7', 4, mth(leafDatas(EVENTS).map(leafHash)))
  assert.equal(await store.checkpoint(7, key), expected)
  assert.equal(
    MODEL_KEY.privateText,
    'PRIVATE+KEY+example.com/audit+' + MODEL_KEY.keyId.toString('hex') + '+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f',
  )
  store.close()
})

test('verifyCheckpoint refuses an edited note, another key, a bad vkey', async () => {
  const store = await specStore()
  const key = SigningKey.generate('example.com/a')
  const other = SigningKey.generate('example.com/a')
  const note = await store.checkpoint(7, key)
  assert.throws(() => verifyCheckpoint(note, other.vkey), VERIFICATION_FAILED)
  assert.throws(() => verifyCheckpoint(note.replace('\n4\n', '\n3\n'), key.vkey), VERIFICATION_FAILED)
  assert.throws(() => verifyCheckpoint(note.replace('example.com/a/7', 'example.com/a/8'), key.vkey), VERIFICATION_FAILED)
  const lines = note.split('\n')
  lines[2] = flip(Buffer.from(lines[2], 'base64')).toString('base64')
  assert.throws(() => verifyCheckpoint(lines.join('\n'), key.vkey), VERIFICATION_FAILED)
  assert.throws(() => verifyCheckpoint('', key.vkey), VERIFICATION_FAILED)
  assert.throws(() => verifyCheckpoint(note, 'not a vkey'), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  // One key signs every stream: the origin says which log a note is of.
  const size4 = { size: 4, root: await store.treeRoot(7) }
  assert.deepEqual(verifyCheckpoint(note, key.vkey, { origin: 'example.com/a/7' }), size4)
  assert.deepEqual(verifyCheckpoint(note, key.vkey, { origin: null }), size4)
  assert.throws(
    () => verifyCheckpoint(note, key.vkey, { origin: 'example.com/a/8' }),
    (err) => err.code === 'STRATALOG_VERIFICATION_FAILED' && /"example\.com\/a\/8"/.test(err.message),
  )
  assert.throws(() => verifyCheckpoint(note, key.vkey, { origin: 8 }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => verifyCheckpoint(note, key.vkey, { orgin: 'x' }), TypeError)
  store.close()
})

test('receipts verify with the event, the receipt and the verifier key alone', async () => {
  const store = await specStore()
  const key = SigningKey.fromText(MODEL_KEY.privateText)
  const leaves = leafDatas(EVENTS).map(leafHash)
  const hashes = chainHashes(EVENTS)
  for (let n = 0; n < EVENTS.length; n++) {
    const receipt = await store.receipt(7, n, key)
    assert.equal(typeof receipt, 'string')
    assert.equal(verifyReceipt(receipt, key.vkey, EVENTS[n]), n)
    assert.equal(verifyReceipt(receipt, key.vkey, EVENTS[n], { origin: 'example.com/audit/7' }), n)
    assert.throws(() => verifyReceipt(receipt, key.vkey, EVENTS[n], { origin: 'example.com/audit/8' }), VERIFICATION_FAILED)
    assert.equal(verifyReceipt(receipt, key.vkey, new Uint8Array(EVENTS[n])), n)
    // c2sp.org/tlog-proof@v1: the chain hash before the event, the index,
    // the proof lines, a blank line, the signed checkpoint.
    const before = n === 0 ? Buffer.alloc(32) : hashes[n - 1]
    const proofLines = inclusionPath(n, leaves).map((h) => `${h.toString('base64')}\n`).join('')
    const checkpoint = checkpointNote(MODEL_KEY, 'example.com/audit/7', 4, mth(leaves))
    assert.equal(receipt, `c2sp.org/tlog-proof@v1\nextra ${before.toString('base64')}\nindex ${n}\n${proofLines}\n${checkpoint}`)
  }
  // Against a smaller tree: a checkpoint of size 4 was signed already,
  // so the default origin refuses a smaller one.
  await assert.rejects(store.receipt(7, 1, key, { size: 2 }), CHECKPOINT_REFUSED)
  const fresh = SigningKey.generate('example.com/fresh')
  const small = await store.receipt(7, 1, fresh, { size: 2 })
  assert.match(small, /\nexample\.com\/fresh\/7\n2\n/)
  assert.equal(verifyReceipt(small, fresh.vkey, EVENTS[1]), 1)
  await assert.rejects(store.receipt(7, 2, fresh, { size: 2 }), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  store.close()
})

test('a receipt fails for an edited event, an edited receipt or the wrong key', async () => {
  const store = await specStore()
  const key = SigningKey.generate('example.com/r')
  const receipt = await store.receipt(7, 2, key)
  verifyReceipt(receipt, key.vkey, Buffer.from('gamma'))
  assert.throws(() => verifyReceipt(receipt, key.vkey, Buffer.from('gammA')), VERIFICATION_FAILED)
  assert.throws(() => verifyReceipt(receipt, key.vkey, Buffer.from('')), VERIFICATION_FAILED)
  assert.throws(() => verifyReceipt(receipt, key.vkey, Buffer.from('beta')), VERIFICATION_FAILED)
  assert.throws(() => verifyReceipt(receipt, SigningKey.generate('example.com/r').vkey, Buffer.from('gamma')), VERIFICATION_FAILED)
  assert.throws(() => verifyReceipt(receipt, SigningKey.generate('example.com/other').vkey, Buffer.from('gamma')), VERIFICATION_FAILED)
  const lines = receipt.split('\n')
  // Each line of the proof part edited in turn: the extra (h(n-1)), the
  // index, every proof hash; then the checkpoint's size, root, signature.
  const edits = [
    (l) => { l[1] = `extra ${flip(Buffer.from(l[1].slice(6), 'base64')).toString('base64')}` },
    (l) => { l[2] = 'index 1' },
    (l) => { l[2] = 'index 3' },
    (l) => { l[3] = flip(Buffer.from(l[3], 'base64')).toString('base64') },
    (l) => { l[4] = flip(Buffer.from(l[4], 'base64'), 31).toString('base64') },
    (l) => { l.splice(4, 1) },
    (l) => { l[7] = '5' },
    (l) => { l[8] = flip(Buffer.from(l[8], 'base64')).toString('base64') },
    (l) => { l[10] = l[10].slice(0, -6) + (l[10].at(-6) === 'A' ? 'B' : 'A') + l[10].slice(-5) },
    (l) => { l[0] = 'c2sp.org/tlog-proof@v2' },
  ]
  assert.equal(lines[5], '')
  assert.match(lines[10], /^— example\.com\/r /)
  for (const [i, edit] of edits.entries()) {
    const l = [...lines]
    edit(l)
    assert.throws(() => verifyReceipt(l.join('\n'), key.vkey, Buffer.from('gamma')), (err) => {
      assert.ok(['STRATALOG_VERIFICATION_FAILED'].includes(err.code), `edit ${i}: ${err.code} ${err.message}`)
      return true
    }, `edit ${i}`)
  }
  store.close()
})

test('CHECKPOINT_REFUSED: a smaller size than signed before, or a history that does not extend it', async (t) => {
  const dir = tempStore(t)
  let store = await Store.open(dir)
  await store.appendBatch(7, EVENTS)
  const key = SigningKey.generate('example.com/log')
  const at4 = await store.checkpoint(7, key)
  await assert.rejects(store.checkpoint(7, key, { size: 2 }), failsWith('STRATALOG_CHECKPOINT_REFUSED', 17, /size/))
  // The same size again is the same note; a larger one after appends is fine.
  assert.equal(await store.checkpoint(7, key, { size: 4 }), at4)
  await store.append(7, Buffer.from('delta'))
  const at5 = await store.checkpoint(7, key)
  assert.equal(verifyCheckpoint(at5, key.vkey).size, 5)
  // Another origin has its own record.
  await store.checkpoint(7, key, { size: 1, origin: 'example.com/log/7-old' })
  // Recorded durably: still refused after a reopen.
  store.close()
  store = await Store.open(dir)
  await assert.rejects(store.checkpoint(7, key, { size: 4 }), CHECKPOINT_REFUSED)
  await assert.rejects(store.exportTiles(7, key, join(dir, '..', 'tiles'), { size: 3 }), CHECKPOINT_REFUSED)
  // A tree that does not extend the one signed for the origin: stream 8
  // holds another history under the origin signed for stream 7.
  await store.appendBatch(8, [EVENTS[0], Buffer.from('not beta'), EVENTS[2], EVENTS[3], Buffer.from('x'), Buffer.from('y')])
  await assert.rejects(store.checkpoint(8, key, { origin: 'example.com/log/7' }), failsWith('STRATALOG_CHECKPOINT_REFUSED', 17, /root/))
  store.close()
})

test('exportTiles writes a tlog-tiles directory the model agrees with', async (t) => {
  const dir = tempStore(t)
  const out = join(dir, '..', 'tiles')
  const store = await Store.open(dir, { segmentSize: 4096 })
  const events = Array.from({ length: 300 }, (_, i) => eventFor(i, 20))
  await store.appendBatch(5, events)
  const key = SigningKey.fromText(MODEL_KEY.privateText)
  const note = await store.exportTiles(5, key, out)
  const datas = leafDatas(events)
  const leaves = datas.map(leafHash)
  assert.equal(note, checkpointNote(MODEL_KEY, 'example.com/audit/5', 300, mth(leaves)))
  assert.equal(readFileSync(join(out, 'checkpoint'), 'utf8'), note)
  assert.deepEqual(readFileSync(join(out, 'tile/0/000')), Buffer.concat(leaves.slice(0, 256)))
  assert.deepEqual(readFileSync(join(out, 'tile/0/001.p/44')), Buffer.concat(leaves.slice(256)))
  assert.deepEqual(readFileSync(join(out, 'tile/1/000.p/1')), mth(leaves.slice(0, 256)))
  const bundle = (list) => Buffer.concat(list.flatMap((d) => [Buffer.from([0, d.length]), d]))
  assert.deepEqual(readFileSync(join(out, 'tile/entries/000')), bundle(datas.slice(0, 256)))
  assert.deepEqual(readFileSync(join(out, 'tile/entries/001.p/44')), bundle(datas.slice(256)))
  // A smaller size, to a URL.
  const small = new URL(`file://${join(dir, '..', 'small')}`)
  const x = SigningKey.generate('example.com/x')
  const note3 = await store.exportTiles(5, x, small, { size: 3 })
  assert.equal(readFileSync(join(dir, '..', 'small', 'checkpoint'), 'utf8'), note3)
  assert.equal(verifyCheckpoint(note3, x.vkey).size, 3)
  assert.ok(existsSync(join(dir, '..', 'small', 'tile/0/000.p/3')))
  store.close()
})

test('signing keys: save and fromFile round trip, mode 0600, never overwrite', async (t) => {
  const path = tempStore(t, 'audit.key')
  const key = SigningKey.generate('example.com/audit')
  assert.match(key.vkey, /^example\.com\/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/)
  key.save(path)
  assert.equal(statSync(path).mode & 0o777, 0o600)
  const text = readFileSync(path, 'utf8')
  assert.match(text, /^PRIVATE\+KEY\+example\.com\/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}\n?$/)
  const loaded = SigningKey.fromFile(path)
  assert.equal(loaded.vkey, key.vkey)
  assert.equal(SigningKey.fromText(text).vkey, key.vkey)
  // Both sign the same bytes.
  const store = await specStore()
  const a = await store.checkpoint(7, key, { origin: 'o/1' })
  assert.equal(await store.checkpoint(7, loaded, { origin: 'o/1' }), a)
  store.close()
  // An existing file is never overwritten.
  assert.throws(() => SigningKey.generate('example.com/other').save(path), failsWith('STRATALOG_IO', 3))
  try {
    key.save(path)
  } catch (err) {
    assert.equal(err.osError, 17) // EEXIST
  }
  assert.equal(readFileSync(path, 'utf8'), text)
  // A URL works as a path.
  assert.equal(SigningKey.fromFile(new URL(`file://${path}`)).vkey, key.vkey)
  // The independent model derives the same verifier key from the same text.
  const seed = Buffer.from(text.trim().split('+').slice(4).join('+'), 'base64').subarray(1)
  assert.equal(noteKey('example.com/audit', seed).vkey, key.vkey)
})

test('a key never shows its key material: inspect, toString, JSON', async (t) => {
  const key = SigningKey.fromText(MODEL_KEY.privateText)
  const secret = MODEL_KEY.privateText.split('+').slice(4).join('+')
  const seedHex = SEED.toString('hex')
  const shown = [
    inspect(key),
    inspect(key, { showHidden: true, depth: Infinity }),
    inspect({ key }),
    String(key),
    `${key}`,
    JSON.stringify(key),
    JSON.stringify({ key }),
    Object.keys(key).join(),
  ]
  for (const s of shown) {
    assert.ok(!s.includes(secret), s)
    assert.ok(!s.includes('PRIVATE'), s)
    assert.ok(!s.includes(seedHex), s)
  }
  assert.equal(String(key), `SigningKey(${MODEL_KEY.vkey})`)
  assert.deepEqual(JSON.parse(JSON.stringify(key)), { name: 'example.com/audit', vkey: MODEL_KEY.vkey })
  assert.match(inspect(key), /example\.com\/audit/)
  assert.deepEqual(Object.keys(key), [])
  // Not constructible, not forgeable.
  assert.throws(() => new SigningKey(), { name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR' })
  const store = Store.openInMemory()
  await assert.rejects(store.checkpoint(7, { vkey: key.vkey }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.checkpoint(7, Object.create(SigningKey.prototype)), TypeError)
  store.close()
})

test('bad keys, names and key files', (t) => {
  assert.throws(() => SigningKey.generate('has space'), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => SigningKey.generate('a+b'), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => SigningKey.generate(''), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => SigningKey.generate(7), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => SigningKey.generate('a\0b'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => SigningKey.fromText('PRIVATE+KEY+nope'), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => SigningKey.fromText(MODEL_KEY.vkey), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  // A key id that does not match the key.
  const wrongId = MODEL_KEY.privateText.replace(MODEL_KEY.keyId.toString('hex'), '00000000')
  assert.throws(() => SigningKey.fromText(wrongId), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  const missing = tempStore(t, 'missing.key')
  assert.throws(() => SigningKey.fromFile(missing), (err) => err.code === 'STRATALOG_IO' && err.osError === 2)
  const garbage = tempStore(t, 'garbage.key')
  writeFileSync(garbage, 'hello\n')
  assert.throws(() => SigningKey.fromFile(garbage), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => SigningKey.fromFile(''), { name: 'TypeError' })
})

test('arguments are checked before anything runs', async () => {
  const store = await specStore()
  const key = SigningKey.generate('example.com/args')
  await assert.rejects(store.treeRoot(7, { size: 5 }), failsWith('STRATALOG_OFFSET_OUT_OF_RANGE', 7))
  await assert.rejects(store.inclusionProof(7, 4), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.inclusionProof(7, 1, { size: 1 }), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.inclusionProof(7, 0, { size: 9 }), failsWith('STRATALOG_OFFSET_OUT_OF_RANGE', 7))
  await assert.rejects(store.consistencyProof(7, 3, { size: 2 }), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.checkpoint(7, key, { size: 5 }), failsWith('STRATALOG_OFFSET_OUT_OF_RANGE', 7))
  await assert.rejects(store.checkpoint(7, key, { origin: '' }), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.checkpoint(7, key, { origin: 'two\nlines' }), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.receipt(7, 4, key), failsWith('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(store.treeRoot(7, { size: -1 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(store.treeRoot(7, { size: '1' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.treeRoot(7, { sise: 1 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(store.inclusionProof(7, 0, { origin: 'x' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(store.checkpoint(7, key, { origin: 5 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.checkpoint(7, 'key'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.exportTiles(7, key, 5), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.leafData(7, 1.5), { name: 'RangeError' })
  const root = await store.treeRoot(7)
  const proof = await store.inclusionProof(7, 0)
  const data = await store.leafData(7, 0)
  assert.throws(() => verifyInclusion(0, 4, root.subarray(1), proof, data), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => verifyInclusion(0, 4, root, [proof[0].subarray(0, 31), proof[1]], data), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => verifyInclusion(0, 4, root, Buffer.concat(proof), data), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => verifyInclusion(0, 4, root, proof, 'data'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => verifyInclusion(-1, 4, root, proof, data), { name: 'RangeError' })
  assert.throws(() => verifyConsistency(1, 4, root, 'root', []), { name: 'TypeError' })
  assert.throws(() => verifyReceipt(5, key.vkey, Buffer.alloc(0)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => verifyReceipt('r', key.vkey, 'event'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => verifyCheckpoint('note'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  store.close()
  await assert.rejects(store.treeRoot(7), failsWith('STRATALOG_CLOSED', 11))
  await assert.rejects(store.checkpoint(7, key), failsWith('STRATALOG_CLOSED', 11))
})

test('store calls return promises and run off the event loop, in parallel with appends', async () => {
  const store = Store.openInMemory()
  const key = SigningKey.generate('example.com/p')
  const receiptKey = SigningKey.generate('example.com/q')
  const events = Array.from({ length: 1000 }, (_, i) => eventFor(i))
  await store.appendBatch(1, events)
  const leaves = leafDatas(events).map(leafHash)
  // Sizes given where the append below may land first.
  const calls = [
    store.treeRoot(1, { size: 1000 }),
    store.inclusionProof(1, 999, { size: 1000 }),
    store.consistencyProof(1, 500, { size: 1000 }),
    store.leafData(1, 3),
    store.checkpoint(1, key),
    store.receipt(1, 7, receiptKey),
  ]
  for (const c of calls) assert.ok(c instanceof Promise)
  const appending = store.append(1, Buffer.from('later'))
  const [root, proof, consistency, data, note, receipt] = await Promise.all(calls)
  await appending
  assert.deepEqual(root, mth(leaves))
  assert.deepEqual(proof, inclusionPath(999, leaves))
  assert.deepEqual(consistency, consistencyPath(500, leaves))
  assert.deepEqual(data, leafDatas(events)[3])
  // The checkpoint saw 1000 or 1001 events, whichever ran first.
  const { size } = verifyCheckpoint(note, key.vkey)
  assert.ok(size === 1000 || size === 1001)
  assert.equal(verifyReceipt(receipt, receiptKey.vkey, events[7]), 7)
  store.close()
})

// The checkpoint and receipt vectors of docs/FORMAT.md: the same bytes from
// the Rust core, C, Python and Node.
const VECTOR_KEY = 'PRIVATE+KEY+example.com/log+cc714670+AZ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g'
const VECTOR_VKEY = 'example.com/log+cc714670+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea'
const VECTOR_CHECKPOINT =
  'example.com/log/1\n4\n7XL6NELTT54Ito0qiJbST1KISxSbWZiZtawX4b94J/4=\n\n' +
  '\u2014 example.com/log zHFGcBsSWEnX5ZB+L3J+0wntore5Rf7e3d/qhpR5yKnpEQaBcY8/' +
  'CgIiESz5sO53KYAuldGR2+bPDIPeTbOeIGfu7wQ=\n'

test('the checkpoint and receipt vectors of docs/FORMAT.md', async () => {
  const key = SigningKey.fromText(VECTOR_KEY)
  assert.equal(key.vkey, VECTOR_VKEY)
  const store = Store.openInMemory()
  try {
    await store.appendBatch(1, EVENTS)
    assert.equal(await store.checkpoint(1, key), VECTOR_CHECKPOINT)
    const receipt = await store.receipt(1, 2, key)
    assert.equal(
      receipt,
      'c2sp.org/tlog-proof@v1\nextra 0Y+/v86GOqXuU7imCmkvyYC5DJcJ15932aqCUkUeIUE=\nindex 2\n' +
        'tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=\niMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY=\n\n' +
        VECTOR_CHECKPOINT,
    )
    verifyReceipt(receipt, VECTOR_VKEY, Buffer.from('gamma'))
  } finally {
    await store.close()
  }
})
