/**
 * Loads user functions (casts, adapters, validators, `__fromFile__` mapping, select, strategy and
 * patch functions) from JavaScript files, whatever the package type around them.
 *
 * Mia files are CommonJS (`module.exports = function …`) even when they sit inside a
 * `"type": "module"` package, so `.js` and `.cjs` files are compiled as CommonJS with `node:module`,
 * with a `require` that resolves relative to the file (relative `.js` requires are compiled as
 * CommonJS too; packages load as Node loads them). A `.js` file written with ES module syntax
 * (`export default`) and every `.mjs` file is loaded as an ES module instead (by Node's own module
 * syntax detection when it has it, else with `import()`).
 *
 * Export picked, in order: the function itself (`module.exports = fn`), the default export, the export
 * named as the function is referenced (Projection Storer cast functions: "the function name must
 * equal the key").
 * @module
 */
import { readFileSync, statSync } from 'node:fs'
import Module from 'node:module'
import { dirname, extname, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BraidError } from '../errors.ts'

export interface LoadFunctionOptions {
  /** Export to use when the module exports neither a function nor a default function. */
  name?: string
}

/** Any function: callers narrow it to the signature they expect (cast, adapter, validator…). */
export type LoadedFunction = (...args: never[]) => unknown

interface CompilableModule {
  exports: unknown
  filename: string
  paths: string[]
  loaded: boolean
  require: (id: string) => unknown
  _compile: (source: string, filename: string) => void
}

interface ModuleInternals {
  new (id: string, parent?: unknown): CompilableModule
  _nodeModulePaths: (dir: string) => string[]
  _resolveFilename: (request: string, parent: unknown) => string
  prototype: { require: (this: CompilableModule, id: string) => unknown }
}

const ModuleClass = Module as unknown as ModuleInternals

/**
 * Loads `file` and returns the function it exports.
 * @throws BraidError BRAID_FUNCTION_LOAD_FAILED naming the file and what was found.
 */
export async function loadFunction<F extends LoadedFunction = LoadedFunction> (file: string, options: LoadFunctionOptions = {}): Promise<F> {
  const path = resolve(file)
  const ext = extname(path)
  if (ext !== '.js' && ext !== '.cjs' && ext !== '.mjs') {
    throw failure(path, `unsupported file type "${ext}": a function file must be .js, .cjs or .mjs`)
  }
  let source: string
  try {
    source = readFileSync(path, 'utf8')
  } catch (err) {
    throw failure(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read the file: ${errorText(err)}`, err)
  }
  if (ext === '.mjs') return pick(await importModule(path), path, options.name, 'esm') as F
  try {
    return pick(compileCommonJs(path, source, new Map()), path, options.name, 'cjs') as F
  } catch (err) {
    if (err instanceof BraidError) throw err
    if (ext === '.js' && err instanceof SyntaxError && looksLikeEsModule(source)) {
      return pick(await importModule(path), path, options.name, 'esm') as F
    }
    throw failure(path, loadErrorText(err), err)
  }
}

function compileCommonJs (path: string, source: string, cache: Map<string, CompilableModule>): unknown {
  const cached = cache.get(path)
  if (cached !== undefined) return cached.exports
  const mod = new ModuleClass(path)
  mod.filename = path
  mod.paths = ModuleClass._nodeModulePaths(dirname(path))
  mod.require = (id: string): unknown => requireFrom(mod, id, cache)
  cache.set(path, mod)
  try {
    mod._compile(source.charCodeAt(0) === 0xfeff ? source.slice(1) : source, path)
  } catch (err) {
    cache.delete(path)
    throw err
  }
  mod.loaded = true
  return mod.exports
}

/** Relative requires of `.js`/`.cjs` files outside node_modules compile as CommonJS; the rest is Node's require. */
function requireFrom (parent: CompilableModule, id: string, cache: Map<string, CompilableModule>): unknown {
  const relative = id.startsWith('./') || id.startsWith('../') || id.startsWith('/')
  if (relative) {
    const target = ModuleClass._resolveFilename(id, parent)
    const ext = extname(target)
    if ((ext === '.js' || ext === '.cjs') && !target.includes(`${sep}node_modules${sep}`)) {
      return compileCommonJs(target, readFileSync(target, 'utf8'), cache)
    }
  }
  return ModuleClass.prototype.require.call(parent, id)
}

async function importModule (path: string): Promise<Record<string, unknown>> {
  const url = `${pathToFileURL(path).href}?mtime=${statSync(path).mtimeMs}`
  try {
    return await import(url) as Record<string, unknown>
  } catch (err) {
    if (err instanceof SyntaxError && /Unexpected token 'export'|Cannot use import statement/.test(err.message)) {
      throw failure(path, 'the file uses ES module syntax but Node reads it as CommonJS: rename it to .mjs, add "type": "module" to the nearest package.json, or use module.exports', err)
    }
    throw failure(path, loadErrorText(err), err)
  }
}

function looksLikeEsModule (source: string): boolean {
  return /^\s*(export\s|import\s*[\w{*'"])/m.test(source)
}

function pick (exports: unknown, path: string, name: string | undefined, kind: 'cjs' | 'esm'): LoadedFunction {
  if (kind === 'cjs' && typeof exports === 'function') return exports as LoadedFunction
  if (typeof exports === 'object' && exports !== null) {
    const record = exports as Record<string, unknown>
    if (typeof record['default'] === 'function') return record['default'] as LoadedFunction
    if (name !== undefined && typeof record[name] === 'function') return record[name] as LoadedFunction
  }
  const wanted = kind === 'cjs'
    ? `module.exports = function${name === undefined ? ' or exports.default' : `, exports.default or exports.${name}`}`
    : `a default export${name === undefined ? '' : ` or an export named "${name}"`}`
  return fail(path, `does not export a function: expected ${wanted}; found ${describeExports(exports, kind)}`)
}

function fail (path: string, reason: string): never {
  throw failure(path, reason)
}

function describeExports (exports: unknown, kind: 'cjs' | 'esm'): string {
  const subject = kind === 'cjs' ? 'module.exports' : 'exports'
  if (exports === undefined) return `${subject} undefined`
  if (exports === null) return `${subject} null`
  if (typeof exports !== 'object') return `${subject} of type ${typeof exports}`
  const keys = Object.keys(exports)
  if (keys.length === 0) return kind === 'cjs' ? 'module.exports is an empty object (nothing exported)' : 'no exports'
  const list = keys.map(k => `${k} (${typeOf((exports as Record<string, unknown>)[k])})`).join(', ')
  return `${subject} ${list}`
}

function typeOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function loadErrorText (err: unknown): string {
  if (err instanceof SyntaxError) return `syntax error: ${err.message}`
  return `threw while loading: ${errorText(err)}`
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err)
}

function failure (path: string, reason: string, cause?: unknown): BraidError {
  return new BraidError('BRAID_FUNCTION_LOAD_FAILED', `cannot load ${path}: ${reason}`, {
    details: { file: path, reason },
    ...(cause === undefined ? {} : { cause })
  })
}
