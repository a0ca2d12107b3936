/**
 * The memory a command line run uses: `sqlite:<path>` (better-sqlite3, an optional peer),
 * or the in-memory default.
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
  close(): void;
}

/** The memory `spec` names (a relative path from `cwd`). */
export async function openMemory(spec: string | undefined, cwd: string): Promise<OpenMemory> {
  if (spec === undefined || spec === 'memory') return { adapter: new InMemoryMemory(), close() {} };
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new UsageError('--memory sqlite: needs a file path, as in sqlite:runs.db');
    const { SqliteMemory } = await import('../memory/sqlite.js').catch((error: unknown) => {
      throw new MacroError(
        'INVALID_OPTIONS',
        'sqlite memory needs better-sqlite3: npm install better-sqlite3',
        {
          cause: error,
        },
      );
    });
    const adapter = new SqliteMemory(resolve(cwd, path));
    return { adapter, close: () => adapter.close() };
  }
  if (spec.startsWith('postgres:')) {
    throw new UsageError('postgres memory is not available yet (macro-orchestrator/postgres is planned)');
  }
  throw new UsageError(`--memory ${spec}: expected sqlite:<path>`);
}
