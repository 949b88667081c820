/**
 * The native braid configuration (`braid.yaml` / `braid.json`): its JSON Schema and, from the same
 * expressions, its TypeScript types. Defaults live in `nativeDefaults` and are both written into the
 * schema (for documentation and editors) and applied by the compiler.
 * @module
 */
import { endpointBasePathPattern } from '../endpoints.ts'
import { apiSection } from './api-schema.ts'
import { commandsSchema } from './commands-schema.ts'
import { enginesSchema } from './engines-schema.ts'
import { sourcesSchema } from './sources-schema.ts'
import type { Infer, Schema } from './schema-builder.ts'
import { array, boolean, byKey, byType, constant, integer, nil, number, object, oneOf, optional, record, ref, required, string } from './schema-builder.ts'

export const nativeDefaults = {
  system: 'braid',
  format: 'debezium',
  delete: 'soft',
  cast: 'identity',
  cardinality: 'one-to-one',
  upsert: 'replace',
  viewDelete: 'delete',
  states: ['PUBLIC'],
  updateTopic: 'braid.<view>.sv-update',
  updateEvents: 'full'
} as const

/** Names usable as aliases in field references: no dots. */
const namePattern = '^[A-Za-z_][A-Za-z0-9_-]*$'
const nameRule = { pattern: namePattern, description: 'Names start with a letter or _ and contain letters, digits, _ and - (no dots: they prefix field references).' }
const namePatternOnly = { pattern: namePattern }

/** Keys that make an object in `view` a node rather than a nested object. */
export const viewKeywords = ['join', 'from', 'const', 'fn', 'select', 'object'] as const

const fieldRefPattern = '^[A-Za-z_][A-Za-z0-9_-]*\\.[^.\\s][^\\s]*$'

const endpointBasePath = (what: string): Schema<string> => string({
  title: 'a path like /customers-sv',
  description: `An extra mount path of the read routes of this ${what} (GET {path}/, /count, /export, /schema, /{_id}), served besides the default one: the CRUD Service's \`endpointBasePath\`, so its clients keep working when pointed at braid. Segments of letters, digits and . _ ~ -; unique, not nested in another's, and outside braid's own /-/, /ingest/, /single-views/, /projections/ and /documentation.`,
  pattern: endpointBasePathPattern
})

const fieldRef = string({
  title: 'a field reference like customers.email',
  description: 'A field of a record in scope: `<alias>.<path>`, where alias is the base projection, a `from` or a `join` (its `as`, else its projection name) and path is a dotted path into the record.',
  pattern: fieldRefPattern
})

const filePath = (description: string): Schema<string> => string({ description, minLength: 1, title: 'a path to a .js, .cjs or .mjs file' })

const states = array(oneOf(['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'], { description: 'A document state.' }), {
  description: 'Document states of the related records to read.',
  minItems: 1,
  default: [...nativeDefaults.states]
})

// ---------------------------------------------------------------- projections

const formatName = oneOf(['db2', 'basic', 'golden-gate', 'debezium', 'fast-data-v2'], {
  description: 'A built-in message format: `debezium` (Debezium envelope), `db2`/`basic` (IBM InfoSphere key/value), `golden-gate` (Oracle GoldenGate JSON), `fast-data-v2` (Mia Fast Data v2 messages).'
})

const formatObject = object({
  type: optional(oneOf(['db2', 'basic', 'golden-gate', 'debezium', 'fast-data-v2', 'custom'], { description: 'The format; `custom` needs `custom`. Defaults to `custom` when `custom` is set, else to `debezium`.' })),
  usePosAsCounter: optional(boolean({ description: 'golden-gate only: order changes by the message `pos` (true) or by the log timestamp (false).', default: true })),
  custom: optional(filePath('A custom adapter file exporting `messageAdapter(message, primaryKeys, logger)` (Mia RTU or Projection Storer shape); relative to this file.'))
}, { description: 'A format with options: `{ type: golden-gate, usePosAsCounter: false }` or `{ custom: ./adapter.js }`.' })

const fieldObject = object({
  as: optional(string({ description: 'Field name in the projection. Defaults to the source field name.', minLength: 1 })),
  cast: optional(string({ description: 'Cast function: a built-in (`identity`, `castToString`, `castToInteger`, `castToFloat`, `castUnixTimestampToISOString`, `castStringToBoolean`, `castToDate`, `castToObject`, `castToArrayOfObject`) or a name from `casts`.', default: nativeDefaults.cast, minLength: 1 }))
}, { description: 'Target name and cast of a source field.' })

const fieldValue = byType({
  string: string({ description: 'Shorthand: the cast function name; the field keeps its name.', minLength: 1 }),
  null: nil({ description: 'Shorthand: copy the field as is (identity cast, same name).' }),
  object: fieldObject
}, { description: 'How a source field enters the projection: a cast name, null (copy as is), or `{ as, cast }`.' })

const projection = object({
  topic: required(string({ description: 'Ingestion topic the change events are read from.', minLength: 1 })),
  format: optional(byType({ string: formatName, object: formatObject }, {
    description: 'Message format of the topic: a built-in name, or an object with options or a custom adapter.',
    default: nativeDefaults.format
  })),
  key: required(byType({
    string: string({ description: 'One primary-key field.', minLength: 1 }),
    array: array(string({ description: 'A primary-key field.', minLength: 1 }), { description: 'Primary-key fields, in order.', minItems: 1 })
  }, { description: 'Primary key, as SOURCE field names (before `as`): one name or a list.' })),
  fields: required(record(fieldValue, {
    description: 'The fields kept, by SOURCE field name; fields not listed are dropped.',
    minProperties: 1
  })),
  delete: optional(oneOf(['soft', 'hard'], { description: 'On a source delete: `soft` keeps the record with `__STATE__: DELETED`, `hard` removes it.', default: nativeDefaults.delete })),
  collection: optional(string({ description: 'Store collection of the records. Defaults to the projection name.', minLength: 1 })),
  prUpdateTopic: optional(string({ description: 'Topic where pr-update events of this projection are also published (Fast Data compatible). None by default.', minLength: 1 })),
  system: optional(string({ description: 'System of record of this projection (`source` of its pr-update events). Defaults to the top-level `system`.', minLength: 1 })),
  endpointBasePath: optional(endpointBasePath('projection'))
}, { description: 'A projection: one source table, cleaned and stored, kept current from its topic.' })

export type NativeProjection = Infer<typeof projection>
export type NativeFieldValue = Infer<typeof fieldValue>

// ---------------------------------------------------------------- relations

const relation = object({
  from: required(string({ description: 'The projection the relation starts from.', minLength: 1 })),
  to: required(string({ description: 'The related projection.', minLength: 1 })),
  on: required(record(byType({
    string: string({ description: 'A field of the `from` projection.', minLength: 1 }),
    object: object({
      const: required(byType({
        string: string({ description: 'A string constant.' }),
        integer: integer({ description: 'An integer constant.' }),
        boolean: boolean({ description: 'A boolean constant.' })
      }, { description: 'The value the `to` field must have.' }))
    }, { description: 'A constant instead of a `from` field: `{ const: gold }`.' })
  }, { description: 'The `from` field (or constant) that a `to` field must equal.' }), {
    description: 'The match, as `{ <to field>: <from field> }` (Mia semantics: keys are fields of `to`, values fields of `from`); all pairs must match.',
    minProperties: 1
  })),
  cardinality: optional(oneOf(['one-to-one', 'one-to-many', 'many-to-one'], {
    description: 'How many `to` records one `from` record has (`one-to-many`: many) and the reverse (`many-to-one`: one `to` record for many `from` records).',
    default: nativeDefaults.cardinality
  }))
}, { description: 'A relation between two projections, declared once and usable in both directions.' })

export type NativeRelation = Infer<typeof relation>

// ---------------------------------------------------------------- views

export interface JoinNode {
  join: string
  via: string
  view: ViewObject
  as?: string
  states?: Array<'PUBLIC' | 'DRAFT' | 'TRASH' | 'DELETED'>
}
export interface FromNode {
  from: string
  via: string
  view: ViewObject
  as?: string
  states?: Array<'PUBLIC' | 'DRAFT' | 'TRASH' | 'DELETED'>
}
export interface ConstNode { const: string | number | boolean | null }
export interface FnNode { fn: string }
export type Operand = string | null | ConstNode | FnNode
export interface SelectOption {
  when: Partial<Record<'==' | '!=' | '>' | '<' | '>=' | '<=', Operand[]>>
  value: ViewValue
}
export interface SelectNode { select: SelectOption[], default?: ViewValue }
export interface ObjectNode { object: ViewObject }
export interface ViewObject { [field: string]: ViewValue }
export type ViewValue = string | JoinNode | FromNode | ConstNode | FnNode | SelectNode | ObjectNode | ViewObject

const viewValueRef = ref<ViewValue>('viewValue', { description: 'A value of the view: see `viewValue`.' })

const viewObject: Schema<ViewObject> = record(viewValueRef, {
  description: 'Fields of the document (or of a nested object), each a view value.',
  propertyNames: { not: { enum: [...viewKeywords] }, description: `Field names ${viewKeywords.join(', ')} mark view nodes; to produce such a field, write the object as { object: { … } }.` }
})

const via = string({ description: 'The relation leading from an enclosing record to this one (either direction; `<relation>__reverse` forces the reverse direction).', minLength: 1 })
const alias = string({ description: 'Alias of the record in field references. Defaults to the projection name; aliases are unique in a view.', ...namePatternOnly })

const joinNode: Schema<JoinNode> = object({
  join: required(string({ description: 'The projection joined; one element per matching record.', minLength: 1 })),
  via: required(via),
  as: optional(alias),
  states: optional(states),
  view: required(viewObject)
}, { description: 'A list: one element per related record (1:N), each shaped by `view`. Elements are ordered by the related primary key.' })

const fromNode: Schema<FromNode> = object({
  from: required(string({ description: 'The projection the related record belongs to.', minLength: 1 })),
  via: required(via),
  as: optional(alias),
  states: optional(states),
  view: required(viewObject)
}, { description: 'A nested object from one related record (1:1), shaped by `view`; its fields are null when there is no related record.' })

const constValue = byType({
  string: string({ description: 'A string.' }),
  number: number({ description: 'A number.' }),
  boolean: boolean({ description: 'A boolean.' }),
  null: nil({ description: 'null.' })
}, { description: 'The constant value.' })

const constNode: Schema<ConstNode> = object({ const: required(constValue) }, { description: 'A constant: `{ const: crm }`.' })
const fnNode: Schema<FnNode> = object({
  fn: required(filePath('A function file, relative to this file: `(logger, db, dependencies) => value` (Mia `__fromFile__`), may be async.'))
}, { description: 'A computed value: `{ fn: ./score.js }`.' })

const operand: Schema<Operand> = byType({
  string: fieldRef,
  null: nil({ description: 'null.' }),
  object: byKey({ fn: fnNode }, constNode, { description: '`{ const: … }` or `{ fn: ./file.js }` (a `(logger, db) => value` function).' })
}, { description: 'An operand: a field reference, null, `{ const: … }` or `{ fn: ./file.js }`.' })

const comparison = record(array(operand, { description: 'Two operands.', minItems: 2, maxItems: 2 }), {
  description: 'One comparison: `{ "==": [customers.tierCode, { const: gold }] }`; operators ==, !=, >, <, >=, <=.',
  propertyNames: { enum: ['==', '!=', '>', '<', '>=', '<='], description: 'Operators: ==, !=, >, <, >=, <=.' },
  minProperties: 1,
  maxProperties: 1
}) as Schema<SelectOption['when']>

const selectNode: Schema<SelectNode> = object({
  select: required(array(object({
    when: required(comparison),
    value: required(viewValueRef)
  }, { description: 'A case: the value when the comparison holds.' }), { description: 'Cases, tried in order.', minItems: 1 })),
  default: optional(ref<ViewValue>('viewValue', { description: 'The value when no case holds. Defaults to null.' }))
}, { description: 'A conditional value (Mia mapping `_select`).' })

const objectNode: Schema<ObjectNode> = object({
  object: required(record(viewValueRef, { description: 'Fields of the nested object; any names allowed.' }))
}, { description: 'A nested object written explicitly, for field names that are view keywords.' })

/** `$defs.viewValue`: what a field of `view` can be. */
export const viewValue: Schema<ViewValue> = byType({
  string: fieldRef,
  object: byKey(
    { join: joinNode, from: fromNode, const: constNode, fn: fnNode, select: selectNode, object: objectNode },
    viewObject,
    { description: 'A view node (`join`, `from`, `const`, `fn`, `select`, `object`) or a nested object.' }
  )
}, { description: 'A field reference (`customers.email`), a view node, or a nested object of view values.' })

const base = byType({
  string: string({ description: 'The base projection.', ...namePatternOnly }),
  object: object({
    projection: required(string({ description: 'The base projection.', minLength: 1 })),
    as: optional(string({ description: 'Alias of the base record in field references. Defaults to the projection name.', ...namePatternOnly })),
    states: optional(states)
  }, { description: 'The base projection with options.' })
}, { description: 'The base projection: one view per record of it. A name, or `{ projection, as, states }`.' })

const viewKey = byType({
  string: string({ description: 'One field, same name in the view and the base projection.', minLength: 1 }),
  array: array(string({ description: 'A field, same name in the view and the base projection.', minLength: 1 }), { description: 'Key fields with the same name in the view and the base projection.', minItems: 1 }),
  object: record(string({ description: 'The base-projection field.', minLength: 1 }), { description: '`{ <view field>: <base projection field> }`.', minProperties: 1 })
}, { description: 'The view key, how a view is found: view fields and the base-projection fields they come from. The key fields form the identifier of the view.' })

const singleView = object({
  base: required(base),
  key: required(viewKey),
  view: required(viewObject),
  upsert: optional(oneOf(['replace', 'update'], { description: '`replace` writes the whole document; `update` sets only the mapped fields (several writers may share a view).', default: nativeDefaults.upsert })),
  delete: optional(oneOf(['delete', 'virtualDelete'], { description: 'When the base record goes away or the validator refuses the view: `delete` removes the view, `virtualDelete` keeps it with `__STATE__: DELETED`.', default: nativeDefaults.viewDelete })),
  validator: optional(filePath('A validator file: `(logger, view) => boolean`; false deletes the view (see `delete`). Relative to this file.')),
  patch: optional(array(object({
    projection: required(string({ description: 'The projection whose changes are patched into views.', minLength: 1 })),
    action: required(filePath('A patch file: `(logger, record) => ({ filter, update, arrayFilters? })`, relative to this file.'))
  }, { description: 'A Single View Patch rule.' }), { description: 'Single View Patch rules: on a change of `projection`, update the matching views in place instead of rebuilding them.', default: [] })),
  strategies: optional(record(filePath('A strategy file: an async generator `({ logger, db }, { before, after, projection })` yielding view identifiers.'), {
    description: 'Manual strategies by projection name, replacing the automatic ones for that projection.',
    default: {}
  })),
  collection: optional(string({ description: 'Store collection of the views. Defaults to the view name.', minLength: 1 })),
  updateTopic: optional(string({ description: 'Topic of the sv-update events of this view.', default: nativeDefaults.updateTopic, minLength: 1 })),
  updateEvents: optional(oneOf(['full', 'key', 'none'], { description: 'What the sv-update events of this view carry: `full` the view before and after the change (the live feed\'s `_q` filter and views that join this view need it), `key` only the operation and the view key, `none` no events at all (no live feed). Smaller events make the view stage faster.', default: nativeDefaults.updateEvents })),
  triggerTopic: optional(string({ description: 'Also emit an sv-trigger event (Mia\'s shape, `messageSchema` sv-trigger v1.0.0) to this topic for every rebuild a projection change causes, for consumers of the incumbent\'s event-driven architecture. Off by default.', minLength: 1 })),
  endpointBasePath: optional(endpointBasePath('single view'))
}, { description: 'A single view: one document per base record, kept current.' })

export type NativeSingleView = Infer<typeof singleView>

// ---------------------------------------------------------------- root

const configSchema = object({
  version: required(constant(1, { description: 'Version of the configuration format: 1.' })),
  system: optional(string({ description: 'Name of the system of records (the `source` of pr-update events).', default: nativeDefaults.system, minLength: 1 })),
  projections: required(record(projection, { description: 'Projections by name.', propertyNames: nameRule, minProperties: 1 })),
  casts: optional(record(filePath('A file exporting the cast `(value, fieldName) => value` as default export, module.exports, or an export named like the cast.'), {
    description: 'Custom cast functions by name.',
    propertyNames: nameRule,
    default: {}
  })),
  relations: optional(record(relation, { description: 'Relations by name. Each gives an ER condition of that name from `from` to `to`, and its reverse `<name>__reverse`.', propertyNames: nameRule, default: {} })),
  singleViews: optional(record(singleView, { description: 'Single views by name.', propertyNames: nameRule, default: {} })),
  sources: optional(sourcesSchema),
  engines: optional(enginesSchema),
  commands: optional(commandsSchema),
  api: optional(apiSection)
}, { description: 'A braid pipeline: projections from change streams, and single views built from them.' })

export type NativeConfig = Infer<typeof configSchema>

/** The complete JSON Schema of the native configuration. */
export const nativeConfigSchema: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://braid.dev/schemas/braid-config-1.json',
  ...configSchema.json,
  $defs: { viewValue: viewValue.json }
}
