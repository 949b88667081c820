/**
 * Reads a native configuration file (YAML or JSON) and checks it against the JSON Schema, reporting
 * each violation as `path: reason` (`singleViews.customer_sv.view.orders.via: is required`).
 * @module
 */
import { readFileSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { Ajv } from 'ajv'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { LineCounter, parseDocument } from 'yaml'
import type { Problems } from '../problems.ts'
import { jsonPath } from '../problems.ts'
import type { NativeConfig } from './schema.ts'
import { nativeConfigSchema } from './schema.ts'

let validator: ValidateFunction | undefined

/** The compiled schema validator (compiled once). */
export function nativeValidator (): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true }).compile(nativeConfigSchema)
  return validator
}

/** Parses and schema-checks `file`; undefined (with problems) when it is not a valid configuration. */
export function parseNativeFile (file: string, problems: Problems): NativeConfig | undefined {
  const name = basename(file)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    problems.add(name, `cannot read the file: ${(err as Error).message}`)
    return undefined
  }
  const data = extname(file) === '.json' ? parseJson(name, text, problems) : parseYaml(name, text, problems)
  if (data === undefined) return undefined
  const validate = nativeValidator()
  if (validate(data)) return data as NativeConfig
  for (const line of schemaProblems(validate.errors ?? [])) problems.add(line.path, line.reason)
  return undefined
}

function parseJson (name: string, text: string, problems: Problems): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    problems.add(name, `invalid JSON: ${(err as Error).message}`)
    return undefined
  }
}

function parseYaml (name: string, text: string, problems: Problems): unknown {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0])
      problems.add(`${name}:${pos.line}:${pos.col}`, error.message.split('\n')[0] ?? error.message)
    }
    return undefined
  }
  return doc.toJS() as unknown
}

/** ajv errors → `{ path, reason }`, one per real problem (branch-selection noise removed). */
export function schemaProblems (errors: ErrorObject[]): Array<{ path: string, reason: string }> {
  const out: Array<{ path: string, reason: string }> = []
  const seen = new Set<string>()
  // A union's own type error says it all; the error of its last branch at the same place is noise.
  const unionTypeErrors = new Set(errors.filter(e => e.keyword === 'type' && Array.isArray((e.params as { type?: unknown }).type)).map(e => e.instancePath))
  for (const error of errors) {
    if (error.keyword === 'type' && !Array.isArray((error.params as { type?: unknown }).type) && unionTypeErrors.has(error.instancePath)) continue
    const line = describe(error)
    if (line === undefined) continue
    const key = `${line.path}\u0000${line.reason}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(line)
  }
  return out
}

function describe (error: ErrorObject): { path: string, reason: string } | undefined {
  const segments = error.instancePath.split('/').slice(1).map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map(s => /^\d+$/.test(s) ? Number(s) : s)
  const at = (...more: string[]): string => jsonPath([...segments, ...more])
  const params = error.params as Record<string, unknown>
  const parent = error.parentSchema as Record<string, unknown> | undefined
  const title = typeof parent?.['title'] === 'string' ? parent['title'] : undefined
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName
  if (propertyName !== undefined) {
    const rule = typeof parent?.['description'] === 'string' ? parent['description'] : 'invalid name'
    return { path: at(propertyName), reason: `invalid name: ${rule}` }
  }
  switch (error.keyword) {
    case 'if':
    case 'propertyNames':
      return undefined
    case 'required':
      return { path: at(String(params['missingProperty'])), reason: 'is required' }
    case 'additionalProperties': {
      const known = Object.keys((parent?.['properties'] as Record<string, unknown> | undefined) ?? {})
      return { path: at(String(params['additionalProperty'])), reason: `unknown property; expected one of: ${known.join(', ')}` }
    }
    case 'enum':
      return { path: at(), reason: `must be one of: ${(params['allowedValues'] as unknown[]).map(v => String(v)).join(', ')} (got ${JSON.stringify(error.data)})` }
    case 'const':
      return { path: at(), reason: `must be ${JSON.stringify(params['allowedValue'])} (got ${JSON.stringify(error.data)})` }
    case 'type':
      return { path: at(), reason: `must be ${typeText(params['type'])} (got ${jsonType(error.data)})` }
    case 'pattern':
      return { path: at(), reason: `must be ${title ?? `text matching ${String(params['pattern'])}`} (got ${JSON.stringify(error.data)})` }
    case 'minLength':
      return { path: at(), reason: 'must not be empty' }
    case 'minProperties':
      return { path: at(), reason: params['limit'] === 1 ? 'must not be empty' : `must have at least ${String(params['limit'])} entries` }
    case 'maxProperties':
      return { path: at(), reason: `must have at most ${String(params['limit'])} ${params['limit'] === 1 ? 'entry' : 'entries'}` }
    case 'minItems':
      return { path: at(), reason: params['limit'] === 1 ? 'must not be empty' : `must have at least ${String(params['limit'])} items` }
    case 'maxItems':
      return { path: at(), reason: `must have at most ${String(params['limit'])} items` }
    case 'not':
      return { path: at(), reason: 'is not allowed here' }
    default:
      return { path: at(), reason: error.message ?? error.keyword }
  }
}

const typeNames: Record<string, string> = {
  string: 'a string',
  object: 'an object',
  array: 'a list',
  null: 'null',
  boolean: 'a boolean',
  integer: 'an integer',
  number: 'a number'
}

function typeText (type: unknown): string {
  const list = (Array.isArray(type) ? type : String(type).split(',')).map(t => typeNames[String(t)] ?? String(t))
  return list.length <= 1 ? (list[0] ?? '') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] as string}`
}

function jsonType (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}
