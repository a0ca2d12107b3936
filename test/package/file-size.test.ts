/**
 * Small modules, held: no file under src/ is over 400 lines (issue 11's limit), so that a
 * file that grows past it is split by the change that grows it, not later.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const MAX_LINES = 400;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** Lines of `text` as `wc -l` counts those of a file ending in a newline. */
const linesOf = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

it(`keeps every source file at ${MAX_LINES} lines or fewer`, () => {
  const over = filesUnder(src)
    .map((file) => ({ file: relative(src, file), lines: linesOf(readFileSync(file, 'utf8')) }))
    .filter(({ lines }) => lines > MAX_LINES);
  expect(over).toEqual([]);
});
