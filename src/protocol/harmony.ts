/**
 * The Harmony Protocol's import path for the engine: the protocol itself is in
 * src/protocol/harmony/ (the `Harmony` class in resolve.ts, one file per strategy in
 * strategies/, their list in strategies.ts, the catalogue checks in check.ts).
 * @internal
 * @module
 */

export { checkHarmony } from './harmony/check.js';
export { Harmony } from './harmony/resolve.js';
export { harmonyAgent } from './harmony/strategies.js';
export type { DecisionDraft, HarmonyServices } from './harmony/types.js';
