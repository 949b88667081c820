import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createNdjsonFileTransport, parseNdjsonLine, readNdjsonFile } from '../../../src/connectors/transports/ndjson-file.ts'
import { isBraidError } from '../../../src/errors.ts'
import type { BraidError } from '../../../src/errors.ts'
import type { AppendRecord } from '../../../src/model/log-record.ts'

const dir = mkdtempSync(join(tmpdir(), 'braid-ndjson-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function file (text: string): string {
  const path = join(dir, `f${++files}.ndjson`)
  writeFileSync(path, text)
  return path
}

async function readAll (path: string, batchSize?: number): Promise<AppendRecord[][]> {
  const batches: AppendRecord[][] = []
  for await (const batch of readNdjsonFile(path, { batchSize })) batches.push(batch)
  return batches
}

async function failure (path: string): Promise<BraidError> {
  try {
    await readAll(path)
  } catch (err) {
    if (isBraidError(err)) return err
    throw err
  }
  throw new Error('expected a BraidError')
}

describe('ndjson-file transport', () => {
  it('ndjson-file should serialise object keys and values and keep strings as text', async () => {
    const path = file([
      '{"key":{"ID":1},"value":{"ID":1,"NAME":"a"}}',
      '{"key":"123","value":"{\\"op_type\\":\\"I\\"}"}',
      '{"key":null,"value":null}',
      '{"value":[1,2]}'
    ].join('\n') + '\n')
    expect(await readAll(path)).toEqual([[
      { key: '{"ID":1}', value: '{"ID":1,"NAME":"a"}' },
      { key: '123', value: '{"op_type":"I"}' },
      { key: null, value: null },
      { key: null, value: '[1,2]' }
    ]])
  })

  it('ndjson-file should read timestamps as epoch ms or ISO dates and keep headers', async () => {
    const path = file([
      '{"key":"a","value":"1","timestamp":1700000000000}',
      '{"key":"a","value":"1","timestamp":"1700000000001"}',
      '{"key":"a","value":"1","timestamp":"2023-11-14T22:13:20.002Z","headers":{"source":"replay"}}'
    ].join('\r\n'))
    const [batch] = await readAll(path)
    expect(batch?.map(r => r.timestamp)).toEqual([1700000000000, 1700000000001, 1700000000002])
    expect(batch?.[2]?.headers).toEqual({ source: 'replay' })
  })

  it('ndjson-file should yield batches of the given size and skip blank lines', async () => {
    const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ key: { ID: i }, value: { ID: i } }))
    const path = file(lines.join('\n\n') + '\n   \n')
    const batches = await readAll(path, 3)
    expect(batches.map(b => b.length)).toEqual([3, 3, 1])
    expect(batches.flat().map(r => r.key)).toEqual(lines.map((_, i) => `{"ID":${i}}`))
  })

  it('ndjson-file should stream a large file in batches', async () => {
    const count = 20_000
    const path = file(Array.from({ length: count }, (_, i) => `{"key":{"ID":${i}},"value":{"ID":${i},"PAD":"${'x'.repeat(50)}"}}`).join('\n'))
    let total = 0
    let batches = 0
    for await (const batch of readNdjsonFile(path)) {
      total += batch.length
      batches++
      expect(batch.length).toBeLessThanOrEqual(500)
    }
    expect(total).toBe(count)
    expect(batches).toBe(count / 500)
  })

  it('ndjson-file should report a bad line with its number and without its content', async () => {
    const path = file('{"key":"a","value":"1"}\n{"key":"SECRET","value":\n')
    const err = await failure(path)
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: line is not valid JSON`))
    expect(err.message).not.toContain('SECRET')
    expect(err.details).toEqual({ source: path, line: 2 })
  })

  it('ndjson-file should reject lines that are not objects, have unknown fields or no value', async () => {
    expect((await failure(file('[1,2]'))).message).toMatch(/:1: line is not a JSON object/)
    expect((await failure(file('{"key":"a","vaule":{"ID":1}}'))).message).toMatch(/:1: unknown field "vaule"; a line may have key, value, timestamp, headers/)
    expect((await failure(file('\n{"key":"a"}'))).message).toMatch(/:2: field "value" is missing/)
  })

  it('ndjson-file should reject invalid timestamps and headers', async () => {
    expect((await failure(file('{"value":1,"timestamp":"later"}'))).message).toMatch(/:1: field "timestamp" is not a valid time/)
    expect((await failure(file('{"value":1,"timestamp":-5}'))).code).toBe('BRAID_DECODE_FAILED')
    expect((await failure(file('{"value":1,"headers":[]}'))).message).toMatch(/:1: field "headers" is not an object/)
    expect((await failure(file('{"value":1,"headers":{"n":1}}'))).message).toMatch(/:1: header "n" is not a string/)
  })

  it('ndjson-file should report a missing file as BRAID_USAGE', async () => {
    const err = await failure(join(dir, 'missing.ndjson'))
    expect(err.code).toBe('BRAID_USAGE')
    expect(err.message).toMatch(/cannot read ".*missing\.ndjson" \(ENOENT\)/)
  })

  it('ndjson-file should stop when the signal aborts', async () => {
    const path = file(Array.from({ length: 10 }, (_, i) => `{"value":${i}}`).join('\n'))
    const controller = new AbortController()
    const transport = createNdjsonFileTransport(path, { batchSize: 2 })
    const seen: AppendRecord[] = []
    for await (const batch of transport.read({ signal: controller.signal })) {
      seen.push(...batch)
      controller.abort()
    }
    expect(seen).toHaveLength(2)
    expect(transport).toMatchObject({ kind: 'ndjson-file', origin: path })
  })

  it('ndjson-file should be usable line by line for other transports', () => {
    expect(parseNdjsonLine('  ', 'body', 1)).toBeNull()
    expect(parseNdjsonLine('{"key":{"A":1},"value":{"A":1}}', 'body', 3)).toEqual({ key: '{"A":1}', value: '{"A":1}' })
  })
})
