/** The built-in macros docs/pictures.md draws as flowcharts (`npm run docs:pictures`). */
export const PICTURED_MACROS = ['code-review', 'release-notes'] as const;
