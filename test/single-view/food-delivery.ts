/**
 * The Mia low-code conformance case (food delivery, `sv_customers`) as a hand-built definition:
 * /work/shared/conformance/mia-low-code-template/ aggregation.json, erSchema.json, validator.js and
 * myCustomFx.js translated into the model.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Doc } from '../../src/model/document.ts'
import type { ErSchema, SingleViewDefinition } from '../../src/model/single-view.ts'
import { base, block, config, configDep, dep, erFromMia, fn, view, type ProjectionSpec } from './helpers.ts'

export const caseDir = '/work/shared/conformance/mia-low-code-template'

function readJson<T> (file: string): T {
  return JSON.parse(readFileSync(`${caseDir}/${file}`, 'utf8')) as T
}

export const foodEr: ErSchema = erFromMia(readJson('erSchema.json'))
export const fixtures = readJson<Record<string, Doc[]>>('fixtures.json')
export const identifier = readJson<Doc>('identifier.json')
export const expected = readJson<Doc>('expected.json')

/** Primary keys as in ps-config.json; indexes on every ER field. */
export const foodProjections: Record<string, ProjectionSpec> = {
  pr_allergens: { key: ['id_allergen'], indexes: ['ID_ALLERGEN'] },
  pr_allergens_registry: { key: ['ID_ALLERGEN', 'ID_USER'], indexes: ['ID_USER', 'ID_ALLERGEN'] },
  pr_dishes: { key: ['id_dish'], indexes: ['id_restaurant', 'ID_DISH'] },
  pr_orders: { key: ['ID_ORDER'], indexes: ['ID_USER'] },
  pr_orders_dishes: { key: ['ID_ORDER', 'ID_DISH'], indexes: ['ID_ORDER', 'ID_DISH'] },
  pr_registry: { key: ['ID_USER'] },
  pr_restaurants: { key: ['id_restaurant'] },
  pr_reviews: { key: ['ID_REVIEW'], indexes: ['ID_USER', 'ID_DISH'] }
}

export function customersView (overrides: Partial<SingleViewDefinition> = {}): SingleViewDefinition {
  const def = view({
    name: 'sv_customers',
    key: { idCustomer: 'ID_USER' },
    baseDependency: 'pr_registry',
    root: block('SV_CONFIG', [base('pr_registry'), configDep('ALLERGENS'), configDep('REVIEWS'), configDep('ORDERS')], {
      idCustomer: 'pr_registry.ID_USER',
      taxCode: 'pr_registry.TAX_CODE',
      name: 'pr_registry.NAME',
      surname: 'pr_registry.SURNAME',
      email: 'pr_registry.EMAIL',
      address: 'pr_registry.ADDRESS',
      telephone: 'pr_registry.PHONE',
      allergens: config('ALLERGENS'),
      reviews: config('REVIEWS'),
      orders: config('ORDERS'),
      withCustom: fn('myCustomFx')
    }),
    blocks: [
      block('ALLERGENS', [dep('pr_allergens_registry', 'reg_to_aller_reg'), dep('pr_allergens', 'aller_reg_to_aller')], {
        id: 'pr_allergens_registry.ID_ALLERGEN',
        comments: 'pr_allergens_registry.COMMENTS',
        description: 'pr_allergens.description'
      }, 'pr_allergens_registry'),
      block('REVIEWS', [dep('pr_reviews', 'reg_to_rev')], {
        id: 'pr_reviews.ID_REVIEW',
        text: 'pr_reviews.TEXT',
        stars: 'pr_reviews.STARS'
      }, 'pr_reviews'),
      block('ORDERS', [dep('pr_orders', 'reg_to_order'), configDep('DISHES')], {
        id: 'pr_orders.ID_ORDER',
        orderDate: 'pr_orders.DATE',
        totalPrice: 'pr_orders.TOTAL_PRICE',
        paymentType: 'pr_orders.PAYMENT_TYPE',
        orderStatus: 'pr_orders.ORDER_STATUS',
        dishes: config('DISHES')
      }, 'pr_orders'),
      block('DISHES', [dep('pr_orders_dishes', 'order_to_order_dish'), dep('pr_dishes', 'order_dish_to_dish')], {
        id: 'pr_orders_dishes.ID_DISH',
        description: 'pr_dishes.description',
        price: 'pr_dishes.price'
      }, 'pr_orders_dishes')
    ],
    // myCustomFx.js
    functions: { myCustomFx: async () => ({ isOk: 'ok' }) },
    // validator.js
    validator: (_logger, singleView) => typeof singleView['taxCode'] === 'string'
  })
  return { ...def, ...overrides }
}
