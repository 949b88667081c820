/**
 * Runtime control: pausing and resuming consumption per projection and building per single view.
 * The state is persisted in the store's meta (key `control`), so it survives restarts and reaches
 * every worker sharing the store: each worker re-reads it every `refreshMs`.
 *
 * A projection is paused by pausing its topic. Projections sharing a topic are paused together (the
 * log cannot hold back one reader of a record and not another); the status names them.
 *
 * With `onPoison: stop`, a message that cannot be decoded or cast halts its projection: it is paused
 * with the message's position and reason. Resuming it is the operator's go-ahead: that message is
 * dead-lettered and consumption goes on.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { ControlState, PauseState, PoisonInfo } from '../model/control.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'

export type { ControlState, PauseState, PoisonInfo }

export const controlMetaKey = 'control'

export type ControlTarget = 'projection' | 'singleView'

/** What is persisted: names paused and when. */
interface StoredControl {
  projections: Record<string, string>
  singleViews: Record<string, string>
  poison: Record<string, PoisonInfo>
  /** Poison messages an operator let through by resuming (the newest `maxAccepted`). */
  accepted: Array<Pick<PoisonInfo, 'topic' | 'partition' | 'offset'>>
}

const maxAccepted = 100

export interface ControlOptions {
  pipeline: PipelineDefinition
  store: Store
  logger: Logger
  /** Applies the effective state: topics to hold, views not to build. */
  apply: (paused: { topics: string[], views: string[] }) => void
  /** How often the persisted state is re-read (changes made by other workers), ms. Default 2000. */
  refreshMs?: number
}

export class Control {
  readonly #pipeline: PipelineDefinition
  readonly #store: Store
  readonly #logger: Logger
  readonly #apply: ControlOptions['apply']
  readonly #refreshMs: number
  #stored: StoredControl = emptyStored()
  #timer: NodeJS.Timeout | undefined

  constructor (options: ControlOptions) {
    this.#pipeline = options.pipeline
    this.#store = options.store
    this.#logger = options.logger
    this.#apply = options.apply
    this.#refreshMs = options.refreshMs ?? 2_000
  }

  /** Reads the persisted state, applies it, and keeps following it until `stop`. */
  async start (): Promise<void> {
    await this.refresh()
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#logger.warn({ err }, 'could not re-read the pause state; keeping the current one'))
    }, this.#refreshMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Re-reads the persisted state and applies it when it changed. */
  async refresh (): Promise<void> {
    const next = parseStored(await this.#store.getMeta(controlMetaKey), this.#pipeline)
    if (JSON.stringify(next) === JSON.stringify(this.#stored)) return
    this.#stored = next
    this.#applyState()
  }

  async set (target: ControlTarget, name: string, paused: boolean): Promise<ControlState> {
    const known = target === 'projection' ? this.#pipeline.projections : this.#pipeline.singleViews
    if (!known.has(name)) throw new BraidError('BRAID_NOT_FOUND', `no ${target === 'projection' ? 'projection' : 'single view'} "${name}"`)
    // Read-modify-write of one small document: the latest state of other workers is read first.
    const current = parseStored(await this.#store.getMeta(controlMetaKey), this.#pipeline)
    const bucket = target === 'projection' ? current.projections : current.singleViews
    if (paused) bucket[name] ??= new Date().toISOString()
    else delete bucket[name]
    const poison = target === 'projection' && !paused ? current.poison[name] : undefined
    if (poison !== undefined) {
      delete current.poison[name]
      current.accepted = [...current.accepted, { topic: poison.topic, partition: poison.partition, offset: poison.offset }].slice(-maxAccepted)
    }
    await this.#save(current)
    this.#logger.info({ target, name, paused, ...(poison === undefined ? {} : { poisonDeadLettered: { topic: poison.topic, partition: poison.partition, offset: poison.offset } }) }, paused ? 'paused' : 'resumed')
    return this.state()
  }

  /** `onPoison: stop`: pauses the projection at this message (persisted) until an operator resumes it. */
  async halt (projection: string, poison: PoisonInfo): Promise<void> {
    const current = parseStored(await this.#store.getMeta(controlMetaKey), this.#pipeline)
    const known = current.poison[projection]
    if (known !== undefined && known.topic === poison.topic && known.partition === poison.partition && known.offset === poison.offset && current.projections[projection] !== undefined) return
    current.projections[projection] ??= poison.at
    current.poison[projection] = poison
    await this.#save(current)
    this.#logger.error({ projection, topic: poison.topic, partition: poison.partition, offset: poison.offset, code: poison.code, reason: poison.reason }, 'poison message: consumption of the projection stopped (onPoison: stop); resume it to dead-letter the message and go on')
  }

  /** True when an operator resumed past this poison message. */
  accepted (topic: string, partition: number, offset: number): boolean {
    return this.#stored.accepted.some(a => a.topic === topic && a.partition === partition && a.offset === offset)
  }

  async #save (next: StoredControl): Promise<void> {
    await this.#store.write({ meta: [{ key: controlMetaKey, value: next }] })
    this.#stored = next
    this.#applyState()
  }

  state (): ControlState {
    const projections: Record<string, PauseState> = {}
    const pausedTopics = new Map<string, string[]>()
    for (const [name, p] of this.#pipeline.projections) {
      if (this.#stored.projections[name] !== undefined) pausedTopics.set(p.topic, [...pausedTopics.get(p.topic) ?? [], name])
    }
    for (const [name, p] of this.#pipeline.projections) {
      const since = this.#stored.projections[name]
      const by = pausedTopics.get(p.topic)
      const poison = this.#stored.poison[name]
      if (since !== undefined) projections[name] = { paused: true, since, ...(poison === undefined ? {} : { poison }) }
      else if (by !== undefined) projections[name] = { paused: true, pausedWith: by }
      else projections[name] = { paused: false }
    }
    const singleViews: Record<string, PauseState> = {}
    for (const name of this.#pipeline.singleViews.keys()) {
      const since = this.#stored.singleViews[name]
      singleViews[name] = since === undefined ? { paused: false } : { paused: true, since }
    }
    return { projections, singleViews }
  }

  /** Topics held back (a paused projection's topic). */
  pausedTopics (): string[] {
    return [...new Set(Object.keys(this.#stored.projections).map(name => this.#pipeline.projections.get(name)?.topic).filter((t): t is string => t !== undefined))]
  }

  pausedViews (): string[] {
    return Object.keys(this.#stored.singleViews)
  }

  #applyState (): void {
    this.#apply({ topics: this.pausedTopics(), views: this.pausedViews() })
  }
}

/** The persisted document, keeping only names the pipeline still has (a renamed view is not paused forever). */
function emptyStored (): StoredControl {
  return { projections: {}, singleViews: {}, poison: {}, accepted: [] }
}

function parseStored (value: unknown, pipeline: PipelineDefinition): StoredControl {
  const out = emptyStored()
  if (typeof value !== 'object' || value === null) return out
  const v = value as Partial<Record<keyof StoredControl, unknown>>
  if (typeof v.poison === 'object' && v.poison !== null) {
    for (const [name, info] of Object.entries(v.poison)) if (pipeline.projections.has(name)) out.poison[name] = info as PoisonInfo
  }
  if (Array.isArray(v.accepted)) out.accepted = v.accepted as StoredControl['accepted']
  for (const [key, known] of [['projections', pipeline.projections], ['singleViews', pipeline.singleViews]] as const) {
    const entries = v[key]
    if (typeof entries !== 'object' || entries === null) continue
    for (const [name, since] of Object.entries(entries)) {
      if (known.has(name) && typeof since === 'string') out[key][name] = since
    }
  }
  return out
}
