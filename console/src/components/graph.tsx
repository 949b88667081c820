/**
 * An SVG drawing of a laid-out graph (see ../layout.ts): boxes with a title and a few lines, curved
 * edges with arrow heads and optional labels. Nodes are buttons (keyboard and click) when `onSelect`
 * is given. The drawing keeps its natural size and scrolls inside its frame on narrow screens.
 * @module
 */
import { fieldHeight, headerHeight, lineHeight } from '../graph-model.ts'
import type { Layout } from '../layout.ts'

export interface GraphNodeView {
  title: string
  /** A short kind label above the title (`topic`, `projection`…). */
  kind: string
  lines: string[]
  /** CSS modifier classes: `paused`, `warn`, `bad`, `selected`, the kind… */
  classes?: string[]
  /** Extra lines drawn smaller (ER fields). */
  fields?: Array<{ name: string, tag?: string }>
}

interface Props {
  layout: Layout
  views: Map<string, GraphNodeView>
  edgeLabels?: Map<number, string>
  onSelect?: (id: string) => void
  label: string
  testId?: string
  /** Arrow heads on edges (default true; an ER diagram has none). */
  arrows?: boolean
}


export function Graph ({ layout, views, edgeLabels, onSelect, label, testId, arrows = true }: Props) {
  return (
    <div class='graph-frame'>
      <svg class='graph' width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role='img' aria-label={label} data-testid={testId}>
        <defs>
          <marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' orient='auto-start-reverse'>
            <path d='M 0 0 L 10 5 L 0 10 z' class='arrow-head' />
          </marker>
        </defs>
        {layout.edges.map((e, i) => (
          <g key={`${e.from}->${e.to}-${i}`} class='edge'>
            <path d={e.path} {...(arrows ? { 'marker-end': 'url(#arrow)' } : {})} />
            {edgeLabels?.get(i) === undefined ? null : <text x={e.labelX} y={e.labelY - 4} class='edge-label' text-anchor='middle'>{edgeLabels.get(i)}</text>}
          </g>
        ))}
        {[...layout.nodes.values()].map(n => {
          const view = views.get(n.id)
          if (view === undefined) return null
          const classes = ['node', ...(view.classes ?? [])].join(' ')
          const interactive = onSelect !== undefined
          return (
            <g
              key={n.id}
              class={classes}
              transform={`translate(${n.x} ${n.y})`}
              data-node={n.id}
              {...(interactive ? { role: 'button', tabIndex: 0, 'aria-label': `${view.kind} ${view.title}` } : {})}
              onClick={interactive ? () => onSelect(n.id) : undefined}
              onKeyDown={interactive ? (ev: KeyboardEvent) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onSelect(n.id) } } : undefined}
            >
              <rect width={n.width} height={n.height} rx='6' />
              <text x='10' y='14' class='node-kind'>{view.kind}</text>
              <text x='10' y='30' class='node-title'>{clip(view.title, Math.floor((n.width - 20) / 7.5))}</text>
              {view.lines.map((line, i) => <text key={i} x='10' y={headerHeight + 10 + i * lineHeight} class='node-line'>{clip(line, Math.floor((n.width - 20) / 6.5))}</text>)}
              {(view.fields ?? []).map((f, i) => (
                <text key={`f${i}`} x='10' y={headerHeight + 8 + view.lines.length * lineHeight + i * fieldHeight} class='node-field'>
                  {f.tag === undefined ? null : <tspan class='field-tag'>{f.tag} </tspan>}{clip(f.name, Math.floor((n.width - 40) / 6.5))}
                </text>
              ))}
            </g>
          )
        })}
      </svg>
    </div>
  )
}

function clip (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text
}
