/**
 * JSON schemas of the documents the read routes serve (`GET …/schema`, and the default CSV columns),
 * derived from the definitions, in the CRUD Service's response shape `{ type, properties, required }`
 * (OpenAPI-style `nullable`):
 *
 * - a projection: `_id`, its mapped fields typed by their cast (a custom or identity cast gives no
 *   constraint), then the metadata braid writes (`__STATE__`, `createdAt`, `updatedAt`, `timestamp`);
 *   fields other than the key are nullable (a failed cast stores null); `required` is the key;
 * - a single view: `_id`, its mapping tree (a field reference takes the referenced field's type and is
 *   nullable unless the record is always there and the field is its key; a nested object is an object,
 *   a nullable one for a Mia config block; a join is an array of objects; a constant has its JSON
 *   type; a function has no constraint; a select the type common to its values), then
 *   `__STATE__`, `createdAt`, `updatedAt`; `required` is the view key.
 * @module
 */
import type { CastFunction, ProjectionDefinition } from '../model/projection.ts'
import type { AggregationBlock, Dependency, PipelineDefinition, SingleViewDefinition, ValueRef } from '../model/single-view.ts'
import {
  castStringToBoolean, castToArrayOfObject, castToDate, castToFloat, castToInteger, castToObject, castToString, castUnixTimestampToISOString
} from '../projections/casts.ts'

export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array'
  format?: 'date-time'
  pattern?: string
  enum?: string[]
  nullable?: true
  properties?: Record<string, JsonSchema>
  items?: JsonSchema
}

export interface DocumentSchema {
  type: 'object'
  properties: Record<string, JsonSchema>
  required: string[]
}

/** Pattern of `_id` (an ObjectId as 24 hex digits), as the CRUD Service declares it. */
export const objectIdPattern = '^[a-fA-F\\d]{24}$'

const dateTime = (): JsonSchema => ({ type: 'string', format: 'date-time' })

const castSchemas = new Map<CastFunction, () => JsonSchema>([
  [castToString, () => ({ type: 'string' })],
  [castToInteger, () => ({ type: 'integer' })],
  [castToFloat, () => ({ type: 'number' })],
  [castStringToBoolean, () => ({ type: 'boolean' })],
  [castUnixTimestampToISOString, dateTime],
  [castToDate, dateTime],
  [castToObject, () => ({ type: 'object' })],
  [castToArrayOfObject, () => ({ type: 'array', items: { type: 'object' } })]
])

/** The type a cast function produces; built-ins are recognised by identity, so a custom cast (even one named like a built-in) has no constraint. */
export function castSchema (cast: CastFunction): JsonSchema {
  return castSchemas.get(cast)?.() ?? {}
}

function metadata (withTimestamp: boolean): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {
    __STATE__: { type: 'string', enum: ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'] },
    createdAt: dateTime(),
    updatedAt: dateTime()
  }
  if (withTimestamp) out['timestamp'] = dateTime()
  return out
}

/** A schema that also admits null (one without a type admits it already). */
function nullable (schema: JsonSchema): JsonSchema {
  return schema.type === undefined ? schema : { ...schema, nullable: true }
}

function notNullable (schema: JsonSchema): JsonSchema {
  const { nullable: _, ...rest } = schema
  return rest
}

const cache = new WeakMap<object, DocumentSchema>()

/** The schema of a projection's records. */
export function projectionSchema (p: ProjectionDefinition): DocumentSchema {
  const cached = cache.get(p)
  if (cached !== undefined) return cached
  const properties: Record<string, JsonSchema> = { _id: { type: 'string', pattern: objectIdPattern } }
  for (const f of p.fields) {
    const schema = castSchema(f.cast)
    properties[f.target] = p.key.includes(f.target) ? schema : nullable(schema)
  }
  Object.assign(properties, metadata(true))
  const schema: DocumentSchema = { type: 'object', properties, required: [...p.key] }
  cache.set(p, schema)
  return schema
}

/** The schema of a single view's documents. */
export function singleViewSchema (pipeline: PipelineDefinition, sv: SingleViewDefinition): DocumentSchema {
  const cached = cache.get(sv)
  if (cached !== undefined) return cached
  const schema = new ViewSchema(pipeline, sv, new Set()).build()
  cache.set(sv, schema)
  return schema
}

class ViewSchema {
  readonly #pipeline: PipelineDefinition
  readonly #sv: SingleViewDefinition
  /** Views being derived (a view built from a view): guards against cycles. */
  readonly #visiting: Set<string>

  constructor (pipeline: PipelineDefinition, sv: SingleViewDefinition, visiting: Set<string>) {
    this.#pipeline = pipeline
    this.#sv = sv
    this.#visiting = visiting
  }

  build (): DocumentSchema {
    const sv = this.#sv
    this.#visiting.add(sv.name)
    const properties: Record<string, JsonSchema> = { _id: { type: 'string', pattern: objectIdPattern } }
    Object.assign(properties, this.#mapping(sv.root.mapping, [sv.root]))
    const required = Object.keys(sv.key)
    // The key fields hold the identifier: always there, never null.
    for (const k of required) {
      const p = properties[k]
      if (p !== undefined) properties[k] = notNullable(p)
    }
    Object.assign(properties, metadata(false))
    this.#visiting.delete(sv.name)
    return { type: 'object', properties, required }
  }

  /** `scope`: the block of the mapping first, then its enclosing blocks. */
  #mapping (mapping: Array<[string, ValueRef]>, scope: AggregationBlock[]): Record<string, JsonSchema> {
    const out: Record<string, JsonSchema> = {}
    for (const [name, ref] of mapping) out[name] = this.#value(ref, scope)
    return out
  }

  #value (ref: ValueRef, scope: AggregationBlock[]): JsonSchema {
    switch (ref.kind) {
      case 'field': return this.#field(ref.dependency, ref.path, scope)
      case 'config': {
        const block = this.#sv.blocks.get(ref.config)
        if (block === undefined) return {}
        const object: JsonSchema = { type: 'object', properties: this.#mapping(block.mapping, [block, ...scope]) }
        // A config block that is not a join is null when none of its dependencies resolves.
        return block.joinDependency === undefined ? nullable(object) : { type: 'array', items: object }
      }
      case 'constant': return constantSchema(ref.value)
      case 'function': return {}
      case 'object': return { type: 'object', properties: this.#mapping(ref.fields, scope) }
      case 'select': {
        const values = ref.select.options.map(o => this.#value(o.value, scope))
        values.push(ref.select.default === undefined ? constantSchema(null) : this.#value(ref.select.default, scope))
        return sameSchema(values) ?? {}
      }
      default: return {}
    }
  }

  #field (dependencyName: string, path: string, scope: AggregationBlock[]): JsonSchema {
    let found: { dependency: Dependency, block: AggregationBlock } | undefined
    for (const block of scope) {
      const dependency = block.dependencies.find(d => d.name === dependencyName)
      if (dependency !== undefined) {
        found = { dependency, block }
        break
      }
    }
    if (found === undefined) return {}
    const { dependency, block } = found
    if (dependency.kind === 'projection') {
      const schema = this.#sourceField(dependency.projection, path)
      if (schema === undefined) return {}
      // The base record of the root block and the joined record of a join element are always there.
      const alwaysThere = (block === this.#sv.root && dependency.name === this.#sv.baseDependency) || block.joinDependency === dependency.name
      return alwaysThere && this.#isKey(dependency.projection, path) ? schema : nullable(schema)
    }
    if (dependency.kind === 'select') {
      const sources = dependency.select.options.map(o => o.value.projection)
      if (dependency.select.default !== undefined) sources.push(dependency.select.default.projection)
      const schemas = sources.map(s => this.#sourceField(s, path))
      if (schemas.some(s => s === undefined)) return {}
      const same = sameSchema(schemas as JsonSchema[])
      return same === undefined ? {} : nullable(same)
    }
    return {}
  }

  #isKey (source: string, path: string): boolean {
    const p = this.#pipeline.projections.get(source)
    return p !== undefined && p.key.includes(path)
  }

  /** The schema of `path` in the records of `source` (a projection or a view), undefined when unknown. */
  #sourceField (source: string, path: string): JsonSchema | undefined {
    let properties: Record<string, JsonSchema> | undefined
    const projection = this.#pipeline.projections.get(source)
    const view = this.#pipeline.singleViews.get(source)
    if (projection !== undefined) properties = projectionSchema(projection).properties
    else if (view !== undefined && !this.#visiting.has(view.name)) properties = new ViewSchema(this.#pipeline, view, this.#visiting).build().properties
    if (properties === undefined) return undefined
    const segments = path.split('.')
    let schema: JsonSchema | undefined = { type: 'object', properties }
    for (const segment of segments) {
      schema = schema?.type === 'object' && schema.properties !== undefined ? schema.properties[segment] : undefined
      if (schema === undefined) return undefined
    }
    return notNullable(schema as JsonSchema)
  }
}

function constantSchema (value: string | number | boolean | null): JsonSchema {
  if (value === null) return { nullable: true }
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number' }
  return { type: typeof value === 'string' ? 'string' : 'boolean' }
}

/**
 * The one schema every value of `schemas` fits, for a value chosen among them (a `select`): their
 * common type (integers and numbers: number), nullable when one of them is null or nullable;
 * undefined when they differ. An unconstrained value (a function) makes the whole unconstrained.
 */
function sameSchema (schemas: JsonSchema[]): JsonSchema | undefined {
  if (schemas.some(s => Object.keys(s).length === 0)) return {}
  const typed = schemas.filter(s => s.type !== undefined)
  const first = typed[0]
  if (first === undefined) return { nullable: true }
  const texts = new Set(typed.map(s => JSON.stringify(notNullable(s))))
  let common: JsonSchema | undefined = texts.size === 1 ? notNullable(first) : undefined
  // Integers are numbers.
  if (common === undefined && [...texts].every(t => t === '{"type":"integer"}' || t === '{"type":"number"}')) common = { type: 'number' }
  if (common === undefined) return undefined
  return schemas.some(s => s.nullable === true) ? nullable(common) : common
}
