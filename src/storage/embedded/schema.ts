/**
 * Tables of the embedded store and the per-collection state built from them.
 *
 * Layout (one SQLite file):
 * - `col_<collection>` (id TEXT PRIMARY KEY, doc TEXT NOT NULL, "f:<path>"…): one row per document;
 *   `doc` is the document as JSON text. Dates are stored as ISO-8601 strings (what JSON.stringify
 *   writes) and come back as strings; filters holding Dates are compared against the same ISO form.
 * - one column `"f:<path>"` per indexed path, holding `json_extract(doc,'$."path"')`, and indexes
 *   `cx_<collection>__<field>[__<field>…][__u]` on those columns: one per IndexSpec and one on `_id`
 *   (the primary key is the id column itself).
 * - triggers `tr_<collection>__insert` and `tr_<collection>__update` keep the columns equal to the
 *   document. Puts bind the column values computed in JavaScript, so the triggers' conditions are
 *   false and write nothing; an update of `doc` that leaves every indexed value as it was touches
 *   no index. (Expression indexes are rewritten on every update of `doc`: a random row update
 *   with three of them cost 41 µs against 16.5 µs with columns, docs/design/20261121_embedded-store-and-log.md.)
 * - `sys_paths` (collection, path, types): JSON types each indexed path has held (see query.ts).
 * - `sys_queue` (see queue.ts) and `sys_meta` (key, value JSON).
 *
 * Stores written before the columns existed have expression indexes `ix_…`; ensuring a collection
 * adds and fills its columns and drops those indexes.
 * @module
 */
import type { Database, Statement } from 'better-sqlite3'
import { BraidError } from '../../errors.ts'
import type { CollectionSpec, IndexSpec } from '../store.ts'
import { jsonTypeBit, trackedPath, type TrackedPath } from './paths.ts'
import { PathType } from './query.ts'
import { collectionTable, collectionTableName, fieldColumn, fieldExpr, isExpressiblePath, quoteIdent, quoteLiteral } from './sql.ts'

export const systemSchema = `
CREATE TABLE IF NOT EXISTS sys_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sys_paths (
  collection TEXT NOT NULL,
  path TEXT NOT NULL,
  types INTEGER NOT NULL,
  PRIMARY KEY (collection, path)
) WITHOUT ROWID;
`

/** What the store keeps in memory about one collection. */
export interface CollectionState {
  name: string
  /** Quoted table name. */
  table: string
  /** Indexed paths whose types are tracked on every put. */
  tracked: TrackedPath[]
  /** path → PathType bits (mirrors sys_paths). */
  pathTypes: Map<string, number>
  /** Indexed paths held in columns, in table order: `upsert` binds their values after id and doc. */
  columns: TrackedPath[]
  /** The paths of `columns` (what queries can read from a column). */
  columnPaths: ReadonlySet<string>
  upsert: Statement
  remove: Statement
  clear: Statement
}

export function openCollection (db: Database, name: string, pathTypes: Map<string, number>, columns: readonly string[]): CollectionState {
  const table = collectionTable(name)
  const names = ['id', 'doc', ...columns.map(fieldColumn)]
  return {
    name,
    table,
    tracked: [...pathTypes.keys()].map(trackedPath),
    pathTypes,
    columns: columns.map(trackedPath),
    columnPaths: new Set(columns),
    // Rewriting an identical document (a replay) leaves the row and its indexes untouched. An update
    // sets only doc: the update trigger rewrites the columns (and their indexes) that changed.
    upsert: db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc WHERE doc <> excluded.doc`),
    remove: db.prepare(`DELETE FROM ${table} WHERE id = ?`),
    clear: db.prepare(`DELETE FROM ${table}`)
  }
}

/** The indexed paths that have a column in a collection's table, in table order. */
function tableColumns (db: Database, collection: string): string[] {
  const names = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(collectionTableName(collection)) as string[]
  return names.filter(n => n.startsWith('f:')).map(n => n.slice('f:'.length))
}

/**
 * (Re)creates the triggers that keep the columns equal to `json_extract` of the document, whoever
 * writes the row. Their condition compares every column; the body rewrites them all, which only
 * happens when an indexed value changed or a writer did not bind it.
 */
function writeTriggers (db: Database, collection: string, columns: readonly string[]): void {
  const table = collectionTable(collection)
  const stale = columns.map(p => `${fieldExpr(p, 'new.doc')} IS NOT new.${fieldColumn(p)}`).join(' OR ')
  const set = columns.map(p => `${fieldColumn(p)} = ${fieldExpr(p, 'new.doc')}`).join(', ')
  for (const [suffix, event] of [['insert', 'INSERT'], ['update', 'UPDATE OF doc']] as const) {
    const trigger = quoteIdent(`tr_${collection}__${suffix}`)
    db.exec(`DROP TRIGGER IF EXISTS ${trigger}`)
    db.exec(`CREATE TRIGGER ${trigger} AFTER ${event} ON ${table} WHEN ${stale} BEGIN UPDATE ${table} SET ${set} WHERE rowid = new.rowid; END`)
  }
}

/**
 * Reads every collection and its tracked path types from the database. States of `previous` are
 * reused (their prepared statements stay valid), with their path types refreshed.
 */
export function loadCollections (db: Database, previous?: ReadonlyMap<string, CollectionState>): Map<string, CollectionState> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'col\\_%' ESCAPE '\\'").pluck().all() as string[]
  const paths = db.prepare('SELECT collection, path, types FROM sys_paths').all() as Array<{ collection: string, path: string, types: number }>
  const byCollection = new Map<string, Map<string, number>>()
  for (const p of paths) {
    let m = byCollection.get(p.collection)
    if (m === undefined) byCollection.set(p.collection, m = new Map())
    m.set(p.path, p.types)
  }
  const out = new Map<string, CollectionState>()
  for (const t of tables) {
    const name = t.slice('col_'.length)
    const pathTypes = byCollection.get(name) ?? new Map<string, number>()
    const columns = tableColumns(db, name)
    const known = previous?.get(name)
    if (known === undefined || known.columns.map(c => c.path).join('\0') !== columns.join('\0')) {
      out.set(name, openCollection(db, name, pathTypes, columns))
    } else {
      known.pathTypes = pathTypes
      known.tracked = [...pathTypes.keys()].map(trackedPath)
      out.set(name, known)
    }
  }
  return out
}

function validateSpec (spec: CollectionSpec): IndexSpec[] {
  const problems: string[] = []
  if (typeof spec.name !== 'string' || spec.name === '') problems.push('name: must be a non-empty string')
  if (!Array.isArray(spec.indexes)) problems.push('indexes: must be a list of { fields: [...] }')
  // The primary key needs no index of its own: the id column (keyId of the key fields) is the table's key.
  const indexes: IndexSpec[] = [{ fields: ['_id'] }, ...Array.isArray(spec.indexes) ? spec.indexes : []]
  for (const ix of indexes) {
    if (!Array.isArray(ix?.fields)) {
      problems.push(`indexes: ${JSON.stringify(ix)} is not { fields: [...] }`)
      continue
    }
    if (ix.fields.length === 0) problems.push('indexes: an index needs at least one field')
    for (const f of ix.fields) {
      if (!isExpressiblePath(f)) problems.push(`indexes: field ${JSON.stringify(f)} cannot be indexed (empty segment or double quote)`)
    }
  }
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid collection ${JSON.stringify(spec.name)}: ${problems.join('; ')}`, {
      details: { problems: problems.map(p => `collections.${spec.name}.${p}`) }
    })
  }
  return indexes
}

function indexName (collection: string, ix: IndexSpec): string {
  return quoteIdent(`cx_${collection}__${ix.fields.join('__')}${ix.unique === true ? '__u' : ''}`)
}

/** JSON types already held at `path` by the rows of `table` (used when an index is added to a filled collection). */
function scanPathTypes (db: Database, table: string, path: string): number {
  const segments = path.split('.')
  let bits = 0
  for (let i = 1; i <= segments.length; i++) {
    const prefix = '$' + segments.slice(0, i).map(s => `."${s}"`).join('')
    const found = db.prepare(`SELECT 1 FROM ${table} WHERE json_type(doc, ${quoteLiteral(prefix)}) = 'array' LIMIT 1`).get()
    if (found !== undefined) bits |= PathType.array
  }
  const full = '$' + segments.map(s => `."${s}"`).join('')
  const types = db.prepare(`SELECT DISTINCT json_type(doc, ${quoteLiteral(full)}) FROM ${table}`).pluck().all() as Array<string | null>
  for (const t of types) bits |= jsonTypeBit(t)
  return bits
}

/**
 * Creates the table, columns, triggers and indexes of each spec when missing, and starts tracking the
 * types of every indexed path. A table written before the columns existed gets them filled from its
 * documents, and its expression indexes are dropped. Runs inside the caller's transaction; returns
 * the new states.
 */
export function createCollections (db: Database, specs: readonly CollectionSpec[], existing: ReadonlyMap<string, CollectionState>): CollectionState[] {
  const insertPath = db.prepare('INSERT OR IGNORE INTO sys_paths (collection, path, types) VALUES (?, ?, ?)')
  const readPaths = db.prepare('SELECT path, types FROM sys_paths WHERE collection = ?')
  const legacyIndexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE 'ix\\_%' ESCAPE '\\'").pluck()
  const out: CollectionState[] = []
  for (const spec of specs) {
    const indexes = validateSpec(spec)
    const table = collectionTable(spec.name)
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`)
    const hasRows = db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined
    const columns = tableColumns(db, spec.name)
    const added = [...new Set(indexes.flatMap(ix => ix.fields))].filter(f => !columns.includes(f))
    for (const f of added) {
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${fieldColumn(f)}`)
      if (hasRows) db.exec(`UPDATE ${table} SET ${fieldColumn(f)} = ${fieldExpr(f)}`)
      columns.push(f)
    }
    if (added.length > 0) writeTriggers(db, spec.name, columns)
    for (const ix of indexes) {
      const unique = ix.unique === true ? 'UNIQUE ' : ''
      db.exec(`CREATE ${unique}INDEX IF NOT EXISTS ${indexName(spec.name, ix)} ON ${table} (${ix.fields.map(fieldColumn).join(', ')})`)
      for (const f of ix.fields) {
        if (existing.get(spec.name)?.pathTypes.has(f) === true) continue
        insertPath.run(spec.name, f, hasRows ? scanPathTypes(db, table, f) : 0)
      }
    }
    for (const legacy of legacyIndexes.all(collectionTableName(spec.name)) as string[]) db.exec(`DROP INDEX ${quoteIdent(legacy)}`)
    const rows = readPaths.all(spec.name) as Array<{ path: string, types: number }>
    const pathTypes = new Map(rows.map(r => [r.path, r.types]))
    out.push(openCollection(db, spec.name, pathTypes, columns))
  }
  return out
}
