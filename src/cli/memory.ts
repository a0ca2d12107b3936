/**
 * The memory a command line run uses: `sqlite:<path>` (better-sqlite3, an optional peer),
 * `postgres://…` (pg, an optional peer), or the in-memory default.
 * @internal
 * @module
 */
import { resolve } from 'node:path';
import { MacroError } from '../errors.js';
import { InMemoryMemory } from '../memory/in-memory.js';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import { UsageError } from './io.js';

/** A memory adapter and how to close it. */
export interface OpenMemory {
  readonly adapter: MemoryAdapter;
  close(): void | Promise<void>;
}

/** What `--memory` accepts, for the messages that refuse a spec. */
export const MEMORY_SPECS = 'sqlite:<path> or postgres://<user>@<host>/<db>[?schema=<name>]';

/** The adapter module `load` imports, or an error naming the optional peer to install. */
async function peer<T>(load: () => Promise<T>, what: string, install: string): Promise<T> {
  return load().catch((error: unknown) => {
    throw new MacroError('INVALID_OPTIONS', `${what} memory needs ${install}: npm install ${install}`, {
      cause: error,
    });
  });
}

/**
 * `postgres:` alone (the `PG*` environment variables) or a PostgreSQL URL, whose
 * `schema` parameter names the adapter's schema and is not passed on to the server.
 */
export function postgresSpec(spec: string): { connectionString?: string; schema?: string } {
  if (spec === 'postgres:' || spec === 'postgresql:') return {};
  let url: URL | undefined;
  try {
    url = /^postgres(?:ql)?:\/\//.test(spec) ? new URL(spec) : undefined;
  } catch {}
  if (url === undefined)
    throw new UsageError(`--memory ${redacted(spec)}: not a URL; expected ${MEMORY_SPECS}`);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), ...(schema === null ? {} : { schema }) };
}

/** The memory `spec` names (a relative path from `cwd`). */
export async function openMemory(spec: string | undefined, cwd: string): Promise<OpenMemory> {
  if (spec === undefined || spec === 'memory') return { adapter: new InMemoryMemory(), close() {} };
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new UsageError('--memory sqlite: needs a file path, as in sqlite:runs.db');
    const { SqliteMemory } = await peer(() => import('../memory/sqlite.js'), 'sqlite', 'better-sqlite3');
    const adapter = new SqliteMemory(resolve(cwd, path));
    return { adapter, close: () => adapter.close() };
  }
  if (spec.startsWith('postgres:') || spec.startsWith('postgresql:')) {
    const options = postgresSpec(spec);
    const { PostgresMemory } = await peer(() => import('../memory/postgres.js'), 'postgres', 'pg');
    const adapter = new PostgresMemory(options);
    return { adapter, close: () => adapter.close() };
  }
  throw new UsageError(`--memory ${redacted(spec)}: expected ${MEMORY_SPECS}`);
}

/** `spec` with the password of a `user:password@` part masked, for messages. */
function redacted(spec: string): string {
  return spec.replace(/(\/\/[^/@:]*:)[^@]*@/, '$1***@');
}
