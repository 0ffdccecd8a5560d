#!/usr/bin/env node
// `npm test`: tests the package as a user gets it.
//
// 1. `npm pack` the package (the addon must be built: `npm run build`) and
//    check the tarball holds the linux-x64 addon, the JS and the types;
// 2. install the tarball into a fresh project under build/test-project
//    (`npm install ./stratalog-<version>.tgz`);
// 3. run the test suite (test/*.test.mjs, test/*.test.cjs) there with
//    `node --test`, so `require('stratalog')` / `import 'stratalog'` resolve
//    to the installed package;
// 4. type-check test/types-check.ts (ESM) and test/types-check.cts (CJS)
//    against the installed index.d.ts / index.d.mts with
//    `tsc --noEmit --strict`.

import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const build = join(root, 'build')
const packDir = join(build, 'pack')
const project = join(build, 'test-project')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const addon = 'stratalog.linux-x64-gnu.node'

function run(cmd, args, cwd, options = {}) {
  console.log(`$ (cd ${cwd.replace(root, 'bindings/node')} && ${cmd} ${args.join(' ')})`)
  const r = spawnSync(cmd, args, { cwd, stdio: options.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' })
  if (r.error) throw r.error
  if (r.status !== 0) {
    console.error(`${cmd} exited with ${r.status ?? r.signal}`)
    process.exit(r.status || 1)
  }
  return r.stdout
}

if (!existsSync(join(root, addon))) {
  console.error(`${addon} is missing: run \`npm run build\` first`)
  process.exit(1)
}

// 1. pack
rmSync(packDir, { recursive: true, force: true })
mkdirSync(packDir, { recursive: true })
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], root, { capture: true }))
const tarball = join(packDir, packed[0].filename)
const files = packed[0].files.map((f) => f.path).sort()
for (const wanted of [addon, 'index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'binding.js', 'package.json']) {
  if (!files.includes(wanted)) {
    console.error(`the tarball lacks ${wanted}; it holds: ${files.join(', ')}`)
    process.exit(1)
  }
}
console.log(`packed ${packed[0].filename}: ${files.join(', ')}`)

// 2. install into a fresh project
rmSync(project, { recursive: true, force: true })
mkdirSync(project, { recursive: true })
writeFileSync(
  join(project, 'package.json'),
  JSON.stringify({ name: 'stratalog-packed-test', version: '0.0.0', private: true }, null, 2) + '\n',
)
run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', tarball], project)
const installed = join(project, 'node_modules', 'stratalog')
if (!existsSync(join(installed, addon))) {
  console.error(`the installed package lacks ${addon}`)
  process.exit(1)
}
const installedVersion = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version
if (installedVersion !== pkg.version) {
  console.error(`installed stratalog ${installedVersion}, expected ${pkg.version}`)
  process.exit(1)
}

// 3. node --test in the project
cpSync(join(root, 'test'), join(project, 'test'), { recursive: true })
const tests = readdirSync(join(project, 'test'))
  .filter((f) => /\.test\.(mjs|cjs)$/.test(f))
  .sort()
  .map((f) => join('test', f))
run(process.execPath, ['--test', ...tests], project)

// 4. tsc --noEmit --strict against the installed declarations
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const tscArgs = [
  '--noEmit',
  '--strict',
  '--module', 'nodenext',
  '--moduleResolution', 'nodenext',
  '--target', 'es2022',
  '--types', 'node',
  '--typeRoots', join(root, 'node_modules', '@types'),
]
run(process.execPath, [tsc, ...tscArgs, 'test/types-check.mts', 'test/types-check.cts'], project)
console.log('types: test/types-check.mts and test/types-check.cts compile with tsc --noEmit --strict')
