'use strict'
// Loads the prebuilt native addon that ships in the package:
// stratalog.<platform>-<arch>[-<abi>].node next to this file (built by
// `npm run build`, i.e. napi build --platform). Nothing is compiled at
// install time; a platform without an addon gets an error that names it.

const { existsSync, readdirSync } = require('node:fs')
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

/** The napi-rs platform name of this process, e.g. "linux-x64-gnu". */
function platformName() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function shipped() {
  try {
    return readdirSync(__dirname)
      .map((f) => /^stratalog\.(.+)\.node$/.exec(f))
      .filter(Boolean)
      .map((m) => m[1])
      .sort()
  } catch {
    return []
  }
}

function unsupported(platform, detail) {
  const have = shipped()
  const err = new Error(
    `stratalog: no prebuilt native addon fits this platform, ${platform} ` +
      `(Node ${process.version}): ${detail}. ` +
      `This package ships addons for: ${have.length ? have.join(', ') : 'none'}. ` +
      'Build the package from source for this platform (needs a Rust toolchain): in a clone of ' +
      'stratalog, cd bindings/node && npm ci && npm run build && npm pack, then install that tarball.',
  )
  err.code = 'STRATALOG_UNSUPPORTED_PLATFORM'
  return err
}

const platform = platformName()
const name = `stratalog.${platform}.node`
const file = join(__dirname, name)
if (!existsSync(file)) {
  throw unsupported(platform, `${name} is not in the package`)
}

try {
  module.exports = require(file)
} catch (cause) {
  // Present but not loadable here: a C library too old for it, say.
  const err = unsupported(platform, `${name} does not load (${cause && cause.message})`)
  err.cause = cause
  throw err
}
