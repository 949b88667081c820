/**
 * The oracle test: random histories of source changes (inserts, updates, deletes, foreign-key moves,
 * primary-key changes, duplicate and late deliveries, malformed messages, restarts) replayed against
 * the embedded service; after quiescence braid must hold exactly what an independent model computes
 * from the history, and `verifyViews` must find nothing to fix.
 *
 * Reproduce a failure with the seed (and path) fast-check prints: FC_SEED=… [FC_PATH=…] npx vitest run test/runtime/convergence
 */
import { resolve } from 'node:path'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import type { Command, Item } from './cdc-history.ts'
import { deliveryPlan } from './cdc-history.ts'
import type { ReplayOptions, SchemaUnderTest } from './convergence-harness.ts'
import { expectations, replay, sortedTables, sourceTables, TempDirs } from './convergence-harness.ts'
import { regionCommandArb, regionHistory, regionSchema } from './regions-model.ts'
import { retailCommandArb, retailHistory, retailSchema } from './retail-model.ts'

const numRuns = Number(process.env['FC_RUNS'] ?? 40)
const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED'])
const path = process.env['FC_PATH']
/** Time for the runs and a shrink (about 0.2 s a run on a 2-core machine); the test's timeout is a minute more. */
const budgetMs = Math.max(150_000, numRuns * 1_000)
const params: fc.Parameters<unknown> = {
  numRuns,
  ...(seed === undefined ? {} : { seed }),
  ...(path === undefined ? {} : { path }),
  // shrinking replays whole histories; bound it so that a failure is reported, not timed out
  interruptAfterTimeLimit: budgetMs,
  markInterruptAsFailure: true
}

/** Two runs in three on a store that waits around every call (the stages interleave much more); appends paced or in bursts. */
const options: fc.Arbitrary<ReplayOptions> = fc.record({
  latency: fc.constantFrom('none' as const, 'turns' as const, 'jitter' as const),
  pace: fc.constantFrom('turns' as const, 'burst' as const),
  seed: fc.nat()
})

const dirs = new TempDirs()
afterEach(() => dirs.removeAll())
afterAll(() => dirs.removeAll())

type History = ReturnType<typeof retailHistory>

async function converges<Op extends string> (schema: SchemaUnderTest, pipeline: PipelineDefinition, history: (commands: ReadonlyArray<Command<Op>>) => History, commands: ReadonlyArray<Command<Op>>, options: ReplayOptions): Promise<void> {
  const { db, setup, steps } = history(commands)
  const items: Item[] = [...deliveryPlan(db, setup), { kind: 'barrier', action: 'idle' }, ...deliveryPlan(db, steps)]
  const expected = expectations(schema, db, items)
  // the model of the projections must agree with the source database it was generated from
  expect(sortedTables(schema, expected.tables)).toEqual(sourceTables(schema, db))

  const observed = await replay(pipeline, items, dirs.make(), options)
  try {
    expect(observed.projections).toEqual(expected.projections)
    for (const [view, differences] of observed.differences) expect({ view, differences }).toEqual({ view, differences: [] })
    expect(observed.views).toEqual(expected.views)
    expect(observed.deadLetters).toBe(expected.deadLetters)
    expect(observed.svErrors).toEqual([])
  } finally {
    dirs.removeAll()
  }
}

describe('convergence of the retail pipeline (examples/retail/braid.yaml)', () => {
  let pipeline: PipelineDefinition
  beforeAll(async () => {
    pipeline = await loadPipeline(resolve(import.meta.dirname, '../../examples/retail/braid.yaml'))
  })

  it('after any history of customer, order, line and preference changes the stored projections and views equal the model and verify finds no difference', async () => {
    await fc.assert(fc.asyncProperty(fc.array(retailCommandArb, { minLength: 1, maxLength: 45, size: 'max' }), options, async (commands, o) => {
      await converges(retailSchema, pipeline, retailHistory, commands, o)
    }), params)
  }, budgetMs + 60_000)
})

describe('convergence of a 1:N:N pipeline (test/fixtures/property/regions.yaml)', () => {
  let pipeline: PipelineDefinition
  beforeAll(async () => {
    pipeline = await loadPipeline(resolve(import.meta.dirname, '../fixtures/property/regions.yaml'))
  })

  it('after any history of region, manager, store and shelf changes the stored projections and views (the chained manager_sv too) equal the model and verify finds no difference', async () => {
    await fc.assert(fc.asyncProperty(fc.array(regionCommandArb, { minLength: 1, maxLength: 45, size: 'max' }), options, async (commands, o) => {
      await converges(regionSchema, pipeline, regionHistory, commands, o)
    }), params)
  }, budgetMs + 60_000)
})
