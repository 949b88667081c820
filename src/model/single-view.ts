/**
 * Compiled single-view definitions: ER graph, aggregation tree, key, strategies.
 * @module
 */
import type { EnginesConfig } from '../config/native/engines-schema.ts'
import type { CommandsDefinition } from './command.ts'
import type { Doc } from './document.ts'
import type { ProjectionDefinition } from './projection.ts'
import type { SourceDefinition } from './source.ts'

/**
 * An ER condition in Mia form: `{ <targetField>: <sourceField | constant> }`, or a Mongo-style
 * combination (`$and`/`$or` of such objects). Constants: `__string__[x]`, `__integer__[n]`,
 * `__boolean__[b]`, `__constant__[x]`.
 */
export type ErCondition = Record<string, unknown>

export interface ErEdge {
  /** Condition name (unique per source → target pair). */
  name: string
  from: string
  to: string
  condition: ErCondition
  oneToMany: boolean
}

/** ER schema: nodes are projection (or view) names; edges by condition name. */
export interface ErSchema {
  /** condition name → edge. Mia allows the same name under different pairs; the first wins and validation reports the clash. */
  edges: Map<string, ErEdge>
  nodes: Set<string>
}

/** A constant or a field reference used in mappings and `_select`. */
export type ValueRef =
  | { kind: 'field', dependency: string, path: string }
  | { kind: 'config', config: string }
  | { kind: 'constant', value: string | number | boolean | null }
  | { kind: 'function', name: string }
  | { kind: 'object', fields: Array<[string, ValueRef]> }
  | { kind: 'select', select: SelectSpec<ValueRef> }

export type CompareOp = '==' | '!=' | '>' | '<' | '>=' | '<='

export interface SelectSpec<T> {
  options: Array<{ when: { op: CompareOp, left: ValueRef, right: ValueRef }, value: T }>
  default?: T
}

/** How a projection dependency is found. */
export type DependencyLink =
  /** The base dependency: matched from the single-view identifier. */
  | { kind: 'identifier', queryMapping?: Record<string, string> }
  /** Through an ER condition from an already-resolved dependency. */
  | { kind: 'condition', condition: string, useAlias?: string }

export interface ProjectionDependency {
  kind: 'projection'
  /** Dependency name (alias when aliasOf is set). */
  name: string
  /** Projection (or view) name the documents come from. */
  projection: string
  link: DependencyLink
  /** States to include (default ['PUBLIC']). */
  onStates: string[]
}

export interface SelectDependency {
  kind: 'select'
  name: string
  select: SelectSpec<{ projection: string, condition: string, useAlias?: string }>
  onStates: string[]
}

export interface ConfigDependency {
  kind: 'config'
  name: string
}

export type Dependency = ProjectionDependency | SelectDependency | ConfigDependency

/** One aggregation block (Mia `SV_CONFIG` or a named config). */
export interface AggregationBlock {
  name: string
  /** Dependencies in resolution order (dependencyOrder, or a valid topological order). */
  dependencies: Dependency[]
  /** When set, the block yields one mapped element per document of this dependency (an array). */
  joinDependency?: string
  mapping: Array<[string, ValueRef]>
}

/** A function usable from a mapping (`__fromFile__[name]`) or a `_select` condition. */
export type AggregationFunction = (logger: unknown, db: unknown, dependencies?: unknown) => unknown

export type Validator = (logger: unknown, singleView: Doc) => boolean | Promise<boolean>

/** Strategy path from projectionChangesSchema.json: initial → … → base projection. */
export interface StrategyPath {
  path: string[]
  /** identifier field → base-projection field, or a custom function name. */
  identifier: Record<string, string> | { function: string }
}

/**
 * A manual strategy: given a projection change, yields the identifiers of views to rebuild.
 * `db` is a read-only facade over the store (find/findOne/toArray).
 */
export type StrategyFunction = (
  context: { logger: unknown, db: unknown },
  change: { before: Doc | null, after: Doc | null, projection: string }
) => AsyncIterable<Doc> | Iterable<Doc> | Promise<Doc[]> | Doc[]

/**
 * Custom identifier function at the end of a strategy path (projectionChangesSchema.json
 * `"identifier": "__fromFile__[fn.js]"`): given a base-projection document reached by the path, yields the
 * identifiers of the views to rebuild. Mia's signature is `async function* ({ logger, dbMongo }, document)`.
 */
export type IdentifierFunction = (
  context: { logger: unknown, db: unknown },
  document: Doc
) => AsyncIterable<Doc> | Iterable<Doc> | Promise<Doc[]> | Doc[]

/** Single View Patch rule: on a change of `projection`, patch matching views instead of rebuilding. */
export interface PatchRule {
  projection: string
  action: (logger: unknown, projectionDoc: Doc) => PatchOperation | Promise<PatchOperation>
  actionName: string
}

export interface PatchOperation {
  filter: Doc
  update: Doc
  arrayFilters?: Doc[]
}

export const UpsertStrategy = { replace: 'replace', update: 'update' } as const
export type UpsertStrategy = (typeof UpsertStrategy)[keyof typeof UpsertStrategy]
export const DeleteStrategy = { delete: 'delete', virtualDelete: 'virtualDelete' } as const
export type DeleteStrategy = (typeof DeleteStrategy)[keyof typeof DeleteStrategy]
/**
 * What the sv-update events of a view carry: `full` the view before and after the change (what the
 * live change feed's `_q` filter and view chaining read), `key` the operation and the view key only
 * (Mia's `ADD_BEFORE_AFTER_CONTENT=false`), `none` no events (Mia's `SEND_SV_UPDATE_TO_KAFKA=false`).
 */
export const UpdateEvents = { full: 'full', key: 'key', none: 'none' } as const
export type UpdateEvents = (typeof UpdateEvents)[keyof typeof UpdateEvents]

export interface SingleViewDefinition {
  name: string
  /** Store collection of the views (default = name). */
  collection: string
  /** View field → identifier field (singleViewKey.json `config`). */
  key: Record<string, string>
  /** Identifier fields, in order (the values of `key`). */
  identifierFields: string[]
  /** Root block first; `blocks` holds every block by name. */
  root: AggregationBlock
  blocks: Map<string, AggregationBlock>
  /** Name of the base dependency (the one linked by `_identifier`) and its projection. */
  baseDependency: string
  baseProjection: string
  functions: Map<string, AggregationFunction>
  validator?: Validator
  upsert: UpsertStrategy
  delete: DeleteStrategy
  /** Explicit strategy paths (projectionChangesSchema.json); derived from the aggregation when absent. */
  strategyPaths?: StrategyPath[]
  /** Custom identifier functions of `strategyPaths` (`identifier: { function: name }`), by name. */
  identifierFunctions?: Map<string, IdentifierFunction>
  /** Manual strategies by projection name. */
  manualStrategies: Map<string, StrategyFunction>
  patchRules: PatchRule[]
  /** Topic where sv-update events of this view go. */
  svUpdateTopic: string
  /** What the sv-update events carry, or none at all. */
  updateEvents: UpdateEvents
  /** Topic where sv-trigger events (one per rebuild a projection change causes) go; none when absent. */
  svTriggerTopic?: string
  /**
   * Extra mount path of the read routes (`/customers-sv`), besides `/single-views/{name}`: the CRUD
   * Service's `endpointBasePath`, for drop-in compatibility.
   */
  endpointBasePath?: string
}

export interface PipelineDefinition {
  /** Where the definition came from (file or directory), for messages. */
  origin: string
  system: string
  projections: Map<string, ProjectionDefinition>
  singleViews: Map<string, SingleViewDefinition>
  er: ErSchema
  /** Event log and store from the configuration's `engines:` section; flags and env override it. */
  engines?: EnginesConfig
  /** The write stream: command targets and definitions (`commands:`). */
  commands?: CommandsDefinition
  /** Sources braid captures itself (`sources:`), by name. */
  sources?: Map<string, SourceDefinition>
}
