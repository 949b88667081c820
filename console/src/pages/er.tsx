/**
 * ER schema: the relationship graph between projections (and chained views) as a diagram — one box
 * per node with its fields (key and join fields marked), one line per related pair with its
 * cardinality — and the relations as a table.
 * @module
 */
import { useMemo } from 'preact/hooks'
import { Graph, type GraphNodeView } from '../components/graph.tsx'
import { Empty, ErrorBox, Loading } from '../components/state.tsx'
import { conditionText, fieldHeight, headerHeight, joinFields, pairsOf } from '../graph-model.ts'
import { bfsLayers, layeredLayout, type Layout } from '../layout.ts'
import { usePipeline } from '../pipeline-context.tsx'
import { href } from '../router.ts'
import type { PipelineDescription } from '../types.ts'

const maxFields = 12
const boxWidth = 200

function erDiagram (p: PipelineDescription): { layout: Layout, views: Map<string, GraphNodeView>, labels: Map<number, string> } | null {
  const pairs = pairsOf(p.relations)
  const ids = [...new Set([...p.projections.map(x => x.name), ...pairs.flatMap(x => [x.a, x.b])])]
  if (ids.length === 0) return null
  const joins = joinFields(p.relations)
  const edges = pairs.map(x => ({ from: x.a, to: x.b }))
  const roots = p.singleViews.map(v => v.baseProjection)
  const layers = bfsLayers(ids, edges, roots)
  const views = new Map<string, GraphNodeView>()
  const nodes = ids.map(id => {
    const pr = p.projections.find(x => x.name === id)
    const sv = p.singleViews.find(x => x.name === id)
    const keys = new Set(pr?.key ?? Object.keys(sv?.key ?? {}))
    const all = pr?.fields.map(f => f.target) ?? sv?.blocks[0]?.fields.map(f => f.name) ?? []
    const shown = all.slice(0, maxFields).map(name => ({ name, ...(keys.has(name) ? { tag: 'key' } : joins.get(id)?.has(name) === true ? { tag: 'join' } : {}) }))
    if (all.length > maxFields) shown.push({ name: `+${all.length - maxFields} more` })
    views.set(id, { kind: sv === undefined ? 'projection' : 'single view', title: id, lines: [], fields: shown, classes: [sv === undefined ? 'projection' : 'view'] })
    return { id, layer: layers.get(id) ?? 0, width: boxWidth, height: headerHeight + 4 + shown.length * fieldHeight }
  })
  const layout = layeredLayout(nodes, edges, { layerGap: 110 })
  // Edge labels by index into layout.edges (same order as `edges`, all known).
  const labels = new Map<number, string>()
  layout.edges.forEach((e, i) => {
    const pair = pairs.find(x => x.a === e.from && x.b === e.to)
    if (pair === undefined) return
    // Read left to right, whichever end is drawn on the left.
    const aLeft = (layout.nodes.get(pair.a)?.x ?? 0) <= (layout.nodes.get(pair.b)?.x ?? 0)
    labels.set(i, aLeft ? `${pair.atA} : ${pair.atB}` : `${pair.atB} : ${pair.atA}`)
  })
  return { layout, views, labels }
}

export function ErPage () {
  const pipeline = usePipeline()
  const diagram = useMemo(() => pipeline.data === undefined ? undefined : erDiagram(pipeline.data), [pipeline.data])
  if (pipeline.error !== undefined) return <ErrorBox what='the pipeline description' error={pipeline.error} onRetry={pipeline.reload} />
  if (pipeline.data === undefined || diagram === undefined) return <Loading what='the ER schema' />
  const p = pipeline.data
  const pairs = pairsOf(p.relations)
  return (
    <section class='page' data-testid='page-er'>
      <h1>ER schema</h1>
      {diagram === null || p.relations.length === 0
        ? <Empty>This pipeline declares no relations: every view is built from its base projection alone.</Empty>
        : <>
          <p class='muted'>Boxes are projections (and views read by other views); lines join related records, with how many of each side match (1 or N). Fields marked <em>key</em> are primary keys, <em>join</em> fields appear in a relation.</p>
          <Graph layout={diagram.layout} views={diagram.views} edgeLabels={diagram.labels} label='ER diagram of the projections and their relations' testId='er-graph' arrows={false} />
          <h2>Relations</h2>
          <div class='table-frame'>
            <table data-testid='relations'>
              <thead><tr><th>relation</th><th>between</th><th>cardinality</th><th>condition</th></tr></thead>
              <tbody>
                {pairs.map(x => {
                  const r = p.relations.find(y => y.name === x.names[0]) ?? p.relations.find(y => (y.from === x.a && y.to === x.b) || (y.from === x.b && y.to === x.a))
                  return (
                    <tr key={`${x.a}|${x.b}`}>
                      <td>{x.names.join(', ')}</td>
                      <td><a href={href(['projections', x.a])}>{x.a}</a> — <a href={href(['projections', x.b])}>{x.b}</a></td>
                      <td>{x.a} {x.atA} : {x.atB} {x.b}</td>
                      <td><code>{r === undefined ? '' : conditionText(r)}</code></td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        </>}
    </section>
  )
}
