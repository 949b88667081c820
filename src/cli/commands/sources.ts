/**
 * `braid sources <config>`: the progress each source persisted in the store — the confirmed LSN (or
 * the last poll), the last change appended, the snapshot of every table. Live values (state, lag)
 * are in `GET /-/sources` and `/-/metrics` of the running braid.
 * @module
 */
import { loadPipeline } from '../../config/index.ts'
import { sourceStateKey } from '../../connectors/postgres/support.ts'
import { describeConnection } from '../../model/source.ts'
import { requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

interface Persisted {
  kind?: string
  lsn?: string | null
  lastEventAt?: string | null
  lastPollAt?: string | null
  lastDeleteScanAt?: string | null
  tables?: Record<string, { status?: string, reason?: string, rows?: number, total?: number | null, deletes?: number, lsn?: string | null, finishedAt?: string | null }>
}

export async function sourcesCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const sources = [...(pipeline.sources?.values() ?? [])]
  if (sources.length === 0) {
    process.stdout.write(`${pipeline.origin} has no sources\n`)
    return 0
  }
  const engines = await openCommandEngines(args, pipeline)
  try {
    for (const def of sources) {
      const state = await engines.store.getMeta(sourceStateKey(def.name)) as Persisted | undefined
      const lines = [`${def.name} (${def.kind}, ${describeConnection(def.connection)})`]
      if (state === undefined) {
        lines.push('  not started yet')
      } else if (def.kind === 'postgres') {
        lines.push(`  slot ${def.slot}, publication ${def.publication}, confirmed LSN ${state.lsn ?? '-'}, last change ${state.lastEventAt ?? '-'}`)
        for (const t of def.tables) {
          const p = state.tables?.[t.name]
          const snapshot = p === undefined
            ? 'no snapshot'
            : `${p.reason ?? ''} snapshot ${p.status ?? ''}: ${p.rows ?? 0}${p.total === null || p.total === undefined ? '' : `/${p.total}`} rows${p.deletes !== undefined && p.deletes > 0 ? `, ${p.deletes} deletes` : ''}${p.lsn === null || p.lsn === undefined ? '' : ` at ${p.lsn}`}${p.finishedAt === null || p.finishedAt === undefined ? '' : `, finished ${p.finishedAt}`}`
          lines.push(`  ${t.name} → ${t.topic}: ${snapshot}`)
        }
      } else {
        lines.push(`  → ${def.topic}: last poll ${state.lastPollAt ?? '-'}, last change ${state.lastEventAt ?? '-'}, last delete scan ${state.lastDeleteScanAt ?? (def.deleteScan === undefined ? 'off' : '-')}`)
      }
      process.stdout.write(`${lines.join('\n')}\n`)
    }
  } finally {
    await engines.close()
  }
  return 0
}
