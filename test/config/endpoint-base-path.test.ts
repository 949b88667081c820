import { describe, expect, it } from 'vitest'
import { checkPipeline } from '../../src/config/index.ts'
import { endpointBasePathProblem, pathsOverlap } from '../../src/config/endpoints.ts'
import { miaFiles, tempProject } from './temp-project.ts'

/** A native shop configuration with the given mount paths (undefined: none). */
function shop (paths: { customers?: string, orders?: string, sv?: string }): Record<string, unknown> {
  const withPath = (def: Record<string, unknown>, path: string | undefined): Record<string, unknown> => path === undefined ? def : { ...def, endpointBasePath: path }
  return {
    version: 1,
    projections: {
      customers: withPath({ topic: 't.customers', key: 'id', fields: { id: null, email: null } }, paths.customers),
      orders: withPath({ topic: 't.orders', key: 'id', fields: { id: null, customerId: null } }, paths.orders)
    },
    relations: { customer_orders: { from: 'customers', to: 'orders', on: { customerId: 'id' }, cardinality: 'one-to-many' } },
    singleViews: {
      sv: withPath({ base: 'customers', key: 'id', view: { id: 'customers.id', orders: { join: 'orders', via: 'customer_orders', view: { id: 'orders.id' } } } }, paths.sv)
    }
  }
}

async function problemsOf (config: Record<string, unknown>): Promise<string[]> {
  const result = await checkPipeline(`${tempProject({ 'braid.json': config })}/braid.json`)
  return result.problems
}

describe('endpointBasePath in the native configuration', () => {
  it('should compile onto the projection and view definitions, and be absent when not set', async () => {
    const result = await checkPipeline(`${tempProject({ 'braid.json': shop({ customers: '/crm/customers', sv: '/customers-sv' }) })}/braid.json`)
    expect(result.problems).toEqual([])
    expect(result.pipeline?.projections.get('customers')?.endpointBasePath).toBe('/crm/customers')
    expect(result.pipeline?.singleViews.get('sv')?.endpointBasePath).toBe('/customers-sv')
    expect('endpointBasePath' in (result.pipeline?.projections.get('orders') ?? {})).toBe(false)
  })

  it.each([
    ['customers-sv', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "customers-sv")'],
    ['/customers-sv/', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "/customers-sv/")'],
    ['/', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "/")'],
    ['/a b', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "/a b")'],
    ['/views/:id', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "/views/:id")'],
    ['/a/../b', 'singleViews.sv.endpointBasePath: must be a path like /customers-sv (got "/a/../b")'],
    ['/-/customers', 'singleViews.sv.endpointBasePath: "/-/customers" is under /-/, which braid serves itself; reserved: /-/, /ingest/, /single-views/, /projections/, /documentation/'],
    ['/ingest', 'singleViews.sv.endpointBasePath: "/ingest" is under /ingest/, which braid serves itself; reserved: /-/, /ingest/, /single-views/, /projections/, /documentation/'],
    ['/single-views/sv', 'singleViews.sv.endpointBasePath: "/single-views/sv" is under /single-views/, which braid serves itself; reserved: /-/, /ingest/, /single-views/, /projections/, /documentation/'],
    ['/projections', 'singleViews.sv.endpointBasePath: "/projections" is under /projections/, which braid serves itself; reserved: /-/, /ingest/, /single-views/, /projections/, /documentation/'],
    ['/documentation', 'singleViews.sv.endpointBasePath: "/documentation" is under /documentation/, which braid serves itself; reserved: /-/, /ingest/, /single-views/, /projections/, /documentation/']
  ])('should refuse the mount path %s', async (path, problem) => {
    expect(await problemsOf(shop({ sv: path }))).toEqual([problem])
  })

  it('should refuse a mount path used twice, by a view and a projection alike', async () => {
    expect(await problemsOf(shop({ customers: '/customers', orders: '/customers' }))).toEqual([
      'projections.orders.endpointBasePath: "/customers" is already the endpointBasePath of projection "customers"'
    ])
    expect(await problemsOf(shop({ customers: '/customers', sv: '/customers' }))).toEqual([
      'singleViews.sv.endpointBasePath: "/customers" is already the endpointBasePath of projection "customers"'
    ])
  })

  it('should refuse a mount path that holds another one', async () => {
    expect(await problemsOf(shop({ customers: '/crm', sv: '/crm/customers' }))).toEqual([
      'singleViews.sv.endpointBasePath: "/crm/customers" overlaps "/crm", the endpointBasePath of projection "customers": one path cannot hold another\'s routes'
    ])
    expect(await problemsOf(shop({ customers: '/crm/customers', orders: '/crm/orders', sv: '/crm-sv' }))).toEqual([])
  })
})

describe('endpointBasePath in a Mia project', () => {
  it('should be read from the view\'s settings.json', async () => {
    const result = await checkPipeline(tempProject(miaFiles({ 'single-views/sv/settings.json': { endpointBasePath: '/sv-endpoint' } })))
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([])
    expect(result.pipeline?.singleViews.get('sv')?.endpointBasePath).toBe('/sv-endpoint')
  })

  it('should be checked like a native one, at its place in settings.json', async () => {
    const result = await checkPipeline(tempProject(miaFiles({ 'single-views/sv/settings.json': { endpointBasePath: 'sv-endpoint/' } })))
    expect(result.problems).toEqual([
      'single-views/sv/settings.json#endpointBasePath: must be a path like /customers-sv: segments of letters, digits and . _ ~ - (not starting with a dot), no trailing slash (got "sv-endpoint/")'
    ])
  })
})

describe('endpoint path helpers', () => {
  it('pathsOverlap should hold for equal and nested paths only', () => {
    expect(pathsOverlap('/a', '/a')).toBe(true)
    expect(pathsOverlap('/a', '/a/b')).toBe(true)
    expect(pathsOverlap('/a/b', '/a')).toBe(true)
    expect(pathsOverlap('/a', '/ab')).toBe(false)
    expect(pathsOverlap('/a/b', '/a/c')).toBe(false)
  })

  it('endpointBasePathProblem should accept CRUD Service style paths', () => {
    for (const path of ['/books-endpoint', '/internal/books-endpoint', '/v1.2/customers_sv', '/~user']) expect(endpointBasePathProblem(path), path).toBeUndefined()
  })
})
