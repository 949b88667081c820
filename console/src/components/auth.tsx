/**
 * The token prompt: shown when a call is answered 401; the token goes to sessionStorage (this tab
 * only) and every waiting call is retried with it.
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { cancelTokenPrompt, onAuthRequest, submitToken, type AuthRequest } from '../api.ts'

export function TokenPrompt () {
  const [request, setRequest] = useState<AuthRequest | null>(null)
  const [value, setValue] = useState('')
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => onAuthRequest(setRequest), [])
  useEffect(() => {
    if (request !== null) input.current?.focus()
  }, [request])
  if (request === null) return null
  const submit = (ev: Event): void => {
    ev.preventDefault()
    if (value.trim() === '') return
    submitToken(value)
    setValue('')
  }
  return (
    <div class='overlay' role='dialog' aria-modal='true' aria-labelledby='token-title'>
      <form class='dialog' onSubmit={submit} data-testid='token-prompt'>
        <h2 id='token-title'>{request.reason === 'rejected' ? 'Token rejected' : 'Sign in to braid'}</h2>
        <p>
          {request.reason === 'rejected'
            ? 'braid did not accept this token (401). Check it, or ask for a new one.'
            : 'This braid requires authentication. Enter an API key or a JWT; it is kept for this browser tab only.'}
        </p>
        <label>
          <span>Token</span>
          <input ref={input} type='password' name='token' autocomplete='off' value={value} onInput={ev => setValue((ev.target as HTMLInputElement).value)} />
        </label>
        <div class='dialog-actions'>
          <button type='submit' class='primary' disabled={value.trim() === ''}>Sign in</button>
          <button type='button' onClick={cancelTokenPrompt}>Cancel</button>
        </div>
      </form>
    </div>
  )
}
