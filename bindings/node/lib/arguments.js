'use strict'
// Checking and normalizing the arguments of the public API: numbers become
// the bigints the addon takes, events Uint8Arrays, options plain objects.

const { types } = require('node:util')
const { fileURLToPath } = require('node:url')

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const U64_MAX = 0xffffffffffffffffn
const MAX_EVENT_BYTES = 0xffffffff

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

function openOptions(
  options,
  allowed = [
    'segmentSize',
    'checkpointInterval',
    'compression',
    'maxEventSize',
    'fsync',
    'maxOpenFiles',
    'timestamps',
    'tier',
    'tierOptions',
    'localCacheBytes',
    'tierTakeover',
    'tierLeaseMs',
  ],
) {
  const o = optionsObject('options', options, allowed)
  const out = {}
  for (const key of ['segmentSize', 'checkpointInterval', 'maxEventSize', 'maxOpenFiles', 'localCacheBytes', 'tierLeaseMs']) {
    if (o[key] !== undefined) out[key] = u64(`options.${key}`, o[key])
  }
  if (o.tier !== undefined) {
    if (typeof o.tier !== 'string') {
      throw typeError(`The "options.tier" option must be of type string. Received ${describe(o.tier)}`)
    }
    out.tier = o.tier
  }
  if (o.tierOptions !== undefined) out.tierOptions = tierOptions(o.tierOptions)
  if (o.tierTakeover !== undefined) out.tierTakeover = bool('options.tierTakeover', o.tierTakeover)
  if (o.compression !== undefined) {
    if (typeof o.compression !== 'string') {
      throw typeError(`The "options.compression" option must be of type string. Received ${describe(o.compression)}`)
    }
    out.compression = o.compression
  }
  if (o.fsync !== undefined) out.fsync = bool('options.fsync', o.fsync)
  if (o.timestamps !== undefined) out.timestamps = bool('options.timestamps', o.timestamps)
  return out
}

/**
 * A tier's options as `[key, value]` string pairs: an object whose keys are
 * object_store's (`endpoint`, `region`, `allow_http`, ...), also accepted
 * in camelCase (`allowHttp`), with string, boolean or number values.
 */
function tierOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`The "options.tierOptions" option must be an object. Received ${describe(options)}`)
  }
  return Object.entries(options).map(([key, value]) => {
    if (!['string', 'boolean', 'number'].includes(typeof value)) {
      throw typeError(
        `The "options.tierOptions.${key}" option must be a string, boolean or number. Received ${describe(value)}`,
      )
    }
    // camelCase (allowHttp) to object_store's snake_case (allow_http);
    // any other spelling goes as it is.
    const snake = /^[a-z][a-zA-Z0-9]*$/.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key
    return [snake, String(value)]
  })
}

/**
 * A point in time as whole Unix milliseconds (a bigint): a valid `Date`, a
 * non-negative finite `number` of milliseconds since the epoch (rounded
 * down, as `Date` keeps whole milliseconds), or a `bigint` of them.
 */
function unixMillis(name, value) {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw rangeError(`The "${name}" argument is an invalid Date`)
    if (ms < 0) throw rangeError(`The "${name}" argument is before the Unix epoch. Received ${value.toISOString()}`)
    return BigInt(ms)
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw rangeError(`The value of "${name}" must be a finite number of milliseconds. Received ${value}`)
    }
    if (value < 0) throw rangeError(`The value of "${name}" is before the Unix epoch. Received ${value}`)
    return u64(name, Math.floor(value))
  }
  if (typeof value === 'bigint') return u64(name, value)
  throw typeError(
    `The "${name}" argument must be a Date, or a number or bigint of milliseconds since the Unix epoch. ` +
      `Received ${describe(value)}`,
  )
}

function byteLimit(name, value, fallback, max) {
  if (value === undefined) return fallback
  if (value === Infinity) return max
  const n = u64(name, value)
  if (n === 0n) throw rangeError(`The value of "${name}" must be at least 1. Received 0`)
  return n > max ? max : n
}

module.exports = { MAX_SAFE, U64_MAX, describe, typeError, rangeError, u64, toNumber, bytes, bool, optionsObject, appendOptions, checkEvents, plainEvents, eventsArray, toPath, openOptions, byteLimit, unixMillis }
