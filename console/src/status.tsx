/**
 * The live status every page shares: `/-/status` polled every two seconds, with rates (per second)
 * computed from the counters' change between two polls.
 * @module
 */
import { createContext, type ComponentChildren } from 'preact'
import { useContext, useEffect, useState } from 'preact/hooks'
import { ApiError, getJson } from './api.ts'
import { ratesBetween, type Sample } from './rates.ts'
import type { ServiceStatus } from './types.ts'

export interface LiveStatus {
  status: ServiceStatus | undefined
  error: ApiError | undefined
  /** Messages consumed per second, per projection. */
  projectionRates: Record<string, number>
  /** Views written per second, per view. */
  viewRates: Record<string, number>
  /** Polls now (after an action). */
  refresh: () => void
}

export const statusPollMs = 2000

const StatusContext = createContext<LiveStatus>({ status: undefined, error: undefined, projectionRates: {}, viewRates: {}, refresh: () => {} })

export function useLiveStatus (): LiveStatus {
  return useContext(StatusContext)
}

export function StatusProvider ({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<{ sample?: Sample, error?: ApiError, rates: ReturnType<typeof ratesBetween> }>({ rates: { projections: {}, views: {} } })
  const [tick, setTick] = useState(0)

  useEffect(() => {
    let timer: number | undefined
    let stopped = false
    const poll = (): void => {
      getJson<ServiceStatus>('/-/status').then(status => {
        if (stopped) return
        const sample = { at: performance.now(), status }
        setState(s => ({ sample, rates: ratesBetween(s.sample, sample) }))
      }, (err: unknown) => {
        if (stopped) return
        setState(s => ({ ...s, error: err instanceof ApiError ? err : new ApiError(0, String(err), '/-/status') }))
      }).finally(() => {
        if (!stopped) timer = window.setTimeout(poll, statusPollMs)
      })
    }
    poll()
    return () => {
      stopped = true
      window.clearTimeout(timer)
    }
  }, [tick])

  const value: LiveStatus = {
    status: state.sample?.status,
    error: state.error,
    projectionRates: state.rates.projections,
    viewRates: state.rates.views,
    refresh: () => setTick(t => t + 1)
  }
  return <StatusContext.Provider value={value}>{children}</StatusContext.Provider>
}
