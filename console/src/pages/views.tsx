/**
 * Single views: the list of views, a search (key box and `_q`) with a live change feed, and one
 * view's page: its document (collapsible JSON, updated live), and its lineage — the projection
 * records it was built from, with their source position and time.
 * @module
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { seg, withQuery } from '../api.ts'
import { CollectionBrowser } from '../components/browser.tsx'
import { JsonTree } from '../components/json-tree.tsx'
import { LiveBadge, useChangeStream, type LiveEvent } from '../components/live.tsx'
import { Empty, ErrorBox, Loading } from '../components/state.tsx'
import { formatCount, formatMs, formatRate, formatTime, inlineJson } from '../format.ts'
import { useJson } from '../hooks.ts'
import { usePipeline } from '../pipeline-context.tsx'
import { href, type Route } from '../router.ts'
import { useLiveStatus } from '../status.tsx'
import type { Doc, ExplainResult, LineageEntry, SingleViewDescription } from '../types.ts'

export function ViewsPage ({ route }: { route: Route }) {
  const pipeline = usePipeline()
  const [, name, sub, id] = route.path
  if (pipeline.error !== undefined) return <ErrorBox what='the pipeline description' error={pipeline.error} onRetry={pipeline.reload} />
  if (pipeline.data === undefined) return <Loading what='single views' />
  const views = pipeline.data.singleViews
  if (views.length === 0) return <Empty>This pipeline defines no single views.</Empty>
  const current = name === undefined ? (views.length === 1 ? views[0] : undefined) : views.find(v => v.name === name)
  if (name !== undefined && current === undefined) return <Empty>There is no single view “{name}”. <a href={href(['views'])}>See all views</a>.</Empty>
  if (current === undefined) return <ViewList views={views} />
  if (sub === 'doc' && id !== undefined) return <ViewDocument def={current} id={id} />
  return <ViewSearch def={current} route={route} all={views} />
}

function ViewList ({ views }: { views: SingleViewDescription[] }) {
  const live = useLiveStatus()
  return (
    <section class='page' data-testid='page-views'>
      <h1>Single views</h1>
      <div class='table-frame'>
        <table>
          <thead><tr><th>view</th><th>key</th><th>base</th><th>written/s</th><th>freshness p99</th></tr></thead>
          <tbody>
            {views.map(v => (
              <tr key={v.name}>
                <td><a href={href(['views', v.name])}>{v.name}</a></td>
                <td>{Object.keys(v.key).join(', ')}</td>
                <td>{v.baseProjection}</td>
                <td>{formatRate(live.viewRates[v.name])}</td>
                <td>{formatMs(live.status?.singleViews[v.name]?.freshnessP99Ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

const feedSize = 30

function ViewSearch ({ def, route, all }: { def: SingleViewDescription, route: Route, all: SingleViewDescription[] }) {
  const [events, setEvents] = useState<LiveEvent[]>([])
  const feed = def.updateEvents !== 'none'
  const stream = useChangeStream(feed ? `/single-views/${seg(def.name)}/changes` : null, useCallback((e: LiveEvent) => setEvents(list => [e, ...list].slice(0, feedSize)), []))
  const c = useLiveStatus().status?.singleViews[def.name]
  return (
    <section class='page' data-testid='page-views'>
      <header class='page-head'>
        <h1>
          {all.length > 1 ? <><a href={href(['views'])}>Single views</a> / </> : 'Single view '}<code>{def.name}</code>
          {c?.paused === true ? <span class='badge warn'>paused</span> : null}
        </h1>
        <p class='muted'>Key: {Object.keys(def.key).join(', ')} · built from {def.reads.join(', ')}{c === undefined ? '' : ` · ${formatCount(c.queued)} queued`}</p>
      </header>
      <div class='split'>
        <CollectionBrowser api='single-views' page='views' name={def.name} keyFields={Object.keys(def.key)} route={route} />
        <aside class='feed' aria-label='Live changes'>
          <h2>Live changes {feed ? <LiveBadge state={stream} /> : null}</h2>
          {!feed
            ? <p class='muted' data-testid='no-feed'>{def.name} publishes no change events (<code>updateEvents: none</code>), so it has no live feed.</p>
            : events.length === 0
            ? <p class='muted'>Changes to {def.name} appear here as they are written.</p>
            : <ol class='feed-list' data-testid='feed'>
              {events.map(e => {
                const id = (e.after ?? e.before)?.['_id']
                return (
                  <li key={`${e.eventId}-${e.receivedAt}`}>
                    <span class={`op op-${e.operation.type.toLowerCase()}`}>{e.operation.type}</span>{' '}
                    {id === undefined ? <code>{inlineJson(e.key, 60)}</code> : <a href={href(['views', def.name, 'doc', String(id)])}><code>{inlineJson(e.key, 60)}</code></a>}
                    <span class='muted'> {formatTime(e.operation.timestamp)}</span>
                  </li>
                )
              })}
            </ol>}
        </aside>
      </div>
    </section>
  )
}

/** The view key of a stored view (view field → value). */
function keyOf (def: SingleViewDescription, doc: Doc): Doc {
  return Object.fromEntries(Object.keys(def.key).map(f => [f, doc[f]]))
}

/** The identifier of a stored view (identifier field → value), as the lineage route takes it. */
function identifierOf (def: SingleViewDescription, doc: Doc): Doc {
  return Object.fromEntries(Object.entries(def.key).map(([viewField, idField]) => [idField, doc[viewField]]))
}

function ViewDocument ({ def, id }: { def: SingleViewDescription, id: string }) {
  const base = `/single-views/${seg(def.name)}`
  const fetched = useJson<Doc>(`${base}/${seg(id)}`)
  // `doc` is undefined after a key-only event (`updateEvents: key`): the view is read again instead.
  const [live, setLive] = useState<{ id: string, doc: Doc | null | undefined, at: number, operation: string } | null>(null)
  const [lineageTick, setLineageTick] = useState(0)
  const current = live !== null && live.id === id ? live : null
  const doc = current !== null && current.doc !== undefined ? current.doc : fetched.data ?? null
  const keyDoc = fetched.data === undefined ? null : keyOf(def, fetched.data)
  const feed = def.updateEvents !== 'none'
  const streamPath = keyDoc === null || !feed ? null : withQuery(`${base}/changes`, { key: JSON.stringify(keyDoc) })
  const reloadDocument = fetched.reload
  const stream = useChangeStream(streamPath, useCallback((e: LiveEvent) => {
    if (e.after === undefined) reloadDocument()
    setLive({ id, doc: e.after, at: e.receivedAt, operation: e.operation.type })
    setLineageTick(t => t + 1)
  }, [id, reloadDocument]))
  // Read the view again once the feed is open: a change written in between is not missed.
  useEffect(() => { if (stream.state === 'open') reloadDocument() }, [stream.state, reloadDocument])

  if (fetched.error !== undefined) {
    if (fetched.error.status === 404) return <Empty>There is no {def.name} view with id <code>{id}</code>: it may have been deleted. <a href={href(['views', def.name])}>Search the views</a>.</Empty>
    return <ErrorBox what='the view' error={fetched.error} onRetry={fetched.reload} />
  }
  if (fetched.data === undefined) return <Loading what='the view' />
  const identifier = identifierOf(def, fetched.data)
  return (
    <section class='page' data-testid='page-view-document'>
      <header class='page-head'>
        <h1><a href={href(['views', def.name])}>{def.name}</a> / <code>{inlineJson(keyDoc, 80)}</code></h1>
        <p>
          {feed ? <LiveBadge state={stream} /> : null}{' '}
          {current === null ? null : <span class='badge flash' key={current.at} data-testid='updated'>{current.operation} at {formatTime(new Date(current.at).toISOString())}</span>}
        </p>
      </header>
      <div class='split wide'>
        <div>
          <h2>Document</h2>
          {doc === null ? <Empty>This view was deleted (its base record is gone or the validator rejected it).</Empty> : <JsonTree value={doc} openDepth={2} />}
        </div>
        <Lineage view={def.name} identifier={identifier} tick={lineageTick} />
      </div>
    </section>
  )
}

function Lineage ({ view, identifier, tick }: { view: string, identifier: Doc, tick: number }) {
  const result = useJson<ExplainResult>(withQuery(`/single-views/${seg(view)}/lineage`, { identifier: JSON.stringify(identifier) }))
  const { reload } = result
  // The view changed: so may have the records it is built from.
  useEffect(() => { if (tick > 0) reload() }, [tick, reload])
  return (
    <div class='lineage' data-testid='lineage'>
      <h2>Lineage <span class='muted'>— why the view says what it says</span></h2>
      {result.error !== undefined
        ? <ErrorBox what='the lineage' error={result.error} onRetry={result.reload} />
        : result.data === undefined
          ? <Loading what='the lineage' />
          : <LineageTable result={result.data} />}
    </div>
  )
}

function LineageTable ({ result }: { result: ExplainResult }) {
  const matches = result.view !== null && result.stored !== null && Object.keys(result.view).every(k => JSON.stringify(result.view?.[k]) === JSON.stringify(result.stored?.[k]))
  return (
    <>
      <p>
        {result.view === null
          ? <span class='badge warn'>no view would be built now{result.reason === undefined ? '' : `: ${result.reason}`}</span>
          : matches ? <span class='badge ok'>stored view equals a fresh recomputation</span> : <span class='badge warn'>stored view differs from a fresh recomputation (a rebuild is queued or pending)</span>}
      </p>
      {result.lineage.length === 0
        ? <Empty>No projection record contributes to this view.</Empty>
        : <div class='table-frame'>
          <table data-testid='lineage-table'>
            <thead><tr><th>projection</th><th>dependency</th><th>record key</th><th>state</th><th>source position</th><th>updated</th></tr></thead>
            <tbody>{result.lineage.map((l, i) => <LineageRow key={i} entry={l} />)}</tbody>
          </table>
        </div>}
    </>
  )
}

function LineageRow ({ entry }: { entry: LineageEntry }) {
  const info = (entry.__internal__kafkaInfo ?? {}) as { topic?: string, partition?: number, offset?: number, timestamp?: unknown }
  const position = info.topic === undefined ? '–' : `${info.topic} [${String(info.partition)}] @ ${String(info.offset)}`
  const key = entry.key === undefined ? inlineJson(entry._id) : inlineJson(entry.key, 60)
  return (
    <tr>
      <td><a href={href(['projections', entry.projection])}>{entry.projection}</a></td>
      <td><code>{entry.dependency}</code></td>
      <td>{entry._id === undefined ? <code>{key}</code> : <a href={href(['projections', entry.projection, 'doc', String(entry._id)])}><code>{key}</code></a>}</td>
      <td>{String(entry.__STATE__ ?? '–')}</td>
      <td><code>{position}</code>{entry.__internal__counter === undefined ? null : <span class='muted'> · counter {String(entry.__internal__counter)}</span>}</td>
      <td>{formatTime(entry.updatedAt ?? info.timestamp)}</td>
    </tr>
  )
}
