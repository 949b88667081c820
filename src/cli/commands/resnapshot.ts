/**
 * `braid resnapshot <config> <source> <table> [--wait]`: asks the running braid to read one table of
 * a PostgreSQL source again, on a fresh consistent snapshot, while it keeps streaming (the same as
 * `POST /-/sources/{source}/tables/{table}/resnapshot`). The request goes into the store's meta, where
 * the braid running on the same data picks it up within 2 s — or at its next start. `--wait` follows
 * the progress until the table is done.
 * @module
 */
import { loadPipeline } from '../../config/index.ts'
import { requestResnapshot } from '../../connectors/sources.ts'
import { sourceStateKey } from '../../connectors/postgres/support.ts'
import type { Store } from '../../storage/store.ts'
import { requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'
import { createProgress } from '../progress.ts'

interface PersistedTable { status?: string, reason?: string, rows?: number, total?: number | null, deletes?: number, startedAt?: string | null, finishedAt?: string | null }

export async function resnapshotCommand (args: CommandArgs): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const source = requiredPositional(args, 1, '<source>')
  const table = requiredPositional(args, 2, '<table>')
  const engines = await openCommandEngines(args, pipeline)
  try {
    const request = await requestResnapshot(pipeline, engines.store, source, table)
    process.stdout.write(`re-snapshot of ${request.table} (source ${source}) requested at ${request.requestedAt}; the running braid starts it within 2 s (progress: GET /-/sources/${source}, or braid resnapshot … --wait)\n`)
    if (args.values['wait'] !== true) return 0
    await follow(engines.store, source, request.table, request.requestedAt)
    return 0
  } finally {
    await engines.close()
  }
}

/** Polls the source's persisted progress until the table's re-snapshot requested at `since` is done. */
async function follow (store: Store, source: string, table: string, since: string): Promise<void> {
  const progress = createProgress(`resnapshot ${table}`)
  const started = Date.now()
  let hinted = false
  for (;;) {
    const state = await store.getMeta(sourceStateKey(source)) as { tables?: Record<string, PersistedTable> } | undefined
    const t = state?.tables?.[table]
    const current = t !== undefined && t.reason === 'resnapshot' && (t.startedAt ?? '') >= since
    if (current) {
      progress.update(t.rows ?? 0, t.total ?? undefined)
      if (t.status === 'done') {
        progress.finish(`${table}: ${t.rows ?? 0} rows read, ${t.deletes ?? 0} records of deleted rows removed`)
        return
      }
    } else if (!hinted && Date.now() - started > 10_000) {
      hinted = true
      process.stderr.write('no braid has picked the request up yet: is `braid start` running on this data (same --data-dir or engines)?\n')
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}
