/**
 * `npm run docs:pictures`: draws the pictures docs/pictures.md shows. Each chart's Mermaid
 * source is written to docs/pictures/<name>.mmd (a test checks the macro charts are what
 * the code draws today) and rendered to <name>.svg by Mermaid itself in headless Chromium
 * (Debian's `chromium` package, or the browser `CHROMIUM` names).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinMacros, macroToMermaid, runToGantt } from '../src/index.js';
import { PICTURED_MACROS } from './picture-list.js';
import { pictureRun } from './picture-run.js';

const OUT = join(import.meta.dirname, '../docs/pictures');
const MERMAID = join(import.meta.dirname, '../node_modules/mermaid/dist/mermaid.min.js');

/** The browser to render with. */
function chromium(): string {
  for (const candidate of [process.env['CHROMIUM'], 'chromium', 'chromium-browser', 'google-chrome']) {
    if (candidate === undefined) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {}
  }
  throw new Error('no Chromium found: apt-get install chromium, or set CHROMIUM to a browser binary');
}

/** `source` rendered to SVG by Mermaid in a headless page. */
function render(browser: string, folder: string, source: string): string {
  const page = join(folder, 'page.html');
  writeFileSync(
    page,
    `<!doctype html><html><body><script src="${pathToFileURL(MERMAID).href}"></script><script>
mermaid.initialize({ startOnLoad: false, theme: 'neutral', flowchart: { htmlLabels: false }, gantt: { useWidth: 960 } });
const done = (id, text) => { const out = document.createElement('script'); out.type = 'text/plain'; out.id = id; out.textContent = text; document.body.appendChild(out); };
mermaid.render('chart', ${JSON.stringify(source)}).then(({ svg }) => done('svg', svg), (error) => done('error', String(error)));
</script></body></html>`,
  );
  const dom = execFileSync(
    browser,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--allow-file-access-from-files',
      '--virtual-time-budget=10000',
      '--dump-dom',
      pathToFileURL(page).href,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
  );
  const match = /<script type="text\/plain" id="(svg|error)">([\s\S]*?)<\/script>/.exec(dom);
  if (match === null) throw new Error('Mermaid rendered nothing (is mermaid installed? npm ci)');
  if (match[1] === 'error') throw new Error(`Mermaid refused the chart: ${match[2]}`);
  return `${match[2]}\n`;
}

const charts: [string, string][] = PICTURED_MACROS.map((name) => [
  name,
  macroToMermaid(builtinMacros.find((macro) => macro.name === name) as (typeof builtinMacros)[number]),
]);
charts.push(['run-gantt', runToGantt(await pictureRun())]);

const browser = chromium();
const folder = mkdtempSync(join(tmpdir(), 'mo-pictures-'));
try {
  for (const [name, source] of charts) {
    writeFileSync(join(OUT, `${name}.mmd`), `${source}\n`);
    writeFileSync(join(OUT, `${name}.svg`), render(browser, folder, source));
    console.log(`docs/pictures/${name}.svg (${readFileSync(join(OUT, `${name}.svg`)).length} bytes)`);
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
