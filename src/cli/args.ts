import { BraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'

export interface CommandArgs {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

export function requiredPositional (args: CommandArgs, index: number, what: string): string {
  const v = args.positionals[index]
  if (v === undefined || v === '') throw new BraidError('BRAID_USAGE', `missing ${what}; see braid --help`)
  return v
}

export function requiredOption (args: CommandArgs, name: string, what: string): string {
  const v = args.values[name]
  if (typeof v !== 'string' || v === '') throw new BraidError('BRAID_USAGE', `missing --${name} ${what}; see braid --help`)
  return v
}

export function optionalString (args: CommandArgs, name: string): string | undefined {
  const v = args.values[name]
  return typeof v === 'string' ? v : undefined
}

export function integerOption (args: CommandArgs, name: string, fallback: number): number {
  const v = args.values[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw new BraidError('BRAID_USAGE', `--${name} must be a non-negative integer, got "${String(v)}"`)
  return n
}

export function jsonObjectOption (args: CommandArgs, name: string): Doc {
  const raw = requiredOption(args, name, 'JSON')
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (err) {
    throw new BraidError('BRAID_USAGE', `--${name} is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BraidError('BRAID_USAGE', `--${name} must be a JSON object, e.g. '{"ID_USER":"42"}'`)
  return parsed as Doc
}

export function dataDir (args: CommandArgs): string {
  return optionalString(args, 'data-dir') ?? process.env['BRAID_DATA_DIR'] ?? './.braid'
}
