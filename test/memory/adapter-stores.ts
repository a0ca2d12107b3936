/**
 * The built-in adapters side by side, for tests that give each the same hostile input: a
 * fresh store of each (in memory, an SQLite file, a PostgreSQL schema when the server
 * answers), and what each refuses the input with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { InMemoryMemory, type MemoryAdapter } from '../../src/index.js';
import { PostgresMemory } from '../../src/postgres.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();

/** The adapters with leases. */
export type Leasing = SqliteMemory | PostgresMemory;
/** Any built-in adapter, with the methods only some have. */
export type Any = MemoryAdapter & Partial<Pick<SqliteMemory, 'claimStale' | 'prune' | 'deleteRun'>>;

/** Makes adapters on one store, as processes sharing it would open them; disposed after each test. */
export interface Store {
  readonly name: string;
  open(owner: string): Any;
}

const dirs: string[] = [];
const schemas: string[] = [];
const opened: Any[] = [];

/** Closes the adapters a test opened and removes its stores, after each test of the file that calls it. */
export function disposeStores(): void {
  afterEach(async () => {
    for (const memory of opened.splice(0)) await (memory as { close?: () => unknown }).close?.();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    if (url !== undefined) await dropSchemas(url, schemas);
  });
}

/** `memory`, closed after the test. */
export const kept = <M extends Any>(memory: M): M => {
  opened.push(memory);
  return memory;
};

/** A fresh store of each adapter: in memory, an SQLite file, a PostgreSQL schema (when the server answers). */
export function stores(): Store[] {
  const dir = mkdtempSync(join(tmpdir(), 'macro-args-'));
  dirs.push(dir);
  const made: Store[] = [
    { name: 'InMemoryMemory', open: () => kept(new InMemoryMemory()) },
    { name: 'SqliteMemory', open: (owner) => kept(new SqliteMemory({ path: join(dir, 'runs.db'), owner })) },
  ];
  if (url !== undefined) {
    const schema = uniqueSchema();
    schemas.push(schema);
    made.push({
      name: 'PostgresMemory',
      open: (owner) => kept(new PostgresMemory({ connectionString: url, schema, owner })),
    });
  }
  return made;
}

/** An object whose `key` getter throws `boom`. */
export function throwing(key: string, rest: object = {}): object {
  return Object.defineProperty({ ...rest }, key, {
    enumerable: true,
    get() {
      throw boom;
    },
  });
}
/** What {@link throwing}'s getters throw. */
export const boom = new Error('getter boom');

/**
 * What `call` rejects with on each adapter that has the method, the adapter's name replaced
 * by `<adapter>` in the message; fails if any call resolves.
 */
export async function refusals(
  adapters: readonly { name: string; memory: Any }[],
  call: (memory: Any) => Promise<unknown> | undefined,
): Promise<{ code: unknown; message: string; cause: unknown }[]> {
  const out = [];
  for (const { name, memory } of adapters) {
    const promise = call(memory);
    if (promise === undefined) continue;
    const error = await promise.then(
      (value) => {
        throw new Error(`${name} accepted it, resolving to ${JSON.stringify(value)}`);
      },
      (reason: { code?: unknown; message: string; cause?: unknown }) => reason,
    );
    out.push({ code: error.code, message: error.message.replaceAll(name, '<adapter>'), cause: error.cause });
  }
  return out;
}

/** Expects every adapter's refusal to be INVALID_OPTIONS with one message, containing `says`. */
export function expectSameRefusal(refused: { code: unknown; message: string }[], says: string): void {
  expect(refused.length).toBeGreaterThan(0);
  for (const { code, message } of refused) {
    expect(code).toBe('INVALID_OPTIONS');
    expect(message).toContain(says);
    expect(message).toBe(refused[0]?.message);
  }
}
