/**
 * Options of the embedded (SQLite) store, their defaults and their validation.
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import { resolveCheckpointMode, type CheckpointMode } from '../../sqlite/checkpointer.ts'

export interface EmbeddedStoreOptions {
  /** Database file (created when missing), or ':memory:' for a private in-memory database. */
  path: string
  /** How long a write waits for another process's lock before failing, in ms. */
  busyTimeoutMs?: number
  /** SQLite page cache size, in MiB. */
  cacheSizeMiB?: number
  /**
   * How much of the database file SQLite reads through a memory map, in MiB (0: none). Pages are then
   * read from the OS page cache without a system call and a copy each; writes still go through the
   * WAL. SQLite caps it at its build's maximum (2 GiB for better-sqlite3's build).
   */
  mmapSizeMiB?: number
  /**
   * Where WAL checkpoints run: `background` (default for a file) on a thread of its own
   * (src/sqlite/checkpointer.ts), `inline` inside the commit that crosses the threshold (SQLite's
   * automatic checkpoint). An in-memory database has no WAL.
   */
  checkpoints?: CheckpointMode
  /** Where a failed background checkpoint is reported (it then falls back to inline checkpoints). */
  logger?: Logger
}

export const embeddedStoreDefaults = {
  busyTimeoutMs: 5_000, // 5 seconds
  cacheSizeMiB: 64, // 64 MiB
  /**
   * 2 GiB, the most better-sqlite3's SQLite maps. Once the file outgrows the page cache, reads that
   * miss it cost a read() each; mapped, they cost none. Measured on the retail bench at 1M views
   * (≈ 6 GB store): about 10% less CPU per view rebuild (bench/README.md).
   */
  mmapSizeMiB: 2_048,
  /** Ids per `IN (…)` list of getMany (SQLite allows 32,766 parameters per statement). */
  getManyChunk: 256,
  /**
   * WAL pages (4 KiB each) before an automatic checkpoint: 25,000 pages ≈ 100 MiB. Each checkpoint
   * copies every page changed since the last one and syncs the files; with random view and
   * projection updates, a page changed many times is copied once per checkpoint. Measured on
   * 100k ~600-byte documents with one index: 42 µs per update at 10,000 pages, 33 µs at 25,000, no
   * better above (bench/README.md).
   */
  walAutocheckpointPages: 25_000,
  /** Default page size of scan. */
  scanBatchSize: 1_000
} as const

export type ResolvedEmbeddedStoreOptions = Required<Omit<EmbeddedStoreOptions, 'logger'>> & Pick<EmbeddedStoreOptions, 'logger'>

export function resolveEmbeddedStoreOptions (options: EmbeddedStoreOptions): ResolvedEmbeddedStoreOptions {
  const problems: string[] = []
  if (typeof options?.path !== 'string' || options.path === '') problems.push('path: must be a non-empty string (a file or \':memory:\')')
  const busyTimeoutMs = options?.busyTimeoutMs ?? embeddedStoreDefaults.busyTimeoutMs
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) problems.push('busyTimeoutMs: must be an integer >= 0')
  const cacheSizeMiB = options?.cacheSizeMiB ?? embeddedStoreDefaults.cacheSizeMiB
  if (!Number.isInteger(cacheSizeMiB) || cacheSizeMiB < 1) problems.push('cacheSizeMiB: must be an integer >= 1')
  const mmapSizeMiB = options?.mmapSizeMiB ?? embeddedStoreDefaults.mmapSizeMiB
  if (!Number.isInteger(mmapSizeMiB) || mmapSizeMiB < 0) problems.push('mmapSizeMiB: must be an integer >= 0 (0 turns memory-mapped reads off)')
  const checkpoints = resolveCheckpointMode(options?.checkpoints, problems)
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid embedded store options: ${problems.join('; ')}`, { details: { problems } })
  }
  return { path: options.path, busyTimeoutMs, cacheSizeMiB, mmapSizeMiB, checkpoints, ...(options.logger === undefined ? {} : { logger: options.logger }) }
}
