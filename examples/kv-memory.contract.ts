/**
 * The published MemoryAdapter contract suite run on the example adapter, under Node's own
 * test runner: `node --import tsx --test examples/kv-memory.contract.ts`. An adapter of
 * yours runs it the same way (or under Vitest: pass its `describe` and `it`).
 */
import { describe, it } from 'node:test';
import { memoryAdapterContract } from '../src/testing.js';
import { KeyValueMemory } from './kv-memory.js';

memoryAdapterContract('KeyValueMemory', () => new KeyValueMemory(), { describe, it });
