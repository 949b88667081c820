/**
 * Data hooks: one JSON resource, with reload and optional polling.
 * @module
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, getJson, isAbort } from './api.ts'

export interface Resource<T> {
  data: T | undefined
  error: ApiError | undefined
  loading: boolean
  /** Fetches again now. */
  reload: () => void
}

/**
 * GETs `path` (null: nothing to fetch) and again every `pollMs` when given. A poll that fails keeps
 * the last data and shows the error; the next success clears it.
 */
export function useJson<T> (path: string | null, pollMs?: number): Resource<T> {
  const [state, setState] = useState<{ path: string | null, data: T | undefined, error: ApiError | undefined, loading: boolean }>({ path, data: undefined, error: undefined, loading: path !== null })
  const [tick, setTick] = useState(0)
  const reload = useCallback(() => setTick(t => t + 1), [])

  useEffect(() => {
    if (path === null) {
      setState({ path, data: undefined, error: undefined, loading: false })
      return
    }
    const controller = new AbortController()
    let timer: number | undefined
    // A new path starts empty; a reload or a poll keeps showing the current data.
    setState(s => s.path === path ? { ...s, loading: true } : { path, data: undefined, error: undefined, loading: true })
    const load = (): void => {
      getJson<T>(path, controller.signal).then(data => {
        setState({ path, data, error: undefined, loading: false })
      }, (err: unknown) => {
        if (isAbort(err)) return
        const error = err instanceof ApiError ? err : new ApiError(0, err instanceof Error ? err.message : String(err), path)
        setState(s => ({ path, data: s.path === path ? s.data : undefined, error, loading: false }))
      }).finally(() => {
        if (pollMs !== undefined && !controller.signal.aborted) timer = window.setTimeout(load, pollMs)
      })
    }
    load()
    return () => {
      controller.abort()
      window.clearTimeout(timer)
    }
  }, [path, pollMs, tick])

  const current = state.path === path ? state : { data: undefined, error: undefined, loading: path !== null }
  return { data: current.data, error: current.error, loading: current.loading, reload }
}
