/**
 * What the test suites share, by concept: agents (inline and fault-injecting), the fake
 * clock, memory adapters, records, event recording and checks, and starting a run. Not a test
 * file. test/setup.ts (Vitest's setup file) holds the hooks every test gets.
 */
export * from './agents.js';
export * from './clock.js';
export * from './events.js';
export * from './hostile.js';
export * from './memory.js';
export * from './processes.js';
export * from './records.js';
export * from './run.js';
