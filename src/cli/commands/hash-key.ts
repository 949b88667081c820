/**
 * `braid hash-key [--name NAME] [--scope a,b] [--scrypt] [--key-stdin]`: makes a new random API key and prints it once, with the configuration entry that
 * holds only its hash. `--scrypt` hashes with scrypt instead of sha256 (for keys people choose;
 * random keys need no slow hash). `--key-stdin` hashes a key read from standard input instead of
 * making one.
 * @module
 */
import { text } from 'node:stream/consumers'
import { scopePattern } from '../../config/native/api-schema.ts'
import { BraidError } from '../../errors.ts'
import { generateApiKey, scryptHash, sha256Hash } from '../../api/auth/keys.ts'
import { optionalString, type CommandArgs } from '../args.ts'

export async function hashKeyCommand (args: CommandArgs, stdin: NodeJS.ReadableStream = process.stdin, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const name = optionalString(args, 'name') ?? 'my-client'
  const raw = args.values['scope']
  const scopes = typeof raw === 'string' ? raw.split(',').map(s => s.trim()).filter(s => s !== '') : ['read:*']
  if (scopes.length === 0) throw new BraidError('BRAID_USAGE', '--scope is empty; give a comma list such as read:customer_sv,ingest:crm.public.customers')
  const pattern = new RegExp(scopePattern)
  for (const s of scopes) {
    if (!pattern.test(s)) throw new BraidError('BRAID_USAGE', `--scope ${JSON.stringify(s)} is not a scope; use read:<view or projection>, ingest:<topic>, command:<name> (or one of those with *), or admin`)
  }
  let key: string
  if (args.values['key-stdin'] === true) {
    key = (await text(stdin)).trim()
    if (key === '') throw new BraidError('BRAID_USAGE', '--key-stdin: standard input is empty; pipe the key in, e.g. printf %s "$KEY" | braid hash-key --key-stdin')
  } else {
    key = generateApiKey()
  }
  const hash = args.values['scrypt'] === true ? await scryptHash(key) : sha256Hash(key)
  const lines = [
    ...(args.values['key-stdin'] === true ? [] : [
      'New API key (shown once; braid stores only its hash — give it to the client):',
      '',
      `  ${key}`,
      ''
    ]),
    'Add to api.auth.apiKeys in the braid configuration:',
    '',
    `  - name: ${name}`,
    `    hash: '${hash}'`,
    `    scopes: [${scopes.join(', ')}]`,
    '',
    'The client sends it as  Authorization: Bearer <key>  or  X-API-Key: <key>',
    ''
  ]
  out.write(lines.join('\n'))
  return 0
}
