import { BraidError } from '../../errors.ts'
import { loadPipeline } from '../../config/index.ts'
import { createLogger } from '../../logger.ts'
import { rebuildViews } from '../../runtime/maintenance.ts'
import { createProgress } from '../progress.ts'
import { optionalString, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

/**
 * `braid rebuild <config> [--single-view NAME]`: full refresh of every view (or one), with progress.
 * On the embedded engines it takes the data directory's lock: a running `braid start` builds views
 * without leases (it is their only builder), so a second builder must not run next to it.
 */
export async function rebuildCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const engines = await openCommandEngines(args, pipeline, { exclusive: true })
  const logger = createLogger({ level: optionalString(args, 'log-level') ?? 'warn' })
  try {
    const views = selectedViews(pipeline.singleViews.keys(), optionalString(args, 'single-view'))
    for (const view of views) {
      const progress = createProgress(`rebuild ${view}`)
      const result = await rebuildViews({ pipeline, store: engines.store, log: engines.log, logger }, view, (done, total) => progress.update(done, total))
      progress.finish(`${view}: ${result.built} views built (${result.written} written, ${result.deleted} deleted, ${result.failed} failed)`)
    }
  } finally {
    await engines.close()
  }
  return 0
}

export function selectedViews (all: Iterable<string>, one: string | undefined): string[] {
  const names = [...all]
  if (one === undefined) return names
  if (!names.includes(one)) throw new BraidError('BRAID_USAGE', `--single-view: no single view "${one}"; known: ${names.join(', ')}`)
  return [one]
}
