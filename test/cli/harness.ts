/**
 * Running the command line in-process for tests: in a temporary folder made for each
 * test, its exit code and what it wrote captured. Not a test file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { main } from '../../src/cli/main.js';

/** The current test's folder (made before each test, removed after). */
export const folder = { path: '' };

/** Gives each test of the calling file a fresh temporary folder. */
export function useTempFolder(): void {
  beforeEach(async () => {
    folder.path = await mkdtemp(join(tmpdir(), 'mo-cli-'));
  });
  afterEach(async () => {
    await rm(folder.path, { recursive: true, force: true });
  });
}

/** Runs the command line on `args` in the test's folder: its exit code and what it wrote. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    cwd: folder.path,
  });
  return { code, out, err };
}

/** Writes `text` to `name` in the test's folder. */
export function write(name: string, text: string): Promise<void> {
  return writeFile(join(folder.path, name), text);
}
