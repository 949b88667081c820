/**
 * A read-only, MongoDB-driver-like facade over the store, handed to `__fromFile__` functions,
 * manual strategies and identifier functions as their `db`:
 * `db.collection(name).find(filter).sort(…).limit(…).toArray()`, `.findOne(filter)`,
 * `.countDocuments(filter)`. Collection names are projection (or view) names, mapped to store
 * collections. There are no write methods.
 * @module
 */
import type { Doc, Filter, Sort } from '../model/document.ts'
import type { FindOptions, Store } from '../storage/store.ts'

export interface ReadOnlyCursor extends AsyncIterable<Doc> {
  sort (sort: Sort): ReadOnlyCursor
  skip (n: number): ReadOnlyCursor
  limit (n: number): ReadOnlyCursor
  project (projection: Record<string, 0 | 1>): ReadOnlyCursor
  toArray (): Promise<Doc[]>
}

export interface ReadOnlyCollection {
  readonly collectionName: string
  find (filter?: Filter, options?: FindOptions): ReadOnlyCursor
  findOne (filter?: Filter, options?: FindOptions): Promise<Doc | null>
  countDocuments (filter?: Filter): Promise<number>
}

export interface ReadOnlyDb {
  collection (name: string): ReadOnlyCollection
}

/** Builds the facade; `collections` maps a projection or view name to its store collection (identity by default). */
export function createDbFacade (store: Store, collections: (name: string) => string = name => name): ReadOnlyDb {
  return {
    collection (name: string): ReadOnlyCollection {
      const collection = collections(name)
      return {
        collectionName: name,
        find: (filter = {}, options = {}) => cursor(store, collection, filter, { ...options }),
        async findOne (filter = {}, options = {}) {
          const docs = await store.find(collection, filter, { ...options, limit: 1 })
          return docs[0] ?? null
        },
        countDocuments: async (filter = {}) => await store.count(collection, filter)
      }
    }
  }
}

function cursor (store: Store, collection: string, filter: Filter, options: FindOptions): ReadOnlyCursor {
  const c: ReadOnlyCursor = {
    sort (sort) {
      options.sort = sort
      return c
    },
    skip (n) {
      options.skip = n
      return c
    },
    limit (n) {
      // As in the MongoDB driver, limit(0) means no limit.
      if (n > 0) options.limit = n
      else delete options.limit
      return c
    },
    project (projection) {
      options.projection = projection
      return c
    },
    toArray: async () => await store.find(collection, filter, options),
    async * [Symbol.asyncIterator] () {
      yield * await store.find(collection, filter, options)
    }
  }
  return c
}
