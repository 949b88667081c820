/**
 * Live change feeds of a single view (`GET /single-views/{name}/changes`, SSE over fetch): a hook
 * that follows the stream, and the connection badge.
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { openEventStream, type StreamState } from '../sse.ts'
import type { SvUpdate } from '../types.ts'

export interface LiveEvent extends SvUpdate {
  /** Arrival time, epoch ms. */
  receivedAt: number
  eventId: string
}

/** Follows `path` (null: nothing) and calls `onUpdate` per sv-update; returns the connection state. */
export function useChangeStream (path: string | null, onUpdate: (event: LiveEvent) => void): StreamState {
  const [state, setState] = useState<StreamState>({ state: 'connecting' })
  const handler = useRef(onUpdate)
  handler.current = onUpdate
  useEffect(() => {
    if (path === null) return
    return openEventStream(path, {
      onEvent: e => {
        if (e.event !== 'sv-update') return
        try {
          const update = JSON.parse(e.data) as SvUpdate
          handler.current({ ...update, receivedAt: Date.now(), eventId: e.id })
        } catch {}
      },
      onState: setState
    })
  }, [path])
  return state
}

export function LiveBadge ({ state }: { state: StreamState }) {
  const text = state.state === 'open'
    ? 'live'
    : state.state === 'connecting' ? 'connecting…' : state.state === 'closed' ? 'closed' : `offline: ${state.message}${state.retrying ? ' (retrying)' : ''}`
  const kind = state.state === 'open' ? 'ok' : state.state === 'connecting' ? 'neutral' : 'bad'
  return <span class={`badge live ${kind}`} data-testid='live' data-state={state.state} title='Live change feed (Server-Sent Events)'>{text}</span>
}
