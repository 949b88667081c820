import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../cli/build.ts'
import { repoRoot } from '../runtime/harness.ts'

beforeAll(ensureBuilt, 120_000)

describe('fuzzing the API (scripts/fuzz-api.sh)', () => {
  it('finds no server error and no answer outside the OpenAPI document', async () => {
    const result = await new Promise<{ code: number | null, output: string }>((resolve, reject) => {
      let output = ''
      const child = spawn('bash', [join(repoRoot, 'scripts/fuzz-api.sh'), '--max-examples', '5', '--seed', '20251121'], { cwd: repoRoot, env: process.env })
      child.stdout.on('data', (d: Buffer) => { output += d.toString() })
      child.stderr.on('data', (d: Buffer) => { output += d.toString() })
      child.on('error', reject)
      child.on('exit', code => resolve({ code, output }))
    })
    // A missing python3 or an unreachable PyPI fails here too (exit 2, with the reason).
    expect(result.code, result.output).toBe(0)
    expect(result.output).toMatch(/No issues found/)
  }, 240_000)
})
