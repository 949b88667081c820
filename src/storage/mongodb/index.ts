/**
 * The MongoDB store: the production store, for MongoDB and MongoDB-compatible servers (docs/mongodb.md).
 * @module
 */
export { createMongoStore, metaCollection, type MongoServerInfo, type MongoStore } from './store.ts'
export { mongoStoreDefaults, redactUrl, WriteStrategy, type MongoStoreOptions } from './options.ts'
export { docIdField } from './documents.ts'
export { queueCollection } from './queue.ts'
