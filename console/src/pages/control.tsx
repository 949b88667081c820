/**
 * Control: pause and resume each projection and view, rebuild a view with a live progress bar, run
 * verify and show the differences between the stored views and a fresh recomputation.
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, postJson, seg } from '../api.ts'
import { JsonTree } from '../components/json-tree.tsx'
import { Empty, ErrorBox, Loading, Notice } from '../components/state.tsx'
import { formatCount, formatTime, inlineJson } from '../format.ts'
import { useJson } from '../hooks.ts'
import { usePipeline } from '../pipeline-context.tsx'
import { href } from '../router.ts'
import { useLiveStatus } from '../status.tsx'
import type { ControlState, Difference, Job, PoisonInfo } from '../types.ts'

export function ControlPage () {
  const pipeline = usePipeline()
  const control = useJson<ControlState>('/-/control', 3000)
  const [jobsFast, setJobsFast] = useState(false)
  const jobs = useJson<Job[]>('/-/jobs', jobsFast ? 500 : 3000)
  const running = (jobs.data ?? []).some(j => j.state === 'running')
  useEffect(() => { setJobsFast(running) }, [running])
  const [busy, setBusy] = useState<string | null>(null)
  const [outcome, setOutcome] = useState<{ kind: 'ok' | 'bad', text: string } | null>(null)
  const live = useLiveStatus()

  const act = (id: string, label: string, path: string): void => {
    setBusy(id)
    setOutcome(null)
    postJson<unknown>(path).then(() => {
      setOutcome({ kind: 'ok', text: `${label}: accepted.` })
    }, (err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(0, String(err), path)
      setOutcome({ kind: 'bad', text: `${label} failed: ${e.status > 0 ? `${e.status} ` : ''}${e.message}` })
    }).finally(() => {
      setBusy(null)
      control.reload()
      jobs.reload()
      live.refresh()
    })
  }

  if (control.error !== undefined && control.data === undefined) {
    if (control.error.status === 404) {
      return (
        <section class='page' data-testid='page-control'>
          <h1>Control</h1>
          <Empty>This braid does not offer the control API (pause, resume, rebuild, verify: <code>GET /-/control</code> answered 404). Use <code>braid rebuild</code> and <code>braid verify</code> from the command line.</Empty>
        </section>
      )
    }
    return <ErrorBox what='the control state (GET /-/control)' error={control.error} onRetry={control.reload} />
  }
  if (control.data === undefined || pipeline.data === undefined) return <Loading what='the control state' />
  const state = control.data
  return (
    <section class='page' data-testid='page-control'>
      <h1>Control</h1>
      {outcome === null ? null : <Notice kind={outcome.kind} onClose={() => setOutcome(null)}>{outcome.text}</Notice>}
      {control.error === undefined ? null : <ErrorBox what='the latest control state' error={control.error} />}
      <div class='split even'>
        <div>
          <h2>Projections</h2>
          <p class='muted'>A paused projection stops consuming its topic; messages wait in the log (lag grows) and nothing is lost.</p>
          <div class='table-frame'>
            <table data-testid='control-projections'>
              <thead><tr><th>projection</th><th>state</th><th>lag</th><th>actions</th></tr></thead>
              <tbody>
                {pipeline.data.projections.map(p => {
                  const entry = state.projections[p.name]
                  const paused = entry?.paused === true
                  const id = `pr:${p.name}`
                  return (
                    <tr key={p.name} data-name={p.name}>
                      <td><a href={href(['projections', p.name])}>{p.name}</a></td>
                      <td><PausedBadge paused={paused} since={entry?.since} />{entry?.pausedWith === undefined ? null : <div class='muted'>with {entry.pausedWith.join(', ')} (same topic)</div>}{entry?.poison === undefined ? null : <PoisonNote poison={entry.poison} />}</td>
                      <td>{formatCount(live.status?.projections[p.name]?.lag)}</td>
                      <td class='actions'>
                        <button type='button' disabled={busy === id} onClick={() => act(id, `${paused ? 'Resume' : 'Pause'} ${p.name}`, `/-/projections/${seg(p.name)}/${paused ? 'resume' : 'pause'}`)}>{paused ? 'Resume' : 'Pause'}</button>
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        </div>
        <div>
          <h2>Single views</h2>
          <p class='muted'>A paused view is not rebuilt; its changes queue up (coalesced per key) and are built on resume.</p>
          <div class='table-frame'>
            <table data-testid='control-views'>
              <thead><tr><th>view</th><th>state</th><th>queued</th><th>actions</th></tr></thead>
              <tbody>
                {pipeline.data.singleViews.map(v => {
                  const entry = state.singleViews[v.name]
                  const paused = entry?.paused === true
                  const id = `sv:${v.name}`
                  const base = `/-/single-views/${seg(v.name)}`
                  return (
                    <tr key={v.name} data-name={v.name}>
                      <td><a href={href(['views', v.name])}>{v.name}</a></td>
                      <td><PausedBadge paused={paused} since={entry?.since} /></td>
                      <td>{formatCount(live.status?.singleViews[v.name]?.queued)}</td>
                      <td class='actions'>
                        <button type='button' disabled={busy === id} onClick={() => act(id, `${paused ? 'Resume' : 'Pause'} ${v.name}`, `${base}/${paused ? 'resume' : 'pause'}`)}>{paused ? 'Resume' : 'Pause'}</button>
                        <button type='button' disabled={busy === id} onClick={() => act(id, `Rebuild ${v.name}`, `${base}/rebuild`)}>Rebuild</button>
                        <button type='button' disabled={busy === id} onClick={() => act(id, `Verify ${v.name}`, `${base}/verify`)}>Verify</button>
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        </div>
      </div>
      <h2>Jobs</h2>
      {jobs.error !== undefined && jobs.data === undefined
        ? <ErrorBox what='jobs (GET /-/jobs)' error={jobs.error} onRetry={jobs.reload} />
        : jobs.data === undefined
          ? <Loading what='jobs' />
          : jobs.data.length === 0
            ? <Empty>No rebuild or verify has run since braid started.</Empty>
            : <ol class='jobs' data-testid='jobs'>{jobs.data.map(j => <JobCard key={j.id} job={j} />)}</ol>}
    </section>
  )
}

function PausedBadge ({ paused, since }: { paused: boolean, since?: string | undefined }) {
  return <span class={`badge ${paused ? 'warn' : 'ok'}`} data-testid='paused-state' title={since === undefined ? undefined : `since ${formatTime(since)}`}>{paused ? 'paused' : 'running'}</span>
}

/** A projection halted on a message it cannot process: where, and why; resuming dead-letters it. */
function PoisonNote ({ poison }: { poison: PoisonInfo }) {
  return (
    <div class='field-error' data-testid='poison'>
      Stopped on <code>{poison.topic} [{poison.partition}] @ {poison.offset}</code>: <span class='badge bad'>{poison.code}</span> {poison.reason}. Resume to dead-letter it and go on.
    </div>
  )
}

function JobCard ({ job }: { job: Job }) {
  const total = job.total ?? undefined
  const percent = total === undefined || total === 0 ? undefined : Math.round(100 * Math.min(job.done, total) / total)
  const r = job.result
  return (
    <li class={`job ${job.state}`} data-job={job.id} data-kind={job.kind} data-state={job.state}>
      <div class='job-head'>
        <strong>{job.kind === 'rebuild' ? 'Rebuild' : 'Verify'} {job.view}</strong>
        <span class={`badge ${job.state === 'succeeded' ? 'ok' : job.state === 'failed' ? 'bad' : 'neutral'}`}>{job.state}</span>
        <span class='muted'>started {formatTime(job.startedAt)}{job.finishedAt === undefined ? '' : `, finished ${formatTime(job.finishedAt)}`}</span>
      </div>
      <div class='progress-row'>
        <progress max={total ?? 1} value={total === undefined ? undefined : Math.min(job.done, total)} aria-label={`${job.kind} progress`} />
        <span class='muted'>{formatCount(job.done)}{total === undefined ? '' : ` / ${formatCount(total)}`}{percent === undefined ? '' : ` (${percent}%)`}</span>
      </div>
      {job.waiting === undefined ? null : <p class='muted' data-testid='job-waiting'>Waiting: {job.waiting}</p>}
      {job.error === undefined ? null : <p class='field-error'>{typeof job.error === 'string' ? job.error : `${job.error.code}: ${job.error.message}`}</p>}
      {r === undefined ? null : job.kind === 'rebuild' ? <p data-testid='job-result'>{countsText(r)}</p> : <VerifyResult job={job} />}
    </li>
  )
}

/** `52 enqueued, 0 failed.` from the numeric fields of a result. */
function countsText (result: Record<string, unknown>): string {
  const parts = Object.entries(result).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${formatCount(v as number)} ${k}`)
  return parts.length === 0 ? 'Done.' : `${parts.join(', ')}.`
}

const differenceKinds: Record<string, string> = {
  missing: 'missing: the projections make a view that is not stored',
  unexpected: 'unexpected: a view is stored that the projections no longer make',
  different: 'different'
}

function differenceText (d: Difference): string {
  const kind = d.kind === undefined ? 'difference' : differenceKinds[d.kind] ?? d.kind
  return d.paths === undefined || d.paths.length === 0 ? kind : `${kind} in ${d.paths.join(', ')}`
}

function VerifyResult ({ job }: { job: Job }) {
  const r = job.result ?? {}
  const differences = r.differences ?? []
  const total = r.differencesTotal ?? differences.length
  return (
    <div data-testid='job-result'>
      <p>{formatCount(r.checked)} views checked: {total === 0 ? <span class='badge ok'>no differences</span> : <span class='badge warn'>{formatCount(total)} difference{total === 1 ? '' : 's'}{total > differences.length ? ` (first ${differences.length} shown)` : ''}</span>}</p>
      {differences.length === 0 ? null : (
        <div class='table-frame'>
          <table data-testid='differences'>
            <thead><tr><th>identifier</th><th>reason</th><th>stored</th><th>expected</th></tr></thead>
            <tbody>
              {differences.map((d, i) => (
                <tr key={i}>
                  <td><code>{inlineJson(d.identifier ?? d.key, 60)}</code></td>
                  <td>{d.reason ?? differenceText(d)}</td>
                  <td>{d.stored === undefined || d.stored === null ? '–' : <JsonTree value={d.stored} openDepth={0} />}</td>
                  <td>{d.expected === undefined || d.expected === null ? '–' : <JsonTree value={d.expected} openDepth={0} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
