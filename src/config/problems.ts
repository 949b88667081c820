/**
 * Problems and warnings found while loading a configuration, each reported as `path: reason`.
 *
 * The front doors (Mia directory, native file) register where each model element came from
 * (`Locations`), so the shared validator can report a problem of the compiled model at the path the
 * user wrote. Only the first problem of a path is kept: a front door that already explained a broken
 * element (an unknown relation) is not followed by the validator's generic consequence of it.
 * @module
 */

/** A model location: `['view', 'customer_sv', 'block', 'SV_CONFIG', 'dep', 'tiers', 'on']`. */
export type Loc = readonly string[]

const separator = '\u001f'

/** Model location → path in the user's configuration, with fallback to the nearest registered parent. */
export class Locations {
  readonly #paths = new Map<string, string>()

  set (loc: Loc, path: string): void {
    this.#paths.set(loc.join(separator), path)
  }

  /** True when exactly this location was registered. */
  has (loc: Loc): boolean {
    return this.#paths.has(loc.join(separator))
  }

  /** The registered path of `loc`, else of its nearest registered parent, else the model path. */
  get (loc: Loc): string {
    for (let n = loc.length; n > 0; n--) {
      const path = this.#paths.get(loc.slice(0, n).join(separator))
      if (path !== undefined) return path
    }
    return modelPath(loc)
  }
}

const modelNames: Record<string, string> = {
  projection: 'projections',
  cast: 'casts',
  edge: 'er.edges',
  view: 'singleViews',
  block: 'blocks',
  dep: 'dependencies',
  option: 'options',
  strategyPath: 'strategyPaths',
  strategy: 'manualStrategies',
  patch: 'patchRules'
}

/** A location in the compiled model's own terms: `singleViews.sv.blocks.SV_CONFIG.dependencies.tiers.on`. */
export function modelPath (loc: Loc): string {
  const segments: string[] = []
  loc.forEach((part, i) => {
    const name = i % 2 === 0 ? modelNames[part] : undefined
    if (name === undefined) segments.push(part)
    else segments.push(...name.split('.'))
  })
  return jsonPath(segments)
}

/** Renders a JSON path: `a.b["c.d"][0]`. Segments that are not identifiers are quoted. */
export function jsonPath (segments: ReadonlyArray<string | number>): string {
  let out = ''
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/**
 * Collects problems (the configuration cannot run) and warnings (it runs, but probably not as meant).
 * Loading runs in stages (front door, function loading, validation): a problem at a path already
 * reported by an earlier stage is a consequence of it and is dropped.
 */
export class Problems {
  readonly #problems: Array<{ path: string, reason: string, stage: number }> = []
  readonly #warnings = new Map<string, string[]>()
  #stage = 0
  readonly locations: Locations

  constructor (locations: Locations = new Locations()) {
    this.locations = locations
  }

  /** Starts the next stage (see the class comment). */
  nextStage (): void {
    this.#stage++
  }

  /** A problem at a configuration path. */
  add (path: string, reason: string): void {
    const earlier = this.#problems.some(p => p.path === path && (p.stage < this.#stage || p.reason === reason))
    if (!earlier) this.#problems.push({ path, reason, stage: this.#stage })
  }

  /** A problem at a model location (see Locations). */
  at (loc: Loc, reason: string): void {
    this.add(this.locations.get(loc), reason)
  }

  warn (path: string, reason: string): void {
    const list = this.#warnings.get(path) ?? []
    if (!list.includes(reason)) list.push(reason)
    this.#warnings.set(path, list)
  }

  warnAt (loc: Loc, reason: string): void {
    this.warn(this.locations.get(loc), reason)
  }

  get count (): number {
    return this.#problems.length
  }

  /** Every problem as `path: reason`, in the order found. */
  problems (): string[] {
    return this.#problems.map(p => line(p.path, p.reason))
  }

  /** Every warning as `path: reason`; a warning at a path that has a problem is left out. */
  warnings (): string[] {
    const withProblems = new Set(this.#problems.map(p => p.path))
    const out: string[] = []
    for (const [path, reasons] of this.#warnings) {
      if (withProblems.has(path)) continue
      for (const reason of reasons) out.push(line(path, reason))
    }
    return out
  }
}

function line (path: string, reason: string): string {
  return path === '' ? reason : `${path}: ${reason}`
}

/** `a, b, c` — or `(none)` — for the "known: …" part of messages. */
export function listOf (names: Iterable<string>): string {
  const list = [...names]
  return list.length === 0 ? '(none)' : list.join(', ')
}
