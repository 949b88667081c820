/**
 * Server-Sent Events over `fetch`, so that the request carries the `Authorization` header
 * (`EventSource` cannot send headers): `openEventStream` connects, reads, reconnects with
 * `Last-Event-ID` and reports its state.
 * @module
 */
import { ApiError, apiFetch, errorOf, isAbort } from './api.ts'
import { SseParser, type SseEvent } from './sse-parser.ts'

export type { SseEvent } from './sse-parser.ts'

export type StreamState =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'error', message: string, retrying: boolean }
  | { state: 'closed' }

export interface StreamHandlers {
  onEvent: (event: SseEvent) => void
  onState?: (state: StreamState) => void
}

/** Milliseconds before reconnecting after the stream ended or failed. */
const reconnectMs = 1000

/**
 * Follows an SSE endpoint until the returned function is called. Reconnects after a failure or the
 * end of the stream, resuming after the last event id; gives up on a 4xx other than 401 (the query
 * is wrong, retrying would not help).
 */
export function openEventStream (path: string, handlers: StreamHandlers): () => void {
  const controller = new AbortController()
  const parser = new SseParser()
  let closed = false
  const state = (s: StreamState): void => {
    if (!closed) handlers.onState?.(s)
  }

  const run = async (): Promise<void> => {
    while (!closed) {
      state({ state: 'connecting' })
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' }
        if (parser.lastEventId !== '') headers['last-event-id'] = parser.lastEventId
        const res = await apiFetch(path, { headers, signal: controller.signal, cache: 'no-store' })
        if (!res.ok) {
          const err = await errorOf(res, path)
          const retrying = res.status >= 500
          state({ state: 'error', message: err.message, retrying })
          if (!retrying) return
        } else if (res.body === null) {
          state({ state: 'error', message: 'the response has no body', retrying: true })
        } else {
          state({ state: 'open' })
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            for (const event of parser.feed(value)) if (!closed) handlers.onEvent(event)
          }
          state({ state: 'error', message: 'the stream ended', retrying: true })
        }
      } catch (err) {
        if (closed || isAbort(err)) return
        if (err instanceof ApiError && err.status === 401) {
          state({ state: 'error', message: err.message, retrying: false })
          return
        }
        state({ state: 'error', message: err instanceof Error ? err.message : String(err), retrying: true })
      }
      await new Promise(resolve => setTimeout(resolve, reconnectMs))
    }
  }
  void run()

  return () => {
    if (closed) return
    handlers.onState?.({ state: 'closed' })
    closed = true
    controller.abort()
  }
}
