/**
 * A collapsible JSON view: objects and arrays as `<details>` (open to `openDepth`), scalars coloured
 * by type. Internal bookkeeping fields (`__internal__*`) are left out unless asked for.
 * @module
 */

interface Props {
  value: unknown
  /** Levels open at first (default 2). */
  openDepth?: number
  showInternal?: boolean
}

export function JsonTree ({ value, openDepth = 2, showInternal = false }: Props) {
  return <div class='json' data-testid='json'><Node value={value} depth={0} openDepth={openDepth} showInternal={showInternal} /></div>
}

function Node ({ name, value, depth, openDepth, showInternal }: { name?: string, value: unknown, depth: number, openDepth: number, showInternal: boolean }) {
  const label = name === undefined ? null : <span class='json-key'>{name}: </span>
  if (value !== null && typeof value === 'object') {
    const isArray = Array.isArray(value)
    const entries = isArray ? (value as unknown[]).map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>).filter(([k]) => showInternal || !k.startsWith('__internal__'))
    const summary = isArray ? `[${entries.length}]` : `{${entries.length}}`
    if (entries.length === 0) return <div class='json-line'>{label}<span class='json-punct'>{isArray ? '[]' : '{}'}</span></div>
    return (
      <details open={depth < openDepth} class='json-node'>
        <summary>{label}<span class='json-punct'>{summary}</span></summary>
        <div class='json-children'>
          {entries.map(([k, v]) => <Node key={k} name={k} value={v} depth={depth + 1} openDepth={openDepth} showInternal={showInternal} />)}
        </div>
      </details>
    )
  }
  return <div class='json-line'>{label}<Scalar value={value} /></div>
}

function Scalar ({ value }: { value: unknown }) {
  if (value === null) return <span class='json-null'>null</span>
  if (typeof value === 'string') return <span class='json-string'>"{value}"</span>
  if (typeof value === 'number') return <span class='json-number'>{String(value)}</span>
  if (typeof value === 'boolean') return <span class='json-bool'>{String(value)}</span>
  return <span>{String(value)}</span>
}
