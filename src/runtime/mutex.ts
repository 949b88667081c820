/**
 * A FIFO async mutex. The projection stage holds it for a whole batch: the views a change affects are
 * computed from committed projections, and no other batch may commit in between (see ingestion.ts).
 * @module
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail
    let release!: () => void
    this.#tail = new Promise<void>(resolve => { release = resolve })
    await previous
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
