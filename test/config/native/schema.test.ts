import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { nativeValidator } from '../../../src/config/native/parse.ts'
import { nativeConfigSchema, nativeDefaults } from '../../../src/config/native/schema.ts'

type Json = Record<string, unknown>

/** Every `properties` entry of the schema, with its path. */
function properties (schema: unknown, path = ''): Array<{ path: string, name: string, schema: Json }> {
  if (typeof schema !== 'object' || schema === null) return []
  if (Array.isArray(schema)) return schema.flatMap((s, i) => properties(s, `${path}[${i}]`))
  const out: Array<{ path: string, name: string, schema: Json }> = []
  for (const [key, value] of Object.entries(schema as Json)) {
    if (key === 'properties') {
      for (const [name, sub] of Object.entries(value as Json)) {
        out.push({ path: `${path}.${name}`, name, schema: sub as Json })
        out.push(...properties(sub, `${path}.${name}`))
      }
    } else {
      out.push(...properties(value, `${path}/${key}`))
    }
  }
  return out
}

describe('the native configuration schema', () => {
  const all = properties(nativeConfigSchema)

  it('the schema should compile with ajv in strict mode', () => {
    expect(typeof nativeValidator()).toBe('function')
  })

  it('every property of the schema should have a description', () => {
    expect(all.length).toBeGreaterThan(40)
    const undocumented = all.filter(p => typeof p.schema['description'] !== 'string' || (p.schema['description'] as string).length < 10).map(p => p.path)
    expect(undocumented).toEqual([])
  })

  it('the defaults braid applies should be the defaults the schema declares', () => {
    const defaults = new Map(all.filter(p => p.schema['default'] !== undefined).map(p => [p.path.split('/').join(''), p.schema['default']]))
    const find = (suffix: string): unknown => [...defaults].find(([path]) => path.endsWith(suffix))?.[1]
    expect(find('.system')).toBe(nativeDefaults.system)
    expect(find('.format')).toBe(nativeDefaults.format)
    expect(find('.delete')).toBe(nativeDefaults.delete)
    expect(find('.cast')).toBe(nativeDefaults.cast)
    expect(find('.cardinality')).toBe(nativeDefaults.cardinality)
    expect(find('.upsert')).toBe(nativeDefaults.upsert)
    expect(find('.updateTopic')).toBe(nativeDefaults.updateTopic)
    expect(find('.states')).toEqual(nativeDefaults.states)
  })

  it('docs/configuration.md should document every property of the schema', () => {
    const docs = readFileSync(resolve(import.meta.dirname, '../../../docs/configuration.md'), 'utf8')
    const missing = [...new Set(all.map(p => p.name))].filter(name => !docs.includes(`\`${name}\``))
    expect(missing).toEqual([])
  })
})
