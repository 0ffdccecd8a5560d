'use strict'
// Loads the native addon built by `npm run build` (napi build --platform):
// stratalog.<platform>-<arch>[-<abi>].node, next to this file.

const { existsSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    const report = process.report && process.report.getReport()
    return !(report && report.header && report.header.glibcVersionRuntime)
  } catch {
    return false
  }
}

function addonName() {
  const { platform, arch } = process
  if (platform === 'linux') return `stratalog.linux-${arch}-${isMusl() ? 'musl' : 'gnu'}.node`
  if (platform === 'win32') return `stratalog.win32-${arch}-msvc.node`
  return `stratalog.${platform}-${arch}.node`
}

const name = addonName()
const file = join(__dirname, name)
if (!existsSync(file)) {
  throw new Error(
    `stratalog: this package has no native addon for ${process.platform}-${process.arch} ` +
      `(looked for ${name}). Build it from source: cd bindings/node && npm ci && npm run build`,
  )
}

module.exports = require(file)
