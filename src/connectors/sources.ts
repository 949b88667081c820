/**
 * The sources of a pipeline (`sources:` in braid.yaml): starts and stops them with the service,
 * gathers their status for `/-/status` and `/-/metrics`, and takes re-snapshot requests.
 *
 * A source appends Debezium change events to the projections' topics through the EventLog, so it
 * works the same on the embedded log and on Kafka; its progress lives in the store's meta.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { EventLog } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { PostgresSourceDefinition, PostgresTableDefinition } from '../model/source.ts'
import type { Store } from '../storage/store.ts'
import { PostgresCdcSource } from './postgres/cdc-source.ts'
import { PollingSource } from './postgres/polling-source.ts'
import { resnapshotRequestKey } from './postgres/support.ts'
import type { Source, SourceState, SourceStatus } from './postgres/types.ts'

export type { SourceStatus, TableStatus, TableSnapshotStatus, SourceState } from './postgres/types.ts'

export interface SourcesOptions {
  pipeline: PipelineDefinition
  store: Store
  log: EventLog
  logger: Logger
  /** Consumer group of the projection stage (`braid.projections`): snapshots wait for it before reconciling deletes. */
  consumerGroup: string
}

export interface ResnapshotRequest {
  source: string
  /** `schema.table`. */
  table: string
  requestedAt: string
}

export interface SourceManager {
  /** Configured source names. */
  readonly names: readonly string[]
  /**
   * Starts every source. Resolves once each has connected and checked its database (or failed in a way
   * worth retrying: it then retries in the background). Rejects with the first configuration problem
   * (BRAID_SOURCE_WAL_LEVEL, _PERMISSION, _NO_PRIMARY_KEY, _INVALID), after stopping the others.
   */
  start (): Promise<void>
  stop (): Promise<void>
  /** Status of every source, by name. */
  status (): Record<string, SourceStatus>
  /** Asks a postgres source to snapshot one table again while it keeps streaming. */
  resnapshot (source: string, table: string): Promise<ResnapshotRequest>
  /** Prometheus text of the sources' metrics (appended to `/-/metrics`). */
  exposition (): string
}

/** The sources of `options.pipeline` (none when it has no `sources:`). */
export function createSources (options: SourcesOptions): SourceManager {
  const ctx = { pipeline: options.pipeline, store: options.store, log: options.log, logger: options.logger, consumerGroup: options.consumerGroup }
  const sources = new Map<string, Source>()
  for (const def of options.pipeline.sources?.values() ?? []) {
    sources.set(def.name, def.kind === 'postgres' ? new PostgresCdcSource(def, ctx) : new PollingSource(def, ctx))
  }
  const status = (): Record<string, SourceStatus> => {
    const out: Record<string, SourceStatus> = {}
    for (const [name, s] of sources) out[name] = s.status()
    return out
  }
  return {
    names: [...sources.keys()],
    status,

    async start () {
      const results = await Promise.allSettled([...sources.values()].map(async s => await s.start()))
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) {
        await Promise.all([...sources.values()].map(async s => await s.stop()))
        throw failed.reason
      }
    },

    async stop () {
      await Promise.all([...sources.values()].map(async s => await s.stop()))
    },

    async resnapshot (source: string, table: string): Promise<ResnapshotRequest> {
      const request = await requestResnapshot(options.pipeline, options.store, source, table)
      const s = sources.get(source)
      if (s instanceof PostgresCdcSource) s.wake()
      return request
    },

    exposition () {
      return sourcesExposition(status())
    }
  }
}

/**
 * The source and table a re-snapshot request names (`customers` or `public.customers`).
 * @throws BraidError BRAID_NOT_FOUND for an unknown source, BRAID_SOURCE_INVALID for a polling source
 *   or a table the source does not capture.
 */
export function resnapshotTarget (pipeline: PipelineDefinition, source: string, table: string): { source: PostgresSourceDefinition, table: PostgresTableDefinition } {
  const def = pipeline.sources?.get(source)
  if (def === undefined) {
    const known = [...(pipeline.sources?.keys() ?? [])]
    throw new BraidError('BRAID_NOT_FOUND', `no source "${source}"; configured sources: ${known.length === 0 ? '(none)' : known.join(', ')}`, { details: { source } })
  }
  if (def.kind !== 'postgres') {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${source}" is a ${def.kind} source: it has no snapshot (its rows are read by every poll; its deletes by the delete scan)`, { details: { source } })
  }
  const t = def.tables.find(d => d.name === table) ?? def.tables.find(d => d.table === table)
  if (t === undefined) {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${source}" captures no table "${table}"; its tables: ${def.tables.map(d => d.name).join(', ')}`, { details: { source, table } })
  }
  return { source: def, table: t }
}

/**
 * Records a re-snapshot request in the store's meta, where the running braid picks it up within 2 s
 * (or at its next start). For `braid resnapshot`, which runs beside the server.
 */
export async function requestResnapshot (pipeline: PipelineDefinition, store: Store, source: string, table: string): Promise<ResnapshotRequest> {
  const target = resnapshotTarget(pipeline, source, table)
  const requestedAt = new Date().toISOString()
  await store.write({ meta: [{ key: resnapshotRequestKey(source, target.table.name), value: { requestedAt } }] })
  return { source, table: target.table.name, requestedAt }
}

const states: readonly SourceState[] = ['starting', 'snapshotting', 'streaming', 'polling', 'error', 'stopped']

/** The sources' metrics in the Prometheus text exposition format 0.0.4 (a family without samples is left out). */
export function sourcesExposition (status: Record<string, SourceStatus>): string {
  const lines: string[] = []
  const entries = Object.entries(status)
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number | null]>): void => {
    const present = samples.filter((s): s is [Record<string, string>, number] => s[1] !== null)
    if (present.length === 0) return
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of present) {
      lines.push(`${name}{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}} ${Number.isFinite(value) ? String(value) : 'NaN'}`)
    }
  }
  const perTable = (value: (t: SourceStatus['tables'][string]) => number | null): Array<[Record<string, string>, number | null]> =>
    entries.flatMap(([source, s]) => Object.entries(s.tables).map(([table, t]): [Record<string, string>, number | null] => [{ source, table }, value(t)]))
  family('braid_source_state', 'gauge', 'One sample per source and state: 1 for the state the source is in, else 0.',
    entries.flatMap(([source, s]) => states.map((state): [Record<string, string>, number] => [{ source, state }, s.state === state ? 1 : 0])))
  family('braid_source_lag_bytes', 'gauge', 'PostgreSQL sources: WAL bytes between the confirmed position and the server\'s WAL end.',
    entries.map(([source, s]) => [{ source }, s.lagBytes]))
  family('braid_source_lag_seconds', 'gauge', 'Age of the oldest change received but not yet appended (postgres), or seconds since the last completed poll (polling).',
    entries.map(([source, s]) => [{ source }, s.lagSeconds]))
  family('braid_source_last_event_timestamp_seconds', 'gauge', 'Source time of the last change appended, Unix seconds.',
    entries.map(([source, s]) => [{ source }, s.lastEventAt === null ? null : Date.parse(s.lastEventAt) / 1000]))
  family('braid_source_events_total', 'counter', 'Change events appended by a source since start, per table (or topic, for polling).', perTable(t => t.events))
  family('braid_source_snapshot_rows', 'gauge', 'Rows read by the current (or last) snapshot of a table.', perTable(t => t.snapshot?.rows ?? null))
  family('braid_source_snapshot_total_rows', 'gauge', 'Rows expected by the current (or last) snapshot of a table (an estimate for large tables).', perTable(t => t.snapshot?.total ?? null))
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}
