/**
 * A picture of a macro: its stage tree as a Mermaid flowchart (sequences in order,
 * parallel groups and forEach stages fanning out and joining through their merge or
 * Harmony strategy,
 * sub-macros, gates, retries, the fallback).
 * @module
 */
import { describe, MacroConfigurationError } from '../errors.js';
import { issuePath } from '../internal/zod-issues.js';
import { type MacroDefinition, MacroDefinitionSchema, type StageDefinition } from './types.js';

/** Text of a Mermaid label: quotes, angle brackets and `#` as entities, so no label can break the chart. */
function label(text: string): string {
  return `"${text
    .replaceAll('#', '#35;')
    .replaceAll('"', '#quot;')
    .replaceAll('<', '#lt;')
    .replaceAll('>', '#gt;')
    .replaceAll(/\r?\n/g, ' ')}"`;
}

/** The chart being written: its lines and the next node number. */
class Chart {
  readonly lines: string[] = [];
  #next = 0;

  node(shape: [string, string], text: string, indent: string): string {
    const id = `n${this.#next++}`;
    this.lines.push(`${indent}${id}${shape[0]}${label(text)}${shape[1]}`);
    return id;
  }

  edge(from: string, to: string, indent: string, text?: string): void {
    this.lines.push(
      text === undefined ? `${indent}${from} --> ${to}` : `${indent}${from} -->|${label(text)}| ${to}`,
    );
  }

  group(title: string, indent: string, body: (inner: string) => { entry: string; exit: string }) {
    const id = `g${this.#next++}`;
    this.lines.push(`${indent}subgraph ${id} [${label(title)}]`);
    const ends = body(`${indent}  `);
    this.lines.push(`${indent}end`);
    return ends;
  }
}

const BOX: [string, string] = ['[', ']'];
const ROUND: [string, string] = ['([', '])'];
const SUB: [string, string] = ['[[', ']]'];
const FORK: [string, string] = ['[/', '/]'];
const JOIN: [string, string] = ['[\\', '\\]'];
const GATE: [string, string] = ['{{', '}}'];
const CHOICE: [string, string] = ['{', '}'];
const ASK: [string, string] = ['>', ']'];

/** Draws `stage`; returns the node a flow enters it by and the one it leaves by. */
function draw(
  chart: Chart,
  stage: StageDefinition,
  indent: string,
  note = '',
): { entry: string; exit: string } {
  switch (stage.kind) {
    case 'agent': {
      const lines = [`${stage.id}${note}`, `agent: ${stage.agent}`];
      if (stage.gates !== undefined && stage.gates.length > 0)
        lines.push(`gates: ${stage.gates.map((g) => g.id).join(', ')}`);
      if (stage.elevateTo !== undefined) lines.push(`elevates to: ${stage.elevateTo}`);
      const id = chart.node(BOX, lines.join(' · '), indent);
      return { entry: id, exit: id };
    }
    case 'retryable': {
      const { retries } = stage.retry as { retries: number };
      return draw(chart, stage.stage, indent, `${note} ↻ ${retries} ${retries === 1 ? 'retry' : 'retries'}`);
    }
    case 'macro': {
      const id = chart.node(SUB, `${stage.id}${note} · macro: ${stage.macro}`, indent);
      return { entry: id, exit: id };
    }
    case 'sequence':
      return chart.group(`${stage.id}${note}`, indent, (inner) => chain(chart, stage.stages, inner));
    case 'parallel':
      return chart.group(`${stage.id}${note}`, indent, (inner) => {
        const fork = chart.node(FORK, `parallel · ${stage.failure ?? 'fail-fast'}`, inner);
        const by =
          stage.harmony !== undefined
            ? `harmony: ${stage.harmony.strategy}`
            : stage.merge !== undefined
              ? 'merge'
              : 'tuple of outputs';
        const join = chart.node(JOIN, by, inner);
        for (const branch of stage.branches) {
          const ends = draw(chart, branch, inner);
          chart.edge(fork, ends.entry, inner);
          chart.edge(ends.exit, join, inner);
        }
        return { entry: fork, exit: join };
      });
    case 'approval': {
      const id = chart.node(
        ASK,
        `${stage.id}${note} · approval${stage.prompt === undefined ? '' : `: ${stage.prompt}`}`,
        indent,
      );
      return { entry: id, exit: id };
    }
    case 'route':
      return chart.group(`${stage.id}${note}`, indent, (inner) => {
        const { select } = stage;
        const by = typeof select === 'function' ? 'select' : `agent: ${select.agent}`;
        const fallback = stage.default === undefined ? '' : ` · default: ${stage.default}`;
        const choice = chart.node(CHOICE, `route · ${by}${fallback}`, inner);
        const join = chart.node(JOIN, 'the case that ran', inner);
        for (const [name, branch] of Object.entries(stage.cases)) {
          const ends = draw(chart, branch, inner);
          chart.edge(choice, ends.entry, inner, name);
          chart.edge(ends.exit, join, inner);
        }
        return { entry: choice, exit: join };
      });
    case 'forEach':
      return chart.group(`${stage.id}${note}`, indent, (inner) => {
        const limit = stage.concurrency === undefined ? '' : ` · ${stage.concurrency} at a time`;
        const fork = chart.node(FORK, `for each element${limit} · ${stage.failure ?? 'fail-fast'}`, inner);
        const by =
          stage.harmony !== undefined
            ? `harmony: ${stage.harmony.strategy}`
            : stage.merge !== undefined
              ? 'merge'
              : 'array of outputs';
        const join = chart.node(JOIN, by, inner);
        const ends = draw(chart, stage.stage, inner);
        chart.edge(fork, ends.entry, inner, 'element i');
        chart.edge(ends.exit, join, inner);
        return { entry: fork, exit: join };
      });
  }
}

/** Draws `stages` in order, each feeding the next. */
function chain(chart: Chart, stages: readonly StageDefinition[], indent: string) {
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
  const start = chart.node(ROUND, `${definition.name}: input`, '  ');
  const ends = chain(chart, definition.stages, '  ');
  chart.edge(start, ends.entry, '  ');
  let last = ends.exit;
  if (definition.gates !== undefined && definition.gates.length > 0) {
    const gates = chart.node(GATE, `macro gates: ${definition.gates.map((g) => g.id).join(', ')}`, '  ');
    chart.edge(last, gates, '  ');
    last = gates;
  }
  const output = chart.node(ROUND, 'output', '  ');
  chart.edge(last, output, '  ');
  if (definition.fallback !== undefined) {
    const fallback = chart.node(SUB, `fallback: ${definition.fallback}`, '  ');
    chart.lines.push(`  ${start} -. on failure .-> ${fallback}`);
  }
  return chart.lines.join('\n');
}
