/**
 * Ingestion formats: `createFormat` builds the decoder of a projection's FormatDefinition.
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { FormatDefinition } from '../../model/projection.ts'
import { BasicFormat } from './basic.ts'
import { CustomFormat } from './custom.ts'
import type { AdapterLogger } from './custom.ts'
import { DebeziumFormat } from './debezium.ts'
import { FastDataV2Format } from './fast-data-v2.ts'
import type { Format } from './format.ts'
import { GoldenGateFormat } from './golden-gate.ts'

export type { Format } from './format.ts'
export type { AdapterLogger, AdapterMessage, CustomFormatOptions } from './custom.ts'
export { BasicFormat } from './basic.ts'
export { CustomFormat, silentLogger } from './custom.ts'
export { DebeziumFormat } from './debezium.ts'
export { FastDataV2Format } from './fast-data-v2.ts'
export { GoldenGateFormat, parseOpTs } from './golden-gate.ts'

export interface CreateFormatOptions {
  /** Logger handed to custom adapters as their third argument. */
  logger?: AdapterLogger
}

/** Builds the format of a definition. A custom format without a loaded adapter is BRAID_FUNCTION_LOAD_FAILED. */
export function createFormat (def: FormatDefinition, options: CreateFormatOptions = {}): Format {
  switch (def.type) {
    case 'basic':
    case 'db2':
      return new BasicFormat(def.type)
    case 'golden-gate':
      return new GoldenGateFormat({ usePosAsCounter: def.usePosAsCounter })
    case 'debezium':
      return new DebeziumFormat()
    case 'fast-data-v2':
      return new FastDataV2Format()
    case 'custom': {
      if (typeof def.adapter !== 'function') {
        throw new BraidError('BRAID_FUNCTION_LOAD_FAILED', `custom format: no adapter function was loaded${def.adapterFile === undefined ? '' : ` from "${def.adapterFile}"`}; the adapter file must export a function messageAdapter(message, primaryKeys, logger)`, {
          details: def.adapterFile === undefined ? {} : { file: def.adapterFile }
        })
      }
      return new CustomFormat({ adapter: def.adapter, adapterFile: def.adapterFile, logger: options.logger })
    }
  }
}
