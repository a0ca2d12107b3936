/**
 * A markdown report of a run for operators: summary, timeline, QA verdicts,
 * artefacts and errors. Agent text is escaped so it cannot break the structure.
 * @module
 */
import type { MacroResult } from '../macro/types.js';

/** Escapes text for a markdown table cell or inline position. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~^]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

const cell = (value: unknown) =>
  escapeMarkdown(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/** Renders `result` as GitHub-flavoured markdown. */
export function renderReport(result: MacroResult): string {
  const lines: string[] = [];
  lines.push(`# Run report: ${escapeMarkdown(result.macro)}`, '');
  lines.push(`| field | value |`, `|---|---|`);
  lines.push(`| run | \`${result.runId}\` |`);
  lines.push(`| status | **${result.status}** |`);
  lines.push(`| produced by | ${escapeMarkdown(result.producedBy)} |`);
  lines.push(`| duration | ${result.durationMs} ms |`);
  lines.push(`| stages | ${Object.keys(result.stages).length} |`);
  if (result.status !== 'succeeded') lines.push(`| error | ${cell(result.error.message)} |`);
  if (result.persistence !== undefined)
    lines.push(`| persistence | failed: ${cell(result.persistence.error.message)} |`);
  lines.push(
    '',
    '## Timeline',
    '',
    '| scope | path | name | attempt | status | ms |',
    '|---|---|---|---|---|---|',
  );
  for (const t of result.timeline) {
    lines.push(
      `| ${t.scope} | ${cell(t.path)} | ${cell(t.name)} | ${t.attempt} | ${t.status} | ${t.durationMs} |`,
    );
  }
  lines.push('', '## Quality gates', '');
  if (result.qa.verdicts.length === 0) lines.push('No gates were checked.');
  else {
    lines.push(`Overall: **${result.qa.passed ? 'passed' : 'failed'}**`, '');
    lines.push('| path | gate | pass | verdict | score | feedback |', '|---|---|---|---|---|---|');
    for (const v of result.qa.verdicts) {
      lines.push(
        `| ${cell(v.path)} | ${cell(v.gate)} | ${v.pass} | ${v.passed ? 'passed' : 'failed'} | ${v.score ?? ''} | ${cell(v.feedback ?? '')} |`,
      );
    }
  }
  lines.push('', '## Artefacts', '');
  if (result.artefacts.length === 0) lines.push('No artefacts.');
  for (const a of result.artefacts)
    lines.push(`- ${cell(a.name)} (${cell(a.mediaType)}) from ${cell(a.path)}`);
  if (result.errors.length > 0) {
    lines.push('', '## Errors', '', '| path | code | message |', '|---|---|---|');
    for (const e of result.errors) lines.push(`| ${cell(e.path ?? '')} | ${e.code} | ${cell(e.message)} |`);
  }
  return `${lines.join('\n')}\n`;
}
