/**
 * The embedded (SQLite) store: the zero-setup default.
 * @module
 */
export { createEmbeddedStore, type EmbeddedStore } from './store.ts'
export { embeddedStoreDefaults, type EmbeddedStoreOptions } from './options.ts'
