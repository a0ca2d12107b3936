// Run by `node --test` (test/testing-entry.test.ts): the MemoryAdapter contract from the BUILT
// package under node:test, against an adapter that forgets every result it saves. It must fail.
import { describe, it } from 'node:test';
import { InMemoryMemory } from 'macro-orchestrator';
import { memoryAdapterContract } from 'macro-orchestrator/testing';

class ForgetfulMemory extends InMemoryMemory {
  async loadResult() {
    return undefined;
  }
}

memoryAdapterContract('ForgetfulMemory', () => new ForgetfulMemory(), { describe, it });
