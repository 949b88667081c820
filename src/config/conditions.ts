/**
 * ER conditions at configuration time, read with the engine's own condition compiler so that what
 * validates is exactly what runs: whether a condition compiles, and which fields it looks up.
 * @module
 */
import type { ErEdge } from '../model/single-view.ts'
import { compileCondition, queriedFields } from '../single-view/conditions.ts'

export interface ConditionFields {
  /** Fields of the target collection looked up by aggregation (forward). */
  target: string[]
  /** Fields of the source collection looked up by strategies (inverse). */
  source: string[]
}

/** The fields an edge's condition looks up, or why the condition cannot be evaluated. */
export function readCondition (edge: ErEdge): ConditionFields | { problem: string } {
  try {
    const compiled = compileCondition(edge.condition, edge.name)
    return { target: queriedFields(compiled.forward), source: queriedFields(compiled.inverse) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const prefix = `ER condition ${edge.name}: `
    return { problem: message.startsWith(prefix) ? message.slice(prefix.length) : message }
  }
}

/** The fields an edge's condition looks up; none when it does not compile (reported elsewhere). */
export function conditionFields (edge: ErEdge): ConditionFields {
  const read = readCondition(edge)
  return 'problem' in read ? { target: [], source: [] } : read
}
