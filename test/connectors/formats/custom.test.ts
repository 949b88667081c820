import { describe, expect, it } from 'vitest'
import { CustomFormat } from '../../../src/connectors/formats/custom.ts'
import type { AdapterMessage } from '../../../src/connectors/formats/custom.ts'
import type { CustomAdapterFunction } from '../../../src/model/projection.ts'
import { caught, caughtAsync, message } from './helpers.ts'

const file = '/config/adapters/kafkaMessageAdapter.js'

function format (adapter: CustomAdapterFunction): CustomFormat {
  return new CustomFormat({ adapter, adapterFile: file })
}

/** A typical Mia RTU adapter: JSON key and value, null value = delete. */
const rtuAdapter: CustomAdapterFunction = (msg) => {
  const { key, value, timestamp, offset } = msg as AdapterMessage
  const keyObject = key === null ? {} : JSON.parse(key.toString()) as object
  return {
    keyObject,
    value: value === null ? null : JSON.parse(value.toString()) as object,
    timestampDate: new Date(Number(timestamp)),
    offset: Number(offset)
  }
}

describe('custom format', () => {
  it('custom should call the adapter with Mia\'s message, the primary keys and a logger', () => {
    const calls: unknown[][] = []
    const f = format((...args) => { calls.push(args); return null })
    f.decode(message({ ID: 1 }, { ID: 1, A: 'x' }, { headers: { h: 'v' }, offset: 7, partition: 2 }), ['ID'])
    const [msg, primaryKeys, logger] = calls[0] ?? []
    const m = msg as AdapterMessage
    expect(Buffer.isBuffer(m.key)).toBe(true)
    expect(m.key?.toString()).toBe('{"ID":1}')
    expect(m.value?.toString()).toBe('{"ID":1,"A":"x"}')
    expect(m).toMatchObject({ timestamp: '1700000000000', offset: '7', partition: 2, topic: 'test.ingestion', headers: { h: 'v' } })
    expect(primaryKeys).toEqual(['ID'])
    expect(typeof (logger as { debug: unknown }).debug).toBe('function')
  })

  it('custom should hand null buffers for a null key and value', () => {
    let seen: AdapterMessage | undefined
    format(msg => { seen = msg as AdapterMessage; return null }).decode(message(null, null), [])
    expect(seen?.key).toBeNull()
    expect(seen?.value).toBeNull()
  })

  it('custom should normalise the RTU shape to an upsert with the timestamp as source time', () => {
    const events = format(rtuAdapter).decode(message({ ID: 1 }, { ID: 1, A: 2 }), ['ID'])
    expect(events).toEqual([{ op: 'upsert', key: { ID: 1 }, before: null, after: { ID: 1, A: 2 }, sourceTime: 1_700_000_000_000 }])
  })

  it('custom should treat an RTU null value as a delete', () => {
    expect(format(rtuAdapter).decode(message({ ID: 1 }, null), ['ID'])).toEqual([{ op: 'delete', key: { ID: 1 }, before: null, after: null, sourceTime: 1_700_000_000_000 }])
  })

  it('custom should honour the RTU operation, before/after and operationPosition', () => {
    const f = format(() => ({ keyObject: { ID: 2 }, value: { ID: 2, A: 1 }, operation: 'U', before: { ID: 1, A: 1 }, after: { ID: 2, A: 1 }, operationPosition: 991 }))
    expect(f.decode(message(null, null), ['ID'])).toEqual([{ op: 'update', key: { ID: 2 }, before: { ID: 1, A: 1 }, after: { ID: 2, A: 1 }, position: 991 }])
    const insert = format(() => ({ keyObject: { ID: 2 }, value: { ID: 2 }, operation: 'I', operationPosition: '12345678901234567890' }))
    expect(insert.decode(message(null, null), ['ID'])).toEqual([{ op: 'insert', key: { ID: 2 }, before: null, after: { ID: 2 }, position: '12345678901234567890' }])
    const del = format(() => ({ keyObject: { ID: 2 }, value: { ID: 2 }, operation: 'D' }))
    expect(del.decode(message(null, null), ['ID'])).toEqual([{ op: 'delete', key: { ID: 2 }, before: { ID: 2 }, after: null }])
  })

  it('custom should accept the Projection Storer shape', () => {
    const f = format(() => ({ operation: 'I', key: { ID: 1 }, before: null, after: { ID: 1, A: 1 } }))
    expect(f.decode(message(null, null), ['ID'])).toEqual([{ op: 'insert', key: { ID: 1 }, before: null, after: { ID: 1, A: 1 } }])
    const del = format(() => ({ operation: 'D', key: { ID: 1 }, before: { ID: 1, A: 1 }, after: null }))
    expect(del.decode(message(null, null), ['ID'])).toEqual([{ op: 'delete', key: { ID: 1 }, before: { ID: 1, A: 1 }, after: null }])
  })

  it('custom should skip null and undefined results', () => {
    expect(format(() => null).decode(message(null, null), [])).toEqual([])
    expect(format(() => undefined).decode(message(null, null), [])).toEqual([])
  })

  it('custom should flatten an array of results and skip its null entries', () => {
    const f = format(() => [{ operation: 'I', key: { ID: 1 }, after: { ID: 1 } }, null, { keyObject: { ID: 2 }, value: null }])
    expect(f.decode(message(null, null), ['ID'])).toEqual([
      { op: 'insert', key: { ID: 1 }, before: null, after: { ID: 1 } },
      { op: 'delete', key: { ID: 2 }, before: null, after: null }
    ])
  })

  it('custom should await an adapter that returns a promise', async () => {
    const f = format(async () => await Promise.resolve({ operation: 'U', key: { ID: 1 }, after: { ID: 1, B: 2 } }))
    const result = f.decode(message(null, null), ['ID'])
    expect(result).toBeInstanceOf(Promise)
    expect(await result).toEqual([{ op: 'update', key: { ID: 1 }, before: null, after: { ID: 1, B: 2 } }])
  })

  it('custom should turn an adapter throw into BRAID_DECODE_FAILED with the cause', () => {
    const boom = new SyntaxError('Unexpected token S in "SECRET"')
    const err = caught(() => format(() => { throw boom }).decode(message(null, 'x'), []))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toBe(`custom adapter "${file}": the adapter threw SyntaxError (the original error is the cause); fix the adapter or the message`)
    expect(err.cause).toBe(boom)
    expect(err.details).toMatchObject({ format: 'custom', adapterFile: file })
  })

  it('custom should turn a rejected promise into BRAID_DECODE_FAILED with the cause', async () => {
    const boom = new Error('nope')
    const err = await caughtAsync(async () => await format(async () => { throw boom }).decode(message(null, null), []))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.cause).toBe(boom)
  })

  it('custom should reject results of any other shape naming the adapter file', () => {
    const cases: unknown[] = [42, 'text', { foo: 1 }, [{ keyObject: {}, value: 3 }], { operation: 'X', key: {} }]
    for (const out of cases) {
      const err = caught(() => format(() => out).decode(message(null, null), []))
      expect(err.code).toBe('BRAID_DECODE_FAILED')
      expect(err.message.startsWith(`custom adapter "${file}": `)).toBe(true)
    }
    expect(caught(() => format(() => 42).decode(message(null, null), [])).message).toMatch(/result is a number; expected \{ keyObject, value \}/)
    expect(caught(() => format(() => [{ keyObject: {}, value: 3 }]).decode(message(null, null), [])).message).toMatch(/result\[0\]\.value is a number/)
    expect(caught(() => format(() => ({ operation: 'X', key: {} })).decode(message(null, null), [])).message).toMatch(/result\.operation is "X"; expected one of I, U, D/)
  })

  it('custom should reject deletes without a key and upserts without a record', () => {
    expect(caught(() => format(() => ({ keyObject: {}, value: null })).decode(message(null, null), [])).message).toMatch(/result\.keyObject is missing on a delete/)
    expect(caught(() => format(() => ({ operation: 'D', key: null })).decode(message(null, null), [])).message).toMatch(/result\.key is missing on a delete/)
    expect(caught(() => format(() => ({ operation: 'I', key: { ID: 1 }, after: null })).decode(message(null, null), [])).message).toMatch(/result\.after is missing for operation "I"/)
    expect(caught(() => format(() => ({ keyObject: { ID: 1 } })).decode(message(null, null), [])).message).toMatch(/result\.value is missing/)
  })

  it('custom should reject an invalid operationPosition or timestampDate', () => {
    expect(caught(() => format(() => ({ keyObject: { ID: 1 }, value: { ID: 1 }, operationPosition: -4 })).decode(message(null, null), [])).details).toMatchObject({ path: 'result.operationPosition' })
    expect(caught(() => format(() => ({ keyObject: { ID: 1 }, value: { ID: 1 }, timestampDate: new Date('nope') })).decode(message(null, null), [])).details).toMatchObject({ path: 'result.timestampDate' })
  })

  it('custom should reject a rejected-shape result inside a promise as BRAID_DECODE_FAILED', async () => {
    const err = await caughtAsync(async () => await format(async () => await Promise.resolve(7)).decode(message(null, null), []))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toMatch(/result is a number/)
  })
})
