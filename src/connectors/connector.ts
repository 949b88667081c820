/**
 * Connectors are a transport × a format (after Feldera's adapters).
 *
 * - A **transport** moves bytes: it reads records from somewhere (an NDJSON file, an HTTP ingest call,
 *   a Kafka topic, a change stream) and yields them as `AppendRecord`s — text key, text value,
 *   optional timestamp and headers — without looking inside. braid appends them to the projection's
 *   ingestion topic on the event log, so every source goes through the same durable, ordered path.
 * - A **format** understands content: the consumer reads `LogRecord`s back from the log (a
 *   `LogRecord` is a `RawMessage`: text key/value plus topic, partition, offset, timestamp, headers)
 *   and the projection's format (`formats/`, chosen by `FormatDefinition.type`) decodes each into
 *   `ChangeEvent`s, or skips it (`[]`), or rejects it (`BRAID_DECODE_FAILED` → dead letter).
 *
 * Any transport works with any format: a Debezium stream replayed from an NDJSON file decodes exactly
 * as it would from Kafka. Where Kafka is itself the event log, no transport is needed: the consumer
 * reads the ingestion topic directly.
 * @module
 */
import type { AppendRecord } from '../model/log-record.ts'

export type { Format } from './formats/format.ts'

export interface TransportReadOptions {
  /** Stops reading; the iterator ends after the batch in progress. */
  signal?: AbortSignal
}

/** A source of raw records. Bounded transports (files) end; unbounded ones run until aborted. */
export interface Transport {
  /** Short name for logs and metrics (`ndjson-file`, `http`, …). */
  readonly kind: string
  /** Where the records come from, for messages (a path, a URL). */
  readonly origin: string
  /**
   * Records in source order, in batches (never empty). Errors are BraidErrors: a malformed record is
   * BRAID_DECODE_FAILED with its position in the source.
   */
  read (options?: TransportReadOptions): AsyncIterable<AppendRecord[]>
}
