import { loadPipeline } from '../../config/index.ts'
import { readNdjsonFile } from '../../connectors/transports/ndjson-file.ts'
import { createService } from '../../runtime/service.ts'
import { silentLogger } from '../../logger.ts'
import { createProgress } from '../progress.ts'
import { requiredOption, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

/**
 * `braid replay <config> FILE.ndjson --topic T`: appends a file of `{key, value}` messages to the
 * event log, each validated by the topic's format first (a bad line stops the replay before it is appended).
 * A running `braid start` on the same data directory picks them up; otherwise the next start does.
 */
export async function replayCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const file = requiredPositional(args, 1, 'FILE.ndjson')
  const topic = requiredOption(args, 'topic', 'TOPIC')
  const engines = await openCommandEngines(args, pipeline)
  const service = createService({ pipeline, engines, logger: silentLogger() })
  const progress = createProgress(`replay ${topic}`)
  let appended = 0
  try {
    for await (const batch of readNdjsonFile(file)) {
      const result = await service.ingest(topic, batch)
      appended += result.appended
      progress.update(appended)
    }
  } finally {
    await engines.close()
  }
  progress.finish(`appended ${appended} messages to ${topic}`)
  return 0
}
