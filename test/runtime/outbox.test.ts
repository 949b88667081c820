import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import { Outbox } from '../../src/runtime/outbox.ts'
import type { Store } from '../../src/storage/store.ts'
import { customerRow, customerView, openPipeline, readTopic, retail, retailConfig, retailWithUpdateEvents, tempDir, topics, waitFor, type Running } from './harness.ts'

const opened: Running[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map(async r => r.close()))
})

describe('outbox', () => {
  it('appends events left in the outbox by a crash when the service starts again', async () => {
    const dir = tempDir()
    const first = await openPipeline(retailConfig, dir, { start: false })
    // A write that committed its outbox entries, then the process died before relaying them.
    const outbox = new Outbox(first.engines.store, first.engines.log, silentLogger())
    await first.engines.store.write({
      outbox: outbox.entries([['braid.customer_sv.sv-update', [
        { key: '{"email":"a@example.com"}', value: '{"n":1}', timestamp: 1 },
        { key: '{"email":"a@example.com"}', value: '{"n":2}', timestamp: 2 }
      ]]])
    })
    await first.engines.close()

    const second = await openPipeline(retailConfig, dir)
    opened.push(second)
    const records = await readTopic(second.engines.log, 'braid.customer_sv.sv-update')
    expect(records.map(r => JSON.parse(r.value ?? 'null') as Doc)).toEqual([{ n: 1 }, { n: 2 }])
    expect(await second.engines.store.outboxSize()).toBe(0)
  })

  it('relays events left in the outbox to their topic after a restart that turned the view\'s updateEvents to none, and appends no new ones', async () => {
    const dir = tempDir()
    const topic = 'braid.customer_sv.sv-update'
    const first = await openPipeline(retailConfig, dir, { start: false })
    // Events of changes made while the view was `full`, committed but not relayed when the process stopped.
    const outbox = new Outbox(first.engines.store, first.engines.log, silentLogger())
    await first.engines.store.write({ outbox: outbox.entries([[topic, [{ key: '{"email":"a@example.com"}', value: '{"n":1}', timestamp: 1 }]]]) })
    await first.engines.close()

    const second = await openPipeline(await retailWithUpdateEvents('none'), dir)
    opened.push(second)
    // Delivered at least once, as promised when they were written; the consumers of the topic get them.
    expect((await readTopic(second.engines.log, topic)).map(r => JSON.parse(r.value ?? 'null') as Doc)).toEqual([{ n: 1 }])
    expect(await second.engines.store.outboxSize()).toBe(0)
    await second.service.ingest(topics.customers, [retail.customer(customerRow(1, { email: 'ada@example.com' }))])
    await second.service.idle()
    expect(await customerView(second.service, 'ada@example.com')).toBeDefined()
    expect(await readTopic(second.engines.log, topic)).toHaveLength(1)
  })

  it('keeps events whose append failed and relays them on the next flush', async () => {
    const engines = await openEngines({ dataDir: tempDir() })
    try {
      const flaky = flakyLog(engines.log, 1)
      const outbox = new Outbox(engines.store, flaky.log, silentLogger())
      await engines.store.write({ outbox: outbox.entries([['t', [{ key: null, value: 'x' }]]]) })
      await expect(outbox.flush()).rejects.toThrow('log down')
      expect(await engines.store.outboxSize()).toBe(1)
      await outbox.flush()
      expect(await engines.store.outboxSize()).toBe(0)
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['x'])
    } finally {
      await engines.close()
    }
  })
})

describe('outbox publish', () => {
  it('relays from the store after a failed append, so a later event never overtakes an earlier one', async () => {
    const engines = await openEngines({ dataDir: tempDir() })
    try {
      const flaky = flakyLog(engines.log, 0)
      const outbox = new Outbox(engines.store, flaky.log, silentLogger())
      await outbox.flush()
      const first = outbox.entries([['t', [{ key: null, value: 'first' }]]])
      await engines.store.write({ outbox: first })
      flaky.failures = 1
      await expect(outbox.publish(first)).rejects.toThrow('log down')
      const second = outbox.entries([['t', [{ key: null, value: 'second' }]]])
      await engines.store.write({ outbox: second })
      await outbox.publish(second)
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first', 'second'])
      expect(await engines.store.outboxSize()).toBe(0)
      const third = outbox.entries([['t', [{ key: null, value: 'third' }]]])
      await engines.store.write({ outbox: third })
      await outbox.publish(third)
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first', 'second', 'third'])
      expect(await outbox.pending()).toBe(0)
      await outbox.close()
      expect(await engines.store.outboxSize()).toBe(0)
    } finally {
      await engines.close()
    }
  })

  it('removes relayed entries with the next commit, never relays them twice, and removes the rest on close', async () => {
    const engines = await openEngines({ dataDir: tempDir() })
    try {
      await engines.store.ensureCollections([{ name: 'things', primaryKey: ['_id'], indexes: [] }])
      const outbox = new Outbox(engines.store, engines.log, silentLogger())
      await outbox.flush()
      const stored = async (): Promise<string[]> => (await engines.store.outboxPage(100)).map(e => String(e.record.value))
      const first = outbox.entries([['t', [{ key: null, value: 'first' }]]])
      await outbox.commit({ put: [{ collection: 'things', id: '1', doc: { _id: 1 } }] }, first)
      // Appended; its removal waits for the next write.
      expect(await stored()).toEqual(['first'])
      expect(await outbox.pending()).toBe(0)
      const second = outbox.entries([['t', [{ key: null, value: 'second' }]]])
      await outbox.commit({ put: [{ collection: 'things', id: '2', doc: { _id: 2 } }] }, second)
      expect(await stored()).toEqual(['second'])
      // A relay from the store (as at start, or after a failure) does not append relayed entries again.
      await outbox.flush()
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first', 'second'])
      expect(await stored()).toEqual([])
      const third = outbox.entries([['t', [{ key: null, value: 'third' }]]])
      await outbox.commit({}, third)
      await outbox.close()
      expect(await stored()).toEqual([])
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first', 'second', 'third'])
    } finally {
      await engines.close()
    }
  })

  it('relays the entries of a write that failed after it committed, even when no other write comes', async () => {
    const engines = await openEngines({ dataDir: tempDir() })
    try {
      // The store server applied the write, then the connection broke before it answered.
      let lost = 1
      const write: Store['write'] = async batch => {
        await engines.store.write(batch)
        if (lost-- > 0) throw new Error('connection closed')
      }
      const store = new Proxy(engines.store, {
        get: (target, prop, receiver) => {
          if (prop === 'write') return write
          const value: unknown = Reflect.get(target, prop, receiver)
          return typeof value === 'function' ? value.bind(target) : value
        }
      })
      const outbox = new Outbox(store, engines.log, silentLogger())
      await outbox.flush()
      const first = outbox.entries([['t', [{ key: null, value: 'first' }]]])
      await expect(outbox.commit({}, first)).rejects.toThrow('connection closed')
      expect(await outbox.pending()).toBe(1)
      await waitFor(async () => await outbox.pending() === 0, 'the outbox to relay on its own', 10_000)
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first'])
      expect(await engines.store.outboxSize()).toBe(0)
      await outbox.close()
    } finally {
      await engines.close()
    }
  })

  it('keeps relayed entries to remove when the write carrying their removal fails', async () => {
    const engines = await openEngines({ dataDir: tempDir() })
    try {
      const outbox = new Outbox(engines.store, engines.log, silentLogger())
      await outbox.flush()
      const first = outbox.entries([['t', [{ key: null, value: 'first' }]]])
      await outbox.commit({}, first)
      // A put into a collection that does not exist fails the whole write.
      await expect(outbox.commit({ put: [{ collection: 'missing', id: 'x', doc: {} }] }, [])).rejects.toThrow(/does not exist/)
      expect(await engines.store.outboxSize()).toBe(1)
      await outbox.close()
      expect(await engines.store.outboxSize()).toBe(0)
      expect((await readTopic(engines.log, 't')).map(r => r.value)).toEqual(['first'])
    } finally {
      await engines.close()
    }
  })
})

describe('pr-update events', () => {
  it('are published in the Mia v2.0.0 shape on the topics of projections that configure one', async () => {
    const dir = tempDir()
    const config = join(dir, 'braid.yaml')
    writeFileSync(config, [
      'version: 1',
      'system: shop',
      'projections:',
      '  items:',
      '    topic: shop.items',
      '    format: debezium',
      '    key: id',
      '    prUpdateTopic: shop.items.pr-update',
      '    fields: { id: castToInteger, name: castToString }',
      'singleViews:',
      '  item_sv:',
      '    base: items',
      '    key: { id: id }',
      '    view: { id: items.id, name: items.name }',
      ''
    ].join('\n'))
    const running = await openPipeline(config, join(dir, 'data'))
    opened.push(running)
    await running.service.ingest('shop.items', [
      { key: { id: 1 }, value: { op: 'c', before: null, after: { id: 1, name: 'mug' }, source: { lsn: 1 } } },
      { key: { id: 1 }, value: { op: 'u', before: null, after: { id: 1, name: 'cup' }, source: { lsn: 2 } } },
      { key: { id: 1 }, value: { op: 'd', before: { id: 1, name: 'cup' }, after: null, source: { lsn: 3 } } }
    ])
    await running.service.idle()
    const events = await readTopic(running.engines.log, 'shop.items.pr-update')
    const values = events.map(e => JSON.parse(e.value ?? 'null') as Doc)
    expect(values.map(v => (v['operation'] as Doc)['type'])).toEqual(['INSERT', 'UPDATE', 'DELETE'])
    for (const e of events) {
      expect(JSON.parse(e.headers['messageSchema'] ?? 'null')).toEqual({ type: 'pr-update', version: 'v2.0.0' })
      expect(JSON.parse(e.key ?? 'null')).toEqual({ id: 1 })
    }
    expect(values[0]).toMatchObject({ source: 'shop', storageNamespace: 'items', primaryKeys: ['id'], before: null, after: { id: 1, name: 'mug', __STATE__: 'PUBLIC' } })
    expect(values[1]).toMatchObject({ before: { name: 'mug' }, after: { name: 'cup' } })
    expect(values[2]).toMatchObject({ before: { name: 'cup' }, after: null })
    expect(Object.keys(values[0]?.['after'] as Doc)).not.toContain('__internal__counter')
  })
})

/** The log with an append that fails `failures` times (settable later) before working again. */
function flakyLog (log: EventLog, failures: number): { log: EventLog, failures: number } {
  const state = {
    failures,
    log: {
      ...log,
      append: async (...args: Parameters<EventLog['append']>) => {
        if (state.failures-- > 0) throw new Error('log down')
        return log.append(...args)
      }
    }
  }
  return state
}
