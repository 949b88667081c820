import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { tempDir } from '../runtime/harness.ts'
import { getJson, pipelineConfig, postCommand, settled, startBraid, until, writeConfig, type Braid } from './helpers.ts'

interface Received {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: unknown
}

/** A system of record's API: records every request; `respond` decides the answer. */
class FakeSor {
  readonly received: Received[] = []
  respond: (r: Received) => { status: number, body?: unknown } = () => ({ status: 200, body: { ok: true } })
  #server: Server | undefined
  port = 0

  async start (port = 0): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => { text += chunk })
      req.on('end', () => {
        const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text === '' ? undefined : JSON.parse(text) as unknown }
        this.received.push(r)
        const answer = this.respond(r)
        res.writeHead(answer.status, { 'content-type': 'application/json' })
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body))
      })
    })
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    this.#server = server
    this.port = (server.address() as AddressInfo).port
  }

  async stop (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** Requests that carried the idempotency key `id`. */
  calls (id: string): Received[] {
    return this.received.filter(r => r.headers['idempotency-key'] === id)
  }
}

const sor = new FakeSor()
let braid: Braid

const phonePayload = { type: 'object', required: ['customerId', 'phone'], properties: { customerId: { type: 'integer' }, phone: { type: 'string' } } }

beforeAll(async () => {
  await sor.start()
  const dir = tempDir('braid-commands-http-')
  writeFileSync(join(dir, 'notify.mjs'), `
export default async function notify ({ command, payload, attempt, signal }) {
  if (payload.mode === 'refuse') throw Object.assign(new Error('no such mailbox'), { retryable: false })
  if (payload.mode === 'flaky' && attempt < 3) throw new Error('try again')
  if (signal.aborted) throw new Error('aborted')
  return { sent: payload.to, command: command.name, attempt }
}
`)
  const commands: Doc = {
    retry: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 50 },
    breaker: { failureThreshold: 2, cooldownMs: 300 },
    targets: {
      shop: { http: { url: `http://127.0.0.1:${sor.port}/api`, headers: { authorization: { env: 'BRAID_TEST_SHOP_TOKEN' } } } },
      mailer: {}
    },
    definitions: {
      'set-phone': {
        target: 'shop',
        key: 'customerId',
        payload: phonePayload,
        http: { method: 'PUT', path: 'customers/{customerId}/phone', headers: { 'x-source': 'braid' } }
      },
      notify: {
        target: 'mailer',
        payload: { type: 'object', required: ['to'], properties: { to: { type: 'string' }, mode: { type: 'string' } } },
        function: './notify.mjs',
        retry: { maxAttempts: 5 }
      }
    }
  }
  process.env['BRAID_TEST_SHOP_TOKEN'] = 'Bearer shop-token'
  braid = await startBraid(writeConfig(pipelineConfig(commands), dir))
})

afterAll(async () => {
  await braid?.close()
  await sor.stop()
})

describe('http commands', () => {
  it('should call the target with the payload, the command id as Idempotency-Key and the configured headers', async () => {
    sor.respond = () => ({ status: 201, body: { updated: true } })
    const answer = await postCommand(braid.app, 'set-phone', { customerId: 7, phone: '+39 06' })
    const id = String(answer.body['id'])
    const done = await settled(braid.app, id)
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { status: 201, body: { updated: true } } })
    const [call] = sor.calls(id)
    expect(call).toMatchObject({ method: 'PUT', url: '/api/customers/7/phone', body: { customerId: 7, phone: '+39 06' } })
    expect(call?.headers).toMatchObject({ authorization: 'Bearer shop-token', 'x-source': 'braid', 'braid-command': 'set-phone', 'braid-attempt': '1', 'content-type': 'application/json' })
  })

  it('a 4xx answer should fail the command at once; 5xx answers should be retried up to maxAttempts', async () => {
    sor.respond = r => r.url.includes('/404/') ? { status: 404, body: { error: 'no such customer' } } : { status: 503, body: { error: 'busy' } }
    const rejected = await postCommand(braid.app, 'set-phone', { customerId: 404, phone: 'x' })
    const exhausted = await postCommand(braid.app, 'set-phone', { customerId: 503, phone: 'x' })
    const a = await settled(braid.app, String(rejected.body['id']))
    const b = await settled(braid.app, String(exhausted.body['id']))
    expect(a).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BRAID_COMMAND_REJECTED', kind: 'rejected' } })
    expect(a.error?.message).toContain('answered 404')
    expect(b).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'BRAID_COMMAND_ATTEMPT_FAILED', kind: 'retryable' } })
    expect(sor.calls(b.id).map(c => c.headers['braid-attempt'])).toEqual(['1', '2', '3'])
    expect(sor.calls(b.id).every(c => c.headers['idempotency-key'] === b.id)).toBe(true)
    // The 503s opened the circuit; the next success closes it.
    sor.respond = () => ({ status: 200 })
    const ok = await postCommand(braid.app, 'set-phone', { customerId: 8, phone: 'x' })
    expect((await settled(braid.app, String(ok.body['id']))).status).toBe('succeeded')
    const retried = await braid.app.inject({ method: 'POST', url: `/-/commands/${b.id}/retry` })
    expect(retried.statusCode).toBe(202)
    expect(await settled(braid.app, b.id)).toMatchObject({ status: 'succeeded', attempts: 1, retries: 1 })
  })

  it('with the target down, the circuit should open and commands wait (not fail), then all go through once it is back', async () => {
    sor.respond = () => ({ status: 200, body: { ok: true } })
    const port = sor.port
    await sor.stop()
    const ids: string[] = []
    for (const customerId of [11, 12, 13]) ids.push(String((await postCommand(braid.app, 'set-phone', { customerId, phone: '+1' })).body['id']))

    const open = await until(async () => (await getJson(braid.app, '/-/status')).body, s => (s['commands'] as { targets: { shop: { circuit: { state: string } } } }).targets.shop.circuit.state !== 'closed', 10_000, 'the circuit to open')
    expect((open['commands'] as Doc)['targets']).toMatchObject({ shop: { kind: 'http', circuit: { consecutiveFailures: expect.any(Number) as number } } })
    const waiting = await until(async () => await Promise.all(ids.map(async id => (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView)),
      list => list.some(c => c.waiting === 'circuit-open'), 10_000, 'a command waiting on the open circuit')
    expect(waiting.some(c => c.circuit !== 'closed')).toBe(true)
    // Longer than maxAttempts × backoff and several cooldowns: unreachable attempts do not fail commands.
    await new Promise(resolve => setTimeout(resolve, 1_500))
    for (const id of ids) {
      const c = (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView
      expect(c.status).toMatch(/^(pending|running)$/)
      expect(c.error?.code ?? 'BRAID_TARGET_UNAVAILABLE').toBe('BRAID_TARGET_UNAVAILABLE')
    }

    await sor.start(port)
    for (const id of ids) {
      expect(await settled(braid.app, id, 10_000)).toMatchObject({ status: 'succeeded', circuit: 'closed' })
      expect(sor.calls(id)).toHaveLength(1)
    }
    const status = (await getJson(braid.app, '/-/status')).body['commands'] as { targets: { shop: { circuit: { state: string } } } }
    expect(status.targets.shop.circuit.state).toBe('closed')
  })
})

describe('custom function commands', () => {
  it('should run the function with the command, payload and attempt, and keep its result', async () => {
    const answer = await postCommand(braid.app, 'notify', { to: 'ada@example.com' })
    expect(await settled(braid.app, String(answer.body['id']))).toMatchObject({ status: 'succeeded', attempts: 1, result: { sent: 'ada@example.com', command: 'notify', attempt: 1 } })
  })

  it('an error should be retried, and an error with retryable: false should fail the command at once', async () => {
    const flaky = await postCommand(braid.app, 'notify', { to: 'x', mode: 'flaky' })
    expect(await settled(braid.app, String(flaky.body['id']))).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3 } })
    const refused = await postCommand(braid.app, 'notify', { to: 'x', mode: 'refuse' })
    expect(await settled(braid.app, String(refused.body['id']))).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BRAID_COMMAND_REJECTED', message: expect.stringContaining('no such mailbox') as string } })
  })
})
