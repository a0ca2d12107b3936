/**
 * `run` and `resume`: a macro run with its progress drawn live on a terminal, as plain
 * lines otherwise (or NDJSON events with `--json`), Ctrl-C cancelling it cleanly, the
 * report written on request.
 * @internal
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Agent } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { MacroEvent } from '../events.js';
import { MacroOrchestrator } from '../macro/orchestrator.js';
import type { MacroRun } from '../macro/run.js';
import { builtinMacros } from '../macro/scripts.js';
import type { MacroContextInput, MacroDefinition, MacroResult } from '../macro/types.js';
import { renderReport } from '../report/markdown.js';
import { type CliIo, UsageError } from './io.js';
import { LiveDisplay } from './live.js';
import { load } from './load.js';
import { MEMORY_SPECS, openMemory } from './memory.js';

/** The options `run` and `resume` share. */
export interface RunFlags {
  readonly file?: string | undefined;
  readonly agents?: string | undefined;
  readonly context?: string | undefined;
  readonly intent?: string | undefined;
  /** For `resume` of a suspended run: the input, as JSON. */
  readonly input?: string | undefined;
  readonly memory?: string | undefined;
  readonly report?: string | undefined;
  readonly json: boolean;
}

/** A line for each event worth a line; undefined for the rest. */
function lineOf(event: MacroEvent): string | undefined {
  const indent = '  '.repeat(Math.max(0, event.path.split('/').length - 1));
  switch (event.type) {
    case 'stage:start':
      return `${indent}▸ ${event.path}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'stage:end':
      return `${indent}${event.status === 'succeeded' || event.status === 'restored' ? '✓' : '✖'} ${event.path} ${event.status} in ${event.durationMs} ms`;
    case 'retry':
      return `${indent}  ↻ retry in ${event.delayMs} ms: ${event.error.message}`;
    case 'gate':
      return `${indent}  ${event.verdict.passed ? '✓' : '✖'} gate ${event.verdict.gate}${event.verdict.passed ? '' : `: ${event.verdict.feedback ?? 'failed'}`}`;
    case 'decision':
      return `${indent}  ⚖ ${event.strategy}: ${event.rationale}`;
    case 'suspended':
      return `${indent}  ⏸ suspended, waiting for input (resume with --input <json>)`;
    case 'route':
      return `${indent}  ⑂ case ${event.case}${event.by === 'default' ? ` (default; selected "${event.selected}")` : ''}`;
    case 'fallback':
      return `⤷ fallback ${event.from} → ${event.to}`;
    case 'run:end':
      return `■ ${event.status} in ${event.durationMs} ms`;
    default:
      return undefined;
  }
}

/** The orchestrator a run uses: the built-ins and the file's macros, the file's and the module's agents. */
async function orchestratorFor(flags: RunFlags, io: CliIo, memory: MacroOrchestrator['memory']) {
  const file =
    flags.file === undefined ? { macros: [], agents: [], predicates: {} } : await load(flags.file, io.cwd);
  const module =
    flags.agents === undefined ? { agents: [], predicates: {} } : await load(flags.agents, io.cwd);
  // A module named by both --file and --agents is loaded once: its agents count once.
  const agents: Agent[] = [...new Set([...file.agents, ...module.agents])];
  const predicates = { ...file.predicates, ...module.predicates };
  const names = new Set(file.macros.map((macro) => macro.name));
  const macros: MacroDefinition[] = [
    ...file.macros,
    ...builtinMacros.filter((macro) => !names.has(macro.name)),
  ];
  return new MacroOrchestrator({ macros, agents, memory, predicates });
}

/** Follows `run` to its end, printing as it goes; returns the exit code. */
async function follow(run: MacroRun<unknown>, flags: RunFlags, io: CliIo): Promise<number> {
  io.onInterrupt?.(() => run.cancel('interrupted (Ctrl-C)'));
  const live =
    flags.json || io.terminal === undefined ? undefined : new LiveDisplay(io.terminal, Date.now, io.capture);
  let result: MacroResult;
  try {
    for await (const event of run) {
      if (flags.json) io.out(`${JSON.stringify(event)}\n`);
      else if (live !== undefined) live.update(event);
      else {
        const line = lineOf(event);
        if (line !== undefined) io.out(`${line}\n`);
      }
    }
    result = await run;
  } finally {
    live?.end();
    io.onInterrupt?.(undefined);
  }
  if (flags.report !== undefined) await writeFile(resolve(io.cwd, flags.report), renderReport(result));
  if (flags.json) io.out(`${JSON.stringify({ type: 'result', result })}\n`);
  else if (result.status !== 'succeeded') {
    const finished = Object.values(result.stages).filter((stage) => stage.status === 'succeeded').length;
    io.err(
      `✖ ${result.error.code}: ${result.error.message} (${finished} stages finished, kept in the result)\n`,
    );
  } else
    io.out(`${typeof result.output === 'string' ? result.output : JSON.stringify(result.output, null, 2)}\n`);
  return result.status === 'succeeded' ? 0 : 1;
}

/** `run <macro>`. */
export async function runCommand(name: string, flags: RunFlags, io: CliIo): Promise<number> {
  let context: MacroContextInput;
  if (flags.context !== undefined) {
    try {
      context = JSON.parse(await readFile(resolve(io.cwd, flags.context), 'utf8')) as MacroContextInput;
    } catch (error) {
      throw new MacroError('INVALID_OPTIONS', `--context ${flags.context}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  } else if (flags.intent !== undefined) context = { intent: flags.intent };
  else throw new UsageError('run needs --context <file> or --intent <text>');
  const memory = await openMemory(flags.memory, io.cwd);
  try {
    const orchestrator = await orchestratorFor(flags, io, memory.adapter);
    const run = orchestrator.run(name, context as never) as MacroRun<unknown>;
    if (!flags.json && io.terminal === undefined) io.out(`▶ ${name} (run ${run.runId})\n`);
    return await follow(run, flags, io);
  } finally {
    await memory.close();
  }
}

/** `--input <json>` as resume options: the input a suspended run waits for. */
function resumeInput(json: string | undefined): { input?: unknown } {
  if (json === undefined) return {};
  try {
    return { input: JSON.parse(json) as unknown };
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `--input is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** `resume <runId>`. */
export async function resumeCommand(runId: string, flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.memory === undefined)
    throw new UsageError(`resume needs --memory ${MEMORY_SPECS}, where the run is stored`);
  const memory = await openMemory(flags.memory, io.cwd);
  try {
    const orchestrator = await orchestratorFor(flags, io, memory.adapter);
    if (!flags.json && io.terminal === undefined) io.out(`▶ resuming run ${runId}\n`);
    return await follow(orchestrator.resume(runId, resumeInput(flags.input)), flags, io);
  } finally {
    await memory.close();
  }
}
