/**
 * Projections: the list with their live counters; one projection's documents (search and pages),
 * its field mapping, and the unmapped / uncastable field report; one document.
 * @module
 */
import { seg, withQuery } from '../api.ts'
import { CollectionBrowser } from '../components/browser.tsx'
import { JsonTree } from '../components/json-tree.tsx'
import { Empty, ErrorBox, Loading } from '../components/state.tsx'
import { formatCount, formatRate, formatTime } from '../format.ts'
import { useJson } from '../hooks.ts'
import { usePipeline } from '../pipeline-context.tsx'
import { href, type Route } from '../router.ts'
import { useLiveStatus } from '../status.tsx'
import type { Doc, ProjectionDescription, UnmappedField } from '../types.ts'

export function ProjectionsPage ({ route }: { route: Route }) {
  const pipeline = usePipeline()
  const [, name, sub, id] = route.path
  if (pipeline.error !== undefined) return <ErrorBox what='the pipeline description' error={pipeline.error} onRetry={pipeline.reload} />
  if (pipeline.data === undefined) return <Loading what='projections' />
  const list = pipeline.data.projections
  if (list.length === 0) return <Empty>This pipeline defines no projections.</Empty>
  if (name === undefined) return <ProjectionList projections={list} />
  const def = list.find(p => p.name === name)
  if (def === undefined) return <Empty>There is no projection “{name}”. <a href={href(['projections'])}>See all projections</a>.</Empty>
  if (sub === 'doc' && id !== undefined) return <ProjectionDocument def={def} id={id} />
  return <ProjectionDetail def={def} route={route} />
}

function ProjectionList ({ projections }: { projections: ProjectionDescription[] }) {
  const live = useLiveStatus()
  return (
    <section class='page' data-testid='page-projections'>
      <h1>Projections</h1>
      <div class='table-frame'>
        <table>
          <thead><tr><th>projection</th><th>topic</th><th>format</th><th>key</th><th>in/s</th><th>lag</th><th>applied</th><th>dead letters</th></tr></thead>
          <tbody>
            {projections.map(p => {
              const c = live.status?.projections[p.name]
              return (
                <tr key={p.name}>
                  <td><a href={href(['projections', p.name])}>{p.name}</a> {c?.paused === true ? <span class='badge warn'>paused</span> : null}</td>
                  <td><code>{p.topic}</code></td>
                  <td>{p.format}</td>
                  <td>{p.key.join(', ')}</td>
                  <td>{formatRate(live.projectionRates[p.name])}</td>
                  <td>{formatCount(c?.lag)}</td>
                  <td>{formatCount(c?.applied)}</td>
                  <td>{c !== undefined && c.deadLettered > 0 ? <a href={href(['errors'])}>{formatCount(c.deadLettered)}</a> : formatCount(c?.deadLettered)}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </section>
  )
}

function ProjectionDetail ({ def, route }: { def: ProjectionDescription, route: Route }) {
  const c = useLiveStatus().status?.projections[def.name]
  return (
    <section class='page' data-testid='page-projection'>
      <header class='page-head'>
        <h1><a href={href(['projections'])}>Projections</a> / <code>{def.name}</code> {c?.paused === true ? <span class='badge warn'>paused</span> : null}</h1>
        <p class='muted'>From <code>{def.topic}</code> ({def.format}) · key {def.key.join(', ')} · {def.softDelete ? 'soft' : 'hard'} delete{c === undefined ? '' : ` · ${formatCount(c.applied)} applied, lag ${formatCount(c.lag)}`}</p>
      </header>
      <h2>Documents</h2>
      <CollectionBrowser api='projections' page='projections' name={def.name} keyFields={def.key} route={route} />
      <div class='split even'>
        <div>
          <h2>Field mapping</h2>
          <div class='table-frame'>
            <table data-testid='mapping'>
              <thead><tr><th>source field</th><th>projection field</th><th>cast</th></tr></thead>
              <tbody>{def.fields.map(f => <tr key={f.source}><td><code>{f.source}</code></td><td><code>{f.target}</code>{def.key.includes(f.target) ? <span class='badge neutral'>key</span> : null}</td><td>{f.cast}</td></tr>)}</tbody>
            </table>
          </div>
        </div>
        <UnmappedReport projection={def.name} />
      </div>
    </section>
  )
}

function UnmappedReport ({ projection }: { projection: string }) {
  const report = useJson<UnmappedField[]>(withQuery('/-/unmapped-fields', { projection }), 5000)
  return (
    <div data-testid='unmapped'>
      <h2>Unmapped and uncastable fields</h2>
      {report.error !== undefined
        ? <ErrorBox what='the unmapped-field report' error={report.error} onRetry={report.reload} />
        : report.data === undefined
          ? <Loading what='the report' />
          : report.data.length === 0
            ? <Empty>Every source field seen so far is mapped and cast.</Empty>
            : <div class='table-frame'>
              <table>
                <thead><tr><th>field</th><th>problem</th><th>messages</th><th>first seen</th><th>last seen</th></tr></thead>
                <tbody>
                  {report.data.map(u => (
                    <tr key={`${u.type}|${u.field}`}>
                      <td><code>{u.field}</code></td>
                      <td>{u.type === 'UNKNOWN_FIELD' ? <span class='badge neutral'>not in the mapping</span> : <span class='badge warn'>cast failed</span>}</td>
                      <td>{formatCount(u.count)}</td>
                      <td>{formatTime(u.firstSeenAt)}</td>
                      <td>{formatTime(u.lastSeenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>}
    </div>
  )
}

function ProjectionDocument ({ def, id }: { def: ProjectionDescription, id: string }) {
  const path = `/projections/${seg(def.name)}/${seg(id)}`
  // Deleted records too: lineage links to them.
  const doc = useJson<Doc>(withQuery(path, { _st: 'PUBLIC,DELETED' }))
  return (
    <section class='page' data-testid='page-projection-document'>
      <header class='page-head'>
        <h1><a href={href(['projections'])}>Projections</a> / <a href={href(['projections', def.name])}>{def.name}</a> / <code>{id}</code></h1>
      </header>
      {doc.error !== undefined
        ? doc.error.status === 404 ? <Empty>There is no {def.name} record with id <code>{id}</code>.</Empty> : <ErrorBox what='the record' error={doc.error} onRetry={doc.reload} />
        : doc.data === undefined ? <Loading what='the record' /> : <JsonTree value={doc.data} openDepth={3} />}
    </section>
  )
}
