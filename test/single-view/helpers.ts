/**
 * Test helpers for single views: hand-built definitions, an ER schema from Mia's erSchema.json
 * shape, an embedded store loaded with projection documents, and a store wrapper counting reads.
 * @module
 */
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId, newObjectId } from '../../src/model/key.ts'
import type {
  AggregationBlock, AggregationFunction, CompareOp, ConfigDependency, Dependency, ErEdge, ErSchema, ProjectionDependency,
  SelectDependency, SelectSpec, SingleViewDefinition, ValueRef
} from '../../src/model/single-view.ts'
import type { AggregationContext } from '../../src/single-view/index.ts'
import { createEmbeddedStore, type EmbeddedStore } from '../../src/storage/embedded/index.ts'
import type { Store } from '../../src/storage/store.ts'

export const logger = silentLogger()

// --- ER schema -----------------------------------------------------------------------------

interface MiaErSchema {
  config: Record<string, { outgoing?: Record<string, { conditions: Record<string, { condition: Record<string, unknown>, oneToMany?: boolean }> }> }>
}

/** An ErSchema from Mia's erSchema.json shape. */
export function erFromMia (json: MiaErSchema): ErSchema {
  const edges = new Map<string, ErEdge>()
  const nodes = new Set<string>()
  for (const [from, node] of Object.entries(json.config)) {
    nodes.add(from)
    for (const [to, rel] of Object.entries(node.outgoing ?? {})) {
      nodes.add(to)
      for (const [name, c] of Object.entries(rel.conditions)) {
        if (!edges.has(name)) edges.set(name, { name, from, to, condition: c.condition, oneToMany: c.oneToMany ?? false })
      }
    }
  }
  return { edges, nodes }
}

/** An ErSchema from `[name, from, to, condition]` rows. */
export function er (...rows: Array<[string, string, string, Record<string, unknown>]>): ErSchema {
  const edges = new Map<string, ErEdge>()
  const nodes = new Set<string>()
  for (const [name, from, to, condition] of rows) {
    edges.set(name, { name, from, to, condition, oneToMany: false })
    nodes.add(from)
    nodes.add(to)
  }
  return { edges, nodes }
}

// --- Value references and dependencies -----------------------------------------------------

/** `"DEP.path"`. */
export function field (ref: string): ValueRef {
  const dot = ref.indexOf('.')
  return dot < 0 ? { kind: 'field', dependency: ref, path: '' } : { kind: 'field', dependency: ref.slice(0, dot), path: ref.slice(dot + 1) }
}
export const constant = (value: string | number | boolean | null): ValueRef => ({ kind: 'constant', value })
export const config = (name: string): ValueRef => ({ kind: 'config', config: name })
export const fn = (name: string): ValueRef => ({ kind: 'function', name })
export const object = (fields: Record<string, ValueRef>): ValueRef => ({ kind: 'object', fields: Object.entries(fields) })
export const when = (left: ValueRef, op: CompareOp, right: ValueRef): { op: CompareOp, left: ValueRef, right: ValueRef } => ({ op, left, right })
export const select = (spec: SelectSpec<ValueRef>): ValueRef => ({ kind: 'select', select: spec })

/** Mapping entries from `{ field: ref }` (strings are `DEP.path` references). */
export function mapping (m: Record<string, ValueRef | string>): Array<[string, ValueRef]> {
  return Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? field(v) : v])
}

export function base (name: string, options: { projection?: string, queryMapping?: Record<string, string>, onStates?: string[] } = {}): ProjectionDependency {
  const link = options.queryMapping === undefined ? { kind: 'identifier' as const } : { kind: 'identifier' as const, queryMapping: options.queryMapping }
  return { kind: 'projection', name, projection: options.projection ?? name, link, onStates: options.onStates ?? ['PUBLIC'] }
}

export function dep (name: string, condition: string, options: { projection?: string, useAlias?: string, onStates?: string[] } = {}): ProjectionDependency {
  const link = options.useAlias === undefined ? { kind: 'condition' as const, condition } : { kind: 'condition' as const, condition, useAlias: options.useAlias }
  return { kind: 'projection', name, projection: options.projection ?? name, link, onStates: options.onStates ?? ['PUBLIC'] }
}

export function selectDep (name: string, spec: SelectDependency['select'], onStates: string[] = ['PUBLIC']): SelectDependency {
  return { kind: 'select', name, select: spec, onStates }
}

export const configDep = (name: string): ConfigDependency => ({ kind: 'config', name })

export function block (name: string, dependencies: Dependency[], m: Record<string, ValueRef | string>, joinDependency?: string): AggregationBlock {
  const b: AggregationBlock = { name, dependencies, mapping: mapping(m) }
  if (joinDependency !== undefined) b.joinDependency = joinDependency
  return b
}

/** A definition with defaults: key `{ id: <first identifier field> }` unless given, root `SV_CONFIG`. */
export function view (options: {
  name?: string
  key: Record<string, string>
  root: AggregationBlock
  blocks?: AggregationBlock[]
  baseDependency: string
  baseProjection?: string
  functions?: Record<string, AggregationFunction>
} & Partial<Omit<SingleViewDefinition, 'name' | 'key' | 'root' | 'blocks' | 'baseDependency' | 'baseProjection' | 'functions'>>): SingleViewDefinition {
  const { name = 'sv_test', key, root, blocks = [], baseDependency, baseProjection, functions = {}, ...rest } = options
  const baseDep = root.dependencies.find(d => d.name === baseDependency) as ProjectionDependency
  return {
    name,
    collection: name,
    key,
    identifierFields: Object.values(key),
    root,
    blocks: new Map([root, ...blocks].map(b => [b.name, b])),
    baseDependency,
    baseProjection: baseProjection ?? baseDep.projection,
    functions: new Map(Object.entries(functions)),
    upsert: 'replace',
    delete: 'delete',
    manualStrategies: new Map(),
    patchRules: [],
    svUpdateTopic: `${name}.sv-update`,
    updateEvents: 'full',
    ...rest
  }
}

// --- Store ------------------------------------------------------------------------------------

export interface ProjectionSpec {
  key: string[]
  indexes?: string[]
}

/** An in-memory embedded store with one collection per projection (collection = projection name) and the views' collections. */
export async function createStore (projections: Record<string, ProjectionSpec>, views: SingleViewDefinition[] = []): Promise<EmbeddedStore> {
  const store = createEmbeddedStore({ path: ':memory:' })
  await store.ensureCollections([
    ...Object.entries(projections).map(([name, p]) => ({
      name,
      primaryKey: p.key,
      indexes: [{ fields: ['_id'] }, { fields: ['__STATE__'] }, ...(p.indexes ?? []).map(f => ({ fields: [f] }))]
    })),
    ...views.map(v => ({ name: v.collection, primaryKey: Object.keys(v.key), indexes: [{ fields: ['_id'] }] }))
  ])
  return store
}

/** Writes projection documents (`__STATE__` PUBLIC and an `_id` unless given). */
export async function load (store: Store, projections: Record<string, ProjectionSpec>, docs: Record<string, Doc[]>): Promise<void> {
  const put: Array<{ collection: string, id: string, doc: Doc }> = []
  for (const [name, list] of Object.entries(docs)) {
    const spec = projections[name]
    if (spec === undefined) throw new Error(`unknown projection ${name}`)
    for (const doc of list) put.push({ collection: name, id: keyId(doc, spec.key), doc: { _id: newObjectId(), __STATE__: 'PUBLIC', ...doc } })
  }
  await store.write({ put })
}

/** Removes projection documents by key. */
export async function remove (store: Store, projections: Record<string, ProjectionSpec>, projection: string, doc: Doc): Promise<void> {
  await store.write({ delete: [{ collection: projection, id: keyId(doc, (projections[projection] as ProjectionSpec).key) }] })
}

export interface CountingStore extends Store {
  calls: { find: number, getMany: number, count: number }
  filters: Array<{ collection: string, filter: unknown }>
  reset (): void
}

/** Wraps a store, counting reads (to prove query counts do not grow with the batch). */
export function counting (store: Store): CountingStore {
  const calls = { find: 0, getMany: 0, count: 0 }
  const filters: Array<{ collection: string, filter: unknown }> = []
  return {
    kind: store.kind,
    calls,
    filters,
    reset () {
      calls.find = 0
      calls.getMany = 0
      calls.count = 0
      filters.length = 0
    },
    ensureCollections: async specs => await store.ensureCollections(specs),
    getMany: async (c, ids) => {
      calls.getMany++
      return await store.getMany(c, ids)
    },
    find: async (c, f, o) => {
      calls.find++
      filters.push({ collection: c, filter: f })
      return await store.find(c, f, o)
    },
    count: async (c, f) => {
      calls.count++
      return await store.count(c, f)
    },
    scan: (c, f, b) => store.scan(c, f, b),
    write: async b => await store.write(b),
    claimDue: async options => await store.claimDue(options),
    releaseClaims: async () => await store.releaseClaims(),
    queueDepth: async v => await store.queueDepth(v),
    getMeta: async k => await store.getMeta(k),
    outboxPage: async limit => await store.outboxPage(limit),
    outboxSize: async () => await store.outboxSize(),
    close: async () => await store.close()
  }
}

export function context (store: Store, extra: Partial<AggregationContext> = {}): AggregationContext {
  return { store, logger, collections: (p: string) => p, ...extra }
}
