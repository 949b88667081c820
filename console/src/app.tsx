/**
 * The console shell: navigation, live status in the header, the token prompt, and the page of the
 * current route.
 * @module
 */
import { useState } from 'preact/hooks'
import { clearToken, currentToken } from './api.ts'
import { TokenPrompt } from './components/auth.tsx'
import { Empty } from './components/state.tsx'
import { CommandsPage } from './pages/commands.tsx'
import { ControlPage } from './pages/control.tsx'
import { ErPage } from './pages/er.tsx'
import { ErrorsPage } from './pages/errors.tsx'
import { PipelinePage } from './pages/pipeline.tsx'
import { ProjectionsPage } from './pages/projections.tsx'
import { ViewsPage } from './pages/views.tsx'
import { PipelineProvider } from './pipeline-context.tsx'
import { href, useRoute, type Route } from './router.ts'
import { StatusProvider, useLiveStatus } from './status.tsx'

const sections = [
  { path: 'pipeline', label: 'Pipeline' },
  { path: 'views', label: 'Single views' },
  { path: 'projections', label: 'Projections' },
  { path: 'errors', label: 'Errors' },
  { path: 'commands', label: 'Commands' },
  { path: 'control', label: 'Control' },
  { path: 'er', label: 'ER schema' }
] as const

export function App () {
  const route = useRoute()
  return (
    <StatusProvider>
      <PipelineProvider>
        <Shell route={route} />
        <TokenPrompt />
      </PipelineProvider>
    </StatusProvider>
  )
}

function Shell ({ route }: { route: Route }) {
  const section = route.path[0] ?? 'pipeline'
  return (
    <div class='shell'>
      <header class='top'>
        <a class='brand' href={href(['pipeline'])}>braid</a>
        <nav aria-label='Sections'>
          {sections.map(s => <a key={s.path} href={href([s.path])} class={section === s.path ? 'active' : ''} aria-current={section === s.path ? 'page' : undefined}>{s.label}</a>)}
        </nav>
        <StatusPill />
        <SignOut />
      </header>
      <main>
        <Page section={section} route={route} />
      </main>
    </div>
  )
}

function Page ({ section, route }: { section: string, route: Route }) {
  switch (section) {
    case 'pipeline': return <PipelinePage route={route} />
    case 'views': return <ViewsPage route={route} />
    case 'projections': return <ProjectionsPage route={route} />
    case 'errors': return <ErrorsPage route={route} />
    case 'commands': return <CommandsPage route={route} />
    case 'control': return <ControlPage />
    case 'er': return <ErPage />
    default: return <Empty>There is no page “{section}”. <a href={href(['pipeline'])}>Go to the pipeline</a>.</Empty>
  }
}

function StatusPill () {
  const { status, error } = useLiveStatus()
  if (error !== undefined) return <span class='pill bad' data-testid='status-pill' title={error.message}>{error.status === 0 ? 'unreachable' : `status ${error.status}`}</span>
  if (status === undefined) return <span class='pill neutral' data-testid='status-pill'>connecting…</span>
  return <span class={`pill ${status.ready ? 'ok' : 'bad'}`} data-testid='status-pill'>{status.ready ? 'ready' : 'not ready'}</span>
}

function SignOut () {
  const [, rerender] = useState(0)
  if (currentToken() === null) return null
  return <button type='button' class='link signout' onClick={() => { clearToken(); rerender(n => n + 1); location.reload() }}>Sign out</button>
}
