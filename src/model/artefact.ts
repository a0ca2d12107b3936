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
/** An artefact as an agent or phase delivers it (`path` is set by the engine). */
export type ArtefactInput = z.input<typeof ArtefactSchema>;
/** A delivered artefact, as events and the result carry it. */
export type Artefact = z.output<typeof ArtefactSchema>;
