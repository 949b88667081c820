/**
 * Reading the JSON files of a Mia project directory with every problem reported at
 * `<file>#<json path>`, and finding the JavaScript files they name.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path'
import type { FunctionSource } from '../draft.ts'
import type { Loc, Problems } from '../problems.ts'
import { jsonPath } from '../problems.ts'

export type Segments = ReadonlyArray<string | number>

/** One file of the project, addressed relative to the project directory. */
export class MiaFile {
  readonly dir: string
  readonly rel: string
  readonly problems: Problems

  constructor (dir: string, rel: string, problems: Problems) {
    this.dir = dir
    this.rel = rel
    this.problems = problems
  }

  get abs (): string {
    return join(this.dir, this.rel)
  }

  exists (): boolean {
    return existsSync(this.abs)
  }

  /** `file#json.path`, or the file alone for the empty path. */
  path (segments: Segments = []): string {
    return segments.length === 0 ? this.rel : `${this.rel}#${jsonPath(segments)}`
  }

  problem (segments: Segments, reason: string): void {
    this.problems.add(this.path(segments), reason)
  }

  warn (segments: Segments, reason: string): void {
    this.problems.warn(this.path(segments), reason)
  }

  /** Records that model location `l` was written at `segments` of this file. */
  register (l: Loc, segments: Segments = []): void {
    this.problems.locations.set(l, this.path(segments))
  }

  /** The parsed JSON, or undefined (reported) when the file is unreadable or not JSON. */
  read (): unknown {
    let text: string
    try {
      text = readFileSync(this.abs, 'utf8')
    } catch (err) {
      this.problem([], `cannot read the file: ${(err as Error).message}`)
      return undefined
    }
    try {
      return JSON.parse(text) as unknown
    } catch (err) {
      this.problem([], `invalid JSON: ${(err as Error).message}`)
      return undefined
    }
  }

  /** The parsed JSON when it is an object; otherwise undefined (reported). */
  readObject (): JsonNode | undefined {
    const value = this.read()
    if (value === undefined) return undefined
    if (!isRecord(value)) {
      this.problem([], 'must hold a JSON object')
      return undefined
    }
    return new JsonNode(this, value, [])
  }
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A JSON object inside a file, with typed readers that report what is wrong and where. */
export class JsonNode {
  readonly file: MiaFile
  readonly value: Record<string, unknown>
  readonly segments: Segments

  constructor (file: MiaFile, value: Record<string, unknown>, segments: Segments) {
    this.file = file
    this.value = value
    this.segments = segments
  }

  at (...more: Array<string | number>): Segments {
    return [...this.segments, ...more]
  }

  path (...more: Array<string | number>): string {
    return this.file.path(this.at(...more))
  }

  has (key: string): boolean {
    return this.value[key] !== undefined
  }

  problem (key: string | undefined, reason: string): void {
    this.file.problem(key === undefined ? this.segments : this.at(key), reason)
  }

  warn (key: string | undefined, reason: string): void {
    this.file.warn(key === undefined ? this.segments : this.at(key), reason)
  }

  register (l: Loc, ...more: Array<string | number>): void {
    this.file.register(l, this.at(...more))
  }

  string (key: string, required = false): string | undefined {
    const v = this.value[key]
    if (v === undefined) {
      if (required) this.problem(key, 'is required')
      return undefined
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.problem(key, 'must be a non-empty string')
      return undefined
    }
    return v
  }

  boolean (key: string): boolean | undefined {
    const v = this.value[key]
    if (v === undefined) return undefined
    if (typeof v !== 'boolean') {
      this.problem(key, 'must be true or false')
      return undefined
    }
    return v
  }

  object (key: string, required = false): JsonNode | undefined {
    const v = this.value[key]
    if (v === undefined) {
      if (required) this.problem(key, 'is required')
      return undefined
    }
    if (!isRecord(v)) {
      this.problem(key, 'must be an object')
      return undefined
    }
    return new JsonNode(this.file, v, this.at(key))
  }

  stringList (key: string, required = false): string[] | undefined {
    const v = this.value[key]
    if (v === undefined) {
      if (required) this.problem(key, 'is required')
      return undefined
    }
    if (!Array.isArray(v) || !v.every(e => typeof e === 'string' && e.trim() !== '')) {
      this.problem(key, 'must be a list of non-empty strings')
      return undefined
    }
    return v as string[]
  }

  /** Child objects of this object (`{ name: { … } }`); non-objects are reported. */
  entries (): Array<[string, JsonNode]> {
    const out: Array<[string, JsonNode]> = []
    for (const [name, v] of Object.entries(this.value)) {
      if (isRecord(v)) out.push([name, new JsonNode(this.file, v, this.at(name))])
      else this.problem(name, 'must be an object')
    }
    return out
  }

  /** Warns about properties braid does not read (typos are otherwise silent). */
  warnUnknown (known: readonly string[]): void {
    for (const key of Object.keys(this.value)) {
      if (!known.includes(key)) this.warn(key, `unknown property, ignored; expected one of: ${known.join(', ')}`)
    }
  }
}

/**
 * A file named in ps-config.json: the path as written (absolute, or relative to the project
 * directory), else a file of the same name beside ps-config.json.
 */
export function projectFile (dir: string, written: string, l: Loc): FunctionSource {
  const candidates = [...new Set([isAbsolute(written) ? written : resolve(dir, written), join(dir, basename(written))])]
  const found = candidates.find(c => existsSync(c))
  if (found !== undefined) return { file: found, loc: l }
  const also = candidates[1] === undefined ? '' : ` (also looked for ${display(dir, candidates[1])} beside ps-config.json)`
  return { file: candidates[0] as string, loc: l, unresolved: `file not found${also}` }
}

/**
 * The file of `__fromFile__[name]` in a single-view directory: `name` itself when it has an
 * extension, else `name.js`, `name.cjs` or `name.mjs`.
 */
export function viewFile (dir: string, svDir: string, name: string, l: Loc, exportName?: string): FunctionSource {
  const base = resolve(dir, svDir)
  const candidates = extname(name) === '' ? ['.js', '.cjs', '.mjs'].map(e => join(base, name + e)) : [join(base, name)]
  const found = candidates.find(c => existsSync(c))
  const source: FunctionSource = { file: found ?? candidates[0] as string, loc: l }
  if (exportName !== undefined) source.exportName = exportName
  if (found === undefined) source.unresolved = 'file not found'
  return source
}

/** `__fromFile__[x]` → `x`, else undefined. */
export function fromFileName (text: string): string | undefined {
  return /^__fromFile__\[(.+)\]$/.exec(text.trim())?.[1]?.trim()
}

/** A function's name without the file extension (`myCustomFx.js` → `myCustomFx`). */
export function functionName (file: string): string {
  return file.replace(/\.(c|m)?js$/, '')
}

function display (dir: string, file: string): string {
  const rel = relative(dir, file)
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel
}
