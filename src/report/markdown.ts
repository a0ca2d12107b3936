/**
 * A markdown report of a run for operators: summary, timeline, QA verdicts, artefacts,
 * Harmony decisions and errors. Each decision shows the chosen output followed by one
 * GitHub-flavoured footnote per losing variant (`[^d1-v2]`), so the alternatives are
 * one click away.
 *
 * Agent text is escaped (see `./escape.ts`) so it cannot break the report's structure,
 * and control characters in it (ESC, NUL, C1, bidirectional overrides) are shown as
 * `\u001b`. Each untrusted text (an output, a rationale, feedback, an error message, a
 * name or a path) is cut to 4,000 characters by default, then marked
 * `*(… 4,995,904 more characters cut)*`, so a 5 MB agent error stays a few kilobytes.
 * Rendering never throws on what a result holds: a revoked proxy, a cycle, a BigInt or a
 * throwing getter in an output is shown, not thrown (see `internal/json-text.ts`).
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { checkOptionKeys } from '../internal/options.js';
import { briefly } from '../internal/safe.js';
import type { DecisionRecord, DecisionVariant } from '../model/decision.js';
import type { GateVerdict } from '../model/quality-gate.js';
import type { MacroResult, StageRecord } from '../model/result.js';
import { cutMarker, DEFAULT_MAX_TEXT_LENGTH, escapeMarkdown, inlineCode, preview } from './escape.js';
import { ganttOf } from './gantt.js';
import { checkResult, unreadableResult } from './result-check.js';

/** Options of {@link renderReport}. */
export interface ReportOptions {
  /**
   * How many characters of each untrusted text (an output, a rationale, feedback, an
   * error message, a name or a path) the report keeps; the rest is cut and the cut
   * marked. A positive integer, or `Infinity` for no cap. Default 4,000.
   */
  readonly maxTextLength?: number;
}

/**
 * Renders `result` as GitHub-flavoured markdown.
 * @throws {MacroError} `INVALID_OPTIONS` when `options` has an unknown key or an invalid `maxTextLength`,
 * or `result` is no MacroResult (not an object, or its stages, timeline… missing or unreadable).
 * @example
 * await writeFile('report.md', renderReport(await orchestrator.run('code-review', { intent })));
 */
export function renderReport(result: MacroResult, options?: ReportOptions): string {
  const max = maxTextLength(options);
  checkResult('renderReport', result);
  try {
    const report = new Report(max);
    summary(result, report);
    timeline(result, report);
    qualityGates(result, report);
    usage(result, report);
    artefacts(result, report);
    decisions(result, report);
    errors(result, report);
    return `${report.lines.join('\n')}\n`;
  } catch (error) {
    // Every value is read safely: a throw means a structure that is not a MacroResult's.
    throw unreadableResult('renderReport', error);
  }
}

/** `options.maxTextLength`, read once and checked; the default without it. */
function maxTextLength(options: ReportOptions | undefined): number {
  checkOptionKeys('renderReport options', options, ['maxTextLength']);
  let max: unknown;
  try {
    max = options?.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH;
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read renderReport options: ${describe(error)}`, {
      cause: error,
    });
  }
  if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && (max as number) > 0))) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Expected maxTextLength in renderReport options to be a positive integer or Infinity, got ${briefly(max)}`,
    );
  }
  return max as number;
}

/** The lines written so far, and how untrusted values are written into them. */
class Report {
  readonly lines: string[] = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Untrusted prose (rationales, feedback, messages): backslash-escaped, cut. */
  prose(value: unknown): string {
    const p = preview(value, this.#max);
    return `${escapeMarkdown(p.text)}${cutMarker(p)}`;
  }

  /** Untrusted text shown verbatim in a code span (outputs, ids), cut. */
  code(value: unknown, inTable = false): string {
    const p = preview(value, this.#max);
    return `${inlineCode(p.text, inTable)}${cutMarker(p)}`;
  }

  /** Paths, ids and names in a table: shown verbatim in a code span (readable, and inert). */
  name(value: unknown): string {
    return this.code(value, true);
  }

  /** Engine values (statuses, counts, scores, durations): as they are if they are plain, else escaped. */
  plain(value: unknown): string {
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value === 'string' && value.length <= this.#max && /^[\w.-]*$/.test(value)) return value;
    return value === undefined ? '' : this.prose(value);
  }
}

/** The stage record at `path`: an own entry of `stages`, never something on its prototype. */
function stageAt(result: MacroResult, path: unknown): StageRecord | undefined {
  return typeof path === 'string' && Object.hasOwn(result.stages, path) ? result.stages[path] : undefined;
}

function summary(result: MacroResult, report: Report): void {
  const { lines } = report;
  const decided = result.decisions ?? []; // results stored before decisions existed have none
  const started = typeof result.startedAt === 'number' ? new Date(result.startedAt) : new Date(Number.NaN);
  lines.push(`# Run report: ${report.code(result.macro)}`, '');
  lines.push('| field | value |', '|---|---|');
  lines.push(`| run | ${report.name(result.runId)} |`);
  lines.push(`| status | **${report.plain(result.status)}** |`);
  lines.push(`| produced by | ${report.name(result.producedBy)} |`);
  lines.push(
    `| started | ${Number.isNaN(started.getTime()) ? report.plain(result.startedAt) : started.toISOString()} |`,
  );
  lines.push(`| duration | ${report.plain(result.durationMs)} ms |`);
  lines.push(`| stages | ${Object.keys(result.stages).length} |`);
  lines.push(
    `| quality gates | ${result.qa.verdicts.length === 0 ? 'none' : result.qa.passed ? 'passed' : 'failed'} |`,
  );
  lines.push(`| decisions | ${decided.length} |`);
  if (result.status !== 'succeeded') lines.push(`| error | ${report.prose(result.error.message)} |`);
  if (result.persistence !== undefined)
    lines.push(`| persistence | failed: ${report.prose(result.persistence.error.message)} |`);
}

function timeline(result: MacroResult, report: Report): void {
  const { lines } = report;
  lines.push('', '## Timeline', '');
  // Where the time went, drawn by GitHub and other Mermaid-aware viewers; the table follows.
  const gantt = ganttOf(result);
  if (gantt.includes(' :')) lines.push('```mermaid', gantt, '```', '');
  lines.push('| scope | path | name | attempt | status | ms |', '|---|---|---|---|---|---|');
  for (const t of result.timeline) {
    lines.push(
      `| ${report.plain(t.scope)} | ${report.name(t.path)} | ${report.name(t.name)} | ${report.plain(t.attempt)} | ${report.plain(t.status)} | ${report.plain(t.durationMs)} |`,
    );
  }
}

function qualityGates(result: MacroResult, report: Report): void {
  const { lines } = report;
  lines.push('', '## Quality gates', '');
  if (result.qa.verdicts.length === 0) {
    lines.push('No gates were checked.');
    return;
  }
  lines.push(`Overall: **${result.qa.passed ? 'passed' : 'failed'}**`, '');
  lines.push('| path | gate | pass | verdict | score | feedback |', '|---|---|---|---|---|---|');
  for (const v of result.qa.verdicts) {
    lines.push(
      `| ${report.name(v.path)} | ${report.name(v.gate)} | ${report.plain(v.pass)} | ${v.passed ? 'passed' : 'failed'} | ${report.plain(v.score)} | ${report.prose(v.feedback ?? '')} |`,
    );
  }
}

/** Token usage per agent and model, when agents reported any (a table the report's readers total at a glance). */
function usage(result: MacroResult, report: Report): void {
  const used = result.usage;
  // A stored result may come from an older version, or a damaged store: no table then.
  if (typeof used !== 'object' || used === null || !Array.isArray(used.byAgent)) return;
  const { lines } = report;
  lines.push('', '## Token usage', '');
  lines.push(
    '| agent | model | calls | input | output | total | cached input |',
    '|---|---|---|---|---|---|---|',
  );
  for (const row of used.byAgent) {
    lines.push(
      `| ${report.name(row.agent)} | ${row.model === undefined ? '' : report.name(row.model)} | ${report.plain(row.calls)} | ${report.plain(row.inputTokens)} | ${report.plain(row.outputTokens)} | ${report.plain(row.totalTokens)} | ${report.plain(row.cachedInputTokens)} |`,
    );
  }
  lines.push(
    `| **all** | | ${report.plain(used.calls)} | ${report.plain(used.inputTokens)} | ${report.plain(used.outputTokens)} | ${report.plain(used.totalTokens)} | ${report.plain(used.cachedInputTokens)} |`,
  );
  if (typeof used.costUsd === 'number') {
    lines.push('', `Cost: $${used.costUsd.toFixed(4)} (the calls on models with a price).`);
  }
}

function artefacts(result: MacroResult, report: Report): void {
  const { lines } = report;
  lines.push('', '## Artefacts', '');
  if (result.artefacts.length === 0) {
    lines.push('No artefacts.');
    return;
  }
  lines.push('| name | media type | from |', '|---|---|---|');
  for (const a of result.artefacts)
    lines.push(`| ${report.prose(a.name)} | ${report.prose(a.mediaType)} | ${report.name(a.path)} |`);
}

function decisions(result: MacroResult, report: Report): void {
  const { lines } = report;
  lines.push('', '## Decisions');
  const decided = result.decisions ?? [];
  if (decided.length === 0) {
    lines.push('', 'No conflicts between parallel outputs.');
    return;
  }
  for (const d of decided) decision(result, d, report);
}

function decision(result: MacroResult, d: DecisionRecord, report: Report): void {
  const { lines } = report;
  const label = preview(d.id, 64).text.replace(/[^A-Za-z0-9-]/g, '-');
  const note = (v: DecisionVariant) => `[^${label}-v${v.index + 1}]`;
  const losers = d.variants.filter((v) => d.losers.includes(v.index));
  const chosen = d.winner === undefined ? undefined : d.variants[d.winner];
  const from =
    chosen === undefined
      ? `a merge of ${d.variants.length} variants`
      : `v${chosen.index + 1}, branch ${report.code(chosen.branch)}`;

  lines.push('', `### ${report.prose(d.id)}: ${report.code(d.path)}`, '');
  lines.push(`**Chosen** (${from}): ${report.code(d.output)}${losers.map(note).join('')}`, '');

  lines.push('| field | value |', '|---|---|');
  lines.push(
    `| strategy | ${report.plain(d.strategy)}${d.fallback === undefined ? '' : ', fell back to majority vote'} |`,
  );
  lines.push(
    `| compared by | ${report.plain(d.comparison)}${d.fields === undefined ? '' : `: ${d.fields.map((f) => report.code(f, true)).join(', ')}`} |`,
  );
  lines.push(`| tie | ${d.tie ? 'yes, broken by branch order' : 'no'} |`);
  lines.push(`| rationale | ${report.prose(d.rationale)} |`);
  if (d.fallback !== undefined) lines.push(`| judge failure | ${report.prose(d.fallback.error.message)} |`);
  for (const x of d.excluded) {
    lines.push(
      `| excluded | ${report.code(x.branch, true)}: ${report.name(x.error.code)}, ${report.prose(x.error.message)} |`,
    );
  }

  lines.push('', '| variant | branch | group | score | hash | ms | gates | outcome |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const v of d.variants) {
    const outcome = v.index === d.winner ? 'chosen' : d.losers.includes(v.index) ? 'lost' : 'agrees';
    lines.push(
      `| v${v.index + 1} | ${report.code(v.branch, true)} | ${v.group + 1} | ${report.plain(d.scores?.[v.index])} | ${report.code(v.hash, true)} | ${report.plain(stageAt(result, v.path)?.durationMs)} | ${gatesOf(result, v.path, report)} | ${outcome} |`,
    );
  }

  if (losers.length > 0) lines.push('');
  for (const v of losers) {
    const facts = [`group ${v.group + 1}`];
    if (d.scores?.[v.index] !== undefined) facts.push(`score ${report.plain(d.scores[v.index])}`);
    const ms = stageAt(result, v.path)?.durationMs;
    if (ms !== undefined) facts.push(`${report.plain(ms)} ms`);
    if (v.differs !== undefined) facts.push(`differs in ${v.differs.map((f) => report.prose(f)).join(', ')}`);
    lines.push(
      `${note(v)}: v${v.index + 1}, branch ${report.code(v.branch)} (${facts.join('; ')}): ${report.code(v.output)}`,
    );
  }
}

/** The latest verdict of each gate at `path` or below, as `gate passed (score)`. */
function gatesOf(result: MacroResult, path: unknown, report: Report): string {
  if (typeof path !== 'string') return '';
  const latest = new Map<string, GateVerdict>();
  for (const v of result.qa.verdicts) {
    if (typeof v.path !== 'string' || (v.path !== path && !v.path.startsWith(`${path}/`))) continue;
    latest.set(`${v.path}\u0000${preview(v.gate).text}`, v);
  }
  return [...latest.values()]
    .map(
      (v) =>
        `${report.name(v.gate)} ${v.passed ? 'passed' : 'failed'}${v.score === undefined ? '' : ` (${report.plain(v.score)})`}`,
    )
    .join(', ');
}

function errors(result: MacroResult, report: Report): void {
  if (result.errors.length === 0) return;
  const { lines } = report;
  lines.push('', '## Errors', '', '| path | code | message |', '|---|---|---|');
  for (const e of result.errors)
    lines.push(`| ${report.name(e.path ?? '')} | ${report.name(e.code)} | ${report.prose(e.message)} |`);
}
