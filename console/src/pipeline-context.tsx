/**
 * The pipeline description (`GET /-/pipeline`), loaded once and shared by every page.
 * @module
 */
import { createContext, type ComponentChildren } from 'preact'
import { useContext } from 'preact/hooks'
import { useJson, type Resource } from './hooks.ts'
import type { PipelineDescription } from './types.ts'

const PipelineContext = createContext<Resource<PipelineDescription>>({ data: undefined, error: undefined, loading: true, reload: () => {} })

export function usePipeline (): Resource<PipelineDescription> {
  return useContext(PipelineContext)
}

export function PipelineProvider ({ children }: { children: ComponentChildren }) {
  const resource = useJson<PipelineDescription>('/-/pipeline')
  return <PipelineContext.Provider value={resource}>{children}</PipelineContext.Provider>
}
