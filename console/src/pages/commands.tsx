/**
 * Commands, the write stream: each command with its target and the target's circuit breaker, the
 * recent commands (filtered by status), the dead letters (failed commands) with Retry and its
 * outcome, and one command's page: payload, result, last error and waitFor progress.
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, postJson, seg, withQuery } from '../api.ts'
import { JsonTree } from '../components/json-tree.tsx'
import { Empty, ErrorBox, Loading, Notice } from '../components/state.tsx'
import { formatAge, formatCount, formatTime } from '../format.ts'
import { useJson } from '../hooks.ts'
import { href, navigate, type Route } from '../router.ts'
import type { CircuitSnapshot, CircuitState, CommandError, CommandStatus, CommandsOverview, CommandView, FailureKind, WaitStage } from '../types.ts'

const pollMs = 3000
/** A command that is not settled yet is followed more closely. */
const followMs = 1000
const limit = 50
const statuses: readonly CommandStatus[] = ['pending', 'running', 'succeeded', 'failed']
const stages: readonly WaitStage[] = ['committed', 'captured', 'projected', 'reached']

const stageText: Record<WaitStage, string> = {
  committed: 'committed in the target',
  captured: 'captured by CDC',
  projected: 'in the projections',
  reached: 'in the view'
}

const kindText: Record<FailureKind, string> = {
  unavailable: 'the target could not be reached (the command waits for it; not counted against maxAttempts)',
  retryable: 'the attempt failed in a way worth retrying (retried with backoff)',
  rejected: 'the target refused the command (failed at once)'
}

export function CommandsPage ({ route }: { route: Route }) {
  const overview = useJson<CommandsOverview>('/-/commands', pollMs)
  const [, id] = route.path
  if (overview.error?.status === 404 && overview.data === undefined) return <NotConfigured />
  // A command's page needs only GET /commands/{id} (the scope command:<name> is enough).
  if (id !== undefined) return <CommandPage id={id} overview={overview.data} onChange={overview.reload} />
  if (overview.error !== undefined && overview.data === undefined) {
    return (
      <section class='page' data-testid='page-commands'>
        <h1>Commands</h1>
        <ErrorBox what='the write stream (GET /-/commands)' error={overview.error} onRetry={overview.reload} />
      </section>
    )
  }
  if (overview.data === undefined) return <Loading what='the commands' />
  return <CommandsOverviewPage overview={overview.data} error={overview.error} route={route} onChange={overview.reload} />
}

function NotConfigured () {
  return (
    <section class='page' data-testid='page-commands'>
      <h1>Commands</h1>
      <Empty>
        This pipeline has no <code>commands:</code> section, so braid accepts no commands (<code>GET /-/commands</code> answered 404).
        Add one to <code>braid.yaml</code> to send changes back to the systems of record: see <code>docs/commands.md</code>.
      </Empty>
    </section>
  )
}

function CommandsOverviewPage ({ overview, error, route, onChange }: { overview: CommandsOverview, error: ApiError | undefined, route: Route, onChange: () => void }) {
  const tab = route.query.get('tab') === 'dead-letters' ? 'dead-letters' : 'recent'
  const [open, setOpen] = useState<string | null>(null)
  const failed = overview.counts.failed
  return (
    <section class='page' data-testid='page-commands'>
      <h1>Commands</h1>
      <p class='muted'>Changes sent back to the systems of record, queued on <code>{overview.topic}</code>, executed with retries and a circuit breaker per target.</p>
      {error === undefined ? null : <ErrorBox what='the latest write-stream state' error={error} />}
      <dl class='summary' data-testid='command-counts'>
        {statuses.map(s => <div key={s} data-status={s}><dt>{s === 'failed' ? 'failed (dead letters)' : s}</dt><dd>{formatCount(overview.counts[s])}</dd></div>)}
        <div><dt>queue lag</dt><dd>{formatCount(overview.lag)}</dd></div>
      </dl>
      <h2>Definitions</h2>
      {overview.definitions.length === 0
        ? <Empty>The <code>commands:</code> section defines no command.</Empty>
        : <div class='table-frame'>
          <table data-testid='command-definitions'>
            <thead><tr><th>command</th><th>target</th><th>executor</th><th>key</th><th>circuit</th><th>actions</th></tr></thead>
            <tbody>
              {overview.definitions.map(d => {
                const target = overview.targets[d.target]
                return [
                  <tr key={d.name} data-name={d.name}>
                    <td><a href={href(['commands'], { name: d.name })}>{d.name}</a><div class='muted'><code>POST {d.url}</code></div></td>
                    <td>{d.target} <span class='muted'>({target?.kind ?? '?'})</span></td>
                    <td>{d.executor}</td>
                    <td>{d.key.length === 0 ? <span class='muted'>none (not ordered)</span> : d.key.join(', ')}</td>
                    <td data-testid='circuit'>{target === undefined ? '–' : <Circuit snapshot={target.circuit} />}</td>
                    <td class='actions'><button type='button' onClick={() => setOpen(open === d.name ? null : d.name)} aria-expanded={open === d.name}>{open === d.name ? 'Hide' : 'Schema'}</button></td>
                  </tr>,
                  open === d.name
                    ? <tr key={`${d.name}-schema`} class='detail'><td colSpan={6}><JsonTree value={d.payload} openDepth={2} /></td></tr>
                    : null
                ]
              })}
            </tbody>
          </table>
        </div>}
      <div class='tabs' role='tablist'>
        <a role='tab' aria-selected={tab === 'recent'} class={tab === 'recent' ? 'active' : ''} href={href(['commands'])}>Recent</a>
        <a role='tab' aria-selected={tab === 'dead-letters'} class={tab === 'dead-letters' ? 'active' : ''} href={href(['commands'], { tab: 'dead-letters' })}>Dead letters{failed > 0 ? ` (${formatCount(failed)})` : ''}</a>
      </div>
      {tab === 'recent' ? <RecentCommands route={route} /> : <DeadLetters onChange={onChange} />}
    </section>
  )
}

function Circuit ({ snapshot }: { snapshot: CircuitSnapshot }) {
  return (
    <span data-state={snapshot.state}>
      <CircuitBadge state={snapshot.state} />
      {snapshot.consecutiveFailures > 0 ? <span class='muted'> {snapshot.consecutiveFailures} failure{snapshot.consecutiveFailures === 1 ? '' : 's'} in a row</span> : null}
      {snapshot.retryAt === undefined ? null : <div class='muted'>next probe {formatTime(snapshot.retryAt)}</div>}
    </span>
  )
}

function CircuitBadge ({ state }: { state: CircuitState }) {
  return <span class={`badge ${state === 'closed' ? 'ok' : state === 'open' ? 'bad' : 'warn'}`} title='The target’s circuit breaker'>{state}</span>
}

function StatusBadge ({ command }: { command: CommandView }) {
  const kind = command.status === 'succeeded' ? 'ok' : command.status === 'failed' ? 'bad' : command.waiting === undefined ? 'neutral' : 'warn'
  const waiting = command.waiting === 'circuit-open' ? 'waiting: circuit open' : command.waiting === 'backoff' ? 'backing off' : undefined
  return <span class={`badge ${kind}`} data-testid='command-status' data-status={command.status}>{command.status}{waiting === undefined ? '' : ` (${waiting})`}</span>
}

function ErrorCell ({ error }: { error: CommandError | undefined }) {
  if (error === undefined) return <span class='muted'>–</span>
  return <><span class='badge bad' title={kindText[error.kind]}>{error.code}</span> {error.message}</>
}

function Attempts ({ command }: { command: CommandView }) {
  return <>{command.attempts}{command.retries === undefined ? null : <span class='muted'> · retried {command.retries}×</span>}</>
}

function RecentCommands ({ route }: { route: Route }) {
  const status = route.query.get('status') ?? 'all'
  const name = route.query.get('name') ?? undefined
  const list = useJson<CommandView[]>(withQuery('/commands', { status: status === 'all' ? undefined : status, name, _l: limit }), pollMs)
  const filter = (next: { status?: string, name?: string | undefined }): void => {
    const s = next.status ?? status
    navigate(href(['commands'], { status: s === 'all' ? undefined : s, name: 'name' in next ? next.name : name }))
  }
  return (
    <div data-testid='recent-commands'>
      <label class='inline'>
        Status{' '}
        <select name='status' value={status} onChange={ev => filter({ status: (ev.target as HTMLSelectElement).value })}>
          {['all', ...statuses].map(s => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      {name === undefined ? null : <span class='filter'> command <code>{name}</code> <button type='button' class='link' onClick={() => filter({ name: undefined })}>show all commands</button></span>}
      {list.error !== undefined
        ? <ErrorBox what='the commands (GET /commands)' error={list.error} onRetry={list.reload} />
        : list.data === undefined
          ? <Loading what='the commands' />
          : list.data.length === 0
            ? <Empty>No {status === 'all' ? '' : `${status} `}commands{name === undefined ? '' : ` named ${name}`} yet.</Empty>
            : <div class='table-frame'>
              <table data-testid='command-table'>
                <thead><tr><th>sent</th><th>command</th><th>target</th><th>status</th><th>attempts</th><th>error</th></tr></thead>
                <tbody>
                  {list.data.map(c => (
                    <tr key={c.id} data-id={c.id}>
                      <td title={formatTime(c.createdAt)}>{formatAge(c.createdAt)}</td>
                      <td><a href={href(['commands', c.id])}>{c.name}</a></td>
                      <td>{c.target}{c.circuit === 'closed' ? null : <> <CircuitBadge state={c.circuit} /></>}</td>
                      <td><StatusBadge command={c} /></td>
                      <td><Attempts command={c} /></td>
                      <td class='reason'><ErrorCell error={c.error} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>}
      {list.data !== undefined && list.data.length === limit ? <p class='muted'>The {limit} newest shown.</p> : null}
    </div>
  )
}

/** Sends a failed command again; the outcome follows the command until it has run. */
/** A command sent again: `from` is its retries count before, so the run before it is told apart. */
interface Retried {
  id: string
  name: string
  from: number
}

/** True when `command` is the run started by `retried` or a later one (a reload right after Retry can still return the run before). */
function isNewRun (command: CommandView, retried: Retried | null): boolean {
  return retried === null || retried.id !== command.id || (command.retries ?? 0) > retried.from
}

function useRetry (after: () => void): { busy: string | null, retried: Retried | null, failure: string | null, retry: (command: CommandView) => void, clear: () => void } {
  const [busy, setBusy] = useState<string | null>(null)
  const [retried, setRetried] = useState<Retried | null>(null)
  const [failure, setFailure] = useState<string | null>(null)
  const retry = (command: CommandView): void => {
    const path = `/-/commands/${seg(command.id)}/retry`
    setBusy(command.id)
    setRetried(null)
    setFailure(null)
    postJson<CommandView>(path).then(() => {
      setRetried({ id: command.id, name: command.name, from: command.retries ?? 0 })
    }, (err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(0, String(err), path)
      setFailure(`Retry of ${command.name} failed: ${e.status > 0 ? `${e.status} ` : ''}${e.message}`)
    }).finally(() => {
      setBusy(null)
      after()
    })
  }
  return { busy, retried, failure, retry, clear: () => { setRetried(null); setFailure(null) } }
}

/** What became of a retried command: queued, running, then succeeded or failed again. */
function RetryOutcome ({ retried, onClose }: { retried: Retried, onClose: () => void }) {
  const { id, name } = retried
  const [follow, setFollow] = useState(true)
  const command = useJson<CommandView>(`/commands/${seg(id)}`, follow ? followMs : undefined)
  const c = command.data !== undefined && isNewRun(command.data, retried) ? command.data : undefined
  useEffect(() => { if (c !== undefined) setFollow(c.status !== 'succeeded' && c.status !== 'failed') }, [c])
  const link = <a href={href(['commands', id])}>{name}</a>
  let text
  if (c === undefined) text = <>Retry of {link}: queued again.</>
  else if (c.status === 'succeeded') text = <>Retry of {link}: succeeded{c.attempts > 1 ? ` after ${c.attempts} attempts` : ''}.</>
  else if (c.status === 'failed') text = <>Retry of {link}: failed again — {c.error === undefined ? 'no error recorded' : `${c.error.code}: ${c.error.message}`}</>
  else text = <>Retry of {link}: queued again, now {c.status}{c.attempts > 0 ? ` (attempt ${c.attempts})` : ''}…</>
  return <div data-testid='retry-outcome' data-status={c?.status ?? 'queued'}><Notice kind={c?.status === 'failed' ? 'bad' : 'ok'} onClose={onClose}>{text}</Notice></div>
}

function DeadLetters ({ onChange }: { onChange: () => void }) {
  const list = useJson<CommandView[]>(withQuery('/-/commands/dead-letters', { _l: limit }), pollMs)
  const action = useRetry(() => {
    list.reload()
    onChange()
  })
  return (
    <div data-testid='command-dead-letters'>
      <p class='muted'>Failed commands: rejected by their target, or out of attempts. Each keeps its payload and last error; retry it once the cause is fixed (a new run, attempts from zero).</p>
      {action.failure === null ? null : <Notice kind='bad' onClose={action.clear}>{action.failure}</Notice>}
      {action.retried === null ? null : <RetryOutcome key={action.retried.id} retried={action.retried} onClose={action.clear} />}
      {list.error !== undefined
        ? <ErrorBox what='the dead letters (GET /-/commands/dead-letters)' error={list.error} onRetry={list.reload} />
        : list.data === undefined
          ? <Loading what='the dead letters' />
          : list.data.length === 0
            ? <Empty>No dead letters: no command has failed.</Empty>
            : <div class='table-frame'>
              <table data-testid='dead-letter-commands'>
                <thead><tr><th>failed</th><th>command</th><th>target</th><th>attempts</th><th>error</th><th>actions</th></tr></thead>
                <tbody>
                  {list.data.map(c => (
                    <tr key={c.id} data-id={c.id}>
                      <td title={formatTime(c.finishedAt)}>{formatAge(c.finishedAt ?? c.updatedAt)}</td>
                      <td><a href={href(['commands', c.id])}>{c.name}</a></td>
                      <td>{c.target}</td>
                      <td><Attempts command={c} /></td>
                      <td class='reason'><ErrorCell error={c.error} /></td>
                      <td class='actions'>
                        <button type='button' disabled={action.busy === c.id} onClick={() => action.retry(c)}>Retry</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>}
    </div>
  )
}

/** Settled: finished, and nothing more to learn about waitFor. */
function isSettled (c: CommandView): boolean {
  if (c.status === 'failed') return true
  if (c.status !== 'succeeded') return false
  return c.waitFor === undefined || c.waitFor.reachedView || c.waitFor.timedOut === true
}

function CommandPage ({ id, overview, onChange }: { id: string, overview: CommandsOverview | undefined, onChange: () => void }) {
  const [follow, setFollow] = useState(true)
  const command = useJson<CommandView>(`/commands/${seg(id)}`, follow ? followMs : undefined)
  const action = useRetry(() => {
    setFollow(true)
    command.reload()
    onChange()
  })
  const c = command.data
  // Until the new run shows after Retry, the page keeps following.
  useEffect(() => { if (c !== undefined && isNewRun(c, action.retried)) setFollow(!isSettled(c)) }, [c, action.retried])
  if (command.error !== undefined && c === undefined) {
    if (command.error.status === 404) return <Empty>There is no command “{id}”. <a href={href(['commands'])}>See the recent commands</a>.</Empty>
    return <ErrorBox what={`command ${id}`} error={command.error} onRetry={command.reload} />
  }
  if (c === undefined) return <Loading what='the command' />
  const circuit = overview?.targets[c.target]?.circuit
  return (
    <section class='page' data-testid='page-command'>
      <header class='page-head'>
        <h1><a href={href(['commands'])}>Commands</a> / <code>{c.name}</code> <StatusBadge command={c} /></h1>
        {c.status === 'failed' ? <button type='button' class='primary' disabled={action.busy !== null} onClick={() => action.retry(c)}>Retry</button> : null}
      </header>
      {action.failure === null ? null : <Notice kind='bad' onClose={action.clear}>{action.failure}</Notice>}
      {action.retried === null ? null : <Notice kind='ok' onClose={action.clear}>Retry: queued again as a new run. This page follows it.</Notice>}
      {command.error === undefined ? null : <ErrorBox what='the latest state of the command' error={command.error} />}
      <dl class='kv' data-testid='command-facts'>
        <dt>id</dt><dd><code>{c.id}</code></dd>
        <dt>target</dt><dd>{c.target} {circuit === undefined ? <CircuitBadge state={c.circuit} /> : <Circuit snapshot={circuit} />}</dd>
        <dt>attempts</dt><dd><Attempts command={c} /></dd>
        {c.idempotencyKey === undefined ? null : <><dt>idempotency key</dt><dd><code>{c.idempotencyKey}</code></dd></>}
        <dt>sent</dt><dd>{formatTime(c.createdAt)} <span class='muted'>({formatAge(c.createdAt)})</span></dd>
        <dt>started</dt><dd>{formatTime(c.startedAt)}</dd>
        <dt>finished</dt><dd>{formatTime(c.finishedAt)}</dd>
        {c.waiting === undefined ? null : <><dt>waiting</dt><dd>{c.waiting === 'backoff' ? `backing off until ${formatTime(c.nextAttemptAt)}` : 'the target’s circuit is open: the command waits for it (attempts are not spent)'}</dd></>}
        {c.alreadyApplied === true ? <><dt>already applied</dt><dd>the target had recorded this command id: not applied again, the stored result is shown</dd></> : null}
      </dl>
      {c.error === undefined ? null : <ErrorPanel error={c.error} succeeded={c.status === 'succeeded'} />}
      {c.waitFor === undefined ? null : <WaitFor wait={c.waitFor} />}
      <div class='split even'>
        <div>
          <h2>Payload</h2>
          <JsonTree value={c.payload} openDepth={2} />
        </div>
        <div data-testid='command-result'>
          <h2>Result</h2>
          {c.status === 'succeeded'
            ? <JsonTree value={c.result ?? null} openDepth={3} />
            : <Empty>{c.status === 'failed' ? 'No result: the command failed.' : 'No result yet.'}</Empty>}
        </div>
      </div>
    </section>
  )
}

function ErrorPanel ({ error, succeeded }: { error: CommandError, succeeded: boolean }) {
  return (
    <div class={succeeded ? 'details' : 'state error'} data-testid='command-error'>
      <strong>{succeeded ? 'Last failure before it succeeded' : 'Error'}</strong>
      <p><span class='badge bad'>{error.code}</span> {error.message}</p>
      <p class='muted'>{error.kind}: {kindText[error.kind]} · {formatTime(error.at)}</p>
    </div>
  )
}

function WaitFor ({ wait }: { wait: NonNullable<CommandView['waitFor']> }) {
  const current = stages.indexOf(wait.stage)
  return (
    <div data-testid='wait-for' data-stage={wait.stage}>
      <h2>waitFor <a href={href(['views', wait.view])}>{wait.view}</a></h2>
      <ol class='stages'>
        {stages.map((s, i) => <li key={s} class={i <= current ? 'done' : ''} aria-current={i === current ? 'step' : undefined}>{s} <span class='muted'>— {stageText[s]}</span></li>)}
      </ol>
      <p>
        {wait.reachedView
          ? <span class='badge ok'>in the view since {formatTime(wait.reachedAt)}</span>
          : wait.timedOut === true
            ? <span class='badge warn'>braid stopped watching: the change did not reach the view in time</span>
            : <span class='badge neutral'>watching…</span>}
      </p>
    </div>
  )
}
