/** The part of jsdom's API the Mermaid parser setup uses (jsdom ships no types). */
declare module 'jsdom' {
  export class JSDOM {
    constructor(html: string);
    readonly window: Window & typeof globalThis;
  }
}
