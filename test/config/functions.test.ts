import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadFunction } from '../../src/config/functions.ts'
import { BraidError } from '../../src/errors.ts'

const dir = resolve(import.meta.dirname, '../fixtures/functions')
const at = (...parts: string[]): string => join(dir, ...parts)

async function failure (file: string, name?: string): Promise<BraidError> {
  try {
    await loadFunction(file, name === undefined ? {} : { name })
  } catch (err) {
    if (err instanceof BraidError) return err
    throw err
  }
  throw new Error(`${file} loaded`)
}

describe('loadFunction', () => {
  it('the function fixtures should sit in a "type": "module" package, as Mia files do inside braid', () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { type: string }
    expect(pkg.type).toBe('module')
  })

  it('loadFunction should load a CommonJS file in a type:module package, with relative requires compiled as CommonJS too', async () => {
    const cast = await loadFunction<(v: unknown) => unknown>(at('commonjs/cast-title-case.js'))
    expect(cast('mario ROSSI')).toBe('Mario Rossi')
  })

  it('loadFunction should resolve package requires from the file location', async () => {
    const fn = await loadFunction<(text: string) => unknown>(at('commonjs/uses-package.js'))
    expect(fn('a: 1')).toEqual({ a: 1 })
  })

  it('loadFunction should pick the export named like the function when module.exports is an object', async () => {
    const cast = await loadFunction<(v: unknown) => unknown>(at('commonjs/named.cjs'), { name: 'castToTitleCase' })
    expect(cast('abc')).toBe('ABC')
  })

  it('loadFunction should pick exports.default of a transpiled CommonJS module', async () => {
    const fn = await loadFunction<() => string>(at('commonjs/exports-default.js'))
    expect(fn()).toBe('from exports.default')
  })

  it('loadFunction should load a .js file written with ES module syntax as an ES module', async () => {
    const fn = await loadFunction<() => Promise<number>>(at('esm/default.js'))
    expect(await fn()).toBe(42)
  })

  it('loadFunction should load a named export of an .mjs file', async () => {
    const fn = await loadFunction<(v: unknown) => unknown>(at('esm/named.mjs'), { name: 'castToTitleCase' })
    expect(fn('ABC')).toBe('abc')
  })

  it('loadFunction should load a CommonJS file of a type:commonjs package', async () => {
    const fn = await loadFunction<() => string>(at('commonjs-package/plain.js'))
    expect(fn()).toBe('commonjs package')
  })

  it('loadFunction should report a module that exports no function, naming the file and what it found', async () => {
    const err = await failure(at('broken/no-function.js'))
    expect(err.code).toBe('BRAID_FUNCTION_LOAD_FAILED')
    expect(err.message).toBe(`cannot load ${at('broken/no-function.js')}: does not export a function: expected module.exports = function or exports.default; found module.exports value (number), label (string)`)
    expect(err.details).toEqual({ file: at('broken/no-function.js'), reason: 'does not export a function: expected module.exports = function or exports.default; found module.exports value (number), label (string)' })
  })

  it('loadFunction should report the missing named export of an object module', async () => {
    const err = await failure(at('commonjs/named.cjs'), 'castToUpper')
    expect(err.details['reason']).toBe('does not export a function: expected module.exports = function, exports.default or exports.castToUpper; found module.exports castToTitleCase (function), version (number)')
  })

  it('loadFunction should report an ES module without a default export', async () => {
    const err = await failure(at('broken/no-default.mjs'), 'castToTitleCase')
    expect(err.details['reason']).toBe('does not export a function: expected a default export or an export named "castToTitleCase"; found exports value (number)')
  })

  it('loadFunction should report a syntax error', async () => {
    const err = await failure(at('broken/syntax-error.js'))
    expect(err.code).toBe('BRAID_FUNCTION_LOAD_FAILED')
    expect(err.details['reason']).toMatch(/^syntax error: /)
  })

  it('loadFunction should report an error thrown while the module loads', async () => {
    const err = await failure(at('broken/throws.js'))
    expect(err.details['reason']).toBe('threw while loading: boom while loading')
  })

  it('loadFunction should report a relative require that cannot be found', async () => {
    const err = await failure(at('broken/missing-require.js'))
    expect(err.details['reason']).toMatch(/^threw while loading: Cannot find module '\.\/not-there\.js'/)
  })

  it('loadFunction should report a missing file', async () => {
    const err = await failure(at('broken/nowhere.js'))
    expect(err.message).toBe(`cannot load ${at('broken/nowhere.js')}: file not found`)
  })

  it('loadFunction should refuse files that are not JavaScript', async () => {
    const err = await failure(at('broken/function.txt'))
    expect(err.details['reason']).toBe('unsupported file type ".txt": a function file must be .js, .cjs or .mjs')
  })

  it('loadFunction should load ES module syntax in a .js file of a CommonJS package, or explain how to fix it when Node cannot', async () => {
    try {
      const fn = await loadFunction<() => string>(at('commonjs-package/esm-syntax.js'))
      expect(fn()).toBe('never loaded by Node versions without module syntax detection')
    } catch (err) {
      expect(err).toBeInstanceOf(BraidError)
      expect((err as BraidError).details['reason']).toBe('the file uses ES module syntax but Node reads it as CommonJS: rename it to .mjs, add "type": "module" to the nearest package.json, or use module.exports')
    }
  })
})
