import { readFile } from 'node:fs/promises'
import { loadPipeline } from '../../config/index.ts'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import { previewView } from '../../runtime/maintenance.ts'
import { jsonObjectOption, requiredOption, requiredPositional, type CommandArgs } from '../args.ts'

/**
 * `braid preview <config> --single-view NAME --fixtures FILE.json --identifier JSON`: aggregates one
 * view from fixture projection documents, without a pipeline. Prints the view, or `null` (reason on stderr).
 */
export async function previewCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const view = requiredOption(args, 'single-view', 'NAME')
  const fixturesFile = requiredOption(args, 'fixtures', 'FILE.json')
  const identifier = jsonObjectOption(args, 'identifier')
  let fixtures: unknown
  try {
    fixtures = JSON.parse(await readFile(fixturesFile, 'utf8'))
  } catch (err) {
    throw new BraidError('BRAID_USAGE', `--fixtures ${fixturesFile}: ${(err as Error).message}`)
  }
  if (fixtures === null || typeof fixtures !== 'object' || Array.isArray(fixtures)) {
    throw new BraidError('BRAID_USAGE', `--fixtures ${fixturesFile} must be a JSON object { "<projection>": [documents…] }`)
  }
  const result = await previewView(pipeline, view, fixtures as Record<string, Doc[]>, identifier)
  process.stdout.write(`${JSON.stringify(result.view, null, 2)}\n`)
  if (result.view === null) process.stderr.write(`no view: ${result.reason ?? 'it would be deleted'}\n`)
  return 0
}
