/**
 * The stage-kind extension point, held: everything that differs by kind is in the kind's
 * rule (src/macro/kinds/), so the engine outside that folder never tests a kind's name.
 * The agent stage is the exception by design: it runs through the Execution Pipeline on
 * the engine's own fast path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STAGE_KINDS } from '../../src/model/result.js';

const macro = fileURLToPath(new URL('../../src/macro', import.meta.url));

/** The engine's files outside the kinds' folder. */
const engineFiles = readdirSync(macro, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => join(macro, entry.name));

/** Where `text` tests or switches on one of `names`, as `file:line: code`. */
function kindTests(file: string, names: readonly string[]): string[] {
  const alternatives = names.join('|');
  const test = new RegExp(`kind\\s*[!=]==?\\s*'(${alternatives})'|case\\s+'(${alternatives})'\\s*:`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (test.test(line) ? [`${relative(macro, file)}:${i + 1}: ${line.trim()}`] : []));
}

describe('stage kinds', () => {
  const composite = [...STAGE_KINDS.filter((kind) => kind !== 'agent'), 'retryable'];

  it('are not told apart by name anywhere in the engine outside src/macro/kinds/', () => {
    expect(engineFiles.flatMap((file) => kindTests(file, composite))).toEqual([]);
  });

  it('finds a kind test when there is one (the check above can fail)', () => {
    const probe = fileURLToPath(new URL('../../src/macro/kinds/retryable.ts', import.meta.url));
    expect(kindTests(probe, composite)).toHaveLength(1);
  });
});
