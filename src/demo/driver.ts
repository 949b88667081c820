/**
 * Runs the retail demo inside `braid start --demo`: a snapshot on an empty store, then live traffic
 * through the same ingest path as `POST /ingest/{topic}`.
 * @module
 */
import type { Logger } from '../logger.ts'
import type { BraidService } from '../runtime/types.ts'
import { initialRetailState, RetailGenerator, type ChangeBatch, type RetailState } from './retail.ts'

const stateKey = 'demo.retail.state'

export interface DemoOptions {
  /** Change events per second (default 5). */
  rate?: number
  /** Customers in the initial snapshot (default 50). */
  customers?: number
  seed?: number
}

export interface DemoHandle {
  stop (): Promise<void>
}

export async function startRetailDemo (service: BraidService, logger: Logger, options: DemoOptions = {}): Promise<DemoHandle> {
  const stored = await service.store.getMeta(stateKey) as RetailState | undefined
  const generator = new RetailGenerator(stored ?? initialRetailState(options.seed ?? 42))
  const send = async (batches: ChangeBatch[]): Promise<void> => {
    for (const b of batches) await service.ingest(b.topic, b.messages)
  }
  const save = async (): Promise<void> => service.store.write({ meta: [{ key: stateKey, value: generator.state }] })

  if (stored === undefined) {
    await send(generator.snapshot(options.customers ?? 50))
    await save()
    logger.info({ customers: generator.state.customers.length }, 'demo: initial snapshot ingested')
  } else {
    logger.info({ customers: generator.state.customers.length }, 'demo: resuming traffic')
  }

  const intervalMs = Math.max(1, Math.round(1000 / (options.rate ?? 5)))
  let running = true
  let inFlight: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    if (!running) return
    inFlight = inFlight.then(async () => {
      // The state is saved with every tick: a restart after a crash must not reuse positions or ids.
      await send(generator.tick())
      await save()
    }).catch((err: unknown) => logger.warn({ err }, 'demo: could not ingest a change'))
  }, intervalMs)
  timer.unref()

  return {
    async stop () {
      running = false
      clearInterval(timer)
      await inFlight
      await save()
    }
  }
}
