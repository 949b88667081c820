import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { parseKeyHash, sha256Hash } from '../../src/api/auth/keys.ts'
import { silentLogger } from '../../src/logger.ts'
import { tempDir } from '../runtime/harness.ts'
import { pipelineConfig, startBraid, until, writeConfig, type Braid } from './helpers.ts'

/** The command routes behind API keys: `command:<name>` to send and read a command, `admin` for the rest. */
let braid: Braid
let app: FastifyInstance

const keys = { sender: 'bk_sender', other: 'bk_other', admin: 'bk_admin' }

async function call (method: 'GET' | 'POST', url: string, key: string | undefined, payload?: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await app.inject({
    method,
    url,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) })
  })
  return { status: res.statusCode, body: res.json() }
}

beforeAll(async () => {
  const dir = tempDir('braid-commands-routes-')
  writeFileSync(join(dir, 'echo.mjs'), 'export default ({ payload }) => ({ echo: payload })\n')
  braid = await startBraid(writeConfig(pipelineConfig({
    targets: { local: {} },
    definitions: {
      echo: { target: 'local', payload: { type: 'object' }, function: './echo.mjs' },
      other: { target: 'local', payload: { type: 'object' }, function: './echo.mjs' }
    }
  }), dir))
  app = await buildApp(braid.service, {
    logger: silentLogger(),
    auth: {
      publicDocumentation: true,
      apiKeys: [
        { name: 'sender', hash: parseKeyHash(sha256Hash(keys.sender), 'test'), scopes: ['command:echo'] },
        { name: 'other', hash: parseKeyHash(sha256Hash(keys.other), 'test'), scopes: ['command:other'] },
        { name: 'admin', hash: parseKeyHash(sha256Hash(keys.admin), 'test'), scopes: ['admin'] }
      ]
    }
  })
})

afterAll(async () => {
  await app?.close()
  await braid?.close()
})

describe('command routes with authentication', () => {
  it('sending a command should need its command:<name> scope', async () => {
    expect((await call('POST', '/commands/echo', undefined, { a: 1 })).status).toBe(401)
    expect((await call('POST', '/commands/echo', keys.other, { a: 1 })).body).toMatchObject({ statusCode: 403, code: 'BRAID_FORBIDDEN', details: { required: 'command:echo' } })
    const sent = await call('POST', '/commands/echo', keys.sender, { a: 1 })
    expect(sent.status).toBe(202)
  })

  it('a command status should be readable with the command scope or admin, not with another command scope', async () => {
    const sent = await call('POST', '/commands/echo', keys.sender, { b: 2 })
    const url = `/commands/${String(sent.body['id'])}`
    const done = await until(async () => await call('GET', url, keys.sender), a => a.body['status'] === 'succeeded', 10_000, 'the command to succeed')
    expect(done.body).toMatchObject({ result: { echo: { b: 2 } } })
    expect((await call('GET', url, keys.admin)).status).toBe(200)
    expect((await call('GET', url, keys.other)).body).toMatchObject({ statusCode: 403, code: 'BRAID_FORBIDDEN', details: { required: 'command:echo' } })
    expect((await call('GET', url, undefined)).status).toBe(401)
  })

  it('listing, dead letters and retries should need admin', async () => {
    for (const [method, url] of [['GET', '/commands'], ['GET', '/-/commands'], ['GET', '/-/commands/dead-letters'], ['POST', '/-/commands/x/retry']] as const) {
      expect((await call(method, url, keys.sender)).status, url).toBe(403)
    }
    expect((await call('GET', '/commands?name=echo', keys.admin)).status).toBe(200)
    expect((await call('GET', '/-/commands', keys.admin)).body).toMatchObject({ definitions: [{ name: 'echo', executor: 'function', url: '/commands/echo' }, { name: 'other' }] })
  })
})

describe('the OpenAPI document', () => {
  it('should describe the command routes, with each payload schema as the request body', async () => {
    const res = await app.inject({ method: 'GET', url: '/documentation/json' })
    expect(res.statusCode).toBe(200)
    const paths = (res.json() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>> }).paths
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/commands/echo', '/commands/other', '/commands/{id}', '/commands', '/-/commands', '/-/commands/dead-letters', '/-/commands/{id}/retry']))
    expect(paths['/commands/echo']?.['post']?.requestBody?.content['application/json']?.schema).toMatchObject({ type: 'object' })
  })
})
