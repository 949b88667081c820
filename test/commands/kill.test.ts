import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { repoRoot, tempDir } from '../runtime/harness.ts'
import { createDatabase, pipelineConfig, until, writeConfig, type TestDatabase } from './helpers.ts'

/**
 * braid is killed (SIGKILL) while a command runs, and started again on the same data directory: the
 * command is executed again, and takes effect exactly once.
 */
const main = join(repoRoot, 'dist/cli/main.js')
const children = new Set<ChildProcess>()
let db: TestDatabase

function newest (dir: string): number {
  let max = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return max
}

interface Running {
  child: ChildProcess
  base: string
  output: () => string
}

/** `braid start` as a child process; resolves with its API address once it prints it. */
async function start (config: string, dataDir: string): Promise<Running> {
  // The embedded engines (the data directory is what survives the kill), whatever the environment says.
  const env: NodeJS.ProcessEnv = { ...process.env, BRAID_LOG_LEVEL: 'warn' }
  delete env['BRAID_KAFKA_BROKERS']
  delete env['BRAID_MONGODB_URL']
  const child = spawn(process.execPath, [main, 'start', config, '--data-dir', dataDir, '--port', '0'], { cwd: repoRoot, env })
  children.add(child)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const base = await until(async () => /API\s+(http:\/\/\S+?)\/\s/.exec(out)?.[1], v => v !== undefined || child.exitCode !== null, 30_000, 'braid to print its address')
  if (base === undefined) throw new Error(`braid exited (${String(child.exitCode)}):\n${out}`)
  return { child, base, output: () => out }
}

async function kill (running: Running): Promise<void> {
  const exited = new Promise(resolve => running.child.once('exit', resolve))
  running.child.kill('SIGKILL')
  await exited
  children.delete(running.child)
}

async function counter (): Promise<number> {
  return (await db.client.query<{ n: number }>('SELECT n FROM counters WHERE id = 1')).rows[0]?.n ?? -1
}

async function status (base: string, id: string): Promise<CommandView> {
  return await (await fetch(`${base}/commands/${id}`)).json() as CommandView
}

async function post (base: string, name: string, payload: Doc): Promise<string> {
  const res = await fetch(`${base}/commands/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  expect(res.status).toBe(202)
  return ((await res.json()) as CommandView).id
}

beforeAll(async () => {
  const buildInfo = join(repoRoot, 'dist/.tsbuildinfo')
  if (!(existsSync(main) && existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newest(join(repoRoot, 'src')))) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
  }
  db = await createDatabase()
  await db.client.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); INSERT INTO counters VALUES (1, 0)')
}, 180_000)

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await db?.drop()
})

describe('kill braid mid-execution', () => {
  it('a command interrupted by SIGKILL should run again after the restart and take effect exactly once', async () => {
    const config = writeConfig(pipelineConfig({
      targets: { crm: { postgres: { url: db.url } } },
      definitions: {
        'slow-bump': {
          target: 'crm',
          key: 'id',
          payload: { type: 'object', required: ['id', 'sleep'], properties: { id: { type: 'integer' }, sleep: { type: 'number' } } },
          sql: ['UPDATE counters SET n = n + 1 WHERE id = :id', 'SELECT pg_sleep(:sleep)']
        }
      }
    }))
    const dataDir = tempDir('braid-commands-kill-')

    // 1. Killed while the statement runs (the transaction is open, nothing committed).
    let braid = await start(config, dataDir)
    const first = await post(braid.base, 'slow-bump', { id: 1, sleep: 2 })
    await until(async () => (await db.client.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'braid-commands' AND query LIKE '%pg_sleep%' AND state = 'active'")).rowCount, n => n === 1, 15_000, 'the statement to run')
    expect((await status(braid.base, first)).status).toBe('running')
    await kill(braid)
    expect(await counter()).toBe(0)

    braid = await start(config, dataDir)
    const done = await until(async () => await status(braid.base, first), c => c.status === 'succeeded' || c.status === 'failed', 30_000, 'the command to finish after the restart')
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 })
    expect(await counter()).toBe(1)

    // 2. Killed right after the commit (before or after braid recorded it): never applied twice.
    const second = await post(braid.base, 'slow-bump', { id: 1, sleep: 0.2 })
    await until(async () => (await db.client.query('SELECT 1 FROM braid_commands_applied WHERE id = $1', [second])).rowCount, n => n === 1, 15_000, 'the commit')
    await kill(braid)
    expect(await counter()).toBe(2)

    braid = await start(config, dataDir)
    const again = await until(async () => await status(braid.base, second), c => c.status === 'succeeded' || c.status === 'failed', 30_000, 'the command to finish after the restart')
    expect(again.status).toBe('succeeded')
    expect(await counter()).toBe(2)
    const applied = await db.client.query('SELECT id FROM braid_commands_applied ORDER BY applied_at')
    expect(applied.rows.map(r => (r as Doc)['id'])).toEqual([first, second])
    await kill(braid)
  }, 120_000)
})
