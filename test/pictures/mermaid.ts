/**
 * Mermaid's own parser, in Node: under jsdom, as INTEGRATIONS.md describes. DOMPurify is
 * loaded after `window` exists (it reads it when loaded, and Mermaid uses that instance).
 * `parse` resolves for a valid chart and throws for an invalid one.
 */
let parser: Promise<(text: string) => Promise<unknown>> | undefined;

/** Mermaid's `parse`, set up on first use. */
export function mermaidParse(text: string): Promise<unknown> {
  parser ??= (async () => {
    const { JSDOM } = await import('jsdom');
    const { window } = new JSDOM('<!doctype html><html><body></body></html>');
    Object.assign(globalThis, { window, document: window.document });
    await import('dompurify');
    const mermaid = (await import('mermaid')).default;
    return (chart: string) => mermaid.parse(chart);
  })();
  return parser.then((parse) => parse(text));
}

/** Takes jsdom's `window` and `document` off globalThis again (for the files run after this one). */
export function closeMermaid(): void {
  Reflect.deleteProperty(globalThis, 'window');
  Reflect.deleteProperty(globalThis, 'document');
  parser = undefined;
}
