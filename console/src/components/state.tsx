/**
 * Loading, error and empty states, shown the same way on every page.
 * @module
 */
import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api.ts'

export function Loading ({ what }: { what: string }) {
  return <p class='state loading' role='status'>Loading {what}…</p>
}

/** An API error: what failed, braid's message and code, and a retry button when given. */
export function ErrorBox ({ error, what, onRetry }: { error: ApiError | Error, what: string, onRetry?: () => void }) {
  const api = 'status' in error ? error as ApiError : undefined
  let hint = ''
  if (api?.status === 0) hint = 'Check that braid is running and reachable from this browser.'
  else if (api?.status === 401) hint = 'This braid requires a token: reload the page to enter one.'
  else if (api?.status === 403) hint = 'The token does not grant this operation (the control operations need the admin scope).'
  else if (api?.status === 404 && api.message === 'not found') hint = 'This braid does not have it: it may be older than this console, or the item was removed.'
  return (
    <div class='state error' role='alert' data-testid='error'>
      <strong>Could not load {what}</strong>
      <p>
        {api !== undefined && api.status > 0 ? <span class='badge bad'>{api.status}{api.code === undefined ? '' : ` ${api.code}`}</span> : null} {error.message}
      </p>
      {hint === '' ? null : <p class='muted'>{hint}</p>}
      {onRetry === undefined ? null : <button type='button' onClick={onRetry}>Retry</button>}
    </div>
  )
}

export function Empty ({ children }: { children: ComponentChildren }) {
  return <div class='state empty' data-testid='empty'>{children}</div>
}

/** An inline notice after an action (success or failure). */
export function Notice ({ kind, children, onClose }: { kind: 'ok' | 'bad', children: ComponentChildren, onClose?: () => void }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'bad' ? 'alert' : 'status'}>
      <span>{children}</span>
      {onClose === undefined ? null : <button type='button' class='link' aria-label='Dismiss' onClick={onClose}>×</button>}
    </div>
  )
}
