/**
 * A markdown report of a run for operators: summary, timeline, QA verdicts, artefacts,
 * Harmony decisions and errors. Each decision shows the chosen output followed by one
 * GitHub-flavoured footnote per losing variant (`[^d1-v2]`), so the alternatives are
 * one click away. Agent text is escaped (see `./escape.ts`) so it cannot break the
 * report's structure.
 * @module
 */
import type { DecisionRecord, DecisionVariant, GateVerdict, MacroResult } from '../macro/types.js';
import { escapeMarkdown, inlineCode, preview } from './escape.js';

const cell = (value: unknown) => escapeMarkdown(preview(value));
/** Paths, ids and names: shown verbatim in a code span (readable, and inert). */
const name = (text: string) => inlineCode(text, true);

/**
 * Renders `result` as GitHub-flavoured markdown.
 * @example
 * await writeFile('report.md', renderReport(await orchestrator.run('code-review', { intent })));
 */
export function renderReport(result: MacroResult): string {
  const lines: string[] = [];
  summary(result, lines);
  timeline(result, lines);
  qualityGates(result, lines);
  artefacts(result, lines);
  decisions(result, lines);
  errors(result, lines);
  return `${lines.join('\n')}\n`;
}

function summary(result: MacroResult, lines: string[]): void {
  const decided = result.decisions ?? []; // results stored before decisions existed have none
  lines.push(`# Run report: ${inlineCode(result.macro)}`, '');
  lines.push('| field | value |', '|---|---|');
  lines.push(`| run | ${inlineCode(result.runId, true)} |`);
  lines.push(`| status | **${result.status}** |`);
  lines.push(`| produced by | ${name(result.producedBy)} |`);
  lines.push(`| started | ${new Date(result.startedAt).toISOString()} |`);
  lines.push(`| duration | ${result.durationMs} ms |`);
  lines.push(`| stages | ${Object.keys(result.stages).length} |`);
  lines.push(
    `| quality gates | ${result.qa.verdicts.length === 0 ? 'none' : result.qa.passed ? 'passed' : 'failed'} |`,
  );
  lines.push(`| decisions | ${decided.length} |`);
  if (result.status !== 'succeeded') lines.push(`| error | ${cell(result.error.message)} |`);
  if (result.persistence !== undefined)
    lines.push(`| persistence | failed: ${cell(result.persistence.error.message)} |`);
}

function timeline(result: MacroResult, lines: string[]): void {
  lines.push('', '## Timeline', '');
  lines.push('| scope | path | name | attempt | status | ms |', '|---|---|---|---|---|---|');
  for (const t of result.timeline) {
    lines.push(
      `| ${t.scope} | ${name(t.path)} | ${name(t.name)} | ${t.attempt} | ${t.status} | ${t.durationMs} |`,
    );
  }
}

function qualityGates(result: MacroResult, lines: string[]): void {
  lines.push('', '## Quality gates', '');
  if (result.qa.verdicts.length === 0) {
    lines.push('No gates were checked.');
    return;
  }
  lines.push(`Overall: **${result.qa.passed ? 'passed' : 'failed'}**`, '');
  lines.push('| path | gate | pass | verdict | score | feedback |', '|---|---|---|---|---|---|');
  for (const v of result.qa.verdicts) {
    lines.push(
      `| ${name(v.path)} | ${name(v.gate)} | ${v.pass} | ${v.passed ? 'passed' : 'failed'} | ${v.score ?? ''} | ${cell(v.feedback ?? '')} |`,
    );
  }
}

function artefacts(result: MacroResult, lines: string[]): void {
  lines.push('', '## Artefacts', '');
  if (result.artefacts.length === 0) {
    lines.push('No artefacts.');
    return;
  }
  lines.push('| name | media type | from |', '|---|---|---|');
  for (const a of result.artefacts)
    lines.push(`| ${cell(a.name)} | ${cell(a.mediaType)} | ${name(a.path)} |`);
}

function decisions(result: MacroResult, lines: string[]): void {
  lines.push('', '## Decisions');
  const decided = result.decisions ?? [];
  if (decided.length === 0) {
    lines.push('', 'No conflicts between parallel outputs.');
    return;
  }
  for (const d of decided) decision(result, d, lines);
}

function decision(result: MacroResult, d: DecisionRecord, lines: string[]): void {
  const label = d.id.replace(/[^A-Za-z0-9-]/g, '-');
  const note = (v: DecisionVariant) => `[^${label}-v${v.index + 1}]`;
  const losers = d.variants.filter((v) => d.losers.includes(v.index));
  const chosen = d.winner === undefined ? undefined : d.variants[d.winner];
  const from =
    chosen === undefined
      ? `a merge of ${d.variants.length} variants`
      : `v${chosen.index + 1}, branch ${inlineCode(chosen.branch)}`;

  lines.push('', `### ${escapeMarkdown(d.id)}: ${inlineCode(d.path)}`, '');
  lines.push(`**Chosen** (${from}): ${inlineCode(preview(d.output))}${losers.map(note).join('')}`, '');

  lines.push('| field | value |', '|---|---|');
  lines.push(`| strategy | ${d.strategy}${d.fallback === undefined ? '' : ', fell back to majority vote'} |`);
  lines.push(
    `| compared by | ${d.comparison}${d.fields === undefined ? '' : `: ${d.fields.map((f) => inlineCode(f, true)).join(', ')}`} |`,
  );
  lines.push(`| tie | ${d.tie ? 'yes, broken by branch order' : 'no'} |`);
  lines.push(`| rationale | ${cell(d.rationale)} |`);
  if (d.fallback !== undefined) lines.push(`| judge failure | ${cell(d.fallback.error.message)} |`);
  for (const x of d.excluded) {
    lines.push(
      `| excluded | ${inlineCode(x.branch, true)}: ${name(x.error.code)}, ${cell(x.error.message)} |`,
    );
  }

  lines.push('', '| variant | branch | group | score | hash | ms | gates | outcome |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const v of d.variants) {
    const outcome = v.index === d.winner ? 'chosen' : d.losers.includes(v.index) ? 'lost' : 'agrees';
    lines.push(
      `| v${v.index + 1} | ${inlineCode(v.branch, true)} | ${v.group + 1} | ${d.scores?.[v.index] ?? ''} | ${inlineCode(v.hash, true)} | ${result.stages[v.path]?.durationMs ?? ''} | ${gatesOf(result, v.path)} | ${outcome} |`,
    );
  }

  if (losers.length > 0) lines.push('');
  for (const v of losers) {
    const facts = [`group ${v.group + 1}`];
    if (d.scores?.[v.index] !== undefined) facts.push(`score ${d.scores[v.index]}`);
    const ms = result.stages[v.path]?.durationMs;
    if (ms !== undefined) facts.push(`${ms} ms`);
    if (v.differs !== undefined)
      facts.push(`differs in ${v.differs.map((f) => escapeMarkdown(f)).join(', ')}`);
    lines.push(
      `${note(v)}: v${v.index + 1}, branch ${inlineCode(v.branch)} (${facts.join('; ')}): ${inlineCode(preview(v.output))}`,
    );
  }
}

/** The latest verdict of each gate at `path` or below, as `gate passed (score)`. */
function gatesOf(result: MacroResult, path: string): string {
  const latest = new Map<string, GateVerdict>();
  for (const v of result.qa.verdicts) {
    if (v.path === path || v.path.startsWith(`${path}/`)) latest.set(`${v.path}\u0000${v.gate}`, v);
  }
  return [...latest.values()]
    .map(
      (v) =>
        `${name(v.gate)} ${v.passed ? 'passed' : 'failed'}${v.score === undefined ? '' : ` (${v.score})`}`,
    )
    .join(', ');
}

function errors(result: MacroResult, lines: string[]): void {
  if (result.errors.length === 0) return;
  lines.push('', '## Errors', '', '| path | code | message |', '|---|---|---|');
  for (const e of result.errors)
    lines.push(`| ${name(e.path ?? '')} | ${name(e.code)} | ${cell(e.message)} |`);
}
