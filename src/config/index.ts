/**
 * Configuration entry points. Two front doors produce the same compiled model:
 *
 * - a Mia-Platform Fast Data project directory (it holds `ps-config.json`), see `mia/`;
 * - a native braid file (`.yaml`, `.yml` or `.json`), see `native/`.
 *
 * Both end in `compileDraft` (functions loaded, casts resolved) and the one validator
 * (`validatePipeline`), which reports every problem as `path: reason`.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { BraidError } from '../errors.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import { compileDraft } from './compile.ts'
import type { PipelineDraft } from './draft.ts'
import { psConfigFile, readMiaProject } from './mia/index.ts'
import { readNativeConfig } from './native/index.ts'

export { loadFunction } from './functions.ts'
export type { LoadFunctionOptions, LoadedFunction } from './functions.ts'
export { validatePipeline } from './validate.ts'
export type { PipelineCheck, ValidateOptions } from './validate.ts'
export { compileDraft } from './compile.ts'
export { nativeConfigSchema, nativeDefaults, reverseSuffix } from './native/index.ts'
export type { NativeConfig } from './native/index.ts'
export { defaultSvUpdateTopic } from './draft.ts'

/** File names looked for in a directory that holds no ps-config.json. */
export const nativeFileNames = ['braid.yaml', 'braid.yml', 'braid.json'] as const

export interface ConfigCheck {
  /** Every problem, as `path: reason`. Empty when the configuration can run. */
  problems: string[]
  /** Things that work but are probably not meant, as `path: reason`. */
  warnings: string[]
  /** The compiled pipeline, when there is no problem. */
  pipeline?: PipelineDefinition
}

/**
 * Loads, compiles and validates the configuration at `path` (`braid validate`).
 * @throws BraidError BRAID_CONFIG_NOT_FOUND when there is no configuration at `path`.
 */
export async function checkPipeline (path: string): Promise<ConfigCheck> {
  const result = await compileDraft(readDraft(path))
  return result.problems.length === 0
    ? { problems: [], warnings: result.warnings, pipeline: result.pipeline }
    : { problems: result.problems, warnings: result.warnings }
}

/**
 * Loads the configuration at `path`: a directory with ps-config.json (Mia), a directory with
 * braid.yaml/braid.yml/braid.json, or a .yaml/.yml/.json file (native).
 * @throws BraidError BRAID_CONFIG_NOT_FOUND when there is no configuration at `path`;
 *   BRAID_CONFIG_INVALID with `details.problems` (every problem) and `details.warnings`.
 */
export async function loadPipeline (path: string): Promise<PipelineDefinition> {
  const result = await checkPipeline(path)
  if (result.pipeline !== undefined) return result.pipeline
  const count = result.problems.length
  throw new BraidError('BRAID_CONFIG_INVALID', `${resolve(path)}: ${count} configuration ${count === 1 ? 'problem' : 'problems'}:\n${result.problems.join('\n')}`, {
    details: { origin: resolve(path), problems: result.problems, warnings: result.warnings }
  })
}

/** The draft of whichever front door `path` is for. */
export function readDraft (path: string): PipelineDraft {
  const target = resolve(path)
  if (!existsSync(target)) throw notFound(target, 'no such file or directory')
  if (statSync(target).isDirectory()) {
    if (existsSync(join(target, psConfigFile))) return readMiaProject(target)
    const native = nativeFileNames.map(n => join(target, n)).find(f => existsSync(f))
    if (native !== undefined) return readNativeConfig(native)
    throw notFound(target, `the directory holds neither ${psConfigFile} (Mia project) nor ${nativeFileNames.join(', ')}`)
  }
  if (basename(target) === psConfigFile) return readMiaProject(dirname(target))
  if (['.yaml', '.yml', '.json'].includes(extname(target))) return readNativeConfig(target)
  throw notFound(target, 'expected a .yaml, .yml or .json file, or a directory with ps-config.json')
}

function notFound (path: string, reason: string): BraidError {
  return new BraidError('BRAID_CONFIG_NOT_FOUND', `no configuration at ${path}: ${reason}`, { details: { path } })
}
