// CommonJS: require('stratalog') gives the same objects as the ESM entry.
'use strict'
const assert = require('node:assert/strict')
const test = require('node:test')
const stratalog = require('stratalog')

test('require() exposes Store, ChainHead and version', async () => {
  const { Store, ChainHead, version } = stratalog
  assert.equal(typeof Store.open, 'function')
  assert.equal(typeof ChainHead.parse, 'function')
  assert.equal(typeof version, 'string')
  const store = Store.openInMemory()
  const head = await store.append(1, Buffer.from('alpha'))
  assert.equal(head.hex, '94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009')
  store.close()
})

test('import() of the ESM entry gives the very same classes', async () => {
  const esm = await import('stratalog')
  assert.equal(esm.Store, stratalog.Store)
  assert.equal(esm.ChainHead, stratalog.ChainHead)
  assert.equal(esm.version, stratalog.version)
  for (const name of ['SigningKey', 'verifyReceipt', 'verifyCheckpoint', 'verifyWitnessedCheckpoint', 'verifyInclusion', 'verifyConsistency']) {
    assert.equal(typeof stratalog[name], 'function', name)
    assert.equal(esm[name], stratalog[name], name)
  }
  assert.equal(esm.default, stratalog)
})

test('the package resolves to the installed copy, with its native addon', () => {
  const main = require.resolve('stratalog')
  assert.match(main, /node_modules[\\/]stratalog[\\/]index\.js$/)
  const pkg = require('stratalog/package.json')
  assert.equal(pkg.name, 'stratalog')
})
