import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPipeline } from '../../src/config/index.ts'
import { validatePipeline } from '../../src/config/validate.ts'
import type { CastFunction, ProjectionDefinition } from '../../src/model/projection.ts'
import type { AggregationBlock, ErEdge, PipelineDefinition, SingleViewDefinition } from '../../src/model/single-view.ts'
import { miaFiles, tempProject } from './temp-project.ts'

const fixtures = resolve(import.meta.dirname, '../fixtures')
const invalid = (style: 'mia' | 'native', name: string): string => resolve(fixtures, 'invalid', style, style === 'native' ? `${name}.yaml` : name)
const agg = 'single-views/sv_customers/aggregation.json'
const knownCasts = 'identity, castToString, castToInteger, castToFloat, castUnixTimestampToISOString, castStringToBoolean, castToDate, castToObject, castToArrayOfObject'

async function problemsOf (path: string): Promise<string[]> {
  const result = await checkPipeline(path)
  expect(result.pipeline).toBeUndefined()
  return result.problems
}

describe('validatePipeline reports each problem class with its exact message', () => {
  const cases: Array<[string, 'mia' | 'native', string, string[]]> = [
    ['an unknown projection in a condition (Mia)', 'mia', 'unknown-projection-in-condition', [
      `${agg}#config.ORDERS.dependencies.orders.on: condition "customer_to_orders" goes from "customers" to "order", not to "orders"`,
      'erSchema.json#config.customers.outgoing.order: unknown projection "order"; known: customers, orders, lines, sv_customers'
    ]],
    ['an unknown projection in a relation (native)', 'native', 'relation-unknown-projection', [
      'relations.customer_orders.to: unknown projection "order"; known: customers, orders, lines, customer_sv'
    ]],
    ['an empty or missing condition', 'mia', 'empty-condition', [
      'erSchema.json#config.customers.outgoing.orders.conditions.customer_to_orders.condition: the condition is missing or empty',
      'erSchema.json#config.orders.outgoing.lines.conditions.order_to_lines: the condition is missing or empty'
    ]],
    ['an empty relation match (native)', 'native', 'empty-relation-on', [
      'relations.customer_orders.on: must not be empty'
    ]],
    ['a dependency on an unknown condition, or on one that does not lead to its projection', 'mia', 'unknown-condition', [
      `${agg}#config.ORDERS.dependencies.orders.on: unknown condition "customer_to_order"; known conditions to "orders": customer_to_orders, lines_to_order`,
      `${agg}#config.LINES.dependencies.lines.on: condition "customer_to_orders" goes from "customers" to "orders", not to "lines"`
    ]],
    ['an unknown relation (native)', 'native', 'unknown-relation', [
      'singleViews.customer_sv.view.orders.via: unknown relation "customer_order"; known: customer_orders, order_lines_of_order'
    ]],
    ['a relation that no enclosing record can follow (native)', 'native', 'relation-wrong-direction', [
      'singleViews.customer_sv.view.orders.via: relation "order_lines_of_order" leads to "orders" from "lines", but no enclosing record is a "lines"; enclosing: customers'
    ]],
    ['an unreachable dependency', 'mia', 'unreachable-dependency', [
      `${agg}#config.SV_CONFIG.dependencies.lines.on: unreachable: condition "order_to_lines" starts from "orders", and no dependency in scope reads "orders" (in scope: customers, ORDERS)`
    ]],
    ['a dependency cycle', 'mia', 'dependency-cycle', [
      `${agg}#config.SV_CONFIG.dependencies: dependency cycle: "latest" needs "buyer", which needs "latest"`
    ]],
    ['a dependencyOrder naming unknown dependencies or resolving one too early', 'mia', 'dependency-order', [
      `${agg}#config.SV_CONFIG.dependencyOrder: unknown dependency "nope"; dependencies of this block: customers, ORDERS`,
      `${agg}#config.SV_CONFIG.dependencyOrder: "ORDERS" is resolved before "customers", which it needs`
    ]],
    ['a bad cast name and a missing custom cast file (Mia)', 'mia', 'bad-cast', [
      'ps-config.json#settings.castFunctions.castToTitleCase: cannot load /app/extensions/castToTitleCase.js: file not found (also looked for castToTitleCase.js beside ps-config.json)',
      `ps-config.json#projections.customers.fieldsMapping.email.castFunction: unknown cast function "castToStrng"; known: ${knownCasts}`
    ]],
    ['a bad cast name (native)', 'native', 'unknown-cast', [
      `projections.customers.fields.email: unknown cast function "castToStrng"; known: ${knownCasts}`,
      `projections.orders.fields.total.cast: unknown cast function "castToFlaot"; known: ${knownCasts}`
    ]],
    ['a missing __fromFile__ file (Mia)', 'mia', 'missing-function-file', [
      `${agg}#config.SV_CONFIG.mapping.score: cannot load single-views/sv_customers/score.js: file not found`
    ]],
    ['missing function files (native)', 'native', 'missing-function-file', [
      'singleViews.customer_sv.view.score.fn: cannot load functions/score.js: file not found',
      'singleViews.customer_sv.validator: cannot load functions/validator.js: file not found'
    ]],
    ['a joinDependency that is not a dependency of its block', 'mia', 'join-not-a-dependency', [
      `${agg}#config.ORDERS.joinDependency: "order" is not a dependency of this config; dependencies: orders, LINES`
    ]],
    ['config blocks referenced but not defined, not listed as dependencies, or never used', 'mia', 'config-blocks', [
      `${agg}#config.SV_CONFIG.dependencies.ITEMS: config "ITEMS" is not defined; defined configs: ORDERS, LINES, UNUSED`,
      `${agg}#config.SV_CONFIG.mapping.allLines: config "LINES" is not a dependency of this block: add "LINES": { "type": "config" } to its dependencies`,
      `${agg}#config.UNUSED: config "UNUSED" is defined but never used: no block lists it as a { "type": "config" } dependency`
    ]],
    ['a mapping that references an unknown dependency (Mia)', 'mia', 'unknown-dependency-in-mapping', [
      `${agg}#config.SV_CONFIG.mapping.name: unknown dependency "customer"; in scope: customers, ORDERS`
    ]],
    ['a mapping that references an unknown alias (native)', 'native', 'unknown-dependency-in-mapping', [
      'singleViews.customer_sv.view.email: unknown dependency "customer"; in scope: customers, orders'
    ]],
    ['identifier fields that the base projection does not have (Mia)', 'mia', 'key-not-in-base', [
      'single-views/sv_customers/singleViewKey.json#config.customerId: identifier field "CUSTOMER_ID" is not a field of base projection "customers" (fields: customer_id, email, name)'
    ]],
    ['a key field that the base projection does not have (native)', 'native', 'key-not-in-base', [
      'singleViews.customer_sv.key.customerId: "id" is not a field of projection "customers" (fields: customer_id, email, name)'
    ]],
    ['a topic used by two projections (Mia)', 'mia', 'duplicate-topic', [
      'ps-config.json#projections.orders.topics.ingestion.name: topic "shop.customers" is already used by projection "customers"'
    ]],
    ['a topic used by two projections (native)', 'native', 'duplicate-topic', [
      'projections.orders.topic: topic "shop.customers" is already used by projection "customers"'
    ]],
    ['a view collection that is a projection collection (Mia)', 'mia', 'collection-clash', [
      'single-views/sv_customers/settings.json#collection: collection "customers" is already used by projection "customers"'
    ]],
    ['a view collection that is a projection collection (native)', 'native', 'collection-clash', [
      'singleViews.customer_sv.collection: collection "customers" is already used by projection "customers"'
    ]],
    ['an alias used twice in a view (native)', 'native', 'duplicate-alias', [
      'singleViews.customer_sv.view.orders.view.lines.join: alias "orders" is already used at singleViews.customer_sv.view.orders.join; set "as" to a name unique in this view'
    ]]
  ]

  for (const [what, style, name, expected] of cases) {
    it(`validation should report ${what}`, async () => {
      expect(await problemsOf(invalid(style, name))).toEqual(expected)
    })
  }

  it('the valid bases of the invalid fixtures should have no problem and no warning', async () => {
    for (const path of [resolve(fixtures, 'mia/minimal'), resolve(fixtures, 'native/minimal.yaml')]) {
      const result = await checkPipeline(path)
      expect(result.problems).toEqual([])
      expect(result.warnings).toEqual([])
    }
  })
})

describe('validatePipeline completes the definition', () => {
  it('validation should order dependencies topologically, closest to declaration order', () => {
    const pipeline = model({
      blocks: [{
        name: 'SV_CONFIG',
        dependencies: [
          { kind: 'projection', name: 'lines', projection: 'lines', link: { kind: 'condition', condition: 'order_to_lines' }, onStates: ['PUBLIC'] },
          { kind: 'projection', name: 'orders', projection: 'orders', link: { kind: 'condition', condition: 'customer_to_orders' }, onStates: ['PUBLIC'] },
          { kind: 'projection', name: 'customers', projection: 'customers', link: { kind: 'identifier' }, onStates: ['PUBLIC'] }
        ],
        mapping: [['id', { kind: 'field', dependency: 'customers', path: 'id' }], ['sku', { kind: 'field', dependency: 'lines', path: 'sku' }], ['total', { kind: 'field', dependency: 'orders', path: 'total' }]]
      }]
    })
    const result = validatePipeline(pipeline)
    expect(result.problems).toEqual([])
    const root = result.pipeline.singleViews.get('sv')?.root
    expect(root?.dependencies.map(d => d.name)).toEqual(['customers', 'orders', 'lines'])
    expect(root?.dependencies.map(d => d.kind === 'projection' && d.link.kind === 'condition' ? d.link.useAlias : undefined)).toEqual([undefined, 'customers', 'orders'])
    expect(result.pipeline.singleViews.get('sv')?.baseDependency).toBe('customers')
    expect(result.pipeline.singleViews.get('sv')?.baseProjection).toBe('customers')
  })

  it('validation should index the fields of the conditions views use, on both sides, and the identifier fields', () => {
    const result = validatePipeline(model({
      blocks: [{
        name: 'SV_CONFIG',
        dependencies: [
          { kind: 'projection', name: 'customers', projection: 'customers', link: { kind: 'identifier', queryMapping: { email: '_identifier.mail' } }, onStates: ['PUBLIC'] },
          { kind: 'projection', name: 'orders', projection: 'orders', link: { kind: 'condition', condition: 'customer_to_orders' }, onStates: ['PUBLIC'] }
        ],
        mapping: [['mail', { kind: 'field', dependency: 'customers', path: 'email' }], ['total', { kind: 'field', dependency: 'orders', path: 'total' }]]
      }],
      key: { mail: 'mail' }
    }))
    expect(result.problems).toEqual([])
    const indexed = Object.fromEntries([...result.pipeline.projections].map(([name, p]) => [name, p.indexedFields]))
    expect(indexed).toEqual({ customers: ['email', 'id'], orders: ['customerId'], lines: [] })
  })

  it('validation of a model built in code should report at model paths', () => {
    const result = validatePipeline(model({
      blocks: [{
        name: 'SV_CONFIG',
        dependencies: [
          { kind: 'projection', name: 'customers', projection: 'customers', link: { kind: 'identifier' }, onStates: ['PUBLIC', 'GONE'] },
          { kind: 'projection', name: 'orders', projection: 'orders', link: { kind: 'condition', condition: 'nope' }, onStates: ['PUBLIC'] }
        ],
        mapping: [['id', { kind: 'field', dependency: 'customers', path: 'id' }], ['f', { kind: 'function', name: 'fx' }]]
      }]
    }))
    expect(result.problems).toEqual([
      'singleViews.sv.blocks.SV_CONFIG.dependencies.customers.onStates: unknown state "GONE"; states: PUBLIC, DRAFT, TRASH, DELETED',
      'singleViews.sv.blocks.SV_CONFIG.dependencies.orders.on: unknown condition "nope"; known conditions to "orders": customer_to_orders',
      'singleViews.sv.blocks.SV_CONFIG.mapping.f: unknown function "fx"'
    ])
    expect(result.warnings).toEqual(['singleViews.sv.blocks.SV_CONFIG.dependencies.orders: dependency "orders" is never used: no mapping or other dependency reads it'])
  })

  it('validation should warn about unused dependencies, unmapped key fields and joins over one-to-one conditions', () => {
    const result = validatePipeline(model({
      blocks: [
        {
          name: 'SV_CONFIG',
          dependencies: [
            { kind: 'projection', name: 'customers', projection: 'customers', link: { kind: 'identifier' }, onStates: ['PUBLIC'] },
            { kind: 'projection', name: 'orders', projection: 'orders', link: { kind: 'condition', condition: 'customer_to_orders' }, onStates: ['PUBLIC'] },
            { kind: 'config', name: 'LINES' }
          ],
          mapping: [['lines', { kind: 'config', config: 'LINES' }]]
        },
        {
          name: 'LINES',
          joinDependency: 'lines',
          dependencies: [{ kind: 'projection', name: 'lines', projection: 'lines', link: { kind: 'condition', condition: 'order_to_lines' }, onStates: ['PUBLIC'] }],
          mapping: [['sku', { kind: 'field', dependency: 'lines', path: 'sku' }]]
        }
      ],
      oneToMany: false
    }))
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([
      'singleViews.sv.blocks.LINES.joinDependency: joins through condition "order_to_lines", which is not oneToMany',
      'singleViews.sv.key.id: view field "id" is not mapped by the root block, so stored views cannot be found by their key'
    ])
  })
})

const identity: CastFunction = v => v

function projection (name: string, fields: string[], key: string): ProjectionDefinition {
  return {
    name,
    collection: name,
    topic: `t.${name}`,
    format: { type: 'debezium' },
    sourceKey: [key],
    key: [key],
    fields: fields.map(f => ({ source: f, target: f, castName: 'identity', cast: identity })),
    softDelete: true,
    indexedFields: [],
    system: 's'
  }
}

function model (options: { blocks: AggregationBlock[], key?: Record<string, string>, oneToMany?: boolean }): PipelineDefinition {
  const edges: ErEdge[] = [
    { name: 'customer_to_orders', from: 'customers', to: 'orders', condition: { customerId: 'id' }, oneToMany: options.oneToMany ?? true },
    { name: 'order_to_lines', from: 'orders', to: 'lines', condition: { orderId: 'orderId' }, oneToMany: options.oneToMany ?? true }
  ]
  const key = options.key ?? { id: 'id' }
  const root = options.blocks[0] as AggregationBlock
  const sv: SingleViewDefinition = {
    name: 'sv',
    collection: 'sv',
    key,
    identifierFields: Object.values(key),
    root,
    blocks: new Map(options.blocks.map(b => [b.name, b])),
    baseDependency: '',
    baseProjection: '',
    functions: new Map(),
    upsert: 'replace',
    delete: 'delete',
    manualStrategies: new Map(),
    patchRules: [],
    svUpdateTopic: 'sv-update',
    updateEvents: 'full'
  }
  return {
    origin: 'code',
    system: 's',
    projections: new Map([
      ['customers', projection('customers', ['id', 'email'], 'id')],
      ['orders', projection('orders', ['orderId', 'customerId', 'total'], 'orderId')],
      ['lines', projection('lines', ['orderId', 'sku'], 'sku')]
    ]),
    singleViews: new Map([['sv', sv]]),
    er: { edges: new Map(edges.map(e => [e.name, e])), nodes: new Set(['customers', 'orders', 'lines']) }
  }
}

describe('validatePipeline checks what the engine runs', () => {
  const agg = (dependencies: Record<string, unknown>, mapping: Record<string, unknown>, version = '1.1.0'): Record<string, unknown> =>
    ({ 'single-views/sv/aggregation.json': { version, config: { SV_CONFIG: { dependencies, mapping } } } })
  const at = 'single-views/sv/aggregation.json#config.SV_CONFIG'

  it('validation should allow only the base dependency on _identifier', async () => {
    const result = await checkPipeline(tempProject(miaFiles(agg(
      { customers: { type: 'projection', on: '_identifier' }, again: { type: 'projection', aliasOf: 'customers', on: '_identifier' } },
      { id: 'customers.id', name: 'again.name' }
    ))))
    expect(result.problems).toEqual([`${at}.dependencies.again.on: only the base dependency ("customers") may be linked on "_identifier"`])
  })

  it('validation should read identifierQueryMapping values as identifier fields or constants', async () => {
    const ok = await checkPipeline(tempProject(miaFiles(agg(
      { customers: { type: 'projection', on: '_identifier', identifierQueryMapping: { id: '_identifier.id', name: '__string__[x]' } } },
      { id: 'customers.id' }
    ))))
    expect(ok.problems).toEqual([])
    expect(ok.pipeline?.projections.get('customers')?.indexedFields).toEqual(['id', 'name'])
    const bad = await checkPipeline(tempProject(miaFiles(agg(
      { customers: { type: 'projection', on: '_identifier', identifierQueryMapping: { nope: '_identifier.other', name: '__string__[x]' } } },
      { id: 'customers.id' }
    ))))
    expect(bad.problems).toEqual([
      `${at}.dependencies.customers.identifierQueryMapping.nope: "nope" is not a field of projection "customers" (fields: id, name)`,
      `${at}.dependencies.customers.identifierQueryMapping.nope: identifier field "other" is not in the single-view key; identifier fields: id`
    ])
    const constantsOnly = await checkPipeline(tempProject(miaFiles(agg(
      { customers: { type: 'projection', on: '_identifier', identifierQueryMapping: { name: '__string__[x]' } } },
      { id: 'customers.id' }
    ))))
    expect(constantsOnly.problems).toEqual([`${at}.dependencies.customers.identifierQueryMapping: the identifier query reads no identifier field: map a field to "_identifier.<field>"`])
  })

  it('validation should refuse ER conditions the engine cannot evaluate', async () => {
    const files = miaFiles()
    const er = files['erSchema.json'] as { config: { customers: { outgoing: { orders: { conditions: { customer_orders: { condition: unknown } } } } } } }
    er.config.customers.outgoing.orders.conditions.customer_orders.condition = { customerId: { $regex: 'id' } }
    expect((await checkPipeline(tempProject(files))).problems).toEqual([
      'erSchema.json#config.customers.outgoing.orders.conditions.customer_orders.condition: field customerId: operator $regex is not supported (use $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin)'
    ])
  })

  it('validation should check strategy paths against the ER schema, the base projection and the key', async () => {
    const files = miaFiles({
      'single-views/sv/projectionChangesSchema.json': {
        version: '1.0.0',
        config: {
          sv: {
            paths: [
              { path: ['orders', 'customers'], identifier: { id: 'id' } },
              { path: ['customers', 'orders'], identifier: { id: 'customerId', extra: 'id' } },
              { path: ['orders', 'nowhere'], identifier: '__fromFile__[missing.js]' }
            ]
          }
        }
      }
    })
    const result = await checkPipeline(tempProject(files))
    const paths = 'single-views/sv/projectionChangesSchema.json#config.sv.paths'
    expect(result.problems).toEqual([
      `${paths}[2].identifier: cannot load single-views/sv/missing.js: file not found`,
      `${paths}[1].path: the path must end at the base projection "customers", not at "orders"`,
      `${paths}[1].identifier: the identifier must have exactly the single-view key's identifier fields (id); it has id, extra`,
      `${paths}[1].identifier.id: "customerId" is not a field of base projection "customers" (fields: id, name)`,
      `${paths}[2].path: unknown projection "nowhere"; known: customers, orders, sv`,
      `${paths}[2].path: no condition links "orders" and "nowhere"`,
      `${paths}[2].path: the path must end at the base projection "customers", not at "nowhere"`
    ])
  })

  it('validation should check the projections of manual strategies and patch rules', async () => {
    const files = miaFiles({
      'single-views/sv/kafkaProjectionUpdates.json': { order: { strategy: '__fromFile__[s.js]' } },
      'single-views/sv/s.js': 'module.exports = async function * s () {}\n',
      'single-views/sv/svTriggerHandlerCustomConfig.json': { patchRules: [{ projection: 'customer', patchAction: '__fromFile__[p.js]' }] },
      'single-views/sv/p.js': 'module.exports = () => ({ filter: {}, update: {} })\n'
    })
    expect((await checkPipeline(tempProject(files))).problems).toEqual([
      'single-views/sv/kafkaProjectionUpdates.json#order.strategy: unknown projection "order"; known: customers, orders, sv',
      'single-views/sv/svTriggerHandlerCustomConfig.json#patchRules[0].projection: unknown projection "customer"; known: customers, orders, sv'
    ])
  })

  it('validation should refuse source fields mapped to a reserved field or twice to one field, and unmapped key fields', async () => {
    const files = miaFiles()
    const ps = files['ps-config.json'] as { projections: { customers: { primaryKeys: string[], fieldsMapping: Record<string, unknown> } } }
    ps.projections.customers.fieldsMapping['created'] = { targetField: 'createdAt', castFunction: 'identity' }
    ps.projections.customers.fieldsMapping['label'] = { targetField: 'name', castFunction: 'identity' }
    ps.projections.customers.primaryKeys = ['id', 'code']
    expect((await checkPipeline(tempProject(files))).problems).toEqual([
      'ps-config.json#projections.customers.primaryKeys: key field "code" is not in the fields mapping, so the projection would have no value for it',
      'ps-config.json#projections.customers.fieldsMapping.created: "createdAt" is a field braid writes on every record (reserved: _id, __STATE__, createdAt, updatedAt, creatorId, updaterId, timestamp, __internal__counter, __internal__counterType, __internal__kafkaInfo); map "created" to another name',
      'ps-config.json#projections.customers.fieldsMapping.label: "label" and "name" both map to "name"'
    ])
  })
})
