/**
 * The Mia-Platform Fast Data front door: a project directory laid out as
 *
 * ```
 * <dir>/ps-config.json                      projections, casts, adapter (Projection Storer v2)
 * <dir>/erSchema.json                       ER schema 1.0.0
 * <dir>/single-views/<sv>/aggregation.json  low-code aggregation 1.0.0–1.3.0
 * <dir>/single-views/<sv>/singleViewKey.json
 * <dir>/single-views/<sv>/…                 validator.js, __fromFile__ files, optional extras
 * ```
 * @module
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { PipelineDraft } from '../draft.ts'
import { Problems } from '../problems.ts'
import { erSchemaFile, readErSchema } from './er-schema.ts'
import { readPsConfig } from './ps-config.ts'
import { readSingleView, singleViewsDir } from './single-view.ts'

export { psConfigFile } from './ps-config.ts'

/** Reads a Mia project directory into a draft (problems collected, nothing thrown). */
export function readMiaProject (dir: string): PipelineDraft {
  const problems = new Problems()
  const ps = readPsConfig(dir, problems)
  const edges = readErSchema(dir, problems)
  const views = listSingleViews(dir)
  if (views.length > 0 && !existsSync(join(dir, erSchemaFile))) {
    problems.warn(erSchemaFile, 'not found: no ER condition is defined, so views can only read their base projection')
  }
  return {
    origin: dir,
    baseDir: dir,
    system: ps.system,
    projections: ps.projections,
    casts: ps.casts,
    edges,
    singleViews: views.map(name => readSingleView(dir, name, problems)),
    problems
  }
}

function listSingleViews (dir: string): string[] {
  const root = join(dir, singleViewsDir)
  if (!existsSync(root)) return []
  return readdirSync(root, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)
    .sort()
}
