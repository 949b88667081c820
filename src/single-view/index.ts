/**
 * Single views: ER conditions, set-at-a-time aggregation, keys, strategies, writer and patch.
 * @module
 */
export * from './aggregate.ts'
export * from './conditions.ts'
export * from './db-facade.ts'
export * from './fetch.ts'
export * from './key.ts'
export * from './patch.ts'
export * from './plan.ts'
export * from './strategies.ts'
export * from './types.ts'
export { isConstant, parseConstant } from './values.ts'
export * from './writer.ts'
