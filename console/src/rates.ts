/**
 * Rates per second from two samples of `/-/status` counters. Pure: no DOM.
 * @module
 */
import type { ServiceStatus } from './types.ts'

/** One `/-/status` answer and when it arrived (ms, monotonic). */
export interface Sample { at: number, status: ServiceStatus }

/**
 * Rates between two samples of the counters; a name has no rate until it has two samples (the page
 * shows `–` rather than a made-up 0). A counter that went down (braid restarted) counts from 0.
 */
export function ratesBetween (previous: Sample | undefined, current: Sample): { projections: Record<string, number>, views: Record<string, number> } {
  const projections: Record<string, number> = {}
  const views: Record<string, number> = {}
  const seconds = previous === undefined ? 0 : (current.at - previous.at) / 1000
  if (seconds <= 0) return { projections, views }
  const delta = (now: number, before: number): number => (now >= before ? now - before : now) / seconds
  for (const [name, p] of Object.entries(current.status.projections)) {
    const before = previous?.status.projections[name]
    if (before !== undefined) projections[name] = delta(p.consumed, before.consumed)
  }
  for (const [name, v] of Object.entries(current.status.singleViews)) {
    const before = previous?.status.singleViews[name]
    if (before !== undefined) views[name] = delta(v.written, before.written)
  }
  return { projections, views }
}
