/**
 * A throw-away PostgreSQL cluster on loopback for tests that need server settings the shared server
 * does not have (`wal_level = replica`). Needs the PostgreSQL server binaries (Debian's postgresql
 * package: /usr/lib/postgresql/<version>/bin, or BRAID_PG_BIN); as root it runs them as `postgres`.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'

export interface PrivateCluster {
  url: string
  stop: () => Promise<void>
}

function binDir (): string {
  const fromEnv = process.env['BRAID_PG_BIN']
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'initdb'))) return fromEnv
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).filter(v => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : []
  if (versions[0] !== undefined) return join(base, versions[0], 'bin')
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim() !== '') return join(which.stdout.trim(), '..')
  throw new Error('this test starts a private PostgreSQL cluster and needs its server binaries (initdb, postgres): apt-get install postgresql, or set BRAID_PG_BIN to their folder')
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** initdb + postgres with `settings` (`-c name=value` each), trust authentication, user braid. */
export async function startPrivateCluster (settings: Record<string, string>): Promise<PrivateCluster> {
  const bin = binDir()
  const root = process.getuid?.() === 0
  const dir = mkdtempSync('/tmp/braid-pg-private-')
  const data = join(dir, 'data')
  const asPg = (command: string, args: string[]): { command: string, args: string[] } => root ? { command: 'runuser', args: ['-u', 'postgres', '--', command, ...args] } : { command, args }
  if (root) {
    chmodSync(dir, 0o755)
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    if (id.status !== 0) throw new Error('running as root, the private PostgreSQL cluster must run as the user postgres, which does not exist')
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()))
  }
  const init = asPg(join(bin, 'initdb'), ['-D', data, '-U', 'braid', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const initdb = spawnSync(init.command, init.args, { encoding: 'utf8' })
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr}`)
  const port = await freePort()
  const options = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']
  for (const [name, value] of Object.entries(settings)) options.push('-c', `${name}=${value}`)
  const run = asPg(join(bin, 'postgres'), options)
  const child: ChildProcess = spawn(run.command, run.args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const url = `postgres://braid@127.0.0.1:${port}/postgres`
  const deadline = Date.now() + 30_000
  for (;;) {
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      break
    } catch {
      await client.end().catch(() => {})
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`the private PostgreSQL cluster did not start: ${stderr}`)
      }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
  return {
    url,
    async stop () {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve))
        // SIGINT to the postmaster (not to runuser, which may not forward it): PostgreSQL's fast shutdown
        const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
        if (Number.isInteger(postmaster) && postmaster > 0) process.kill(postmaster, 'SIGINT')
        await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
