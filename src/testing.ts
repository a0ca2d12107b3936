/**
 * `macro-orchestrator/testing`: the conformance suite every `MemoryAdapter` must pass (and
 * `memoryLeaseContract`, for adapters with leases), and the record builders they are
 * written with, for authors of their own adapters. It asserts
 * with `node:assert/strict` and registers its tests with the `describe`/`it` you pass, so it
 * runs under Vitest and `node:test` alike and pulls no test runner into the package.
 *
 * @example
 * // my-memory.test.ts
 * import { describe, it } from 'vitest'; // or 'node:test'
 * import { memoryAdapterContract } from 'macro-orchestrator/testing';
 * import { MyMemory } from './my-memory.js';
 *
 * memoryAdapterContract('MyMemory', () => new MyMemory(), { describe, it });
 * @module
 */
export { audit, checkpoint, header, result, stage } from './testing/fixtures.js';
export {
  type LeasingMemory,
  type MemoryLeaseContractHarness,
  memoryLeaseContract,
  type SharedStore,
} from './testing/lease-contract.js';
export {
  type MemoryAdapterContractHarness,
  memoryAdapterContract,
  type RegisterTest,
} from './testing/memory-adapter-contract.js';
