/**
 * Child processes for the crash tests: a TypeScript fixture run under tsx, its stdout read
 * line by line, its exit awaited. Not a test file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs the TypeScript file `fixture` with `args` in a child process (stdout piped, stderr inherited). */
export function tsxChild(fixture: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The stdout lines of `proc`; `next(match)` resolves with the first matching line, received or to come. */
export function lines(proc: ChildProcess) {
  const seen: string[] = [];
  const waiting = new Set<() => void>();
  let buffer = '';
  let ended = false;
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    seen.push(...parts);
    for (const wake of waiting) wake();
  });
  proc.once('exit', () => {
    ended = true;
    for (const wake of waiting) wake();
  });
  return {
    next: (match: (line: string) => boolean) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = seen.find(match);
          if (found !== undefined) resolve(found);
          else if (ended)
            reject(new Error(`child exited (${proc.exitCode ?? proc.signalCode}) before the line`));
          else return;
          waiting.delete(check);
        };
        waiting.add(check);
        check();
      }),
  };
}

/** Resolves with the signal or exit code `proc` ended with. */
export const exited = (proc: ChildProcess) =>
  new Promise<NodeJS.Signals | number | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.signalCode ?? proc.exitCode);
    else proc.once('exit', (code, signal) => resolve(signal ?? code));
  });
