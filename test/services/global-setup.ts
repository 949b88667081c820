/**
 * vitest globalSetup: real Apache Kafka, FerretDB and PostgreSQL servers for the test run.
 *
 * `BRAID_SERVICES` chooses what to start:
 * - unset (or `auto`): the servers that the selected test files need (`servicesNeededBy`: they, or a
 *   test module they import, name the server's variable), so a run of unit tests starts none;
 * - `all`: all three, whatever the selection (e.g. for watch mode, where the selection changes);
 * - `off`: none; a test that needs a server fails with a clear message (see `requireServiceEnv`).
 *
 * A server whose variable (`BRAID_KAFKA_BROKERS`, `BRAID_MONGODB_URL`, `BRAID_PG_URL`) is already set
 * is used as it is. The others are started with `scripts/services.sh up --lease <our pid> …` (its
 * progress is streamed); `scripts/services.sh env` gives their addresses, set in `process.env`, which
 * the test workers inherit (forks and threads pools alike). On teardown `down --lease <our pid>` stops
 * them unless another test run still uses them or a plain `scripts/services.sh up` started them (to
 * keep them warm between runs).
 *
 * Provisioning that fails throws, so the run fails, in CI and locally alike.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { parseEnvOutput, serviceVariables, type ServiceName } from './env.ts'
import { servicesNeededBy } from './needs.ts'

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url))
const serviceNames = Object.keys(serviceVariables) as ServiceName[]

interface RunResult {
  code: number | null
  stdout: string
}

/**
 * Runs `bash scripts/services.sh <args>`. `stream`: its output goes to ours (progress, errors);
 * otherwise stdout is captured and stderr dropped.
 */
function runServices (args: string[], stream: boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: stream ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'ignore'] })
    let stdout = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.on('error', error => reject(new Error(`cannot run bash ${script}: ${error.message}`, { cause: error })))
    child.on('close', code => resolve({ code, stdout }))
  })
}

function note (message: string): void {
  process.stderr.write(`[braid test services] ${message}\n`)
}

/** The test files this run will execute: the command-line filters applied as vitest applies them. */
async function selectedTestFiles (project: TestProject): Promise<string[]> {
  // the filters given on the command line; not in vitest's public types (vitest 3), hence the cast
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? []
  const specifications = await project.vitest.getRelevantTestSpecifications(filters)
  return specifications.map(specification => specification.moduleId)
}

export default async function setup (project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env['BRAID_SERVICES']?.trim() ?? ''
  if (mode === 'off') {
    note('BRAID_SERVICES=off: no servers started; tests that need Kafka, FerretDB or PostgreSQL will fail')
    return undefined
  }
  if (mode !== '' && mode !== 'auto' && mode !== 'all') {
    throw new Error(`BRAID_SERVICES=${mode} is not understood: use auto (the default), all or off`)
  }

  let wanted = serviceNames.filter(name => (process.env[serviceVariables[name]]?.trim() ?? '') === '')
  if (mode !== 'all' && wanted.length > 0) {
    const files = await selectedTestFiles(project).catch((error: unknown) => {
      note(`cannot tell which test files run (${String(error)}); starting every server`)
      return undefined
    })
    const needed = files === undefined ? new Set(serviceNames) : await servicesNeededBy(files)
    const unused = wanted.filter(name => !needed.has(name))
    if (unused.length > 0) {
      note(`not started: ${unused.join(', ')} (no selected test file uses ${unused.map(name => serviceVariables[name]).join(', ')}; BRAID_SERVICES=all starts them anyway)`)
    }
    wanted = wanted.filter(name => needed.has(name))
  }
  const given = serviceNames.filter(name => (process.env[serviceVariables[name]]?.trim() ?? '') !== '')
  if (given.length > 0) note(`using the servers given by ${given.map(name => serviceVariables[name]).join(', ')}`)
  if (wanted.length === 0) return undefined

  const lease = ['--lease', String(process.pid), ...wanted]
  const down = async (): Promise<void> => {
    const result = await runServices(['down', ...lease], true)
    if (result.code !== 0) {
      throw new Error(`scripts/services.sh down ${lease.join(' ')} failed (exit ${String(result.code)}); see scripts/services.sh status`)
    }
  }

  const up = await runServices(['up', ...lease], true)
  if (up.code !== 0) {
    await down().catch((error: unknown) => note(String(error)))
    throw new Error(`scripts/services.sh up ${wanted.join(' ')} failed (exit ${String(up.code)}; its output is above). ` +
      'Fix the cause, or export BRAID_KAFKA_BROKERS, BRAID_MONGODB_URL and BRAID_PG_URL to use servers of your own, ' +
      'or set BRAID_SERVICES=off to run only the tests that need no server. See docs/development.md')
  }
  const env = await runServices(['env', ...wanted], false)
  const variables = parseEnvOutput(env.stdout)
  for (const name of wanted) {
    const value = variables.get(serviceVariables[name])
    if (env.code !== 0 || value === undefined) {
      await down().catch((error: unknown) => note(String(error)))
      throw new Error(`scripts/services.sh env printed no ${serviceVariables[name]} after a successful up (exit ${String(env.code)}); ` +
        'run scripts/services.sh status to see what runs')
    }
    process.env[serviceVariables[name]] = value
  }
  note(wanted.map(name => `${serviceVariables[name]}=${process.env[serviceVariables[name]] ?? ''}`).join(' '))

  return down
}
