/**
 * Regression (found by convergence.property.test.ts): join elements came in the store's id order,
 * the order of the key's JSON text, so order 10 was listed before order 9 although joins are
 * documented to list their elements in primary-key order.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import { verifyViews } from '../../src/runtime/maintenance.ts'
import { createService } from '../../src/runtime/service.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

let lsn = 1
function change (key: Record<string, unknown>, after: Record<string, unknown>): { key: Record<string, unknown>, value: Record<string, unknown> } {
  return { key, value: { op: 'c', before: null, after, source: { lsn: lsn++ }, ts_ms: 1_700_000_000_000 } }
}

describe('join elements', () => {
  it('a join lists its elements in primary-key order, comparing numeric keys as numbers (order 9 before order 10, line 2 before line 10)', async () => {
    const pipeline = await loadPipeline(resolve(import.meta.dirname, '../../examples/retail/braid.yaml'))
    const dataDir = mkdtempSync(join(tmpdir(), 'braid-join-order-'))
    dirs.push(dataDir)
    const engines = await openEngines({ dataDir })
    const service = createService({ pipeline, engines, logger: silentLogger() })
    await service.start()
    try {
      await service.ingest('crm.public.customers', [change({ customer_id: 1 }, { customer_id: 1, email: 'ada@example.com', first_name: 'Ada' })])
      await service.ingest('shop.public.orders', [10, 2, 9].map(id => change({ order_id: id }, { order_id: id, customer_id: 1, status: 'placed' })))
      await service.ingest('shop.public.order_lines', [10, 1, 2].map(n => change({ order_id: 9, line_no: n }, { order_id: 9, line_no: n, sku: `SKU-${n}` })))
      await service.idle(10_000)

      const [view] = await engines.store.find('customer_sv', { email: 'ada@example.com' })
      const orders = view?.['orders'] as Array<{ orderId: number, lines: Array<{ lineNo: number }> }>
      expect(orders.map(o => o.orderId)).toEqual([2, 9, 10])
      expect(orders[1]?.lines.map(l => l.lineNo)).toEqual([1, 2, 10])
      expect((await verifyViews({ pipeline, store: engines.store, log: engines.log, logger: silentLogger() }, 'customer_sv')).differences).toEqual([])
    } finally {
      await service.stop()
      await engines.close()
    }
  })
})
