/**
 * What the command line reads and writes: its streams, working directory and
 * environment, passed in so that the commands run in-process in tests.
 * @internal
 * @module
 */
import type { ConsoleCapture, TerminalStream } from './live.js';

/** Where a command writes. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  /**
   * The terminal `out` writes to, when it is one (and not `TERM=dumb` or CI): `run` and
   * `resume` draw their live progress display on it instead of printing lines.
   */
  readonly terminal?: TerminalStream;
  /** The console the live display prints above its frame while it draws (the process's own). */
  readonly capture?: ConsoleCapture;
  /** Called with the function that cancels the running command (Ctrl-C); undefined when none runs. */
  readonly onInterrupt?: (cancel: (() => void) | undefined) => void;
}

/** A usage mistake: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: macro-orchestrator <command> [options]

Commands:
  validate <file>             check the macros a module, JSON or YAML file defines
  graph <macro> [--file f]    print a macro as a Mermaid flowchart
  schema                      print the JSON Schema of a macro definition
  run <macro> [options]       run a macro; live progress on a terminal, lines otherwise,
                              NDJSON events with --json
  resume <runId> [options]    continue an interrupted run from its checkpoints, or a
                              suspended one with --input <json> (what its stage waits for)
  show <runId> --memory m     print a stored run's report (or its result with --json)

Options of run and resume:
  --file <f>           macros to load besides the built-ins (module, JSON or YAML)
  --agents <module>    a module exporting \`agents\` (or a default array of agents)
  --context <file>     the run's context as JSON (run)      --intent <text>  its intent (run)
  --memory sqlite:<path>   durable memory in a file (needs better-sqlite3)
  --memory postgres://<user>@<host>/<db>[?schema=<name>]
                       durable memory shared by machines (needs pg); in memory otherwise
  --report <out.md>    write the markdown report            --json  NDJSON events, then the result
`;
