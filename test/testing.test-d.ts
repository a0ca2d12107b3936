import * as nodeTest from 'node:test';
import { describe, expectTypeOf, it } from 'vitest';
import { InMemoryMemory } from '../src/index.js';
import type { SqliteMemory } from '../src/sqlite.js';
import { memoryAdapterContract, type RegisterTest } from '../src/testing.js';

describe('the harness of memoryAdapterContract', () => {
  it("takes Vitest's describe and it", () => {
    expectTypeOf(describe).toExtend<RegisterTest>();
    expectTypeOf(it).toExtend<RegisterTest>();
  });

  it("takes node:test's describe and it", () => {
    expectTypeOf(nodeTest.describe).toExtend<RegisterTest>();
    expectTypeOf(nodeTest.it).toExtend<RegisterTest>();
  });

  it('refuses a dispose that takes another adapter type than create returns', () => {
    // @ts-expect-error: dispose wants a SqliteMemory, create makes an InMemoryMemory
    memoryAdapterContract('m', () => new InMemoryMemory(), {
      describe,
      it,
      dispose: (m: SqliteMemory) => m.close(),
    });
  });
});
