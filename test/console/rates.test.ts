import { describe, expect, it } from 'vitest'
import { ratesBetween, type Sample } from '../../console/src/rates.ts'
import type { ProjectionStatus, ServiceStatus, ViewStatus } from '../../console/src/types.ts'

const projection = (consumed: number): ProjectionStatus => ({ topic: 't', lag: 0, consumed, applied: consumed, stale: 0, duplicates: 0, deadLettered: 0 })
const view = (written: number): ViewStatus => ({ written, unchanged: 0, deleted: 0, failed: 0, patched: 0, queued: 0, lastFreshnessMs: null, freshnessP50Ms: null, freshnessP99Ms: null })
const sample = (at: number, consumed: number, written: number): Sample => {
  const status: ServiceStatus = { ready: true, startedAt: '', store: 'embedded', eventLog: 'embedded', projections: { customers: projection(consumed) }, singleViews: { customer_sv: view(written) } }
  return { at, status }
}

describe('the console rates', () => {
  it('are the counters\' change per second between two samples', () => {
    expect(ratesBetween(sample(1000, 10, 4), sample(3000, 30, 10))).toEqual({ projections: { customers: 10 }, views: { customer_sv: 3 } })
  })

  it('are unknown (absent) with one sample only, not zero', () => {
    expect(ratesBetween(undefined, sample(1000, 10, 4))).toEqual({ projections: {}, views: {} })
  })

  it('count from zero when a counter went down (braid restarted in between)', () => {
    expect(ratesBetween(sample(0, 500, 100), sample(2000, 8, 2))).toEqual({ projections: { customers: 4 }, views: { customer_sv: 1 } })
  })

  it('leave out names the previous sample did not have', () => {
    const before = sample(0, 1, 1)
    const after = sample(1000, 2, 2)
    after.status.projections['orders'] = projection(50)
    expect(ratesBetween(before, after).projections).toEqual({ customers: 1 })
  })
})
