/**
 * Checkpoints that `JSON.stringify` rejects, for the contract suite's tests that an adapter
 * stores nothing of them.
 * @module
 */
import type { Checkpoint } from '../memory/memory-adapter.js';
import { checkpoint, stage } from './fixtures.js';

/** A value whose serialisation throws (as a getter or `toJSON` of an agent's output may). */
const throwing = (what: 'getter' | 'toJSON') =>
  what === 'getter'
    ? Object.defineProperty({}, 'broken', {
        enumerable: true,
        get() {
          throw new Error('getter failed');
        },
      })
    : {
        toJSON() {
          throw new Error('toJSON failed');
        },
      };

/** Checkpoints that `JSON.stringify` rejects, one agent- or user-produced field each. */
export const unserialisableCheckpoints: [string, () => Checkpoint][] = [
  ['a BigInt in a stage output', () => checkpoint(1, [stage('write/a', { size: 1n })])],
  [
    'a cycle in an artefact',
    () => {
      const content: { self?: unknown } = {};
      content.self = content;
      return checkpoint(1, [stage('write/a', 1)], {
        artefacts: [{ name: 'doc', mediaType: 'text/plain', content, path: 'write/a' }],
      });
    },
  ],
  [
    'a throwing toJSON in a gate verdict',
    () =>
      checkpoint(1, [stage('write/a', 1)], {
        verdicts: [
          { gate: 'g', path: 'write/a', passed: true, pass: 1, feedback: throwing('toJSON') as never },
        ],
      }),
  ],
  [
    'a throwing getter in a Harmony decision',
    () =>
      checkpoint(1, [stage('write/a', 1)], {
        decisions: [{ id: 'd1', path: 'write/p', output: throwing('getter') } as never],
      }),
  ],
];
