import { describe, expect, it } from 'vitest'
import { SseParser } from '../../console/src/sse-parser.ts'

describe('the console SSE parser', () => {
  it('reads events with their name, data and id, and skips comments', () => {
    const parser = new SseParser()
    const events = parser.feed(': heartbeat\n\nid: 0:41\nevent: sv-update\ndata: {"a":1}\n\n')
    expect(events).toEqual([{ event: 'sv-update', data: '{"a":1}', id: '0:41' }])
    expect(parser.lastEventId).toBe('0:41')
  })

  it('joins data lines with a line feed and names unnamed events "message"', () => {
    expect(new SseParser().feed('data: one\ndata: two\n\n')).toEqual([{ event: 'message', data: 'one\ntwo', id: '' }])
  })

  it('assembles events split anywhere across chunks, CR LF split included', () => {
    const text = 'id: 0:1\r\nevent: sv-update\r\ndata: {"key":{"email":"a@b"}}\r\n\r\nid: 0:2\r\nevent: gap\r\ndata: {}\r\n\r\n'
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser()
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))]
      expect(events.map(e => `${e.id} ${e.event} ${e.data}`), `cut at ${cut}`).toEqual(['0:1 sv-update {"key":{"email":"a@b"}}', '0:2 gap {}'])
    }
  })

  it('accepts CR alone as a line end, and a field without a colon', () => {
    expect(new SseParser().feed('event: x\rdata\r\r')).toEqual([{ event: 'x', data: '', id: '' }])
  })

  it('keeps the last id for later events and resets the event name after each one', () => {
    const parser = new SseParser()
    const events = parser.feed('id: 7\nevent: a\ndata: 1\n\ndata: 2\n\n')
    expect(events).toEqual([{ event: 'a', data: '1', id: '7' }, { event: 'message', data: '2', id: '7' }])
  })

  it('dispatches nothing for a blank line without data, and nothing before the blank line', () => {
    const parser = new SseParser()
    expect(parser.feed('event: lonely\n\n')).toEqual([])
    expect(parser.feed('data: pending\n')).toEqual([])
    expect(parser.feed('\n')).toEqual([{ event: 'message', data: 'pending', id: '' }])
  })
})
