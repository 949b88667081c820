import { describe, expect, it } from 'vitest'
import { isBraidError } from '../../src/errors.ts'
import type { BraidError } from '../../src/errors.ts'
import type { ChangeEvent } from '../../src/model/change-event.ts'
import type { CastFunction } from '../../src/model/projection.ts'
import { mapChange } from '../../src/projections/mapper.ts'
import { projection } from './helpers.ts'

const users = projection([
  ['USER_ID', 'userId', 'castToInteger'],
  ['TAX_CODE', 'taxCode', 'castToString'],
  ['NAME', 'name', 'castToString'],
  ['BIRTH', 'birthDate', 'castToDate'],
  ['ACTIVE', 'active', 'castStringToBoolean']
], { sourceKey: ['USER_ID'] })

function insert (after: Record<string, unknown>, extra: Partial<ChangeEvent> = {}): ChangeEvent {
  return { op: 'insert', key: null, before: null, after, ...extra }
}

function mapError (fn: () => unknown): BraidError {
  try {
    fn()
  } catch (err) {
    if (isBraidError(err)) return err
    throw err
  }
  throw new Error('expected a BraidError')
}

describe('mapper', () => {
  it('mapper should rename and cast mapped fields and build the key', () => {
    const event = insert({ USER_ID: '7', TAX_CODE: 123, NAME: 'Ada', BIRTH: '1815-12-10T00:00:00.000Z', ACTIVE: 'true' })
    const mapped = mapChange(users, event)
    expect(mapped).toMatchObject({ op: 'upsert', key: { userId: 7 }, unmapped: [], uncastable: [], event })
    expect(mapped.fields).toEqual({ userId: 7, taxCode: '123', name: 'Ada', birthDate: new Date('1815-12-10T00:00:00.000Z'), active: true })
    expect(mapped.previousKey).toBeUndefined()
  })

  it('mapper should map inserts, updates and upserts alike', () => {
    for (const op of ['insert', 'update', 'upsert'] as const) {
      expect(mapChange(users, { op, key: null, before: null, after: { USER_ID: 1 } }).op).toBe('upsert')
    }
  })

  it('mapper should leave out fields absent from the message', () => {
    expect(mapChange(users, insert({ USER_ID: 1, NAME: 'x' })).fields).toEqual({ userId: 1, name: 'x' })
  })

  it('mapper should list source fields without a mapping as unmapped', () => {
    const mapped = mapChange(users, insert({ USER_ID: 1, NAME: 'x', EXTRA: 1, OTHER: 'y' }))
    expect(mapped.unmapped).toEqual(['EXTRA', 'OTHER'])
    expect(mapped.fields).toEqual({ userId: 1, name: 'x' })
  })

  it('mapper should store an uncastable field as null and report it', () => {
    const mapped = mapChange(users, insert({ USER_ID: 1, BIRTH: 'not a date', ACTIVE: 'yes' }))
    expect(mapped.fields).toEqual({ userId: 1, birthDate: null, active: null })
    expect(mapped.uncastable).toEqual([
      { field: 'BIRTH', cast: 'castToDate', value: 'not a date' },
      { field: 'ACTIVE', cast: 'castStringToBoolean', value: 'yes' }
    ])
  })

  it('mapper should treat a throwing cast of a non-key field as uncastable', () => {
    const custom = new Map<string, CastFunction>([['explode', () => { throw new Error('boom') }]])
    const def = projection([['ID', 'id', 'identity'], ['A', 'a', 'explode']], { sourceKey: ['ID'], custom })
    const mapped = mapChange(def, insert({ ID: 1, A: 5 }))
    expect(mapped.fields).toEqual({ id: 1, a: null })
    expect(mapped.uncastable).toEqual([{ field: 'A', cast: 'explode', value: 5 }])
  })

  it('mapper should pass the value and the source field name to casts', () => {
    const seen: unknown[] = []
    const custom = new Map<string, CastFunction>([['spy', (v, name) => { seen.push([v, name]); return v }]])
    const def = projection([['ID', 'id', 'spy'], ['A', 'a', 'spy']], { sourceKey: ['ID'], custom })
    mapChange(def, insert({ ID: 1, A: null }))
    expect(seen).toEqual([[null, 'A'], [1, 'ID']])
  })

  it('mapper should reject a message without a key field, naming the projection and field only', () => {
    for (const after of [{ NAME: 'x' }, { USER_ID: null, NAME: 'x' }, { USER_ID: '', NAME: 'x' }]) {
      const err = mapError(() => mapChange(users, insert(after)))
      expect(err.code).toBe('BRAID_KEY_MISSING')
      expect(err.message).toMatch(/^projection "pr_users": primary-key field "USER_ID" has no value in the message/)
      expect(err.details).toEqual({ projection: 'pr_users', field: 'USER_ID' })
    }
  })

  it('mapper should take key fields missing from after from the message key', () => {
    const mapped = mapChange(users, insert({ NAME: 'x' }, { key: { USER_ID: '9' } }))
    expect(mapped.key).toEqual({ userId: 9 })
    expect(mapped.fields).toEqual({ userId: 9, name: 'x' })
  })

  it('mapper should reject a key field that cannot be cast without quoting its value', () => {
    const err = mapError(() => mapChange(users, insert({ USER_ID: 'SECRET-ID' })))
    expect(err.code).toBe('BRAID_CAST_FAILED')
    expect(err.message).toMatch(/^projection "pr_users": primary-key field "USER_ID" could not be cast with castToInteger/)
    expect(err.message).not.toContain('SECRET')
    expect(err.details).toEqual({ projection: 'pr_users', field: 'USER_ID', cast: 'castToInteger' })
  })

  it('mapper should reject a key field whose cast throws, keeping the cause', () => {
    const boom = new Error('boom')
    const custom = new Map<string, CastFunction>([['explode', () => { throw boom }]])
    const def = projection([['ID', 'id', 'explode']], { sourceKey: ['ID'], custom })
    const err = mapError(() => mapChange(def, insert({ ID: 1 })))
    expect(err.code).toBe('BRAID_CAST_FAILED')
    expect(err.cause).toBe(boom)
  })

  it('mapper should report a primary-key change as the previous key', () => {
    const def = projection([['A', 'a', 'identity'], ['B', 'b', 'castToString'], ['V', 'v', 'identity']], { sourceKey: ['A', 'B'] })
    const mapped = mapChange(def, { op: 'update', key: null, before: { A: 1, B: 2, V: 'old' }, after: { A: 1, B: 3, V: 'new' } })
    expect(mapped.key).toEqual({ a: 1, b: '3' })
    expect(mapped.previousKey).toEqual({ a: 1, b: '2' })
  })

  it('mapper should not report a previous key when the key is unchanged after casting or before lacks it', () => {
    expect(mapChange(users, { op: 'update', key: null, before: { USER_ID: '1' }, after: { USER_ID: 1 } }).previousKey).toBeUndefined()
    expect(mapChange(users, { op: 'update', key: null, before: { NAME: 'x' }, after: { USER_ID: 1 } }).previousKey).toBeUndefined()
  })

  it('mapper should never copy reserved metadata fields from the source', () => {
    const def = projection([['ID', 'id', 'identity'], ['_id', '_id', 'identity'], ['createdAt', 'createdAt', 'identity'], ['timestamp', 'sourceTimestamp', 'identity']], { sourceKey: ['ID'] })
    const mapped = mapChange(def, insert({ ID: 1, _id: 'x', __STATE__: 'DRAFT', createdAt: 'y', timestamp: 't' }))
    expect(mapped.fields).toEqual({ id: 1, sourceTimestamp: 't' })
    expect(mapped.unmapped).toEqual(['_id', '__STATE__', 'createdAt'])
  })

  it('mapper should take the key of a delete from the message key through the mapping', () => {
    const mapped = mapChange(users, { op: 'delete', key: { USER_ID: '5' }, before: null, after: null })
    expect(mapped).toMatchObject({ op: 'delete', key: { userId: 5 }, fields: null, unmapped: [], uncastable: [] })
  })

  it('mapper should take the key of a delete from before when the message key lacks it', () => {
    const mapped = mapChange(users, { op: 'delete', key: null, before: { USER_ID: 6, NAME: 'x' }, after: null })
    expect(mapped.key).toEqual({ userId: 6 })
  })

  it('mapper should reject a delete without any key', () => {
    const err = mapError(() => mapChange(users, { op: 'delete', key: { OTHER: 1 }, before: null, after: null }))
    expect(err.code).toBe('BRAID_KEY_MISSING')
    expect(err.message).toContain('the message key or before')
  })

  it('mapper should map a truncate without key or fields', () => {
    const event: ChangeEvent = { op: 'truncate', key: null, before: null, after: null }
    expect(mapChange(users, event)).toEqual({ op: 'truncate', key: null, fields: null, unmapped: [], uncastable: [], event })
  })

  it('mapper should reject an upsert without after', () => {
    expect(mapError(() => mapChange(users, { op: 'update', key: { USER_ID: 1 }, before: null, after: null })).code).toBe('BRAID_DECODE_FAILED')
  })

  it('mapper should use the key field even when it has no field mapping', () => {
    const def = projection([['A', 'a', 'identity']], { sourceKey: ['ID'] })
    const mapped = mapChange(def, insert({ ID: 3, A: 1 }))
    expect(mapped.key).toEqual({ ID: 3 })
    expect(mapped.fields).toEqual({ ID: 3, a: 1 })
    expect(mapped.unmapped).toEqual([])
  })
})
