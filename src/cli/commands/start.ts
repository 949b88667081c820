import type { AuthSettings } from '../../api/auth/authenticator.ts'
import { loadApiOptions } from '../../api/options.ts'
import { BraidError } from '../../errors.ts'
import { loadPipeline } from '../../config/index.ts'
import { buildApp } from '../../api/app.ts'
import { startRetailDemo, type DemoHandle } from '../../demo/driver.ts'
import { createLogger } from '../../logger.ts'
import { createService } from '../../runtime/service.ts'
import { integerOption, optionalString, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * `braid start <config>`: runs the pipeline and the HTTP API until SIGINT/SIGTERM.
 * Without authentication (`api.auth`) braid binds to 127.0.0.1; another address needs `--insecure`.
 * With it, any address.
 */
export async function startCommand (args: CommandArgs): Promise<number> {
  const configPath = requiredPositional(args, 0, '<config>')
  const logger = createLogger({ level: optionalString(args, 'log-level'), logKeys: args.values['log-keys'] === true })
  const pipeline = await loadPipeline(configPath)
  const port = integerOption(args, 'port', Number(process.env['BRAID_PORT'] ?? 3000))
  const host = optionalString(args, 'host') ?? process.env['BRAID_HOST'] ?? '127.0.0.1'
  const api = await loadApiOptions(configPath)
  for (const warning of api.warnings) logger.warn({ config: api.file }, warning)
  if (!isLoopback(host) && api.options.auth === undefined && args.values['insecure'] !== true) {
    throw new BraidError('BRAID_USAGE', `--host ${host} would serve every view and the ingest endpoint without authentication to the network; braid binds to 127.0.0.1 by default. Configure api.auth (API keys or JWT, see docs/api.md), or pass --insecure to accept that.`)
  }
  const engines = await openCommandEngines(args, pipeline, { exclusive: true, logger })
  const service = createService({ pipeline, engines, logger })
  const app = await buildApp(service, { ...api.options, logger })
  let demo: DemoHandle | undefined

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping')
    await demo?.stop()
    await app.close()
    await service.stop()
    await engines.close()
    logger.info('stopped')
  }
  const done = new Promise<void>(resolve => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stop(signal).then(resolve, (err: unknown) => { logger.error({ err }, 'stop failed'); resolve() }) })
  })

  let address: string
  try {
    await service.start()
    address = await app.listen({ port, host })
    if (args.values['demo'] === true) demo = await startRetailDemo(service, logger, { rate: integerOption(args, 'demo-rate', 5) })
  } catch (err) {
    // A port in use, say: release everything (or the running consumers keep the process alive) and exit 1.
    await stop('startup failed').catch((stopErr: unknown) => logger.error({ err: stopErr }, 'stop failed'))
    throw err
  }

  const base = address.replace('[::1]', 'localhost')
  const lines = [
    '',
    `braid is running (${pipeline.origin})`,
    `  store        ${engines.describe().store}`,
    `  event log    ${engines.describe().eventLog}`,
    `  API          ${base}/`,
    `  console      ${base}/console/`,
    ...[...pipeline.singleViews.keys()].map(v => `  single view  ${base}/single-views/${v}/`),
    ...[...pipeline.projections.keys()].map(p => `  projection   ${base}/projections/${p}/`),
    `  ingest       POST ${base}/ingest/{topic}`,
    `  status       ${base}/-/status`,
    ...(pipeline.sources === undefined || pipeline.sources.size === 0 ? [] : [`  sources      ${base}/-/sources`]),
    `  OpenAPI      ${base}/documentation`,
    `  auth         ${authSummary(api.options.auth)}`,
    ...(demo === undefined ? [] : ['  demo         generating retail CDC traffic (Debezium format)']),
    'Press Ctrl+C to stop.',
    ''
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  await done
  return 0
}

/** What the API accepts, for the start banner (names and counts, never secrets). */
function authSummary (auth: AuthSettings | undefined): string {
  if (auth === undefined) return 'none: every route is open (loopback only unless --insecure); see docs/api.md#authentication'
  const parts: string[] = []
  if (auth.apiKeys.length > 0) parts.push(`${auth.apiKeys.length} API ${auth.apiKeys.length === 1 ? 'key' : 'keys'}`)
  if (auth.jwt !== undefined) parts.push(`JWT (${auth.jwt.algorithms.join(', ')})`)
  return `${parts.join(' and ')}; /-/healthz and /-/ready are open`
}
