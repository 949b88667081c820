import { describe, expect, it } from 'vitest'
import { createFormat } from '../../../src/connectors/formats/index.ts'
import { caught, message } from './helpers.ts'

describe('createFormat', () => {
  it('createFormat should build every built-in format by type', () => {
    expect(createFormat({ type: 'basic' }).type).toBe('basic')
    expect(createFormat({ type: 'db2' }).type).toBe('db2')
    expect(createFormat({ type: 'golden-gate' }).type).toBe('golden-gate')
    expect(createFormat({ type: 'debezium' }).type).toBe('debezium')
    expect(createFormat({ type: 'fast-data-v2' }).type).toBe('fast-data-v2')
    expect(createFormat({ type: 'custom', adapter: () => null }).type).toBe('custom')
  })

  it('createFormat should pass usePosAsCounter to golden-gate', () => {
    const value = { op_type: 'I', pos: '5', after: { ID: 1 } }
    expect(createFormat({ type: 'golden-gate' }).decode(message('1', value), ['ID'])).toEqual([{ op: 'insert', key: null, before: null, after: { ID: 1 }, position: '5' }])
    expect(createFormat({ type: 'golden-gate', usePosAsCounter: false }).decode(message('1', value), ['ID'])).toEqual([{ op: 'insert', key: null, before: null, after: { ID: 1 } }])
  })

  it('createFormat should pass the logger to custom adapters', () => {
    const lines: unknown[] = []
    const logger = { trace () {}, debug (...args: unknown[]) { lines.push(args) }, info () {}, warn () {}, error () {}, fatal () {}, child () { return logger } }
    const format = createFormat({ type: 'custom', adapter: (_m, _k, log) => { (log as typeof logger).debug('hello'); return null } }, { logger })
    format.decode(message(null, null), [])
    expect(lines).toEqual([['hello']])
  })

  it('createFormat should reject a custom format without an adapter function', () => {
    const err = caught(() => createFormat({ type: 'custom', adapterFile: 'adapters/a.js' }))
    expect(err.code).toBe('BRAID_FUNCTION_LOAD_FAILED')
    expect(err.message).toContain('"adapters/a.js"')
  })
})
