/**
 * Long operations started over HTTP (rebuild, verify): run in the background, with progress, kept
 * in memory (the last `keep`) and listed newest first. Jobs belong to the worker that runs them.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { toBraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'

export type JobKind = 'rebuild' | 'verify'

export interface Job {
  id: string
  kind: JobKind
  view: string
  state: 'running' | 'succeeded' | 'failed'
  done: number
  /** Unknown (null) until the job has counted its work. */
  total: number | null
  startedAt: string
  finishedAt?: string
  /** Why a running job makes no progress (e.g. the view is paused). */
  waiting?: string
  error?: { code: string, message: string }
  result?: unknown
}

export interface JobContext {
  progress (done: number, total: number): void
  waiting (reason: string | undefined): void
  /** Aborted when the service stops: a job stops waiting and fails. */
  signal: AbortSignal
}

export class Jobs {
  readonly #jobs = new Map<string, Job>()
  readonly #keep: number
  readonly #logger: Logger
  readonly #running = new Set<Promise<void>>()
  readonly #abort = new AbortController()

  constructor (logger: Logger, keep = 50) {
    this.#logger = logger
    this.#keep = keep
  }

  start (kind: JobKind, view: string, run: (ctx: JobContext) => Promise<unknown>): Job {
    const job: Job = { id: randomBytes(6).toString('hex'), kind, view, state: 'running', done: 0, total: null, startedAt: new Date().toISOString() }
    this.#jobs.set(job.id, job)
    this.#trim()
    const ctx: JobContext = {
      progress: (done, total) => { job.done = done; job.total = total },
      waiting: reason => {
        if (reason === undefined) delete job.waiting
        else job.waiting = reason
      },
      signal: this.#abort.signal
    }
    this.#logger.info({ job: job.id, kind, view }, 'job started')
    const task = run(ctx).then(result => {
      job.state = 'succeeded'
      job.result = result
      this.#logger.info({ job: job.id, kind, view }, 'job succeeded')
    }, (err: unknown) => {
      const e = toBraidError(err, 'BRAID_INTERNAL', `${kind} of ${view} failed`)
      job.state = 'failed'
      job.error = { code: e.code, message: e.message }
      this.#logger.error({ job: job.id, kind, view, err: e }, 'job failed')
    }).finally(() => {
      delete job.waiting
      job.finishedAt = new Date().toISOString()
      this.#running.delete(task)
    })
    this.#running.add(task)
    return { ...job }
  }

  get (id: string): Job | undefined {
    const job = this.#jobs.get(id)
    return job === undefined ? undefined : { ...job }
  }

  list (): Job[] {
    return [...this.#jobs.values()].reverse().map(j => ({ ...j }))
  }

  /** Aborts the running jobs and resolves when they have ended (service stop). */
  async settle (): Promise<void> {
    this.#abort.abort(new Error('the service is stopping'))
    await Promise.allSettled([...this.#running])
  }

  #trim (): void {
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= this.#keep) return
      if (job.state !== 'running') this.#jobs.delete(id)
    }
  }
}
