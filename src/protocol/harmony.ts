/**
 * The Harmony Protocol's import path for the engine: the protocol itself is in
 * src/protocol/harmony/ (the `Harmony` class in resolve.ts, one file per strategy
 * family, the dispatch in decide.ts, the catalogue checks in check.ts).
 * @internal
 * @module
 */
export { Harmony } from './harmony/resolve.js';
export type { DecisionDraft, HarmonyServices } from './harmony/types.js';
