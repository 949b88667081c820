/**
 * Kafka for the event-log tests: the shared broker's address (BRAID_KAFKA_BROKERS, required), and
 * private single-node KRaft brokers that a test may stop and restart (fault tests), started from
 * the Kafka libraries scripts/services.sh installs (`$BRAID_CACHE_DIR/kafka-<version>/libs`).
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Admin } from '@platformatic/kafka'
import { requireKafkaBrokers } from '../services/env.ts'

/**
 * The shared broker list (BRAID_KAFKA_BROKERS, set by test/services/global-setup.ts or by you); a
 * test that needs it fails (never skips) with how to get one when it is not set.
 */
export function kafkaBrokers (): string[] {
  return requireKafkaBrokers()
}

export const kafkaVersion = process.env['BRAID_KAFKA_VERSION'] ?? '4.1.1'

/** The Kafka libraries folder (jars), as scripts/services.sh installs it. */
export function kafkaLibs (): string {
  const cache = process.env['BRAID_CACHE_DIR'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'braid')
  // scripts/services.sh installs into kafka-<version>-<checksum of its pom>/libs; the newest one wins.
  const installs = existsSync(cache)
    ? readdirSync(cache).filter(d => d.startsWith(`kafka-${kafkaVersion}-`) && existsSync(path.join(cache, d, 'libs')))
      .map(d => path.join(cache, d, 'libs')).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : []
  const libs = installs[0] ?? path.join(cache, `kafka-${kafkaVersion}`, 'libs')
  if (!existsSync(libs)) {
    throw new Error(`Kafka ${kafkaVersion} libraries not found in ${libs}: run scripts/services.sh up kafka once (it installs them), or set BRAID_CACHE_DIR`)
  }
  return libs
}

const log4j = fileURLToPath(new URL('../../scripts/services/kafka/log4j2.xml', import.meta.url))

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = new Socket()
    socket.setTimeout(500)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(false))
    socket.connect(port, '127.0.0.1')
  })
}

/** Topics and groups removed at the end of a test file, best effort (the shared broker keeps no clutter). */
export async function deleteTopics (brokers: string[], topics: Iterable<string>): Promise<void> {
  const names = [...topics]
  if (names.length === 0) return
  const admin = new Admin({ clientId: 'braid-test-cleanup', bootstrapBrokers: brokers })
  try {
    await admin.deleteTopics({ topics: names })
  } catch {
    // Best effort: leftover test topics are harmless.
  } finally {
    await admin.close()
  }
}

/**
 * A private single-node Kafka (KRaft, broker + controller) on free loopback ports, with its own
 * data directory, that survives `stop()` / `start()` (same ports, same data) for fault tests.
 */
export class PrivateKafka {
  readonly port: number
  readonly controllerPort: number
  readonly dir: string
  #process: ChildProcess | undefined

  private constructor (port: number, controllerPort: number, dir: string) {
    this.port = port
    this.controllerPort = controllerPort
    this.dir = dir
  }

  get brokers (): string[] {
    return [`127.0.0.1:${this.port}`]
  }

  /** Formats the storage and starts the broker; resolves once it accepts connections. */
  static async launch (): Promise<PrivateKafka> {
    const libs = kafkaLibs()
    const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-kafka-'))
    const kafka = new PrivateKafka(await freePort(), await freePort(), dir)
    mkdirSync(path.join(dir, 'data'))
    mkdirSync(path.join(dir, 'logs'))
    writeFileSync(path.join(dir, 'server.properties'), [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${kafka.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${kafka.port},CONTROLLER://127.0.0.1:${kafka.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      ''
    ].join('\n'))
    // A cluster id as `kafka-storage random-uuid` makes it: 16 random bytes, base64url, not starting with '-'.
    let clusterId = '-'
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url').slice(0, 22)
    await promisify(execFile)('java', ['-cp', `${libs}/*`, `-Dkafka.logs.dir=${path.join(dir, 'logs')}`, `-Dlog4j2.configurationFile=${log4j}`,
      'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', path.join(dir, 'server.properties')], { timeout: 60_000 })
    await kafka.start()
    return kafka
  }

  /** Starts the broker on the same ports and data; resolves once it accepts connections. */
  async start (timeoutMs = 60_000): Promise<void> {
    if (this.#process !== undefined) return
    const libs = kafkaLibs()
    const child = spawn('java', ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${path.join(this.dir, 'logs')}`, `-Dlog4j2.configurationFile=${log4j}`,
      '-cp', `${libs}/*`, 'kafka.Kafka', path.join(this.dir, 'server.properties')], { stdio: 'ignore' })
    this.#process = child
    let exited = false
    child.once('exit', () => { exited = true })
    const deadline = Date.now() + timeoutMs
    while (!(await portOpen(this.port))) {
      if (exited) throw new Error(`the private Kafka broker exited while starting; see ${path.join(this.dir, 'logs', 'server.log')}`)
      if (Date.now() > deadline) throw new Error(`the private Kafka broker did not listen on ${this.port} within ${timeoutMs} ms; see ${path.join(this.dir, 'logs', 'server.log')}`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }

  /** Stops the broker (SIGTERM: controlled shutdown; SIGKILL: a crash) and waits for the process to exit. */
  async stop (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#process
    if (child === undefined) return
    this.#process = undefined
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }

  /** Stops the broker and removes its data. */
  async destroy (): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
