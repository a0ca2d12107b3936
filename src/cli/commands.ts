/**
 * The commands that read: `validate`, `graph`, `schema`, `show`.
 * @internal
 * @module
 */
import { isMacroError, MacroConfigurationError } from '../errors.js';
import { macroJsonSchema } from '../macro/json-schema.js';
import { macroToMermaid } from '../macro/macro-graph.js';
import { MacroOrchestrator } from '../macro/orchestrator.js';
import { builtinMacros } from '../macro/scripts.js';
import type { MacroDefinition } from '../macro/types.js';
import type { GateCheck } from '../model/quality-gate.js';
import { renderReport } from '../report/markdown.js';
import { type CliIo, UsageError } from './io.js';
import { load } from './load.js';
import { MEMORY_SPECS, openMemory } from './memory.js';

/** `validate <file>`: 0 when every macro loads, 1 with each issue and where it is otherwise. */
export async function validate(file: string, io: CliIo): Promise<number> {
  const { macros, agents, predicates } = await load(file, io.cwd);
  if (macros.length === 0) throw new UsageError(`${file} defines no macros`);
  try {
    // Sub-macros and fallbacks may name the built-ins; agents are checked where the file has
    // them, and so are the checks gates name (a file without a `predicates` export: any name passes).
    new MacroOrchestrator({
      macros: [...macros, ...builtinsNamedBy(macros)],
      agents,
      checkAgents: agents.length > 0 ? 'catalogue' : 'reachable',
      predicates: Object.keys(predicates).length > 0 ? predicates : anyNamedCheck(macros),
    });
  } catch (error) {
    if (!(error instanceof MacroConfigurationError) && !isMacroError(error)) throw error;
    const issues =
      error instanceof MacroConfigurationError ? error.issues : [{ path: file, message: error.message }];
    io.err(`✖ ${file}: ${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}\n`);
    for (const issue of issues) io.err(`  ${issue.path}: ${issue.message}\n`);
    return 1;
  }
  const list = macros.map((macro) => macro.name).join(', ');
  io.out(`✓ ${file}: ${macros.length} ${macros.length === 1 ? 'macro' : 'macros'} valid (${list})\n`);
  return 0;
}

/** A stand-in for every check a gate of `macros` names, so that validating a file that has none checks the rest. */
function anyNamedCheck(macros: readonly MacroDefinition[]): Record<string, GateCheck> {
  const names: Record<string, GateCheck> = Object.create(null);
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const { kind, check } = value as { kind?: unknown; check?: unknown };
    if (kind === 'predicate' && typeof check === 'string') names[check] = () => true;
    for (const inner of Object.values(value)) visit(inner);
  };
  for (const macro of macros) {
    try {
      visit(macro);
    } catch {
      // an unreadable definition: the orchestrator reports it; the others are still read
    }
  }
  return names;
}

/** The built-in macros `macros` name as sub-macros or fallbacks (and those name), unless they define their own. */
function builtinsNamedBy(macros: readonly MacroDefinition[]): MacroDefinition[] {
  const own = new Set<unknown>(macros.map((macro) => (macro as { name?: unknown }).name));
  const named: MacroDefinition[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, inner] of Object.entries(value)) {
      if ((key === 'macro' || key === 'fallback') && typeof inner === 'string' && !own.has(inner)) {
        const builtin = builtinMacros.find((macro) => macro.name === inner);
        if (builtin !== undefined) {
          own.add(inner);
          named.push(builtin);
          visit(builtin);
        }
      } else if (key === 'stages' || key === 'branches' || key === 'stage' || Array.isArray(value))
        visit(inner);
    }
  };
  try {
    for (const macro of macros) visit(macro);
  } catch {
    // an unreadable definition: the orchestrator reports it
  }
  return named;
}

/** `graph <macro> [--file f]`: the macro as a Mermaid flowchart. */
export async function graph(name: string, file: string | undefined, io: CliIo): Promise<number> {
  const macros: readonly MacroDefinition[] =
    file === undefined ? builtinMacros : [...(await load(file, io.cwd)).macros, ...builtinMacros];
  const macro = macros.find((candidate) => candidate.name === name);
  if (macro === undefined) {
    throw new UsageError(
      `no macro "${name}"${file === undefined ? ' among the built-ins (pass --file)' : ` in ${file} or the built-ins`}`,
    );
  }
  io.out(`${macroToMermaid(macro)}\n`);
  return 0;
}

/** `schema`: the JSON Schema of a macro definition. */
export function schema(io: CliIo): number {
  io.out(`${JSON.stringify(macroJsonSchema(), null, 2)}\n`);
  return 0;
}

/** `show <runId> --memory m`: a stored run's report, or its result as JSON. */
export async function show(
  runId: string,
  memorySpec: string | undefined,
  json: boolean,
  io: CliIo,
): Promise<number> {
  if (memorySpec === undefined)
    throw new UsageError(`show needs --memory ${MEMORY_SPECS}, where the run is stored`);
  const memory = await openMemory(memorySpec, io.cwd);
  try {
    const result = await memory.adapter.loadResult(runId);
    if (result === undefined) {
      io.err(`✖ no result of run ${runId} in ${memorySpec} (still running, interrupted, or unknown)\n`);
      return 1;
    }
    io.out(json ? `${JSON.stringify(result, null, 2)}\n` : renderReport(result));
    return 0;
  } finally {
    await memory.close();
  }
}
