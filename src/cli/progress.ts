/**
 * A progress bar on stderr: redrawn in place on a terminal, one line per 10% otherwise (CI logs).
 * @module
 */

export interface Progress {
  update (done: number, total?: number): void
  finish (message?: string): void
}

export function createProgress (label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now()
  const tty = stream.isTTY
  let lastDecile = -1
  let lastDraw = 0
  let total: number | undefined
  let done = 0
  let lastPrinted = ''

  const line = (): string => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const rate = Math.round(done / seconds)
    if (total === undefined || total === 0) return `${label}: ${done} (${rate}/s)`
    const ratio = Math.min(done / total, 1)
    const width = 30
    const filled = Math.round(ratio * width)
    return `${label}: [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor(ratio * 100)}% ${done}/${total} (${rate}/s)`
  }

  return {
    update (d, t) {
      done = d
      if (t !== undefined) total = t
      if (tty) {
        const now = Date.now()
        if (now - lastDraw < 100) return
        lastDraw = now
        stream.write(`\r${line()}\u001b[K`)
      } else if (total !== undefined && total > 0) {
        const decile = Math.floor((done / total) * 10)
        if (decile > lastDecile) {
          lastDecile = decile
          lastPrinted = line()
          stream.write(`${lastPrinted}\n`)
        }
      }
    },
    finish (message) {
      if (tty) stream.write(`\r${line()}\u001b[K\n`)
      else if (total === undefined || Math.floor((done / Math.max(total, 1)) * 10) !== lastDecile || lastPrinted === '') stream.write(`${line()}\n`)
      if (message !== undefined) stream.write(`${message}\n`)
    }
  }
}
