import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { dataDir, integerOption, jsonObjectOption, requiredOption, requiredPositional, type CommandArgs } from '../../src/cli/args.ts'
import { createProgress } from '../../src/cli/progress.ts'
import { selectedViews } from '../../src/cli/commands/rebuild.ts'

const args = (values: CommandArgs['values'] = {}, positionals: string[] = []): CommandArgs => ({ values, positionals })

function usageError (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toMatchObject({ code: 'BRAID_USAGE' })
    return (err as Error).message
  }
  throw new Error('expected BRAID_USAGE, nothing was thrown')
}

describe('command-line arguments', () => {
  const savedDataDir = process.env['BRAID_DATA_DIR']

  afterEach(() => {
    if (savedDataDir === undefined) delete process.env['BRAID_DATA_DIR']
    else process.env['BRAID_DATA_DIR'] = savedDataDir
  })

  it('reads required positionals and options, and names the missing one', () => {
    expect(requiredPositional(args({}, ['cfg.yaml']), 0, '<config>')).toBe('cfg.yaml')
    expect(usageError(() => requiredPositional(args(), 0, '<config>'))).toContain('missing <config>')
    expect(requiredOption(args({ topic: 't' }), 'topic', 'TOPIC')).toBe('t')
    expect(usageError(() => requiredOption(args({ topic: '' }), 'topic', 'TOPIC'))).toContain('--topic')
  })

  it('parses a non-negative integer option, with its fallback when absent', () => {
    expect(integerOption(args(), 'port', 3000)).toBe(3000)
    expect(integerOption(args({ port: '0' }), 'port', 3000)).toBe(0)
    expect(integerOption(args({ port: '8080' }), 'port', 3000)).toBe(8080)
    for (const bad of ['-1', '1.5', 'http']) expect(usageError(() => integerOption(args({ port: bad }), 'port', 3000))).toContain('--port')
  })

  it('parses a JSON object option and rejects other JSON', () => {
    expect(jsonObjectOption(args({ identifier: '{"ID_USER":"42"}' }), 'identifier')).toEqual({ ID_USER: '42' })
    expect(usageError(() => jsonObjectOption(args({ identifier: '{' }), 'identifier'))).toContain('not valid JSON')
    expect(usageError(() => jsonObjectOption(args({ identifier: '[1]' }), 'identifier'))).toContain('must be a JSON object')
    expect(usageError(() => jsonObjectOption(args(), 'identifier'))).toContain('--identifier')
  })

  it('takes the data directory from --data-dir, then BRAID_DATA_DIR, then ./.braid', () => {
    delete process.env['BRAID_DATA_DIR']
    expect(dataDir(args())).toBe('./.braid')
    process.env['BRAID_DATA_DIR'] = '/tmp/from-env'
    expect(dataDir(args())).toBe('/tmp/from-env')
    expect(dataDir(args({ 'data-dir': '/tmp/from-flag' }))).toBe('/tmp/from-flag')
  })

  it('selects every single view, or the one named, rejecting an unknown name', () => {
    expect(selectedViews(['a', 'b'], undefined)).toEqual(['a', 'b'])
    expect(selectedViews(['a', 'b'], 'b')).toEqual(['b'])
    expect(usageError(() => selectedViews(['a', 'b'], 'c'))).toContain('known: a, b')
  })
})

describe('the progress output', () => {
  function sink (): { stream: NodeJS.WriteStream, text: () => string } {
    let text = ''
    const stream = new Writable({ write (chunk: Buffer, _encoding, done) { text += chunk.toString(); done() } }) as unknown as NodeJS.WriteStream
    return { stream, text: () => text }
  }

  it('prints one line per tenth of the work when not on a terminal, then the final message', () => {
    const { stream, text } = sink()
    const progress = createProgress('verify v', stream)
    for (let done = 0; done <= 100; done++) progress.update(done, 100)
    progress.finish('all done')
    const lines = text().trim().split('\n')
    expect(lines.filter(l => l.startsWith('verify v: ['))).toHaveLength(11)
    expect(lines.at(-2)).toMatch(/^verify v: \[#{30}\] 100% 100\/100/)
    expect(lines.at(-1)).toBe('all done')
  })

  it('prints a count when the total is unknown', () => {
    const { stream, text } = sink()
    const progress = createProgress('replay t', stream)
    progress.update(5)
    progress.finish('appended 5 messages to t')
    expect(text()).toMatch(/^replay t: 5 \(\d+\/s\)\nappended 5 messages to t\n$/)
  })
})
