import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommandMetrics } from '../../src/commands/metrics.ts'
import { WaitStage, type CommandRecord, type CommandView } from '../../src/commands/types.ts'
import { ViewWaiter } from '../../src/commands/wait-for.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { CommandsDefinition } from '../../src/model/command.ts'
import type { Doc } from '../../src/model/document.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import type { Store } from '../../src/storage/store.ts'
import { repoRoot } from '../runtime/harness.ts'
import { mustValue, parseExposition, type Family } from '../runtime/metrics-exposition.ts'
import { createDatabase, getJson, pipelineConfig, postCommand, settled, startBraid, until, writeConfig, type Braid, type TestDatabase } from './helpers.ts'

/**
 * The write stream's metrics in `GET /-/metrics`, on a real PostgreSQL with braid's own CDC source
 * (so that `waitFor` reaches the view): commands that succeed, are rejected, time out, are retried
 * after a fix, and wait for an unreachable target whose circuit opened.
 */
let db: TestDatabase
let braid: Braid

const commandFamilies = [
  'braid_commands_accepted_total', 'braid_commands_retried_total', 'braid_commands_finished_total', 'braid_command_attempts_total',
  'braid_command_execution_seconds', 'braid_commands_pending', 'braid_commands_running', 'braid_commands_dead_letters',
  'braid_commands_queue_lag', 'braid_command_circuit_state', 'braid_command_wait_for_total', 'braid_command_wait_for_seconds'
]

async function scrape (): Promise<Map<string, Family>> {
  const res = await braid.app.inject({ method: 'GET', url: '/-/metrics' })
  expect(res.statusCode).toBe(200)
  return parseExposition(res.body)
}

async function metric (name: string, labels: Record<string, string> = {}): Promise<number> {
  return mustValue(await scrape(), name, labels)
}

async function send (name: string, payload: Doc, options: { key?: string, query?: string } = {}): Promise<string> {
  const answer = await postCommand(braid.app, name, payload, options)
  expect(answer.status).toBe(202)
  return String(answer.body['id'])
}

beforeAll(async () => {
  db = await createDatabase()
  await db.client.query(`CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text);
    INSERT INTO customers VALUES (1, 'ada@example.com', '+44 1'), (2, 'alan@example.com', '+44 2')`)
  const phone = { type: 'object', required: ['customerId', 'phone'], properties: { customerId: { type: 'integer' }, phone: { type: 'string' } } }
  const config = pipelineConfig({
    retry: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 50 },
    targets: {
      crm: { postgres: { url: db.url }, changeFeed: { source: 'crm' } },
      // Nothing listens on port 1: every attempt is `unavailable`, and the first one opens the circuit.
      offline: { postgres: { url: 'postgres://braid@127.0.0.1:1/none' }, breaker: { failureThreshold: 1, cooldownMs: 600_000 } }
    },
    definitions: {
      'set-phone': { target: 'crm', key: 'customerId', payload: phone, sql: 'UPDATE customers SET phone = :phone WHERE customer_id = :customerId' },
      // Written for a column that the migration below adds: rejected (42703) until then.
      'verify-phone': { target: 'crm', key: 'customerId', payload: phone, sql: 'UPDATE customers SET phone = :phone, phone_verified_at = now() WHERE customer_id = :customerId' },
      slow: { target: 'crm', payload: { type: 'object' }, sql: 'SELECT pg_sleep(5)', timeoutMs: 100 },
      'ping-offline': { target: 'offline', payload: { type: 'object' }, sql: 'SELECT 1' }
    }
  })
  config['sources'] = { crm: { kind: 'postgres', url: db.url, tables: { 'public.customers': { topic: 'crm.public.customers' } } } }
  braid = await startBraid(writeConfig(config))
  await until(async () => (await getJson(braid.app, '/single-views/customer_sv/count')).body as unknown as number, n => n === 2, 30_000, 'the initial snapshot to reach the view')
}, 60_000)

afterAll(async () => {
  await braid?.close()
  await db?.drop()
})

describe('command metrics in /-/metrics', () => {
  it('every command, target and view should have its series from the start, at 0, with documented names and labels only', async () => {
    const families = await scrape()
    for (const name of commandFamilies) expect(families.has(name), name).toBe(true)
    for (const command of ['set-phone', 'verify-phone', 'slow', 'ping-offline']) {
      expect(mustValue(families, 'braid_commands_accepted_total', { command })).toBe(0)
      expect(mustValue(families, 'braid_commands_finished_total', { command, status: 'failed' })).toBe(0)
      for (const result of ['succeeded', 'retryable', 'unavailable', 'rejected']) expect(mustValue(families, 'braid_command_attempts_total', { command, result })).toBe(0)
    }
    for (const target of ['crm', 'offline']) {
      expect(mustValue(families, 'braid_command_circuit_state', { target, state: 'closed' })).toBe(1)
      expect(mustValue(families, 'braid_command_circuit_state', { target, state: 'open' })).toBe(0)
      expect(mustValue(families, 'braid_command_execution_seconds_count', { target })).toBe(0)
    }
    expect(mustValue(families, 'braid_command_wait_for_total', { view: 'customer_sv', result: 'reached' })).toBe(0)
    expect(mustValue(families, 'braid_commands_pending')).toBe(0)
    expect(mustValue(families, 'braid_commands_dead_letters')).toBe(0)

    const labels = new Set(commandFamilies.flatMap(name => families.get(name)?.samples.flatMap(s => Object.keys(s.labels)) ?? []))
    expect([...labels].sort()).toEqual(['command', 'le', 'result', 'state', 'status', 'target', 'view'])
    const observability = readFileSync(join(repoRoot, 'docs/observability.md'), 'utf8')
    const commands = readFileSync(join(repoRoot, 'docs/commands.md'), 'utf8')
    expect(commandFamilies.filter(name => !observability.includes(`\`${name}\``)), 'families missing from docs/observability.md').toEqual([])
    expect(commandFamilies.filter(name => !commands.includes(name)), 'families missing from docs/commands.md').toEqual([])
  })

  it('a command that succeeds should count as accepted, one succeeded attempt with its duration, finished, and waitFor reached', async () => {
    const id = await send('set-phone', { customerId: 1, phone: '+44 20 7946 0000' }, { query: 'waitFor=customer_sv', key: 'metrics-1' })
    await until(async () => (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView, c => c.waitFor?.reachedView === true || c.status === 'failed', 30_000, 'the view to be reached')
    // The same Idempotency-Key again: the same command, not accepted twice.
    expect(await send('set-phone', { customerId: 1, phone: '+44 20 7946 0000' }, { query: 'waitFor=customer_sv', key: 'metrics-1' })).toBe(id)
    const families = await scrape()
    expect(mustValue(families, 'braid_commands_accepted_total', { command: 'set-phone' })).toBe(1)
    expect(mustValue(families, 'braid_command_attempts_total', { command: 'set-phone', result: 'succeeded' })).toBe(1)
    expect(mustValue(families, 'braid_commands_finished_total', { command: 'set-phone', status: 'succeeded' })).toBe(1)
    expect(mustValue(families, 'braid_command_execution_seconds_count', { target: 'crm' })).toBe(1)
    expect(mustValue(families, 'braid_command_execution_seconds_sum', { target: 'crm' })).toBeGreaterThan(0)
    expect(mustValue(families, 'braid_command_wait_for_total', { view: 'customer_sv', result: 'reached' })).toBe(1)
    expect(mustValue(families, 'braid_command_wait_for_seconds_count', { view: 'customer_sv' })).toBe(1)
    expect(mustValue(families, 'braid_commands_pending')).toBe(0)
  })

  it('a rejected command should count as a dead letter until it is retried after the fix and succeeds', async () => {
    const id = await send('verify-phone', { customerId: 2, phone: '+44 20 7946 0001' })
    expect((await settled(braid.app, id)).status).toBe('failed')
    let families = await scrape()
    expect(mustValue(families, 'braid_command_attempts_total', { command: 'verify-phone', result: 'rejected' })).toBe(1)
    expect(mustValue(families, 'braid_commands_finished_total', { command: 'verify-phone', status: 'failed' })).toBe(1)
    expect(mustValue(families, 'braid_commands_dead_letters')).toBe(1)
    // A rejection is an answer from the target: the circuit stays closed.
    expect(mustValue(families, 'braid_command_circuit_state', { target: 'crm', state: 'closed' })).toBe(1)

    await db.client.query('ALTER TABLE customers ADD COLUMN phone_verified_at timestamptz')
    const retry = await braid.app.inject({ method: 'POST', url: `/-/commands/${id}/retry` })
    expect(retry.statusCode).toBe(202)
    expect((await settled(braid.app, id)).status).toBe('succeeded')
    families = await scrape()
    expect(mustValue(families, 'braid_commands_retried_total', { command: 'verify-phone' })).toBe(1)
    expect(mustValue(families, 'braid_commands_accepted_total', { command: 'verify-phone' })).toBe(1)
    expect(mustValue(families, 'braid_commands_finished_total', { command: 'verify-phone', status: 'succeeded' })).toBe(1)
    expect(mustValue(families, 'braid_commands_dead_letters')).toBe(0)
  })

  it('attempts that time out should count as retryable, with their duration, until the command fails', async () => {
    const before = await metric('braid_command_execution_seconds_sum', { target: 'crm' })
    const id = await send('slow', {})
    const done = await settled(braid.app, id)
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: { kind: 'retryable' } })
    const families = await scrape()
    expect(mustValue(families, 'braid_command_attempts_total', { command: 'slow', result: 'retryable' })).toBe(2)
    expect(mustValue(families, 'braid_commands_finished_total', { command: 'slow', status: 'failed' })).toBe(1)
    // Two attempts cut at the 100 ms statement timeout.
    expect(mustValue(families, 'braid_command_execution_seconds_sum', { target: 'crm' }) - before).toBeGreaterThanOrEqual(0.2)
    expect(mustValue(families, 'braid_command_execution_seconds_bucket', { target: 'crm', le: '0.05' })).toBeLessThan(mustValue(families, 'braid_command_execution_seconds_count', { target: 'crm' }))
    expect(mustValue(families, 'braid_commands_dead_letters')).toBe(1)
  })

  // Last: the waiting command holds its queue batch (docs/commands.md), so nothing queued after it would run.
  it('a command to an unreachable target should count unavailable attempts, the open circuit, and wait as pending in the queue', async () => {
    const id = await send('ping-offline', {})
    const waiting = await until(async () => (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView, c => c.waiting === 'circuit-open', 15_000, 'the command to wait for the open circuit')
    expect(waiting).toMatchObject({ status: 'pending', circuit: 'open' })
    const families = await scrape()
    expect(mustValue(families, 'braid_command_attempts_total', { command: 'ping-offline', result: 'unavailable' })).toBe(1)
    expect(mustValue(families, 'braid_command_circuit_state', { target: 'offline', state: 'open' })).toBe(1)
    expect(mustValue(families, 'braid_command_circuit_state', { target: 'offline', state: 'closed' })).toBe(0)
    expect(mustValue(families, 'braid_command_circuit_state', { target: 'crm', state: 'closed' })).toBe(1)
    expect(mustValue(families, 'braid_command_execution_seconds_count', { target: 'offline' })).toBe(1)
    expect(mustValue(families, 'braid_commands_pending')).toBe(1)
    expect(mustValue(families, 'braid_commands_queue_lag')).toBeGreaterThanOrEqual(1)
    expect(mustValue(families, 'braid_commands_finished_total', { command: 'ping-offline', status: 'failed' })).toBe(0)
  })
})

describe('waitFor metrics', () => {
  it('a wait braid gives up should count as timed_out for its view', async () => {
    const finishedAt = new Date(Date.now() - 60_000).toISOString()
    const record: CommandRecord = {
      _id: 'c1', name: 'set-phone', target: 'crm', orderKey: 'c1', fingerprint: '', payload: {}, status: 'succeeded', run: 1, attempts: 1, failures: 0,
      createdAt: finishedAt, updatedAt: finishedAt, finishedAt, waitFor: { view: 'customer_sv', stage: WaitStage.committed, reachedView: false }, awaitingView: true
    }
    const written: Doc[] = []
    const store = {
      find: async () => [record],
      write: async (batch: { put?: Array<{ doc: Doc }> }) => { written.push(...(batch.put ?? []).map(p => p.doc)) }
    } as unknown as Store
    const commands = { targets: new Map([['crm', { name: 'crm', kind: 'custom', changeFeed: { kind: 'slot', slot: 's', url: 'postgres://unused' } }]]), definitions: new Map() } as unknown as CommandsDefinition
    const metrics = new CommandMetrics(commands, ['customer_sv'])
    const waiter = new ViewWaiter({
      pipeline: { projections: new Map() } as unknown as PipelineDefinition,
      commands,
      store,
      log: {} as EventLog,
      logger: silentLogger(),
      ingestionGroup: 'braid.projections',
      pollMs: 5,
      timeoutMs: 1000,
      metrics
    })
    await waiter.start()
    try {
      await until(async () => written.length, n => n > 0, 5000, 'the wait to be given up')
    } finally {
      await waiter.stop()
    }
    expect(written[0]).toMatchObject({ waitFor: { timedOut: true }, awaitingView: false })
    const families = parseExposition(metrics.exposition({ topic: 'braid.commands', lag: 0, counts: { pending: 0, running: 0, succeeded: 1, failed: 0 }, targets: {} }))
    expect(mustValue(families, 'braid_command_wait_for_total', { view: 'customer_sv', result: 'timed_out' })).toBe(1)
    expect(mustValue(families, 'braid_command_wait_for_total', { view: 'customer_sv', result: 'reached' })).toBe(0)
    expect(mustValue(families, 'braid_command_wait_for_seconds_count', { view: 'customer_sv' })).toBe(0)
  })

  it('without a changeFeed on any target there is no waitFor series', () => {
    const commands = { targets: new Map([['local', { name: 'local', kind: 'custom' }]]), definitions: new Map() } as unknown as CommandsDefinition
    const text = new CommandMetrics(commands, ['customer_sv']).exposition({ topic: 'braid.commands', lag: 0, counts: { pending: 0, running: 0, succeeded: 0, failed: 0 }, targets: {} })
    const families = parseExposition(text)
    expect(families.has('braid_command_wait_for_total')).toBe(false)
    expect(mustValue(families, 'braid_command_circuit_state', { target: 'local', state: 'closed' })).toBe(1)
  })
})
