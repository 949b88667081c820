/**
 * Tests that run the built command line (`dist/cli/main.js`): build it first when the sources are
 * newer than the last build.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../runtime/harness.ts'

export const mainJs = join(repoRoot, 'dist/cli/main.js')

function newest (dir: string): number {
  let max = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return max
}

/** Builds `dist/` unless it is newer than every file of `src/`. */
export function ensureBuilt (): void {
  const buildInfo = join(repoRoot, 'dist/.tsbuildinfo')
  if (existsSync(mainJs) && existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newest(join(repoRoot, 'src'))) return
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
}
