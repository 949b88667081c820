/**
 * The convergence oracle of test/runtime/convergence.property.test.ts on the production engines:
 * random histories (inserts, updates, deletes, FK and PK moves, duplicates, late and malformed
 * messages, restarts) replayed through Kafka into MongoDB (FerretDB) must leave exactly what the
 * independent model computes, for the retail pipeline and the 1:N:N pipeline with a chained view.
 * Fewer runs than on the embedded engines (each is slower): FC_RUNS_PRODUCTION (default 8).
 */
import { resolve } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import type { Command, Item } from '../runtime/cdc-history.ts'
import { deliveryPlan } from '../runtime/cdc-history.ts'
import type { ReplayOptions, SchemaUnderTest } from '../runtime/convergence-harness.ts'
import { expectations, replay, sortedTables, sourceTables, TempDirs } from '../runtime/convergence-harness.ts'
import { regionCommandArb, regionHistory, regionSchema } from '../runtime/regions-model.ts'
import { retailCommandArb, retailHistory, retailSchema } from '../runtime/retail-model.ts'
import { cleanUp, productionNames, type ProductionNames } from './production-harness.ts'

const numRuns = Number(process.env['FC_RUNS_PRODUCTION'] ?? 8)
const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED'])
const params: fc.Parameters<unknown> = {
  numRuns,
  ...(seed === undefined ? {} : { seed }),
  // one shrink step replays a whole history on real servers: report the first failure as found
  endOnFailure: true
}
const budgetMs = 60_000 + numRuns * 60_000

const dirs = new TempDirs()
/** Each run's names and topics, removed after the file. */
const runs: Array<{ names: ProductionNames, topics: string[] }> = []
afterAll(async () => {
  dirs.removeAll()
  for (const run of runs.splice(0)) await cleanUp(run.names, run.topics).catch(() => {})
})

/** The pipeline with the run's topic names (loaded afresh: the definition is changed in place). */
async function runPipeline (config: string, names: ProductionNames): Promise<PipelineDefinition> {
  const pipeline = await loadPipeline(config)
  for (const p of pipeline.projections.values()) p.topic = names.prefix + p.topic
  for (const v of pipeline.singleViews.values()) v.svUpdateTopic = names.prefix + v.svUpdateTopic
  pipeline.engines = { deadLetterTopic: `${names.prefix}dead-letters` }
  runs.push({ names, topics: [...[...pipeline.projections.values()].map(p => p.topic), ...[...pipeline.singleViews.values()].map(v => v.svUpdateTopic), `${names.prefix}dead-letters`] })
  return pipeline
}

type History = ReturnType<typeof retailHistory>

async function converges<Op extends string> (label: string, config: string, schema: SchemaUnderTest, history: (commands: ReadonlyArray<Command<Op>>) => History, commands: ReadonlyArray<Command<Op>>, pace: ReplayOptions['pace']): Promise<void> {
  const names = productionNames(label)
  const pipeline = await runPipeline(config, names)
  const { db, setup, steps } = history(commands)
  const items: Item[] = [...deliveryPlan(db, setup), { kind: 'barrier', action: 'idle' }, ...deliveryPlan(db, steps)]
  const expected = expectations(schema, db, items)
  expect(sortedTables(schema, expected.tables)).toEqual(sourceTables(schema, db))
  const observed = await replay(pipeline, items, dirs.make(), {
    latency: 'none',
    pace,
    seed: 0,
    engines: {
      open: async dataDir => openEngines({ dataDir, kafka: { brokers: names.brokers, autoCreateTopics: true, defaultPartitions: 3, replicationFactor: 1 }, mongodb: { url: names.mongodbUrl } }),
      groupPrefix: names.prefix,
      topic: name => names.prefix + name
    }
  })
  expect(observed.projections).toEqual(expected.projections)
  for (const [view, differences] of observed.differences) expect({ view, differences }).toEqual({ view, differences: [] })
  expect(observed.views).toEqual(expected.views)
  expect(observed.deadLetters).toBe(expected.deadLetters)
  expect(observed.svErrors).toEqual([])
}

const pace = fc.constantFrom('turns' as const, 'burst' as const)

describe('convergence on Kafka + MongoDB (FerretDB)', () => {
  it('of the retail pipeline: projections and views equal the model, verify finds no difference', async () => {
    const config = resolve(import.meta.dirname, '../../examples/retail/braid.yaml')
    await fc.assert(fc.asyncProperty(fc.array(retailCommandArb, { minLength: 1, maxLength: 30, size: 'max' }), pace, async (commands, p) => {
      await converges('conv_retail', config, retailSchema, retailHistory, commands, p)
    }), params)
  }, budgetMs)

  it('of the 1:N:N pipeline with a chained view: projections and views equal the model, verify finds no difference', async () => {
    const config = resolve(import.meta.dirname, '../fixtures/property/regions.yaml')
    await fc.assert(fc.asyncProperty(fc.array(regionCommandArb, { minLength: 1, maxLength: 30, size: 'max' }), pace, async (commands, p) => {
      await converges('conv_regions', config, regionSchema, regionHistory, commands, p)
    }), params)
  }, budgetMs)
})
