/**
 * Sections of bench/RESULTS.md that scripts other than run.mjs write (concurrent.mjs,
 * fleet.mjs): each between `<!-- section:NAME -->` and `<!-- /section:NAME -->`, replaced
 * in place when written again, and kept at the end when run.mjs rewrites the file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const BLOCK = /<!-- section:([\w-]+) -->[\s\S]*?<!-- \/section:\1 -->\n?/g;

/** Writes `markdown` as the section `name` of `file`, in place of the one there, or at the end. */
export function writeSection(file, name, markdown) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const block = `<!-- section:${name} -->\n${markdown.trim()}\n<!-- /section:${name} -->\n`;
  const existing = [...text.matchAll(BLOCK)].find((m) => m[1] === name);
  const next =
    existing === undefined ? `${text.trimEnd()}\n\n${block}` : text.replace(existing[0], () => block);
  writeFileSync(file, next);
}

/** The sections of `file` (as they are, markers included), to append to its new contents. */
export function keptSections(file) {
  if (!existsSync(file)) return '';
  return [...readFileSync(file, 'utf8').matchAll(BLOCK)].map((m) => m[0]).join('\n');
}
