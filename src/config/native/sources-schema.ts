/**
 * The `sources:` section of braid.yaml: its JSON Schema (and TS type, from the same expressions) and
 * its compilation into `SourceDefinition`s, with the checks that need the rest of the file (every
 * topic a source fills should be read by a projection in the `debezium` format; slots and
 * publications are not shared between sources).
 *
 * ```yaml
 * sources:
 *   shop_db:
 *     kind: postgres
 *     url: { env: BRAID_SHOP_PG_URL }
 *     tables:
 *       public.customers: { topic: crm.public.customers }
 *   legacy:
 *     kind: polling
 *     url: postgres://reader@legacy-db/erp
 *     query: SELECT id, name, updated_at FROM products
 *     incrementalColumn: updated_at
 *     key: [id]
 *     topic: erp.products
 *     deleteScan: { everyMs: 600000 }
 * ```
 * @module
 */
import type { ConnectionRef, PollingSourceDefinition, PostgresSourceDefinition, PostgresTableDefinition, SourceDefinition } from '../../model/source.ts'
import { sourceDefaults } from '../../model/source.ts'
import type { Problems } from '../problems.ts'
import { jsonPath, listOf } from '../problems.ts'
import type { Infer, JsonSchema, Schema } from './schema-builder.ts'
import { array, byType, integer, object, oneOf, optional, record, required, string } from './schema-builder.ts'

/** PostgreSQL's rule for replication slot names. */
const slotPattern = '^[a-z0-9_]{1,63}$'
/** `schema.table` or `table` (unquoted identifiers). */
const tablePattern = '^[^\\s.]+(\\.[^\\s.]+)?$'

function atLeast<T> (s: Schema<T>, minimum: number): Schema<T> {
  return { json: { ...s.json, minimum } }
}

const connection = byType({
  string: string({ description: 'A PostgreSQL connection URL (`postgres://user:password@host:5432/db`). Prefer `{ env: NAME }` to keep passwords out of the file.', minLength: 1 }),
  object: object({
    env: required(string({ description: 'Name of the environment variable holding the connection URL, read when the source starts.', minLength: 1 }))
  }, { description: 'The connection URL from an environment variable.' })
}, { description: 'How to connect: a URL, or `{ env: NAME }`.' })

const postgresTable = object({
  topic: required(string({ description: 'Ingestion topic the table\'s change events are appended to (Debezium envelopes); a projection reads it with `format: debezium`.', minLength: 1 }))
}, { description: 'Where the changes of one table go.' })

const postgresSource = object({
  kind: required(oneOf(['postgres'], { description: '`postgres`: change data capture from PostgreSQL logical replication (pgoutput).' })),
  url: required(connection),
  publication: optional(string({ description: 'Publication streamed. Created `FOR TABLE` the configured tables when missing (that needs ownership of the tables). Defaults to `braid_<source name>`.', minLength: 1 })),
  slot: optional(string({ description: 'Logical replication slot (lowercase letters, digits, _). Created when missing. Defaults to `braid_<source name>`.', pattern: slotPattern })),
  tables: required(record(postgresTable, {
    description: 'Captured tables by `schema.table` (a bare name means `public`). Each needs a primary key.',
    propertyNames: { pattern: tablePattern },
    minProperties: 1
  })),
  snapshot: optional(object({
    mode: optional(oneOf(['initial', 'never'], { description: '`initial`: read every table when the slot is created (or was lost), then stream; `never`: stream only.', default: sourceDefaults.snapshotMode })),
    chunkSize: optional(atLeast(integer({ description: 'Rows per snapshot chunk: one query, one append and one progress record each.', default: sourceDefaults.chunkSize }), 1))
  }, { description: 'The initial snapshot.' }))
}, { description: 'A PostgreSQL database captured with logical replication.' })

const pollingSource = object({
  kind: required(oneOf(['polling'], { description: '`polling`: a query polled by an incremental column, for databases without CDC.' })),
  url: required(connection),
  query: required(string({ description: 'The SELECT to poll (any query with the incremental and key columns; braid pages it as a subquery).', minLength: 1 })),
  incrementalColumn: required(string({ description: 'A column that grows on every insert and update: `updated_at`, or an id from a sequence for insert-only tables.', minLength: 1 })),
  key: required(byType({
    string: string({ description: 'The one key column.', minLength: 1 }),
    array: array(string({ description: 'A key column.', minLength: 1 }), { description: 'Key columns, in order.', minItems: 1 })
  }, { description: 'Columns identifying a row: the message key, and what the delete scan compares.' })),
  topic: required(string({ description: 'Ingestion topic the rows are appended to (Debezium envelopes).', minLength: 1 })),
  intervalMs: optional(atLeast(integer({ description: 'Pause between polls once caught up, ms.', default: sourceDefaults.intervalMs }), 10)),
  batchSize: optional(atLeast(integer({ description: 'Rows per query and per append.', default: sourceDefaults.batchSize }), 1)),
  deleteScan: optional(object({
    everyMs: required(atLeast(integer({ description: 'Period of the scan, ms: every key of the query is read and compared with the projections; rows gone get a delete.' }), 1000))
  }, { description: 'Detect deleted rows with a periodic scan of every key (polling cannot see deletes otherwise).' }))
}, { description: 'A query polled for new and changed rows.' })

const sourceJson: JsonSchema = {
  type: 'object',
  description: 'A source: `kind: postgres` (logical replication) or `kind: polling`.',
  required: ['kind'],
  properties: { kind: { type: 'string', enum: ['postgres', 'polling'], description: 'The kind of source.' } },
  if: { properties: { kind: { const: 'polling', description: 'A polling source takes the polling properties.' } }, required: ['kind'] },
  then: pollingSource.json,
  else: { if: { properties: { kind: { const: 'postgres', description: 'A postgres source takes the CDC properties.' } }, required: ['kind'] }, then: postgresSource.json }
}

type NativePostgresSource = Infer<typeof postgresSource>
type NativePollingSource = Infer<typeof pollingSource>
export type NativeSource = NativePostgresSource | NativePollingSource

/** The `sources:` property of the root schema. */
export const sourcesSchema: Schema<Record<string, NativeSource>> = record({ json: sourceJson } as Schema<NativeSource>, {
  description: 'Sources braid captures itself, by name: each appends Debezium change events to projection topics.',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'Names start with a letter or _ and contain letters, digits, _ and -.' },
  default: {}
})

interface ProjectionLike {
  topic: string
  format?: string | { type?: string, custom?: string }
  key: string | string[]
}

/**
 * Compiles the schema-valid `sources:` section. Problems: a topic read by a projection in another
 * format, a slot or publication used twice, a polling key that does not cover a projection's key.
 * Warnings: a topic no projection reads.
 */
export function compileSources (sources: Record<string, NativeSource>, projections: Record<string, ProjectionLike>, problems: Problems): Map<string, SourceDefinition> {
  const out = new Map<string, SourceDefinition>()
  const slots = new Map<string, string>()
  const publications = new Map<string, string>()
  for (const [name, s] of Object.entries(sources)) {
    const at = (...more: Array<string | number>): string => jsonPath(['sources', name, ...more])
    const connection: ConnectionRef = typeof s.url === 'string' ? { url: s.url } : { env: s.url.env }
    if (s.kind === 'polling') {
      const key = typeof s.key === 'string' ? [s.key] : [...s.key]
      const def: PollingSourceDefinition = {
        kind: 'polling',
        name,
        connection,
        query: s.query,
        incrementalColumn: s.incrementalColumn,
        key,
        intervalMs: s.intervalMs ?? sourceDefaults.intervalMs,
        batchSize: s.batchSize ?? sourceDefaults.batchSize,
        topic: s.topic
      }
      if (s.deleteScan !== undefined) def.deleteScan = { everyMs: s.deleteScan.everyMs }
      checkTopic(at('topic'), s.topic, projections, problems, key)
      out.set(name, def)
      continue
    }
    const slot = s.slot ?? defaultName(name)
    const publication = s.publication ?? defaultName(name)
    if (!new RegExp(slotPattern).test(slot)) problems.add(at(), `the default slot name "${slot}" is not a valid PostgreSQL slot name (lowercase letters, digits and _ only); set "slot"`)
    claim(slots, slot, name, at(s.slot === undefined ? 'kind' : 'slot'), 'slot', problems)
    claim(publications, publication, name, at(s.publication === undefined ? 'kind' : 'publication'), 'publication', problems)
    const tables: PostgresTableDefinition[] = []
    const seen = new Map<string, string>()
    for (const [tableName, t] of Object.entries(s.tables)) {
      const [schema, table] = tableName.includes('.') ? tableName.split('.') as [string, string] : [sourceDefaults.schema, tableName]
      const qualified = `${schema}.${table}`
      const previous = seen.get(qualified)
      if (previous !== undefined) problems.add(at('tables', tableName), `table ${qualified} is already listed as "${previous}"`)
      seen.set(qualified, tableName)
      checkTopic(at('tables', tableName, 'topic'), t.topic, projections, problems)
      tables.push({ name: qualified, schema, table, topic: t.topic })
    }
    const def: PostgresSourceDefinition = {
      kind: 'postgres',
      name,
      connection,
      publication,
      slot,
      tables,
      snapshot: { mode: s.snapshot?.mode ?? sourceDefaults.snapshotMode, chunkSize: s.snapshot?.chunkSize ?? sourceDefaults.chunkSize }
    }
    out.set(name, def)
  }
  return out
}

function defaultName (source: string): string {
  return `${sourceDefaults.namePrefix}${source.toLowerCase().replace(/-/g, '_')}`
}

function claim (used: Map<string, string>, value: string, source: string, path: string, what: string, problems: Problems): void {
  const other = used.get(value)
  if (other !== undefined) problems.add(path, `${what} "${value}" is also used by source "${other}"; each source needs its own ${what}`)
  else used.set(value, source)
}

/** The projections reading `topic` must decode Debezium envelopes; a polling key must carry their keys. */
function checkTopic (path: string, topic: string, projections: Record<string, ProjectionLike>, problems: Problems, pollingKey?: string[]): void {
  const readers = Object.entries(projections).filter(([, p]) => p.topic === topic)
  if (readers.length === 0) {
    problems.warn(path, `no projection reads topic "${topic}"; the source appends to it anyway (add a projection with topic: ${topic})`)
    return
  }
  for (const [name, p] of readers) {
    const format = typeof p.format === 'string' ? p.format : p.format === undefined ? 'debezium' : (p.format.type ?? (p.format.custom === undefined ? 'debezium' : 'custom'))
    if (format !== 'debezium') problems.add(path, `projection "${name}" reads topic "${topic}" with format "${format}", but sources write Debezium envelopes; set format: debezium on "${name}"`)
    if (pollingKey !== undefined) {
      const key = typeof p.key === 'string' ? [p.key] : p.key
      const missing = key.filter(k => !pollingKey.includes(k))
      if (missing.length > 0) problems.add(path, `projection "${name}" is keyed by ${listOf(key)}, but the polling key has no ${listOf(missing)}; deletes carry only the key columns, so the key must include them`)
    }
  }
}
