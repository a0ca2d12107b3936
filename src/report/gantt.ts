/**
 * A picture of where a run's time went: its timeline as a Mermaid Gantt chart, a bar per
 * stage attempt (failed ones marked), in sections by the run's top-level stages.
 * @module
 */
import type { MacroResult, TimelineEntry } from '../model/result.js';

/** Text of a task name: `:`, `;` and `#` would end it or start a comment, so they are replaced. */
function taskName(text: string): string {
  return text.replaceAll(/[:;#]/g, ' ').replaceAll(/\r?\n/g, ' ').trim() || '(unnamed)';
}

/** The top-level stage a path belongs to (`m/review/a` → `review`), its section. */
function sectionOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 1 ? (parts[1] as string) : (parts[0] as string);
}

/**
 * The run's stage attempts as a Mermaid Gantt chart (`dateFormat x`: epoch milliseconds),
 * to paste into Markdown; failed and cancelled attempts are `crit`, restored ones `done`;
 * sections are the run's top-level stages, each started where its first attempt started.
 * A stage that took 0 ms is drawn 1 ms long, so it can be seen.
 * @example
 * await writeFile('run.md', '```mermaid\n' + runToGantt(result) + '\n```\n');
 */
export function runToGantt(result: MacroResult): string {
  const lines = [
    'gantt',
    `  title ${taskName(`${result.macro} run ${result.runId}`)}`,
    '  dateFormat x',
    '  axisFormat %M:%S.%L',
  ];
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
    const name = sectionOf(span.path);
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
