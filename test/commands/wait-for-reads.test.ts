import { describe, expect, it } from 'vitest'
import { ViewWaiter, type ChangeFeedReader } from '../../src/commands/wait-for.ts'
import { WaitStage, type CommandRecord } from '../../src/commands/types.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { CommandsDefinition } from '../../src/model/command.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import type { Store } from '../../src/storage/store.ts'

/**
 * The reads `waitFor` shares between the commands of one tick. A pipeline is played by hand (the CDC
 * position, the ingestion topic's end offset, the projection stage's committed offset and the trigger
 * queue), and moves on between the checks of two commands, as it does while a tick runs.
 */
const topic = 'crm.public.customers'
const view = 'customer_sv'

class Pipeline {
  confirmed = '0/100'
  end = 0
  committed = 0
  depth = 0
  depthReads = 0

  /** CDC appends a change; the projection stage consumes it and enqueues the view (depth 1). */
  append (lsn: string): void {
    this.end++
    this.confirmed = lsn
  }

  project (): void {
    this.committed = this.end
    this.depth++
  }

  build (): void {
    this.depth = 0
  }
}

function waiter (p: Pipeline): ViewWaiter {
  const reader: ChangeFeedReader = {
    confirmed: async () => p.confirmed,
    current: async () => undefined,
    close: async () => {}
  }
  const log = {
    offsets: async () => [{ partition: 0, start: 0, end: p.end }],
    committed: async () => [{ partition: 0, offset: p.committed }]
  } as unknown as EventLog
  const store = {
    queueDepth: async () => {
      p.depthReads++
      return p.depth
    }
  } as unknown as Store
  const pipeline = { projections: new Map([['customers', { topic }]]) } as unknown as PipelineDefinition
  const commands = { targets: new Map() } as unknown as CommandsDefinition
  return new ViewWaiter({ pipeline, commands, store, log, logger: silentLogger(), ingestionGroup: 'braid.projections', pollMs: 10, timeoutMs: 60_000, readerOf: () => reader })
}

function command (id: string, commitLsn: string, stage: WaitStage, offsets?: Record<string, number[]>): CommandRecord {
  const at = new Date().toISOString()
  return {
    _id: id,
    name: 'set-phone',
    target: 'crm',
    orderKey: id,
    fingerprint: '',
    payload: {},
    status: 'succeeded',
    run: 1,
    attempts: 1,
    failures: 0,
    createdAt: at,
    updatedAt: at,
    finishedAt: at,
    commitLsn,
    waitFor: { view, stage, reachedView: false, ...(offsets === undefined ? {} : { offsets }) },
    awaitingView: true
  }
}

describe('ViewWaiter reads shared within a tick', () => {
  it('should not report a view reached on a queue depth read before the command\'s change was projected', async () => {
    const p = new Pipeline()
    const w = waiter(p)
    // A: its change is projected and built; only the empty queue is left to see.
    p.append('0/200')
    p.project()
    p.build()
    const a = command('a', '0/200', WaitStage.projected, { [topic]: [1] })
    // B committed later; CDC already appended its change, which is not projected yet.
    p.append('0/300')
    const b = command('b', '0/300', WaitStage.committed)

    const nextA = await w.advance(a)
    expect(nextA.waitFor).toMatchObject({ stage: WaitStage.reached, reachedView: true })
    // The projection stage consumes B's change and enqueues the view; its build has not run.
    p.project()
    const nextB = await w.advance(b)
    // B is projected, but the empty queue seen for A predates B's enqueue: B's view is not reached.
    expect(nextB.waitFor).toMatchObject({ stage: WaitStage.projected, reachedView: false })
    expect(p.depthReads).toBe(2)

    // The next tick (fresh reads), after the build: reached.
    p.build()
    expect((await waiter(p).advance(nextB)).waitFor).toMatchObject({ stage: WaitStage.reached, reachedView: true })
  })

  it('should share one depth read between commands projected on the same committed read', async () => {
    const p = new Pipeline()
    p.append('0/200')
    p.append('0/300')
    p.project()
    p.build()
    const w = waiter(p)
    const reached = [
      await w.advance(command('a', '0/200', WaitStage.captured, { [topic]: [1] })),
      await w.advance(command('b', '0/300', WaitStage.captured, { [topic]: [2] }))
    ]
    expect(reached.map(c => c.waitFor?.reachedView)).toEqual([true, true])
    expect(p.depthReads).toBe(1)
  })
})
