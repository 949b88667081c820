import { BraidError } from '../../errors.ts'
import { loadPipeline } from '../../config/index.ts'
import { buildApp } from '../../api/app.ts'
import { startRetailDemo, type DemoHandle } from '../../demo/driver.ts'
import { createLogger } from '../../logger.ts'
import { openEngines } from '../../runtime/engines.ts'
import { createService } from '../../runtime/service.ts'
import { dataDir, integerOption, optionalString, requiredPositional, type CommandArgs } from '../args.ts'

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * `braid start <config>`: runs the pipeline and the HTTP API until SIGINT/SIGTERM.
 * Without authentication braid binds to 127.0.0.1; another address needs `--insecure`.
 */
export async function startCommand (args: CommandArgs): Promise<number> {
  const configPath = requiredPositional(args, 0, '<config>')
  const logger = createLogger({ level: optionalString(args, 'log-level'), logKeys: args.values['log-keys'] === true })
  const pipeline = await loadPipeline(configPath)
  const port = integerOption(args, 'port', Number(process.env['BRAID_PORT'] ?? 3000))
  const host = optionalString(args, 'host') ?? process.env['BRAID_HOST'] ?? '127.0.0.1'
  if (!isLoopback(host) && args.values['insecure'] !== true) {
    throw new BraidError('BRAID_USAGE', `--host ${host} would serve every view and the ingest endpoint without authentication to the network; braid binds to 127.0.0.1 by default. Pass --insecure to accept that.`)
  }
  const engines = await openEngines({ dataDir: dataDir(args), exclusive: true })
  const service = createService({ pipeline, engines, logger })
  const app = await buildApp(service, { logger })
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
    `braid is running (${pipeline.origin}; data in ${engines.dataDir})`,
    `  API          ${base}/`,
    ...[...pipeline.singleViews.keys()].map(v => `  single view  ${base}/single-views/${v}/`),
    ...[...pipeline.projections.keys()].map(p => `  projection   ${base}/projections/${p}/`),
    `  ingest       POST ${base}/ingest/{topic}`,
    `  status       ${base}/-/status`,
    ...(demo === undefined ? [] : ['  demo         generating retail CDC traffic (Debezium format)']),
    'Press Ctrl+C to stop.',
    ''
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  await done
  return 0
}
