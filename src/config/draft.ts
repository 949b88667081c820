/**
 * What a configuration front door (Mia project directory, native file) produces before functions are
 * loaded: the compiled model with function references still as files, plus where everything came from.
 * `compile.ts` turns a draft into a `PipelineDefinition`; `validate.ts` checks and completes it.
 * @module
 */
import type { EnginesConfig } from './native/engines-schema.ts'
import type { NativeCommands } from './native/commands-schema.ts'
import type { FormatType } from '../model/projection.ts'
import type { SourceDefinition } from '../model/source.ts'
import type { AggregationBlock, DeleteStrategy, ErEdge, StrategyPath, UpdateEvents, UpsertStrategy } from '../model/single-view.ts'
import type { Loc, Problems } from './problems.ts'

/** A function to load from a file. */
export interface FunctionSource {
  /** Absolute path of the file. */
  file: string
  /** Export to use when the module exports neither a function nor a default function. */
  exportName?: string
  /** Where the function is referenced (first use), for messages. */
  loc: Loc
  /** Set when the front door could not find the file: the reason, reported instead of loading. */
  unresolved?: string
}

export interface FieldDraft {
  source: string
  target: string
  castName: string
}

export interface ProjectionDraft {
  name: string
  collection: string
  topic: string
  prUpdateTopic?: string
  format: { type: FormatType, usePosAsCounter?: boolean, adapter?: FunctionSource }
  sourceKey: string[]
  fields: FieldDraft[]
  softDelete: boolean
  system: string
  endpointBasePath?: string
}

export interface SingleViewDraft {
  name: string
  collection: string
  /** View field → identifier field. */
  key: Record<string, string>
  /** Root block first; dependencies in declaration order. */
  blocks: AggregationBlock[]
  /** Explicit `dependencyOrder` by block name. */
  dependencyOrders: Map<string, string[]>
  /** `__fromFile__` mapping and `_select` functions by the name used in ValueRefs. */
  functions: Map<string, FunctionSource>
  validator?: FunctionSource
  upsert: UpsertStrategy
  delete: DeleteStrategy
  strategyPaths?: StrategyPath[]
  /** Custom identifier functions of strategy paths, by the name used in StrategyPath. */
  identifierFunctions: Map<string, FunctionSource>
  manualStrategies: Array<{ projection: string, source: FunctionSource }>
  patchRules: Array<{ projection: string, source: FunctionSource, actionName: string }>
  /** Topic of sv-update events; `braid.<view>.sv-update` when absent. */
  svUpdateTopic?: string
  /** What sv-update events carry; `full` when absent. */
  updateEvents?: UpdateEvents
  /** Topic of sv-trigger events; none when absent. */
  svTriggerTopic?: string
  /** Extra mount path of the view's read routes. */
  endpointBasePath?: string
}

export interface PipelineDraft {
  /** File or directory the configuration came from. */
  origin: string
  /** Directory that relative paths in messages are shown against. */
  baseDir: string
  system: string
  projections: ProjectionDraft[]
  /** Custom cast functions by name. */
  casts: Map<string, FunctionSource>
  /** ER edges as declared, with the path of each (a name may appear twice in Mia files; compile reports the clash). */
  edges: Array<{ edge: ErEdge, at: string }>
  singleViews: SingleViewDraft[]
  /** The `engines:` section (native configuration only). */
  engines?: EnginesConfig
  /** The `commands:` section (native configuration only), compiled by config/commands.ts. */
  commands?: NativeCommands
  /** The `sources:` section (native configuration only), compiled. */
  sources?: Map<string, SourceDefinition>
  /** Parse problems so far, and the locations of every element (shared with compile and validate). */
  problems: Problems
}

/** Model locations used by both front doors and the validator. */
export const loc = {
  projection: (p: string, ...rest: string[]): Loc => ['projection', p, ...rest],
  cast: (name: string): Loc => ['cast', name],
  edge: (name: string, ...rest: string[]): Loc => ['edge', name, ...rest],
  view: (sv: string, ...rest: string[]): Loc => ['view', sv, ...rest],
  block: (sv: string, block: string, ...rest: string[]): Loc => ['view', sv, 'block', block, ...rest],
  dep: (sv: string, block: string, dep: string, ...rest: string[]): Loc => ['view', sv, 'block', block, 'dep', dep, ...rest],
  mapping: (sv: string, block: string, field: string): Loc => ['view', sv, 'block', block, 'mapping', field]
} as const

/** Default topic of the sv-update events of a view. */
export function defaultSvUpdateTopic (view: string): string {
  return `braid.${view}.sv-update`
}
