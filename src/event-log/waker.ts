/**
 * A sleep that ends early on `wake()`; a wake while nobody sleeps makes the next sleep return at once.
 * The embedded and the Kafka subscriptions wait for records and back off with it.
 * @module
 */
export class Waker {
  #resolve: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #pending = false

  async sleep (ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false
      return
    }
    await new Promise<void>(resolve => {
      this.#resolve = resolve
      this.#timer = setTimeout(() => this.#fire(), ms)
    })
  }

  wake (): void {
    if (this.#resolve === undefined) this.#pending = true
    else this.#fire()
  }

  #fire (): void {
    clearTimeout(this.#timer)
    const resolve = this.#resolve
    this.#resolve = undefined
    this.#pending = false
    resolve?.()
  }
}
