import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkId } from '../api/index.js';
import { InvalidTokensFile } from './errors.js';

/** Token roles: `admin` ⊇ `client` ⊇ `read`; `metrics` reads `/metrics` only (and admin may too). */
export type Role = 'admin' | 'client' | 'read' | 'metrics';

const ROLES: readonly Role[] = ['admin', 'client', 'read', 'metrics'];
const RANK: Record<Role, number> = { read: 1, client: 2, admin: 3, metrics: 0 };
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** One line of the tokens file: a role, a name (the account its requests are charged to), a token's hash. */
export interface TokenEntry {
  role: Role;
  name: string;
  hash: Buffer;
}

/** Who made a request: a token's name and role, or nobody in particular (no tokens file: loopback only). */
export interface Caller {
  role: Role;
  /** The token's name; undefined without tokens. */
  name?: string;
}

/** Hex SHA-256 of a token, as the tokens file holds it. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Parses a tokens file: one `role name sha256hex(token)` per line; blank lines and lines starting
 * with `#` are skipped. Roles are admin, client, read and metrics; names are ids (they become the
 * sender and account of the token's messages) and are unique, and so are hashes.
 *
 * @throws InvalidTokensFile naming the line at fault
 */
export function parseTokens(text: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) throw new InvalidTokensFile(i + 1, 'expected `role name sha256hex`');
    const [role, name, hash] = parts as [string, string, string];
    if (!(ROLES as readonly string[]).includes(role)) throw new InvalidTokensFile(i + 1, `unknown role (known: ${ROLES.join(', ')})`);
    try {
      checkId('name', name);
    } catch {
      throw new InvalidTokensFile(i + 1, 'the name must be an id (at most 256 bytes, no NUL)');
    }
    if (!SHA256_HEX.test(hash)) throw new InvalidTokensFile(i + 1, 'the hash must be 64 lowercase hex digits (sha256 of the token)');
    if (names.has(name)) throw new InvalidTokensFile(i + 1, 'a name appears twice');
    if (hashes.has(hash)) throw new InvalidTokensFile(i + 1, 'a hash appears twice');
    names.add(name);
    hashes.add(hash);
    out.push({ role: role as Role, name, hash: Buffer.from(hash, 'hex') });
  });
  return out;
}

/** Reads and parses a tokens file (see {@link parseTokens}). */
export function loadTokens(path: string): TokenEntry[] {
  return parseTokens(readFileSync(path, 'utf8'));
}

/**
 * The entry a presented token matches, or null. The token is hashed and compared with every
 * entry's hash with `timingSafeEqual`, all of them whatever matched, so neither the time of one
 * comparison nor the number made tells anything about the stored hashes.
 */
export function authenticate(tokens: readonly TokenEntry[], token: string): TokenEntry | null {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: TokenEntry | null = null;
  for (const entry of tokens) {
    if (timingSafeEqual(presented, entry.hash) && found === null) found = entry;
  }
  return found;
}

/** The bearer token of an Authorization header, or null. */
export function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Whether a caller of role `role` may use a route that needs `required`. */
export function allows(role: Role, required: Role): boolean {
  if (required === 'metrics') return role === 'metrics' || role === 'admin';
  return role !== 'metrics' && RANK[role] >= RANK[required];
}
