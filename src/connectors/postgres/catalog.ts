/**
 * What a PostgreSQL source checks before it reads anything, each failure with its fix:
 * `wal_level = logical` (BRAID_SOURCE_WAL_LEVEL), the REPLICATION privilege and SELECT on every table
 * (BRAID_SOURCE_PERMISSION), every table present with a primary key (BRAID_SOURCE_INVALID,
 * BRAID_SOURCE_NO_PRIMARY_KEY), the publication covering every table (created when missing), and the
 * slot, when it exists, being a pgoutput slot of this database. `REPLICA IDENTITY DEFAULT` and
 * `USING INDEX` are warnings; `NOTHING` is refused (PostgreSQL would reject UPDATE and DELETE on the
 * table once it is published).
 * @module
 */
import type pg from 'pg'
import { BraidError } from '../../errors.ts'
import type { PostgresSourceDefinition, PostgresTableDefinition } from '../../model/source.ts'
import { sourceError } from './connection.ts'

export interface ColumnInfo {
  name: string
  typeOid: number
  /** `format_type` of the column (`integer`, `character varying(80)`), for casts in queries. */
  type: string
}

export type ReplicaIdentity = 'default' | 'full' | 'index' | 'nothing'

export interface TableInfo {
  def: PostgresTableDefinition
  oid: number
  /** Primary-key columns, in key order. */
  key: ColumnInfo[]
  replicaIdentity: ReplicaIdentity
  /** pg_class.reltuples: an estimate (-1 when the table was never analysed). */
  estimatedRows: number
}

export interface SlotInfo {
  plugin: string
  database: string | null
  active: boolean
  activePid: number | null
  confirmedFlush: string | null
  walStatus: string | null
}

export interface Preflight {
  database: string
  user: string
  tables: Map<string, TableInfo>
  slot: SlotInfo | null
  /** Things that work but lose information (replica identity), to log and show in the status. */
  warnings: string[]
}

const identities: Record<string, ReplicaIdentity> = { d: 'default', f: 'full', i: 'index', n: 'nothing' }

/** Runs every check; throws the first failure as a BraidError. Creates the publication when missing. */
export async function preflight (client: pg.Client, def: PostgresSourceDefinition, url: string): Promise<Preflight> {
  const run = async <T extends pg.QueryResultRow>(doing: string, text: string, values: unknown[] = []): Promise<T[]> => {
    try {
      return (await client.query<T>(text, values)).rows
    } catch (err) {
      throw sourceError(def.name, url, err, doing)
    }
  }
  const [server] = await run<{ db: string, usr: string, wal: string }>('reading the server settings', "SELECT current_database() AS db, current_user AS usr, current_setting('wal_level') AS wal")
  if (server === undefined) throw new BraidError('BRAID_SOURCE_UNAVAILABLE', `source "${def.name}": the server returned no settings`)
  if (server.wal !== 'logical') {
    throw new BraidError('BRAID_SOURCE_WAL_LEVEL', `source "${def.name}": wal_level is "${server.wal}" on database "${server.db}", so PostgreSQL has no logical replication; run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL (or set wal_level = logical in postgresql.conf)`, {
      details: { source: def.name, walLevel: server.wal }
    })
  }
  const [role] = await run<{ ok: boolean }>('reading the user\'s privileges', "SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER') AND (r.rolreplication OR r.rolsuper OR r.rolname = 'rds_replication')) AS ok")
  if (role?.ok !== true) {
    throw new BraidError('BRAID_SOURCE_PERMISSION', `source "${def.name}": user "${server.usr}" may not use logical replication; run ALTER ROLE ${ident(server.usr)} WITH REPLICATION; as a superuser`, {
      details: { source: def.name, user: server.usr, missing: 'REPLICATION' }
    })
  }
  const warnings: string[] = []
  const tables = new Map<string, TableInfo>()
  for (const t of def.tables) {
    const info = await tableInfo(run, def, t)
    if (info.replicaIdentity === 'default') {
      warnings.push(`table ${t.name} has REPLICA IDENTITY DEFAULT: its updates carry no before image, its deletes only the key, and unchanged TOASTed values are read back from the table (possibly newer than the change); run ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL; for exact before images (docs/connectors.md#replica-identity)`)
    } else if (info.replicaIdentity === 'index') {
      warnings.push(`table ${t.name} has REPLICA IDENTITY USING INDEX: before images hold only that index's columns; REPLICA IDENTITY FULL gives whole before images`)
    }
    tables.set(t.name, info)
  }
  await ensurePublication(run, client, def, url)
  const slots = await run<{ plugin: string | null, database: string | null, active: boolean, active_pid: number | null, confirmed: string | null, wal_status: string | null, slot_type: string }>(
    'reading the replication slot',
    'SELECT plugin, slot_type, database, active, active_pid, confirmed_flush_lsn::text AS confirmed, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [def.slot]
  )
  let slot: SlotInfo | null = null
  const s = slots[0]
  if (s !== undefined) {
    if (s.slot_type !== 'logical' || s.plugin !== 'pgoutput' || s.database !== server.db) {
      throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": replication slot "${def.slot}" exists but is a ${s.slot_type} slot${s.plugin === null ? '' : ` of plugin ${s.plugin}`} on database "${s.database ?? '-'}"; braid needs a pgoutput slot on "${server.db}": set another "slot", or drop this one (SELECT pg_drop_replication_slot('${def.slot}');) if nothing else uses it`, {
        details: { source: def.name, slot: def.slot }
      })
    }
    if (s.wal_status === 'lost') {
      throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": replication slot "${def.slot}" lost WAL it needed (wal_status = lost); drop it (SELECT pg_drop_replication_slot('${def.slot}');) and braid creates a new one and snapshots the tables again`, {
        details: { source: def.name, slot: def.slot }
      })
    }
    slot = { plugin: s.plugin, database: s.database, active: s.active, activePid: s.active_pid, confirmedFlush: s.confirmed, walStatus: s.wal_status }
  }
  return { database: server.db, user: server.usr, tables, slot, warnings }
}

type Run = <T extends pg.QueryResultRow>(doing: string, text: string, values?: unknown[]) => Promise<T[]>

async function tableInfo (run: Run, def: PostgresSourceDefinition, t: PostgresTableDefinition): Promise<TableInfo> {
  const [row] = await run<{ oid: string, kind: string, ident: string, est: number, can_select: boolean }>(
    `reading table ${t.name}`,
    `SELECT c.oid::text AS oid, c.relkind::text AS kind, c.relreplident::text AS ident, c.reltuples::float8 AS est, has_table_privilege(c.oid, 'SELECT') AS can_select
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [t.schema, t.table]
  )
  if (row === undefined) {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": table ${t.name} does not exist (or is not visible to the source's user); fix sources.${def.name}.tables or create the table`, {
      details: { source: def.name, table: t.name }
    })
  }
  if (row.kind !== 'r') {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": ${t.name} is not an ordinary table (relkind ${row.kind}); braid captures tables — list the partitions of a partitioned table, not the parent`, {
      details: { source: def.name, table: t.name }
    })
  }
  if (!row.can_select) {
    throw new BraidError('BRAID_SOURCE_PERMISSION', `source "${def.name}": the source's user may not read ${t.name}; run GRANT SELECT ON ${qualified(t)} TO <user>;`, {
      details: { source: def.name, table: t.name, missing: 'SELECT' }
    })
  }
  const replicaIdentity = identities[row.ident] ?? 'default'
  if (replicaIdentity === 'nothing') {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": table ${t.name} has REPLICA IDENTITY NOTHING: once published, PostgreSQL would refuse UPDATE and DELETE on it; run ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL; (or DEFAULT)`, {
      details: { source: def.name, table: t.name }
    })
  }
  const oid = Number(row.oid)
  const key = await primaryKey(run, oid, t.name)
  if (key.length === 0) {
    throw new BraidError('BRAID_SOURCE_NO_PRIMARY_KEY', `source "${def.name}": table ${t.name} has no primary key; braid keys every message and projection record by it — add one (ALTER TABLE ${qualified(t)} ADD PRIMARY KEY (…);)`, {
      details: { source: def.name, table: t.name }
    })
  }
  return { def: t, oid, key, replicaIdentity, estimatedRows: row.est }
}

/** The primary-key columns of a table, in key order ([] without a primary key). */
export async function primaryKey (run: Run, oid: number, table: string): Promise<ColumnInfo[]> {
  const rows = await run<{ name: string, oid: string, type: string }>(
    `reading the primary key of ${table}`,
    `SELECT a.attname AS name, a.atttypid::text AS oid, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord`,
    [oid]
  )
  return rows.map(r => ({ name: r.name, typeOid: Number(r.oid), type: r.type }))
}

async function ensurePublication (run: Run, client: pg.Client, def: PostgresSourceDefinition, url: string): Promise<void> {
  const [pub] = await run<{ puballtables: boolean, pubinsert: boolean, pubupdate: boolean, pubdelete: boolean, pubtruncate: boolean }>(
    'reading the publication',
    'SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1',
    [def.publication]
  )
  const list = def.tables.map(qualified).join(', ')
  if (pub === undefined) {
    try {
      await client.query(`CREATE PUBLICATION ${ident(def.publication)} FOR TABLE ${list}`)
    } catch (err) {
      const e = sourceError(def.name, url, err, `creating publication "${def.publication}"`)
      if (e.code === 'BRAID_SOURCE_PERMISSION') {
        throw new BraidError('BRAID_SOURCE_PERMISSION', `source "${def.name}": cannot create publication "${def.publication}" (creating one needs ownership of the tables); run as the tables' owner: CREATE PUBLICATION ${ident(def.publication)} FOR TABLE ${list};`, {
          details: { source: def.name, publication: def.publication, missing: 'ownership' },
          cause: err
        })
      }
      // Created meanwhile by another process: fall through to the check.
      if ((err as { code?: string }).code !== '42710') throw e
    }
    return
  }
  const ops = (['insert', 'update', 'delete', 'truncate'] as const).filter(op => !pub[`pub${op}`])
  if (ops.length > 0) {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": publication "${def.publication}" does not publish ${ops.join(', ')}; run ALTER PUBLICATION ${ident(def.publication)} SET (publish = 'insert, update, delete, truncate');`, {
      details: { source: def.name, publication: def.publication }
    })
  }
  if (pub.puballtables) return
  const published = new Set((await run<{ schemaname: string, tablename: string }>('reading the publication\'s tables', 'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [def.publication]))
    .map(r => `${r.schemaname}.${r.tablename}`))
  const missing = def.tables.filter(t => !published.has(t.name))
  if (missing.length > 0) {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": publication "${def.publication}" does not include ${missing.map(t => t.name).join(', ')}; run ALTER PUBLICATION ${ident(def.publication)} ADD TABLE ${missing.map(qualified).join(', ')};`, {
      details: { source: def.name, publication: def.publication, tables: missing.map(t => t.name) }
    })
  }
}

/** A quoted SQL identifier. */
export function ident (name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** `"schema"."table"`. */
export function qualified (t: { schema: string, table: string }): string {
  return `${ident(t.schema)}.${ident(t.table)}`
}
