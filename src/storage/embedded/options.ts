/**
 * Options of the embedded (SQLite) store, their defaults and their validation.
 * @module
 */
import { BraidError } from '../../errors.ts'

export interface EmbeddedStoreOptions {
  /** Database file (created when missing), or ':memory:' for a private in-memory database. */
  path: string
  /** How long a write waits for another process's lock before failing, in ms. */
  busyTimeoutMs?: number
  /** SQLite page cache size, in MiB. */
  cacheSizeMiB?: number
}

export const embeddedStoreDefaults = {
  busyTimeoutMs: 5_000, // 5 seconds
  cacheSizeMiB: 64, // 64 MiB
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

export type ResolvedEmbeddedStoreOptions = Required<EmbeddedStoreOptions>

export function resolveEmbeddedStoreOptions (options: EmbeddedStoreOptions): ResolvedEmbeddedStoreOptions {
  const problems: string[] = []
  if (typeof options?.path !== 'string' || options.path === '') problems.push('path: must be a non-empty string (a file or \':memory:\')')
  const busyTimeoutMs = options?.busyTimeoutMs ?? embeddedStoreDefaults.busyTimeoutMs
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) problems.push('busyTimeoutMs: must be an integer >= 0')
  const cacheSizeMiB = options?.cacheSizeMiB ?? embeddedStoreDefaults.cacheSizeMiB
  if (!Number.isInteger(cacheSizeMiB) || cacheSizeMiB < 1) problems.push('cacheSizeMiB: must be an integer >= 1')
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid embedded store options: ${problems.join('; ')}`, { details: { problems } })
  }
  return { path: options.path, busyTimeoutMs, cacheSizeMiB }
}
