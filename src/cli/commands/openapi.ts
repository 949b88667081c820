/**
 * `braid openapi <config>`: prints the OpenAPI 3 document of the API this configuration serves
 * (the one of `GET /documentation/json`), without opening any data. The repository's `openapi.json`
 * is this command's output for examples/retail/braid.yaml.
 * @module
 */
import { openApiDocument } from '../../api/openapi-document.ts'
import { loadApiOptions } from '../../api/options.ts'
import { loadPipeline } from '../../config/index.ts'
import { requiredPositional, type CommandArgs } from '../args.ts'

export async function openapiCommand (args: CommandArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const configPath = requiredPositional(args, 0, '<config>')
  const pipeline = await loadPipeline(configPath)
  const { options } = await loadApiOptions(configPath)
  out.write(`${JSON.stringify(await openApiDocument(pipeline, options), null, 2)}\n`)
  return 0
}
