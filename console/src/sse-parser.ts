/**
 * The text/event-stream parser of the HTML standard (fields `event`, `data`, `id`; comments and
 * unknown fields ignored; CR, LF or CR LF line ends, also split across chunks). Pure: no DOM.
 * @module
 */

export interface SseEvent {
  /** `message` when the stream names none. */
  event: string
  data: string
  /** The last event id seen so far (carried over from earlier events). */
  id: string
}

/** Incremental parser: feed it text chunks as they arrive, get back the complete events. */
export class SseParser {
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id = ''
  #sawCr = false

  /** The last event id seen. */
  get lastEventId (): string {
    return this.#id
  }

  feed (chunk: string): SseEvent[] {
    const out: SseEvent[] = []
    let text = chunk
    // A CR LF split across chunks: the LF belongs to the CR already handled.
    if (this.#sawCr && text.startsWith('\n')) text = text.slice(1)
    this.#sawCr = false
    this.#buffer += text
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer)
      if (match === null) break
      // A lone CR at the very end may be the first half of CR LF.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) {
        this.#sawCr = true
      }
      const line = this.#buffer.slice(0, match.index)
      this.#buffer = this.#buffer.slice(match.index + match[0].length)
      const event = this.#line(line)
      if (event !== null) out.push(event)
    }
    return out
  }

  #line (line: string): SseEvent | null {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = ''
        return null
      }
      const event: SseEvent = { event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n'), id: this.#id }
      this.#event = ''
      this.#data = []
      return event
    }
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.#id = value
    return null
  }
}
