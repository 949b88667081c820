import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import type { Doc } from '../../src/model/document.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import { customerRow, openPipeline, readTopic, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'

const svUpdateTopic = 'braid.customer_sv.sv-update'

async function viewsByEmail (r: Running): Promise<Map<string, Doc>> {
  const docs = await r.service.store.find('customer_sv', {}, { sort: { email: 1 } })
  return new Map(docs.map(d => [String(d['email']), d]))
}

async function insertsPerEmail (r: Running): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const rec of await readTopic(r.service.log, svUpdateTopic)) {
    const value = JSON.parse(rec.value ?? 'null') as Doc
    if ((value['operation'] as Doc)['type'] !== 'INSERT') continue
    const email = String((value['after'] as Doc)['email'])
    counts.set(email, (counts.get(email) ?? 0) + 1)
  }
  return counts
}

describe('restarting on the same data directory', () => {
  it('builds at once the views a process that died mid-round had claimed, when it owns the data directory', async () => {
    const dir = tempDir()
    const first = await openPipeline(retailConfig, dir, { exclusive: true })
    try {
      await first.service.ingest(topics.customers, [1, 2, 3].map(id => retail.customer(customerRow(id))))
      await first.service.idle()
    } finally {
      await first.close()
    }
    // Views to rebuild, claimed by a build round that never finished (its process died).
    const crashed = await openEngines({ dataDir: dir })
    try {
      const emails = [1, 2, 3].map(id => `customer.${id}@example.com`)
      await crashed.store.write({
        clear: ['customer_sv'],
        enqueue: emails.map(email => ({ view: 'customer_sv', id: email, identifier: { email }, eventTime: Date.now() }))
      })
      expect(await crashed.store.claimDue({ limit: 10, now: Date.now(), leaseMs: 10 * 60_000 })).toHaveLength(3)
      expect(await crashed.store.count('customer_sv', {})).toBe(0)
    } finally {
      await crashed.close()
    }

    // Without the lock, another worker might hold these claims: they wait for their lease.
    const shared = await openPipeline(retailConfig, dir)
    try {
      await expect(shared.service.idle(1_500)).rejects.toThrow(/not idle/)
    } finally {
      await shared.close()
    }
    // With it, nobody else can: start ends the leases and the views are built.
    const second = await openPipeline(retailConfig, dir, { exclusive: true })
    try {
      await second.service.idle(10_000)
      expect((await viewsByEmail(second)).size).toBe(3)
    } finally {
      await second.close()
    }
  })

  it('resumes from the committed offsets without losing or repeating anything', async () => {
    const dir = tempDir()
    const first = await openPipeline(retailConfig, dir)
    try {
      await first.service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10)])
      await first.service.ingest(topics.customers, [1, 2, 3].map(id => retail.customer(customerRow(id, { tier_code: 'gold' }))))
      await first.service.idle()
      // More input, then a stop while (possibly) still consuming it.
      await first.service.ingest(topics.customers, [4, 5, 6, 7, 8].map(id => retail.customer(customerRow(id))))
      await first.service.ingest(topics.orders, [retail.order(100, 1, '9.99')])
    } finally {
      await first.close()
    }

    // Input that arrives while braid is down (braid replay appends without consuming).
    const offline = await openPipeline(retailConfig, dir, { start: false })
    try {
      await offline.service.ingest(topics.customers, [retail.customer(customerRow(2, { tier_code: 'gold', phone: 'changed offline' }), 'u')])
    } finally {
      await offline.close()
    }

    const second = await openPipeline(retailConfig, dir)
    try {
      await second.service.idle()
      const views = await viewsByEmail(second)
      expect([...views.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map(id => `customer.${id}@example.com`).sort())
      expect(views.get('customer.1@example.com')?.['orders']).toMatchObject([{ orderId: 100, total: 9.99 }])
      expect(views.get('customer.2@example.com')).toMatchObject({ phone: 'changed offline', tier: { code: 'gold', discountPct: 10 } })
      expect(await second.service.store.count('customers', {})).toBe(8)
      // Every view was inserted exactly once across both runs.
      expect([...(await insertsPerEmail(second)).values()]).toEqual(Array(8).fill(1))
      // The second run consumed only what the first one had not: nothing twice.
      const status = await second.service.status()
      const consumed = Object.values(status.projections).reduce((n, p) => n + p.consumed, 0)
      expect(consumed).toBeGreaterThanOrEqual(1)
      expect(consumed).toBeLessThanOrEqual(7)
      expect(await second.service.store.queueDepth()).toBe(0)
    } finally {
      await second.close()
    }

    // A restart with nothing new changes nothing.
    const third = await openPipeline(retailConfig, dir)
    try {
      const before = await viewsByEmail(third)
      const events = (await readTopic(third.service.log, svUpdateTopic)).length
      await third.service.idle()
      expect(await viewsByEmail(third)).toEqual(before)
      expect((await readTopic(third.service.log, svUpdateTopic)).length).toBe(events)
      const status = await third.service.status()
      expect(Object.values(status.projections).reduce((n, p) => n + p.consumed, 0)).toBe(0)
    } finally {
      await third.close()
    }
  })
})

describe('the data directory lock', () => {
  it('refuses a second exclusive open of the same directory with BRAID_DATA_DIR_LOCKED, and frees it on close', async () => {
    const dir = tempDir()
    const engines = await openEngines({ dataDir: dir, exclusive: true })
    try {
      const second = openEngines({ dataDir: dir, exclusive: true })
      await expect(second).rejects.toBeInstanceOf(BraidError)
      await expect(second).rejects.toMatchObject({ code: 'BRAID_DATA_DIR_LOCKED' })
    } finally {
      await engines.close()
    }
    const again = await openEngines({ dataDir: dir, exclusive: true })
    await again.close()
  })

  it('takes over the pid file of a process that is gone', async () => {
    const dir = tempDir()
    // A pid that cannot be alive (above the Linux maximum).
    writeFileSync(join(dir, 'braid.pid'), '4194304999')
    const engines = await openEngines({ dataDir: dir, exclusive: true })
    await engines.close()
  })

  it('lets a non-exclusive open (the maintenance commands) share a locked directory', async () => {
    const dir = tempDir()
    const locked = await openEngines({ dataDir: dir, exclusive: true })
    try {
      const shared = await openEngines({ dataDir: dir })
      await shared.close()
    } finally {
      await locked.close()
    }
  })
})
