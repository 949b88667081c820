/**
 * Which test servers a test run needs, so that running a few unit-test files starts none.
 *
 * A test file needs a server when it, or a module under test/ it imports through a relative path
 * (followed transitively), names the server's variable (`BRAID_KAFKA_BROKERS`, `BRAID_MONGODB_URL`,
 * `BRAID_PG_URL`) or calls `requireKafkaBrokers`. Modules of src/ are not followed: the CLI reads
 * `BRAID_KAFKA_BROKERS` and `BRAID_MONGODB_URL` as its own settings, which says nothing about a test.
 * `test/services/env.ts` is not followed either: it names every variable, and its helpers are matched
 * where they are called. A false positive only starts a server for nothing.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServiceName } from './env.ts'

const markers: Record<ServiceName, RegExp> = {
  kafka: /\bBRAID_KAFKA_BROKERS\b|\brequireKafkaBrokers\b/,
  ferretdb: /\bBRAID_MONGODB_URL\b/,
  postgres: /\bBRAID_PG_URL\b/
}

// `from './x.ts'`, `import './x.ts'` and `import('./x.ts')`
const relativeImport = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g

const helperModule = fileURLToPath(new URL('./env.ts', import.meta.url))
const testRoot = fileURLToPath(new URL('../', import.meta.url))

/**
 * The services named by `files` and the modules under `root` (default: test/) they import relatively;
 * unreadable files count as naming none.
 */
export async function servicesNeededBy (files: readonly string[], root: string = testRoot): Promise<Set<ServiceName>> {
  const prefix = root.endsWith(sep) ? root : `${root}${sep}`
  const needed = new Set<ServiceName>()
  const seen = new Set<string>([helperModule])
  const queue = files.map(file => resolve(file))
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (seen.has(file) || file.includes('/node_modules/')) continue
    seen.add(file)
    let source: string
    try {
      source = await readFile(file, 'utf8')
    } catch {
      continue
    }
    for (const [service, marker] of Object.entries(markers) as Array<[ServiceName, RegExp]>) {
      if (marker.test(source)) needed.add(service)
    }
    if (needed.size === Object.keys(markers).length) break
    for (const match of source.matchAll(relativeImport)) {
      const imported = match[1] === undefined ? undefined : resolve(dirname(file), match[1])
      if (imported?.startsWith(prefix) === true) queue.push(imported)
    }
  }
  return needed
}
