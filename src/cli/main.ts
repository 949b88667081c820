#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * The `braid` command line: start, validate, preview, replay, rebuild, verify, explain.
 * Exit codes: 0 success, 1 the command found problems (invalid config, differences), 2 usage error.
 * @module
 */
import { parseArgs } from 'node:util'
import { BraidError, isBraidError } from '../errors.ts'
import { controlCommand, pauseCommand, resumeCommand } from './commands/control.ts'
import { explainCommand } from './commands/explain.ts'
import { hashKeyCommand } from './commands/hash-key.ts'
import { openapiCommand } from './commands/openapi.ts'
import { previewCommand } from './commands/preview.ts'
import { rebuildCommand } from './commands/rebuild.ts'
import { replayCommand } from './commands/replay.ts'
import { resnapshotCommand } from './commands/resnapshot.ts'
import { sourcesCommand } from './commands/sources.ts'
import { startCommand } from './commands/start.ts'
import { validateCommand } from './commands/validate.ts'
import { verifyCommand } from './commands/verify.ts'
import type { CommandArgs } from './args.ts'

const usage = `braid — real-time single views from CDC streams

Usage:
  braid start <config> [--port 3000] [--host 127.0.0.1 [--insecure]] [--data-dir ./.braid] [--demo] [--demo-rate 5]
              [--kafka-brokers host:port,...] [--mongodb-url mongodb://...]
  braid validate <config>
  braid preview <config> --single-view NAME --fixtures FILE.json --identifier JSON
  braid replay <config> FILE.ndjson --topic TOPIC [--data-dir ./.braid]
  braid rebuild <config> [--single-view NAME] [--data-dir ./.braid]
  braid verify <config> [--single-view NAME] [--data-dir ./.braid]
  braid explain <config> --single-view NAME --identifier JSON [--data-dir ./.braid]
  braid hash-key [--name NAME] [--scope read:VIEW,ingest:TOPIC,admin,...] [--scrypt] [--key-stdin]
  braid openapi <config>
  braid pause <config> (--projection NAME | --single-view NAME)
  braid resume <config> (--projection NAME | --single-view NAME)
  braid control <config>
  braid resnapshot <config> <source> <table> [--wait]
  braid sources <config>

Every command that opens the pipeline's data takes --kafka-brokers / BRAID_KAFKA_BROKERS and
--mongodb-url / BRAID_MONGODB_URL (over the config's engines: section); without them, the embedded
engines in --data-dir / BRAID_DATA_DIR.

<config> is a braid config file (.yaml, .yml, .json) or a Mia-Platform Fast Data project directory
(with ps-config.json, erSchema.json and single-views/<name>/). Docs: docs/configuration.md
`

const commands: Record<string, (args: CommandArgs) => Promise<number>> = {
  start: startCommand,
  validate: validateCommand,
  preview: previewCommand,
  replay: replayCommand,
  rebuild: rebuildCommand,
  verify: verifyCommand,
  explain: explainCommand,
  'hash-key': hashKeyCommand,
  openapi: openapiCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  control: controlCommand,
  resnapshot: resnapshotCommand,
  sources: sourcesCommand
}

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage)
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') {
    const { version } = await import('../version.ts')
    process.stdout.write(`${version}\n`)
    return 0
  }
  const command = commands[name]
  if (command === undefined) {
    process.stderr.write(`braid: unknown command "${name}"\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      insecure: { type: 'boolean' },
      'data-dir': { type: 'string' },
      demo: { type: 'boolean' },
      'demo-rate': { type: 'string' },
      'single-view': { type: 'string' },
      fixtures: { type: 'string' },
      identifier: { type: 'string' },
      topic: { type: 'string' },
      'log-level': { type: 'string' },
      'log-keys': { type: 'boolean' },
      'kafka-brokers': { type: 'string' },
      'mongodb-url': { type: 'string' },
      projection: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'string' },
      scrypt: { type: 'boolean' },
      'key-stdin': { type: 'boolean' },
      wait: { type: 'boolean' }
    }
  })
  return command({ values, positionals })
}

main(process.argv.slice(2)).then(code => {
  process.exitCode = code
}, (err: unknown) => {
  if (isBraidError(err)) {
    process.stderr.write(`braid: ${err.code}: ${err.message}\n`)
    const problems = err.details['problems']
    if (Array.isArray(problems)) for (const p of problems) process.stderr.write(`  - ${String(p)}\n`)
    process.exitCode = err.code === 'BRAID_USAGE' ? 2 : 1
  } else {
    process.stderr.write(`braid: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  }
})

export { BraidError }
