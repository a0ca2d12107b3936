/**
 * The command line: parses the arguments (`node:util` `parseArgs`) and runs a command.
 * @internal
 * @module
 */
import { parseArgs } from 'node:util';
import { describe, isMacroError } from '../errors.js';
import { graph, schema, show, validate } from './commands.js';
import { type CliIo, USAGE, UsageError } from './io.js';
import { resumeCommand, runCommand } from './run.js';

const OPTIONS = {
  file: { type: 'string' },
  agents: { type: 'string' },
  context: { type: 'string' },
  intent: { type: 'string' },
  input: { type: 'string' },
  memory: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Runs the command `argv` names (the arguments after the program); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
    const [command, target, ...extra] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const needs = (what: string) => {
      if (target === undefined) throw new UsageError(`${command} needs ${what}`);
      return target;
    };
    switch (command) {
      case 'validate':
        return await validate(needs('a file'), io);
      case 'graph':
        return await graph(needs('a macro name'), values.file, io);
      case 'schema':
        return schema(io);
      case 'run':
        return await runCommand(needs('a macro name'), values, io);
      case 'resume':
        return await resumeCommand(needs('a run id'), values, io);
      case 'show':
        return await show(needs('a run id'), values.memory, values.json, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: unknown })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      io.err(`✖ ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`✖ ${isMacroError(error) ? `${error.code}: ` : ''}${describe(error)}\n`);
    return 1;
  }
}
