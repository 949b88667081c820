import { loadPipeline } from '../../config/index.ts'
import { silentLogger } from '../../logger.ts'
import { explainView } from '../../runtime/maintenance.ts'
import { jsonObjectOption, requiredOption, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

/** `braid explain <config> --single-view NAME --identifier JSON`: the projection documents that built the view. */
export async function explainCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const view = requiredOption(args, 'single-view', 'NAME')
  const identifier = jsonObjectOption(args, 'identifier')
  const engines = await openCommandEngines(args, pipeline)
  try {
    const result = await explainView({ pipeline, store: engines.store, log: engines.log, logger: silentLogger() }, view, identifier)
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } finally {
    await engines.close()
  }
  return 0
}
