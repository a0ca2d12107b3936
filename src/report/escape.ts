/**
 * Putting untrusted text (agent output, rationales, error messages) into markdown so
 * that it stays text: it can never open a heading, a table cell, a footnote, a code
 * block or raw HTML, and never ends the line it is on.
 * @module
 */

const LINE_BREAK = /\r\n?|\n/g;

/**
 * Escapes text for an inline position or a table cell: every ASCII punctuation
 * character markdown gives a meaning to is backslash-escaped (so `#`, `|`, `[^x]:`,
 * `<script>`, `` ` ``, `*` and `&amp;` all render literally; `:` and `@` too, so that
 * GitHub does not turn URLs and e-mail addresses into links), and line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~^&:@]/g, (c) => `\\${c}`).replace(LINE_BREAK, ' ');
}

/**
 * Renders text as an inline code span that shows it verbatim: the fence is one
 * backtick longer than the longest run inside, line breaks become `↵`, and in a table
 * cell `|` is escaped (GitHub removes that backslash inside code spans).
 */
export function inlineCode(text: string, inTable = false): string {
  let body = text.replace(LINE_BREAK, '↵');
  if (inTable) body = body.replaceAll('|', '\\|');
  if (body === '') return '*(empty)*';
  let longest = 0;
  for (const run of body.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  // One space each side is stripped by the parser; add ours when the text needs its own kept.
  const pad =
    body.startsWith('`') ||
    body.endsWith('`') ||
    (body.startsWith(' ') && body.endsWith(' ') && body.trim() !== '')
      ? ' '
      : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A short text for any value: strings as they are, everything else as JSON. */
export function preview(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
