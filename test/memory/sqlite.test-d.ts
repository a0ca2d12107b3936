import { describe, expectTypeOf, it } from 'vitest';
import type { SqliteMemory } from '../../src/sqlite.js';

describe('SqliteMemory.close', () => {
  it('returns a promise that settles once no connection of the adapter is open on the file', () => {
    expectTypeOf<SqliteMemory['close']>().returns.toEqualTypeOf<Promise<void>>();
  });
});
