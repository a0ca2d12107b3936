/**
 * A picture of where a run's time went: its timeline as a Mermaid Gantt chart, a bar per
 * stage attempt (failed ones marked), in sections by the run's top-level stages.
 * @module
 */
import type { MacroResult, TimelineEntry } from '../model/result.js';
import { checkIsResult, unreadableResult } from './result-check.js';

/** Longest name kept in the chart; the rest is cut. */
const MAX_NAME = 200;
/** What may not stand in a name: `:`, `;`, `#` end a task or start a comment, a backtick could close a code fence, and control and bidi characters. */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  /[:;#`\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text of a task name or title: unsafe characters replaced, cut at {@link MAX_NAME} characters. */
function taskName(text: unknown): string {
  const safe = typeof text === 'string' ? text.slice(0, MAX_NAME).replaceAll(UNSAFE, ' ').trim() : '';
  return safe === '' ? '(unnamed)' : safe;
}

/**
 * The top-level stage a path belongs to (`m/review/a` → `review`, `m/each[3]` → `each`), its
 * section; a stage of a fallback macro the run went on with is named with its macro
 * (`m-minimal/collect`), apart from the run's own stage of the same name.
 */
function sectionOf(path: string, macro: string): string {
  const parts = path.split('/');
  const top = parts.length > 1 ? (parts[1] as string) : (parts[0] as string);
  const element = top.indexOf('[');
  const stage = element > 0 ? top.slice(0, element) : top;
  return parts.length > 1 && parts[0] !== macro ? `${parts[0]}/${stage}` : stage;
}

/**
 * The run's stage attempts as a Mermaid Gantt chart (`dateFormat x`: epoch milliseconds),
 * to paste into Markdown; failed and cancelled attempts are `crit`, restored ones `done`;
 * sections are the run's top-level stages (a fallback macro's named with it), each
 * started where its first attempt started.
 * A stage that took 0 ms is drawn 1 ms long, so it can be seen.
 * @example
 * await writeFile('run.md', '```mermaid\n' + runToGantt(result) + '\n```\n');
 * @throws {MacroError} `INVALID_OPTIONS` when `result` is no object or cannot be read.
 */
export function runToGantt(result: MacroResult): string {
  checkIsResult('runToGantt', result);
  try {
    return ganttOf(result);
  } catch (error) {
    throw unreadableResult('runToGantt', error);
  }
}

/** {@link runToGantt} without its check (for a result already checked); throws on a result it cannot read. @internal */
export function ganttOf(result: MacroResult): string {
  const title = `${taskName(result.macro)} run ${taskName(result.runId)}`;
  const lines = ['gantt', `  title ${title}`, '  dateFormat x', '  axisFormat %M:%S.%L'];
  const spans = Array.isArray(result.timeline) ? result.timeline : [];
  // In start order (the timeline is in end order); a stored result's damaged entries are left out.
  const stages = spans
    .filter(
      (span: TimelineEntry) =>
        span?.scope === 'stage' &&
        typeof span.path === 'string' &&
        Number.isFinite(span.startedAt) &&
        Number.isFinite(span.endedAt),
    )
    .sort((a, b) => a.startedAt - b.startedAt);
  let section: string | undefined;
  stages.forEach((span, i) => {
    const name = sectionOf(span.path, result.macro);
    if (name !== section) {
      lines.push(`  section ${taskName(name)}`);
      section = name;
    }
    const tags = span.status === 'succeeded' ? '' : span.status === 'restored' ? 'done, ' : 'crit, ';
    const attempt = span.attempt > 1 ? ` attempt ${span.attempt}` : '';
    const end = Math.max(span.endedAt, span.startedAt + 1);
    lines.push(
      `  ${taskName(`${span.path}${attempt} ${span.status}`)} :${tags}s${i}, ${span.startedAt}, ${end}`,
    );
  });
  return lines.join('\n');
}
