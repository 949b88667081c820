/**
 * `braid pause|resume <config> (--projection NAME | --single-view NAME)` and `braid control <config>`:
 * change or show the pause state in the store. Running workers pick the change up within seconds
 * (they re-read it every 2 s); a stopped pipeline starts paused.
 * @module
 */
import { BraidError } from '../../errors.ts'
import { loadPipeline } from '../../config/index.ts'
import { silentLogger } from '../../logger.ts'
import { Control, type ControlState, type ControlTarget } from '../../runtime/control.ts'
import { optionalString, requiredPositional, type CommandArgs } from '../args.ts'
import { openCommandEngines } from '../engines.ts'

export async function pauseCommand (args: CommandArgs): Promise<number> {
  return setPaused(args, true)
}

export async function resumeCommand (args: CommandArgs): Promise<number> {
  return setPaused(args, false)
}

/** `braid control <config>`: prints the pause state of every projection and view. */
export async function controlCommand (args: CommandArgs): Promise<number> {
  return withControl(args, async control => {
    printState(await control.refresh().then(() => control.state()))
    return 0
  })
}

async function setPaused (args: CommandArgs, paused: boolean): Promise<number> {
  const projection = optionalString(args, 'projection')
  const view = optionalString(args, 'single-view')
  if ((projection === undefined) === (view === undefined)) {
    throw new BraidError('BRAID_USAGE', `give exactly one of --projection NAME or --single-view NAME to ${paused ? 'pause' : 'resume'}`)
  }
  const target: ControlTarget = projection === undefined ? 'singleView' : 'projection'
  const name = projection ?? view ?? ''
  return withControl(args, async control => {
    const state = await control.set(target, name, paused).catch((err: unknown) => {
      // An unknown name is a usage error on the command line (404 over HTTP).
      if (err instanceof BraidError && err.code === 'BRAID_NOT_FOUND') throw new BraidError('BRAID_USAGE', err.message)
      throw err
    })
    printState(state)
    process.stdout.write(`${paused ? 'paused' : 'resumed'} ${target === 'projection' ? 'projection' : 'single view'} ${name}; running workers apply it within seconds\n`)
    return 0
  })
}

async function withControl (args: CommandArgs, run: (control: Control) => Promise<number>): Promise<number> {
  const pipeline = await loadPipeline(requiredPositional(args, 0, '<config>'))
  const engines = await openCommandEngines(args, pipeline)
  try {
    const control = new Control({ pipeline, store: engines.store, logger: silentLogger(), apply: () => {} })
    return await run(control)
  } finally {
    await engines.close()
  }
}

function printState (state: ControlState): void {
  const line = (kind: string, name: string, s: ControlState['projections'][string]): string =>
    `${kind.padEnd(12)} ${name.padEnd(24)} ${s.paused ? `paused${s.since === undefined ? '' : ` since ${s.since}`}${s.pausedWith === undefined ? '' : ` (its topic, with ${s.pausedWith.join(', ')})`}` : 'running'}`
  const lines = [
    ...Object.entries(state.projections).map(([name, s]) => line('projection', name, s)),
    ...Object.entries(state.singleViews).map(([name, s]) => line('single view', name, s))
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}
