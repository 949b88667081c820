/**
 * Append throughput of the embedded event log: `npx vitest bench test/event-log`.
 * One iteration of the batch case appends 1,000 records, so records/s = ops/s × 1,000.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, bench, describe } from 'vitest'
import { createEmbeddedEventLog } from '../../src/event-log/embedded/index.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-log-bench-'))
const log = createEmbeddedEventLog({ path: path.join(dir, 'log.db') })
await log.ensureTopics([{ name: 'orders', partitions: 4 }])

afterAll(async () => {
  await log.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

const value = JSON.stringify({ op: 'c', after: { orderId: 1, customerId: 'C1', status: 'NEW', amount: 12.5 }, source: { ts_ms: 1_700_000_000_000 } })
let next = 0

describe('embedded event log', () => {
  bench('append 1,000 keyed records in one call', async () => {
    await log.append('orders', Array.from({ length: 1_000 }, () => ({ key: `{"orderId":${next++}}`, value })))
  })

  bench('append one record', async () => {
    await log.append('orders', [{ key: `{"orderId":${next++}}`, value }])
  })
})
