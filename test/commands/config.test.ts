import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPipeline } from '../../src/config/index.ts'
import type { Doc } from '../../src/model/document.ts'
import { tempDir } from '../runtime/harness.ts'
import { pipelineConfig, writeConfig } from './helpers.ts'

async function problems (commands: Doc): Promise<string[]> {
  return (await checkPipeline(writeConfig(pipelineConfig(commands)))).problems
}

const payload = { type: 'object', properties: { id: { type: 'integer' } } }

describe('the commands: section', () => {
  it('should compile targets and commands with their defaults', async () => {
    const dir = tempDir('braid-commands-config-')
    writeFileSync(join(dir, 'run.js'), 'module.exports = async function run () { return 1 }\n')
    const result = await checkPipeline(writeConfig(pipelineConfig({
      targets: { db: { postgres: { url: { env: 'DB_URL' } }, changeFeed: { slot: 'braid_db' } }, api: { http: { url: 'https://api.example.com/v1' } }, code: {} },
      definitions: {
        a: { target: 'db', payload, key: 'id', sql: 'UPDATE t SET x = :x WHERE id = :id' },
        b: { target: 'api', payload, http: { path: 'items/{id}' }, retry: { maxAttempts: 9 } },
        c: { target: 'code', payload, function: './run.js', timeoutMs: 500 }
      }
    }), dir))
    expect(result.problems).toEqual([])
    const commands = result.pipeline?.commands
    expect(commands).toMatchObject({ topic: 'braid.commands', partitions: 1, concurrency: 4 })
    expect(commands?.targets.get('db')).toMatchObject({ kind: 'postgres', url: { env: 'DB_URL' }, appliedTable: 'braid_commands_applied', poolSize: 4, breaker: { failureThreshold: 5, cooldownMs: 10_000 }, changeFeed: { kind: 'slot', slot: 'braid_db', url: { env: 'DB_URL' } } })
    expect(commands?.targets.get('api')).toMatchObject({ kind: 'http', url: 'https://api.example.com/v1/' })
    expect(commands?.targets.get('code')).toMatchObject({ kind: 'custom' })
    const a = commands?.definitions.get('a')
    expect(a).toMatchObject({ key: ['id'], retry: { maxAttempts: 5, initialBackoffMs: 500, maxBackoffMs: 30_000 }, timeoutMs: 30_000, executor: { kind: 'sql', statements: [{ text: 'UPDATE t SET x = $1 WHERE id = $2', params: ['x', 'id'] }] } })
    expect(a?.validate({ id: 'x' })).toEqual([{ path: '/id', message: 'must be integer' }])
    expect(a?.validate({ id: 1 })).toEqual([])
    expect(commands?.definitions.get('b')).toMatchObject({ key: [], retry: { maxAttempts: 9 }, executor: { kind: 'http', method: 'POST', path: 'items/{id}', body: true } })
    expect(commands?.definitions.get('c')).toMatchObject({ timeoutMs: 500, executor: { kind: 'function', file: join(dir, 'run.js') } })
  })

  it('should report each mistake at its path', async () => {
    const found = await problems({
      concurrency: 0,
      retry: { initialBackoffMs: 1000, maxBackoffMs: 10 },
      targets: {
        db: { postgres: { url: 'postgres://x/y' } },
        api: { http: { url: 'not a url' }, changeFeed: { slot: 's' } },
        both: { changeFeed: { slot: 's', source: 'x', url: 'postgres://x/y' } },
        ghost: { changeFeed: { source: 'nope' } }
      },
      definitions: {
        none: { target: 'db', payload },
        two: { target: 'db', payload, sql: 'SELECT 1', function: './f.js' },
        unknownTarget: { target: 'nope', payload, sql: 'SELECT 1' },
        mismatch: { target: 'api', payload, sql: 'SELECT 1' },
        quote: { target: 'db', payload, sql: ["SELECT 'x"] },
        schema: { target: 'db', payload: { type: 'object', requird: ['id'] }, sql: 'SELECT 1' },
        format: { target: 'db', payload: { type: 'string', format: 'ipv9' }, sql: 'SELECT 1' },
        upsert: { target: 'db', payload, upsert: { table: 't', key: ['id'], columns: { x: 'x' } } },
        missingFile: { target: 'db', payload, function: './missing.js' },
        absolute: { target: 'api', payload, http: { path: 'https://elsewhere/x' } }
      }
    })
    expect(found).toEqual(expect.arrayContaining([
      'commands.concurrency: must be at least 1 (got 0)',
      'commands.retry.maxBackoffMs: must be at least initialBackoffMs (1000)',
      'commands.targets.api.http.url: must be an absolute URL like https://crm.example.com/api/ (got "not a url")',
      'commands.targets.api.changeFeed.url: is required for a target that is not postgres: the database the CDC slot reads',
      'commands.targets.both.changeFeed: needs either source (a braid postgres source) or slot (the replication slot of an outside CDC connector)',
      'commands.targets.ghost.changeFeed.source: unknown source "nope"; postgres sources: (none)',
      'commands.definitions.none: needs an executor: one of sql, upsert, http, function',
      'commands.definitions.two: has sql and function: give exactly one executor',
      'commands.definitions.unknownTarget.target: unknown target "nope"; known: db, api, both, ghost',
      'commands.definitions.mismatch.target: a sql command needs a postgres target; "api" is http',
      'commands.definitions.quote.sql[0]: unclosed \' quote at position 8',
      'commands.definitions.schema.payload: is not a valid JSON Schema: strict mode: unknown keyword: "requird"',
      'commands.definitions.format.payload: uses the unknown format "ipv9"; supported: date-time, date, time, email, uuid, uri',
      'commands.definitions.upsert.upsert.key: key columns id are not in columns; every key column needs a payload field',
      'commands.definitions.absolute.http.path: must be a path relative to the target url, not a URL'
    ]))
    expect(found.some(p => p.startsWith('commands.definitions.missingFile.function: cannot load') && p.includes('file not found'))).toBe(true)
  })

  it('should be checked by the JSON Schema first', async () => {
    expect(await problems({ targets: {}, definitions: {} })).toEqual(expect.arrayContaining(['commands.targets: must not be empty', 'commands.definitions: must not be empty']))
    expect(await problems({ targets: { db: { postgres: { url: 'x' } } }, definitions: { 'bad name!': { target: 'db', payload, sql: 'x' } } }))
      .toEqual([expect.stringMatching(/^commands\.definitions\["bad name!"\]: invalid name/)])
    expect(await problems({ targets: { db: { mysql: {} } }, definitions: { a: { target: 'db', payload, sql: 'x' } } }))
      .toEqual([expect.stringMatching(/^commands\.targets\.db\.mysql: unknown property; expected one of: postgres, http, breaker, changeFeed$/)])
  })
})
