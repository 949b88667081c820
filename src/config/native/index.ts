/**
 * The native front door: one YAML or JSON file (`braid.yaml`), checked against the JSON Schema of
 * `schema.ts`, then compiled into a draft.
 * @module
 */
import { dirname } from 'node:path'
import type { PipelineDraft } from '../draft.ts'
import { Problems } from '../problems.ts'
import { buildNativeDraft } from './compile.ts'
import { parseNativeFile } from './parse.ts'

export { nativeConfigSchema, nativeDefaults } from './schema.ts'
export type { NativeConfig } from './schema.ts'
export { reverseSuffix } from './compile.ts'

/** Reads a native configuration file into a draft (problems collected, nothing thrown). */
export function readNativeConfig (file: string): PipelineDraft {
  const problems = new Problems()
  const config = parseNativeFile(file, problems)
  if (config === undefined) {
    return { origin: file, baseDir: dirname(file), system: '', projections: [], casts: new Map(), edges: [], singleViews: [], problems }
  }
  return buildNativeDraft(file, config, problems)
}
