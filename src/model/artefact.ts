/**
 * Artefacts: what a stage delivers besides its output.
 * @module
 */
import { z } from 'zod';

/** A derived artefact a stage delivers (a document, a patch, a report…). */
export const ArtefactSchema = z.object({
  name: z.string().min(1),
  mediaType: z.string().default('text/plain'),
  content: z.unknown(),
  /** Stage path that delivered it; set by the engine. */
  path: z.string().default(''),
});
export type ArtefactInput = z.input<typeof ArtefactSchema>;
export type Artefact = z.output<typeof ArtefactSchema>;
