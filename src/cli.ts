#!/usr/bin/env node
/**
 * `macro-orchestrator` on the command line: validate, graph, schema, run, resume, show.
 * Ctrl-C cancels a running macro cleanly (a second Ctrl-C exits at once).
 * @module
 */
import { main } from './cli/main.js';

let cancel: (() => void) | undefined;
process.on('SIGINT', () => {
  if (cancel === undefined) process.exit(130);
  const stop = cancel;
  cancel = undefined; // the next Ctrl-C exits
  stop();
});

process.exitCode = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  ...(process.stdout.isTTY && process.env['TERM'] !== 'dumb' && process.env['CI'] === undefined
    ? {
        terminal: process.stdout,
        // What agents print through the console lands above the live frame (warnings and
        // errors too when they go to the same terminal).
        capture: {
          console,
          methods: process.stderr.isTTY
            ? ['log', 'info', 'debug', 'warn', 'error']
            : ['log', 'info', 'debug'],
        },
      }
    : {}),
  onInterrupt: (next) => {
    cancel = next;
  },
});
