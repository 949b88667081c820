/**
 * Store collections of the write stream and the queue record format.
 * @module
 */
import { keyId } from '../model/key.ts'
import type { CollectionSpec } from '../storage/store.ts'

export const CommandCollection = {
  /** One document per command: status, attempts, error, result, idempotency key. */
  commands: '__braid_commands',
  /** Commands whose queue record was appended (`{ _id, run }`), removed when they finish: a pending command without one is appended again at start. */
  queued: '__braid_commands_queued'
} as const

export const commandCollections: CollectionSpec[] = [
  { name: CommandCollection.commands, primaryKey: ['_id'], indexes: [{ fields: ['status'] }, { fields: ['name'] }, { fields: ['createdAt'] }, { fields: ['awaitingView'] }] },
  { name: CommandCollection.queued, primaryKey: ['_id'], indexes: [] }
]

/** The store id of a command (or of its queued marker): the key id of `{ _id }`. */
export function storeId (id: string): string {
  return keyId({ _id: id }, ['_id'])
}

/** Consumer group of the command executor. */
export const commandGroup = 'braid.commands'

/** The value of a queue record: which command, which run. The state is in the store. */
export interface QueueRecord {
  id: string
  run: number
  name: string
}

export function parseQueueRecord (value: string | null): QueueRecord | undefined {
  if (value === null) return undefined
  try {
    const parsed = JSON.parse(value) as Partial<QueueRecord>
    if (typeof parsed.id !== 'string' || typeof parsed.run !== 'number' || typeof parsed.name !== 'string') return undefined
    return { id: parsed.id, run: parsed.run, name: parsed.name }
  } catch {
    return undefined
  }
}
