/**
 * The pictures docs/pictures.md shows (made by `npm run docs:pictures` with headless
 * Chromium): each macro chart is what `macroToMermaid` draws today, the run chart is a
 * Gantt Mermaid accepts, and each SVG is Mermaid's rendering of its chart.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PICTURED_MACROS } from '../../scripts/picture-list.js';
import { builtinMacros, macroToMermaid } from '../../src/index.js';
import { closeMermaid, mermaidParse } from './mermaid.js';

afterAll(closeMermaid);

const folder = join(import.meta.dirname, '../../docs/pictures');
const read = (name: string) => readFile(join(folder, name), 'utf8');
const STALE = 'docs/pictures is stale: run `npm run docs:pictures` (needs chromium)';

describe('the pictures in docs', () => {
  it.each(PICTURED_MACROS)('draws %s as macroToMermaid does today', async (name) => {
    const macro = builtinMacros.find((each) => each.name === name);
    expect(macro).toBeDefined();
    expect(await read(`${name}.mmd`), STALE).toBe(`${macroToMermaid(macro as NonNullable<typeof macro>)}\n`);
  });

  it.each(PICTURED_MACROS)("renders %s's chart as an SVG naming every stage it draws", async (name) => {
    const svg = await read(`${name}.svg`);
    expect(svg.startsWith('<svg id="chart"')).toBe(true);
    const labels = [...(await read(`${name}.mmd`)).matchAll(/\["([^"·]+?) /g)].map((match) => match[1]);
    expect(labels.length).toBeGreaterThan(1);
    for (const label of labels) expect(svg, STALE).toContain(label);
  });

  it('holds a run chart Mermaid parses, with a retry, a timeout and a fallback, and its SVG', async () => {
    const chart = await read('run-gantt.mmd');
    await expect(mermaidParse(chart)).resolves.toMatchObject({ diagramType: 'gantt' });
    expect(chart).toContain(' failed :crit, ');
    expect(chart).toContain(' timed-out :crit, ');
    expect(chart).toContain('  section ship-notes-minimal/');
    const svg = await read('run-gantt.svg');
    expect(svg.startsWith('<svg id="chart"')).toBe(true);
    expect(svg).toContain('ship-notes/review/legal timed-out');
  });
});
