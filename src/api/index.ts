export { buildApp, type AppOptions } from './app.ts'
export { parseReadQuery, parseFilter, DEFAULT_LIMIT, MAX_LIMIT } from './query.ts'
