/**
 * Command line of `npm run bench`.
 * @module
 */

export const engines = ['embedded', 'kafka-mongo'] as const
export type Engine = (typeof engines)[number]

export const scales = {
  /** A smoke run (~1 min). */
  small: { sizes: [2_000, 10_000], steady: 10_000, hot: 5_000, duration: 8 },
  /** The default: 10k → 100k views (~4 min on a 2-core machine). */
  default: { sizes: [10_000, 100_000], steady: 30_000, hot: 20_000, duration: 20 },
  /** Adds the 1M-view point to the scaling curve (initial load of ~6.5M rows: allow ~30 min). */
  large: { sizes: [10_000, 100_000, 1_000_000], steady: 30_000, hot: 20_000, duration: 20 }
} as const
export type Scale = keyof typeof scales

export interface BenchArgs {
  scale: Scale
  engine: Engine
  /** Seconds of the paced (freshness) run. */
  duration: number
  json: string | undefined
  seed: number
  /** `retail` runs the initial load and steady retail traffic only (for --cpu-prof). */
  scenario: 'all' | 'retail'
  /** Where results go (default bench/results). */
  out: string | undefined
  /** Writes CPU profiles into this directory: each steady retail phase (`steady-<views>.cpuprofile`) and the paced freshness phase (`freshness-<views>.cpuprofile`). */
  profile: string | undefined
}

export const usage = `usage: npm run bench -- [--scale small|default|large] [--duration SECONDS] [--engine embedded|kafka-mongo]
                      [--json FILE] [--seed N] [--scenario all|retail] [--out DIR] [--profile DIR]`

export class UsageError extends Error {}

export function parseArgs (argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { scale: 'default', engine: 'embedded', duration: Number.NaN, json: undefined, seed: 42, scenario: 'all', out: undefined, profile: undefined }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    const [name, inline] = flag.includes('=') ? flag.split('=', 2) as [string, string] : [flag, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`)
      return v
    }
    switch (name) {
      case '--scale': {
        const v = value()
        if (!(v in scales)) throw new UsageError(`--scale must be one of ${Object.keys(scales).join(', ')}; got "${v}"`)
        args.scale = v as Scale
        break
      }
      case '--engine': {
        const v = value()
        if (!(engines as readonly string[]).includes(v)) {
          throw new UsageError(`--engine "${v}" is not supported; supported engines: ${engines.join(', ')}`)
        }
        args.engine = v as Engine
        break
      }
      case '--duration': {
        const v = Number(value())
        if (!Number.isFinite(v) || v <= 0) throw new UsageError('--duration must be a positive number of seconds')
        args.duration = v
        break
      }
      case '--json': args.json = value(); break
      case '--out': args.out = value(); break
      case '--profile': args.profile = value(); break
      case '--seed': {
        const v = Number(value())
        if (!Number.isInteger(v)) throw new UsageError('--seed must be an integer')
        args.seed = v
        break
      }
      case '--scenario': {
        const v = value()
        if (v !== 'all' && v !== 'retail') throw new UsageError('--scenario must be all or retail')
        args.scenario = v
        break
      }
      case '--help': case '-h': throw new UsageError('')
      default: throw new UsageError(`unknown option ${flag}`)
    }
  }
  if (Number.isNaN(args.duration)) args.duration = scales[args.scale].duration
  return args
}
