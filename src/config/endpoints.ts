/**
 * `endpointBasePath`: the extra mount path of a projection's or view's read routes (the CRUD Service's
 * setting of that name). The native schema checks its form; the validator checks the rest for both
 * front doors: a URL-safe path, unique, not nested in another one, outside braid's own routes.
 * @module
 */

/** `/segment[/segment…]` with URL-safe characters; a segment does not start with a dot. */
export const endpointBasePathPattern = '^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$'

/** First path segments braid serves itself (health and operations, ingestion, default mounts, API docs). */
export const reservedPathSegments: readonly string[] = ['-', 'ingest', 'single-views', 'projections', 'documentation']

const pattern = new RegExp(endpointBasePathPattern)

/** Why `path` cannot be a mount path, or undefined when its form is fine. */
export function endpointBasePathProblem (path: string): string | undefined {
  if (!pattern.test(path)) {
    return `must be a path like /customers-sv: segments of letters, digits and . _ ~ - (not starting with a dot), no trailing slash (got ${JSON.stringify(path)})`
  }
  const first = path.split('/')[1] ?? ''
  if (reservedPathSegments.includes(first)) {
    return `"${path}" is under /${first}/, which braid serves itself; reserved: ${reservedPathSegments.map(s => `/${s}/`).join(', ')}`
  }
  return undefined
}

/** True when one path equals the other or is a parent of it (`/a` and `/a/b`): their routes would overlap. */
export function pathsOverlap (a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)
}
