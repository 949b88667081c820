import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { driverHeartbeatFrequencyMs, HeartbeatWatchdog, type HeartbeatSource } from '../../src/storage/mongodb/watchdog.ts'

/** A client stand-in emitting the driver's heartbeat events, and a clock the test moves. */
function setup (connectTimeoutMs = 10_000): { emit: (event: string, address: string, awaited?: boolean) => void, advance: (ms: number) => void, watchdog: HeartbeatWatchdog, client: EventEmitter } {
  let now = 1_000_000
  const client = new EventEmitter()
  const watchdog = new HeartbeatWatchdog(connectTimeoutMs, () => now)
  watchdog.watch(client as unknown as HeartbeatSource)
  return {
    emit: (event, address, awaited = false) => client.emit(event, { connectionId: address, awaited }),
    advance: ms => { now += ms },
    watchdog,
    client
  }
}

describe('the MongoDB heartbeat watchdog', () => {
  it('says nothing while heartbeats end, however they end', () => {
    const t = setup()
    for (const end of ['serverHeartbeatSucceeded', 'serverHeartbeatFailed']) {
      t.emit('serverHeartbeatStarted', 'db:27017')
      t.advance(9_000)
      t.emit(end, 'db:27017')
      t.advance(60_000)
      expect(t.watchdog.stuck()).toBeUndefined()
    }
  })

  it('reports a polling heartbeat pending longer than connectTimeoutMS plus slack, with its server', () => {
    const t = setup(10_000)
    t.emit('serverHeartbeatStarted', 'db:27017')
    t.advance(15_000)
    expect(t.watchdog.stuck()).toBeUndefined()
    t.advance(1)
    expect(t.watchdog.stuck()).toEqual({ address: 'db:27017', pendingMs: 15_001 })
  })

  it('gives an awaited heartbeat (streaming protocol) heartbeatFrequencyMS more', () => {
    const t = setup(10_000)
    t.emit('serverHeartbeatStarted', 'db:27017', true)
    t.advance(15_001)
    expect(t.watchdog.stuck()).toBeUndefined()
    t.advance(driverHeartbeatFrequencyMs)
    expect(t.watchdog.stuck()).toMatchObject({ address: 'db:27017' })
  })

  it('reports the server pending the longest, and forgets the old client when it watches a new one', () => {
    const t = setup(1_000)
    t.emit('serverHeartbeatStarted', 'a:1')
    t.advance(3_000)
    t.emit('serverHeartbeatStarted', 'b:2')
    t.advance(7_000)
    expect(t.watchdog.stuck()).toEqual({ address: 'a:1', pendingMs: 10_000 })
    t.watchdog.watch(new EventEmitter() as unknown as HeartbeatSource)
    expect(t.watchdog.stuck()).toBeUndefined()
    // The replaced client's events no longer count.
    t.emit('serverHeartbeatStarted', 'a:1')
    t.advance(60_000)
    expect(t.watchdog.stuck()).toBeUndefined()
    expect(t.client.listenerCount('serverHeartbeatStarted')).toBe(0)
  })
})
