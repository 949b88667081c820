/**
 * Pause state of projections and single views, as persisted and as `GET /-/control` answers it.
 * Pure types (the console imports them too).
 * @module
 */

/** Where consumption stopped on a poison message (`onPoison: stop`), and why. */
export interface PoisonInfo {
  topic: string
  partition: number
  offset: number
  code: string
  reason: string
  at: string
}

export interface PauseState {
  paused: boolean
  /** Set when the projection halted on a poison message; resuming dead-letters it. */
  poison?: PoisonInfo
  /** When the pause was requested (ISO-8601), for paused entries. */
  since?: string
  /** For a projection paused only because another projection of its topic is. */
  pausedWith?: string[]
}

export interface ControlState {
  projections: Record<string, PauseState>
  singleViews: Record<string, PauseState>
}
