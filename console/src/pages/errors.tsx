/**
 * Errors: dead-lettered messages (could not be decoded or cast) and sv-errors (views that failed to
 * build), with their reason codes; replay, retry or dismiss each one.
 * @module
 */
import { useState } from 'preact/hooks'
import { ApiError, postJson, seg, withQuery } from '../api.ts'
import { JsonTree } from '../components/json-tree.tsx'
import { Empty, ErrorBox, Loading, Notice } from '../components/state.tsx'
import { formatTime, inlineJson } from '../format.ts'
import { useJson } from '../hooks.ts'
import { href, navigate, type Route } from '../router.ts'
import { useLiveStatus } from '../status.tsx'
import type { DeadLetter, SvError } from '../types.ts'

const pollMs = 3000
const limit = 100

export function ErrorsPage ({ route }: { route: Route }) {
  const tab = route.query.get('tab') === 'sv-errors' ? 'sv-errors' : 'dead-letters'
  return (
    <section class='page' data-testid='page-errors'>
      <h1>Errors</h1>
      <div class='tabs' role='tablist'>
        <a role='tab' aria-selected={tab === 'dead-letters'} class={tab === 'dead-letters' ? 'active' : ''} href={href(['errors'])}>Dead letters</a>
        <a role='tab' aria-selected={tab === 'sv-errors'} class={tab === 'sv-errors' ? 'active' : ''} href={href(['errors'], { tab: 'sv-errors' })}>View build errors</a>
      </div>
      {tab === 'dead-letters' ? <DeadLetters route={route} /> : <SvErrors />}
    </section>
  )
}

type Outcome = { kind: 'ok' | 'bad', text: string } | null

/** Runs an action on one item and reports the outcome. */
function useAction (after: () => void): { busy: string | null, outcome: Outcome, run: (id: string, label: string, path: string) => void, clear: () => void } {
  const [busy, setBusy] = useState<string | null>(null)
  const [outcome, setOutcome] = useState<Outcome>(null)
  const live = useLiveStatus()
  const run = (id: string, label: string, path: string): void => {
    setBusy(id)
    setOutcome(null)
    postJson(path).then(() => {
      setOutcome({ kind: 'ok', text: `${label}: done.` })
    }, (err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(0, String(err), path)
      const hint = e.status === 404 && e.message === 'not found' ? ' (this braid may not support it yet, or the item is gone)' : ''
      setOutcome({ kind: 'bad', text: `${label} failed: ${e.status > 0 ? `${e.status} ` : ''}${e.message}${hint}` })
    }).finally(() => {
      setBusy(null)
      after()
      live.refresh()
    })
  }
  return { busy, outcome, run, clear: () => setOutcome(null) }
}

function parsed (text: string | null): unknown {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function DeadLetters ({ route }: { route: Route }) {
  const status = route.query.get('status') ?? 'pending'
  const list = useJson<DeadLetter[]>(withQuery('/-/dead-letters', { status: status === 'all' ? undefined : status, _l: limit }), pollMs)
  const action = useAction(list.reload)
  const [open, setOpen] = useState<string | null>(null)
  return (
    <div data-testid='dead-letters'>
      <p class='muted'>Messages that could not be decoded or cast. The pipeline went on without them; replay one after fixing its cause (the configuration, or the source).</p>
      <label class='inline'>
        Status{' '}
        <select value={status} onChange={ev => navigate(href(['errors'], { status: (ev.target as HTMLSelectElement).value }))}>
          {['pending', 'replayed', 'dismissed', 'all'].map(s => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      {action.outcome === null ? null : <Notice kind={action.outcome.kind} onClose={action.clear}>{action.outcome.text}</Notice>}
      {list.error !== undefined
        ? <ErrorBox what='dead letters' error={list.error} onRetry={list.reload} />
        : list.data === undefined
          ? <Loading what='dead letters' />
          : list.data.length === 0
            ? <Empty>No {status === 'all' ? '' : `${status} `}dead letters: every message was decoded and cast.</Empty>
            : <div class='table-frame'>
              <table data-testid='dead-letter-table'>
                <thead><tr><th>when</th><th>projection</th><th>position</th><th>code</th><th>reason</th><th>status</th><th>actions</th></tr></thead>
                <tbody>
                  {list.data.map(d => [
                    <tr key={d._id} data-id={d._id}>
                      <td>{formatTime(d.at)}</td>
                      <td><a href={href(['projections', d.projection])}>{d.projection}</a></td>
                      <td><code>{d.topic} [{d.partition}] @ {d.offset}</code></td>
                      <td><span class='badge bad'>{d.code}</span></td>
                      <td class='reason'>{d.reason}</td>
                      <td>{d.status}</td>
                      <td class='actions'>
                        <button type='button' onClick={() => setOpen(open === d._id ? null : d._id)} aria-expanded={open === d._id}>{open === d._id ? 'Hide' : 'Message'}</button>
                        {d.status === 'pending' ? <>
                          <button type='button' disabled={action.busy === d._id} onClick={() => action.run(d._id, 'Replay', `/-/dead-letters/${seg(d._id)}/replay`)}>Replay</button>
                          <button type='button' disabled={action.busy === d._id} onClick={() => action.run(d._id, 'Dismiss', `/-/dead-letters/${seg(d._id)}/dismiss`)}>Dismiss</button>
                        </> : null}
                      </td>
                    </tr>,
                    open === d._id
                      ? <tr key={`${d._id}-detail`} class='detail'><td colSpan={7}><JsonTree value={{ key: parsed(d.key), value: parsed(d.value), timestamp: d.timestamp, headers: d.headers, details: d.details }} openDepth={1} /></td></tr>
                      : null
                  ])}
                </tbody>
              </table>
            </div>}
    </div>
  )
}

function SvErrors () {
  const list = useJson<SvError[]>(withQuery('/-/sv-errors', { _l: limit }), pollMs)
  const action = useAction(list.reload)
  return (
    <div data-testid='sv-errors'>
      <p class='muted'>Views that failed to build. braid retries them with backoff (1 s doubling to 5 min); retry one now after fixing its cause, or dismiss it.</p>
      {action.outcome === null ? null : <Notice kind={action.outcome.kind} onClose={action.clear}>{action.outcome.text}</Notice>}
      {list.error !== undefined
        ? <ErrorBox what='view build errors' error={list.error} onRetry={list.reload} />
        : list.data === undefined
          ? <Loading what='view build errors' />
          : list.data.length === 0
            ? <Empty>No view build errors: every view built.</Empty>
            : <div class='table-frame'>
              <table data-testid='sv-error-table'>
                <thead><tr><th>updated</th><th>view</th><th>identifier</th><th>code</th><th>message</th><th>attempts</th><th>actions</th></tr></thead>
                <tbody>
                  {list.data.map(e => (
                    <tr key={e._id}>
                      <td>{formatTime(e.updatedAt)}</td>
                      <td><a href={href(['views', e.type])}>{e.type}</a></td>
                      <td><code>{inlineJson(e.identifier, 60)}</code></td>
                      <td><span class='badge bad'>{e.errorType}</span> <span class='muted'>{e.resolutionMethod}</span></td>
                      <td class='reason'>{e.errorMessage}</td>
                      <td>{e.attempts}</td>
                      <td class='actions'>
                        <button type='button' disabled={action.busy === e._id} onClick={() => action.run(e._id, 'Retry', `/-/sv-errors/${seg(e._id)}/retry`)}>Retry</button>
                        <button type='button' disabled={action.busy === e._id} onClick={() => action.run(e._id, 'Dismiss', `/-/sv-errors/${seg(e._id)}/dismiss`)}>Dismiss</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>}
    </div>
  )
}
