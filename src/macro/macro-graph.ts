/**
 * A picture of a macro: its stage tree as a Mermaid flowchart (sequences in order,
 * parallel groups and forEach stages fanning out and joining through their merge or
 * Harmony strategy,
 * sub-macros, gates, retries, the fallback).
 * @module
 */
import { describe, MacroConfigurationError } from '../errors.js';
import { issuePath } from '../internal/zod-issues.js';
import { Chart, type Ends, SHAPES } from './chart.js';
import { kindOf } from './stage-kinds.js';
import { type MacroDefinition, MacroDefinitionSchema, type StageDefinition } from './types.js';

/** Draws `stage` through its kind's rule; returns the node a flow enters it by and the one it leaves by. */
function draw(chart: Chart, stage: StageDefinition, indent: string, note = ''): Ends {
  return kindOf(stage).draw(stage, note, indent, {
    chart,
    draw: (inner, at, more) => draw(chart, inner, at, more),
    chain: (stages, at) => chain(chart, stages, at),
  });
}

/** Draws `stages` in order, each feeding the next. */
function chain(chart: Chart, stages: readonly StageDefinition[], indent: string): Ends {
  let first: string | undefined;
  let last: string | undefined;
  for (const stage of stages) {
    const ends = draw(chart, stage, indent);
    if (last !== undefined) chart.edge(last, ends.entry, indent);
    first ??= ends.entry;
    last = ends.exit;
  }
  return { entry: first as string, exit: last as string };
}

/**
 * The macro as a Mermaid flowchart (`flowchart TD`), to paste into Markdown or render
 * with Mermaid. Throws a `MacroConfigurationError` for a definition that does not parse.
 * @example
 * await writeFile('macro.md', '```mermaid\n' + macroToMermaid(myMacro) + '\n```\n');
 */
export function macroToMermaid(macro: MacroDefinition): string {
  let parsed: ReturnType<typeof MacroDefinitionSchema.safeParse>;
  try {
    parsed = MacroDefinitionSchema.safeParse(macro);
  } catch (error) {
    // A revoked proxy, a throwing getter, a tree deep enough to overflow the stack.
    const message = `The macro definition cannot be read: ${describe(error)}`;
    throw new MacroConfigurationError([{ path: 'macro', message }], { cause: error });
  }
  if (!parsed.success) {
    throw new MacroConfigurationError(
      parsed.error.issues.map((issue) => ({
        path: issuePath(issue.path, 'brackets', 'macro'),
        message: issue.message,
      })),
    );
  }
  // Drawn from the parsed copy: read once, with the retry policies' defaults filled in.
  const definition = parsed.data as MacroDefinition;
  const chart = new Chart();
  chart.lines.push('flowchart TD');
  const start = chart.node(SHAPES.round, `${definition.name}: input`, '  ');
  const ends = chain(chart, definition.stages, '  ');
  chart.edge(start, ends.entry, '  ');
  let last = ends.exit;
  if (definition.gates !== undefined && definition.gates.length > 0) {
    const gates = chart.node(
      SHAPES.gate,
      `macro gates: ${definition.gates.map((g) => g.id).join(', ')}`,
      '  ',
    );
    chart.edge(last, gates, '  ');
    last = gates;
  }
  const output = chart.node(SHAPES.round, 'output', '  ');
  chart.edge(last, output, '  ');
  if (definition.fallback !== undefined) {
    const fallback = chart.node(SHAPES.sub, `fallback: ${definition.fallback}`, '  ');
    chart.lines.push(`  ${start} -. on failure .-> ${fallback}`);
  }
  return chart.lines.join('\n');
}
