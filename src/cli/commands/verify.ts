import { loadPipeline } from '../../config/index.ts'
import { silentLogger } from '../../logger.ts'
import { verifyViews } from '../../runtime/maintenance.ts'
import { createProgress } from '../progress.ts'
import { optionalString, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'
import { selectedViews } from './rebuild.ts'

/** `braid verify <config> [--single-view NAME]`: recompute every view, diff with the stored ones, exit 1 on any difference. */
export async function verifyCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const engines = await openCommandEngines(args, pipeline)
  let differences = 0
  try {
    for (const view of selectedViews(pipeline.singleViews.keys(), optionalString(args, 'single-view'))) {
      const progress = createProgress(`verify ${view}`)
      const result = await verifyViews({ pipeline, store: engines.store, log: engines.log, logger: silentLogger() }, view, (done, total) => progress.update(done, total))
      progress.finish()
      for (const d of result.differences) {
        process.stdout.write(`${view} ${JSON.stringify(d.key)}: ${d.kind}${d.paths.length > 0 ? ` (${d.paths.join(', ')})` : ''}\n`)
      }
      process.stdout.write(`${view}: ${result.checked} views checked, ${result.differences.length} differences\n`)
      differences += result.differences.length
    }
  } finally {
    await engines.close()
  }
  return differences === 0 ? 0 : 1
}
