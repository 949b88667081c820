/**
 * Pipeline page: systems of record → topics → projections → single views as a graph, each node with
 * its live numbers (rate, lag, freshness p99, paused), and the details of the selected node.
 * @module
 */
import { useMemo } from 'preact/hooks'
import { Graph, type GraphNodeView } from '../components/graph.tsx'
import { Empty, ErrorBox, Loading } from '../components/state.tsx'
import { formatCount, formatMs, formatRate, formatTime } from '../format.ts'
import { pipelineGraph } from '../graph-model.ts'
import { usePipeline } from '../pipeline-context.tsx'
import { href, navigate, type Route } from '../router.ts'
import { statusPollMs, useLiveStatus, type LiveStatus } from '../status.tsx'
import type { PipelineDescription } from '../types.ts'

export function PipelinePage ({ route }: { route: Route }) {
  const pipeline = usePipeline()
  const live = useLiveStatus()
  const selected = route.query.get('node') ?? ''
  const graph = useMemo(() => pipeline.data === undefined ? undefined : pipelineGraph(pipeline.data), [pipeline.data])

  if (pipeline.error !== undefined) return <ErrorBox what='the pipeline description (GET /-/pipeline)' error={pipeline.error} onRetry={pipeline.reload} />
  if (pipeline.data === undefined || graph === undefined) return <Loading what='the pipeline' />
  const p = pipeline.data
  if (p.projections.length === 0) return <Empty>This pipeline defines no projections: add some to the configuration (docs/configuration.md).</Empty>

  const views = nodeViews(p, live, selected)
  const select = (id: string): void => navigate(href(['pipeline'], { node: id === selected ? undefined : id }))
  return (
    <section class='page' data-testid='page-pipeline'>
      <header class='page-head'>
        <h1>Pipeline <span class='muted'>{p.system}</span></h1>
        <Summary live={live} />
      </header>
      {live.error === undefined ? null : <ErrorBox what='the live status (GET /-/status)' error={live.error} />}
      <div class='legend muted'>
        <span>Rates are per second between two status polls ({statusPollMs / 1000} s apart). Click a node for details.</span>
      </div>
      <Graph layout={graph.layout} views={views} onSelect={select} label='Pipeline graph: systems of record, topics, projections and single views' testId='pipeline-graph' />
      {selected === '' ? null : <Details id={selected} pipeline={p} live={live} />}
    </section>
  )
}

function Summary ({ live }: { live: LiveStatus }) {
  const s = live.status
  if (s === undefined) return null
  const sum = (rates: Record<string, number>): number | undefined => Object.keys(rates).length === 0 ? undefined : Object.values(rates).reduce((a, b) => a + b, 0)
  const consumed = sum(live.projectionRates)
  const written = sum(live.viewRates)
  const deadLettered = Object.values(s.projections).reduce((a, p) => a + p.deadLettered, 0)
  return (
    <dl class='summary'>
      <div><dt>state</dt><dd><span class={`badge ${s.ready ? 'ok' : 'bad'}`}>{s.ready ? 'consuming' : 'not ready'}</span></dd></div>
      <div><dt>in</dt><dd data-testid='rate-in'>{formatRate(consumed)}</dd></div>
      <div><dt>views written</dt><dd>{formatRate(written)}</dd></div>
      <div><dt>dead letters</dt><dd>{deadLettered > 0 ? <a href={href(['errors'])}>{formatCount(deadLettered)}</a> : '0'}</dd></div>
      <div><dt>engines</dt><dd>{s.store} store · {s.eventLog} log</dd></div>
      {s.workers === undefined ? null : <div><dt>workers</dt><dd>{s.workers.length}</dd></div>}
      <div><dt>since</dt><dd>{formatTime(s.startedAt)}</dd></div>
    </dl>
  )
}

function nodeViews (p: PipelineDescription, live: LiveStatus, selected: string): Map<string, GraphNodeView> {
  const s = live.status
  const out = new Map<string, GraphNodeView>()
  const mark = (id: string, classes: string[]): string[] => id === selected ? [...classes, 'selected'] : classes
  for (const sys of p.systems) {
    out.set(`sys:${sys.name}`, { kind: 'system of record', title: sys.name, lines: [`${sys.projections.length} projection${sys.projections.length === 1 ? '' : 's'}`], classes: mark(`sys:${sys.name}`, ['system']) })
  }
  for (const t of p.topics) {
    const lag = Math.max(0, ...t.projections.map(name => s?.projections[name]?.lag ?? 0))
    out.set(`topic:${t.name}`, { kind: 'topic', title: t.name, lines: [s === undefined ? 'lag –' : `lag ${formatCount(lag)}`], classes: mark(`topic:${t.name}`, ['topic', ...(lag > 1000 ? ['warn'] : [])]) })
  }
  for (const pr of p.projections) {
    const c = s?.projections[pr.name]
    const paused = c?.paused === true
    out.set(`pr:${pr.name}`, {
      kind: paused ? 'projection · paused' : 'projection',
      title: pr.name,
      lines: c === undefined
        ? ['–']
        : [`${formatRate(live.projectionRates[pr.name])} · lag ${formatCount(c.lag)}`, `${formatCount(c.applied)} applied · ${formatCount(c.deadLettered)} dead`],
      classes: mark(`pr:${pr.name}`, ['projection', ...(paused ? ['paused'] : []), ...(c !== undefined && c.deadLettered > 0 ? ['warn'] : [])])
    })
  }
  for (const v of p.singleViews) {
    const c = s?.singleViews[v.name]
    const paused = c?.paused === true
    out.set(`sv:${v.name}`, {
      kind: paused ? 'single view · paused' : 'single view',
      title: v.name,
      lines: c === undefined
        ? ['–']
        : [`${formatRate(live.viewRates[v.name])} · queued ${formatCount(c.queued)}`, `freshness p99 ${formatMs(c.freshnessP99Ms)}`],
      classes: mark(`sv:${v.name}`, ['view', ...(paused ? ['paused'] : []), ...(c !== undefined && c.failed > 0 ? ['warn'] : [])])
    })
  }
  return out
}

function Details ({ id, pipeline, live }: { id: string, pipeline: PipelineDescription, live: LiveStatus }) {
  const [kind, ...rest] = id.split(':')
  const name = rest.join(':')
  const s = live.status
  if (kind === 'sys') {
    const sys = pipeline.systems.find(x => x.name === name)
    if (sys === undefined) return null
    return (
      <aside class='details' data-testid='node-details'>
        <h2>System of record <code>{name}</code></h2>
        <p>Feeds {sys.projections.map((pr, i) => <span key={pr}>{i > 0 ? ', ' : ''}<a href={href(['projections', pr])}>{pr}</a></span>)}.</p>
      </aside>
    )
  }
  if (kind === 'topic') {
    const topic = pipeline.topics.find(x => x.name === name)
    if (topic === undefined) return null
    return (
      <aside class='details' data-testid='node-details'>
        <h2>Topic <code>{name}</code></h2>
        <dl class='kv'>
          <dt>consumed by</dt><dd>{topic.projections.map((pr, i) => <span key={pr}>{i > 0 ? ', ' : ''}<a href={href(['projections', pr])}>{pr}</a></span>)}</dd>
          <dt>lag</dt><dd>{formatCount(Math.max(0, ...topic.projections.map(pr => s?.projections[pr]?.lag ?? 0)))} records</dd>
          <dt>ingest</dt><dd><code>POST /ingest/{name}</code></dd>
        </dl>
      </aside>
    )
  }
  if (kind === 'pr') {
    const pr = pipeline.projections.find(x => x.name === name)
    const c = s?.projections[name]
    if (pr === undefined) return null
    return (
      <aside class='details' data-testid='node-details'>
        <h2>Projection <code>{name}</code> {c?.paused === true ? <span class='badge warn'>paused</span> : null}</h2>
        <dl class='kv'>
          <dt>topic</dt><dd><code>{pr.topic}</code> ({pr.format})</dd>
          <dt>key</dt><dd>{pr.key.join(', ')}</dd>
          <dt>rate</dt><dd>{formatRate(live.projectionRates[name])}</dd>
          {c === undefined ? null : <>
            <dt>lag</dt><dd>{formatCount(c.lag)}</dd>
            <dt>consumed</dt><dd>{formatCount(c.consumed)}</dd>
            <dt>applied</dt><dd>{formatCount(c.applied)}</dd>
            <dt>stale · duplicates</dt><dd>{formatCount(c.stale)} · {formatCount(c.duplicates)}</dd>
            <dt>dead-lettered</dt><dd>{c.deadLettered > 0 ? <a href={href(['errors'])}>{formatCount(c.deadLettered)}</a> : '0'}</dd>
          </>}
        </dl>
        <p class='actions'><a class='button' href={href(['projections', name])}>Browse documents</a> <a class='button' href={href(['control'])}>Pause / resume</a></p>
      </aside>
    )
  }
  if (kind === 'sv') {
    const v = pipeline.singleViews.find(x => x.name === name)
    const c = s?.singleViews[name]
    if (v === undefined) return null
    return (
      <aside class='details' data-testid='node-details'>
        <h2>Single view <code>{name}</code> {c?.paused === true ? <span class='badge warn'>paused</span> : null}</h2>
        <dl class='kv'>
          <dt>key</dt><dd>{Object.keys(v.key).join(', ')}</dd>
          <dt>base</dt><dd>{v.baseProjection}</dd>
          <dt>reads</dt><dd>{v.reads.join(', ')}</dd>
          <dt>written/s</dt><dd>{formatRate(live.viewRates[name])}</dd>
          {c === undefined ? null : <>
            <dt>queued</dt><dd>{formatCount(c.queued)}</dd>
            <dt>freshness</dt><dd>p50 {formatMs(c.freshnessP50Ms)} · p99 {formatMs(c.freshnessP99Ms)} · last {formatMs(c.lastFreshnessMs)}</dd>
            <dt>written · unchanged · deleted</dt><dd>{formatCount(c.written)} · {formatCount(c.unchanged)} · {formatCount(c.deleted)}</dd>
            <dt>patched</dt><dd>{formatCount(c.patched)}</dd>
            <dt>failed builds</dt><dd>{c.failed > 0 ? <a href={href(['errors'], { tab: 'sv-errors' })}>{formatCount(c.failed)}</a> : '0'}</dd>
          </>}
        </dl>
        <p class='actions'><a class='button' href={href(['views', name])}>Browse views</a> <a class='button' href={href(['control'])}>Pause, rebuild, verify</a></p>
      </aside>
    )
  }
  return null
}
