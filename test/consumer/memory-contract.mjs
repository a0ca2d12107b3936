// Run by `node --test` (test/testing-entry.test.ts): the MemoryAdapter contract from the BUILT
// package (`macro-orchestrator/testing`, through the exports map) under node:test, against the
// package's InMemoryMemory.
import { describe, it } from 'node:test';
import { InMemoryMemory } from 'macro-orchestrator';
import { memoryAdapterContract } from 'macro-orchestrator/testing';

memoryAdapterContract('InMemoryMemory', () => new InMemoryMemory(), { describe, it });
