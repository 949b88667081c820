import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { checkPipeline } from '../../src/config/index.ts'
import { miaFiles, tempProject } from './temp-project.ts'

const shop = (updateEvents?: unknown): Record<string, unknown> => ({
  version: 1,
  projections: { customers: { topic: 't.customers', key: 'id', fields: { id: null, email: null } } },
  singleViews: { sv: { base: 'customers', key: 'id', view: { id: 'customers.id' }, ...(updateEvents === undefined ? {} : { updateEvents }) } }
})

/** The chained fixture (team_sv joins member_sv) with member_sv's updateEvents set. */
function chained (updateEvents: string): Record<string, unknown> {
  const config = parse(readFileSync(join(import.meta.dirname, '../fixtures/runtime/chained/braid.yaml'), 'utf8')) as { singleViews: Record<string, Record<string, unknown>> }
  config.singleViews['member_sv'] = { ...config.singleViews['member_sv'], updateEvents }
  return config
}

describe('updateEvents in the native configuration', () => {
  it.each(['full', 'key', 'none'] as const)('compiles %s onto the view', async value => {
    const result = await checkPipeline(`${tempProject({ 'braid.json': shop(value) })}/braid.json`)
    expect(result.problems).toEqual([])
    expect(result.pipeline?.singleViews.get('sv')?.updateEvents).toBe(value)
  })

  it('defaults to full', async () => {
    const result = await checkPipeline(`${tempProject({ 'braid.json': shop() })}/braid.json`)
    expect(result.pipeline?.singleViews.get('sv')?.updateEvents).toBe('full')
  })

  it('refuses other values, naming the allowed ones', async () => {
    const result = await checkPipeline(`${tempProject({ 'braid.json': shop('before-after') })}/braid.json`)
    expect(result.problems).toHaveLength(1)
    expect(result.problems[0]).toMatch(/^singleViews\.sv\.updateEvents: .*full.*key.*none/)
  })

  it.each(['key', 'none'])('refuses %s on a view that another view joins, naming the joining view', async value => {
    const result = await checkPipeline(`${tempProject({ 'braid.json': chained(value) })}/braid.json`)
    expect(result.problems).toEqual([
      `singleViews.member_sv.updateEvents: single view "member_sv" is joined by "team_sv", which learns of its changes from its sv-update events; updateEvents must be full (it is ${value})`
    ])
  })

  it('accepts key and none on the joining view itself', async () => {
    const config = chained('full') as { singleViews: Record<string, Record<string, unknown>> }
    config.singleViews['team_sv'] = { ...config.singleViews['team_sv'], updateEvents: 'none' }
    expect((await checkPipeline(`${tempProject({ 'braid.json': config })}/braid.json`)).problems).toEqual([])
  })
})

describe('updateEvents in a Mia project (settings.json)', () => {
  it.each([
    [{}, 'full'],
    [{ sendSvUpdateToKafka: false }, 'none'],
    [{ sendSvUpdateToKafka: true }, 'key'],
    [{ sendSvUpdateToKafka: true, addBeforeAfterContent: false }, 'key'],
    [{ sendSvUpdateToKafka: true, addBeforeAfterContent: true }, 'full'],
    [{ addBeforeAfterContent: true }, 'none']
  ])('reads %j as %s (the SVC\'s defaults once either variable is given)', async (settings, expected) => {
    const result = await checkPipeline(tempProject(miaFiles({ 'single-views/sv/settings.json': settings })))
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([])
    expect(result.pipeline?.singleViews.get('sv')?.updateEvents).toBe(expected)
  })

  it('refuses a value that is not a boolean, at its place in settings.json', async () => {
    const result = await checkPipeline(tempProject(miaFiles({ 'single-views/sv/settings.json': { sendSvUpdateToKafka: 'yes' } })))
    expect(result.problems).toEqual(['single-views/sv/settings.json#sendSvUpdateToKafka: must be true or false'])
  })
})
