// The parsed form of one worker instruction (the 10-point framework). The parser produces it;
// the manifest builder and the workspace activities read it.
import { z } from 'zod';
import { Provider } from '../schemas.js';

export const SECTION_NAMES = [
  'DELIVERABLES',
  'SUCCESS_CRITERIA',
  'BOUNDARIES',
  'DEPENDENCIES',
  'MITIGATION',
  'TEST_PROCESS',
  'TEST_RESULTS_FORMAT',
  'TASK_CLASSIFICATION',
  'RETROSPECTIVE',
  'PERFORMANCE_REQUIREMENTS',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export const WORKER_ID = /^WORKER_\d+$/;

export const Instruction = z.object({
  id: z.string().regex(WORKER_ID),
  name: z.string().min(1),
  /** The path as the caller gave it. */
  file: z.string(),
  /** Normalized H2 name (`SUCCESS_CRITERIA`) -> the section's raw markdown; unknown sections are kept too. */
  sections: z.record(z.string(), z.string()),
  /** Backticked file paths of DELIVERABLES, as written, deduplicated, in order. Not yet checked against a workspace. */
  deliverables: z.array(z.string()).min(1),
  /** One per list item or paragraph line; inline code kept in backticks. */
  successCriteria: z.array(z.string()),
  /** Worker ids named in DEPENDENCIES, upper-cased, digits as written. */
  dependencies: z.array(z.string().regex(WORKER_ID)),
  /** TEST_PROCESS command lines, raw (not yet split or checked). */
  testCommands: z.array(z.string()),
  /** From TASK_CLASSIFICATION's `LLM:` value; null when it names none. */
  provider: Provider.nullable(),
  classification: z.object({ type: z.string().nullable(), complexity: z.string().nullable() }),
});
export type Instruction = z.infer<typeof Instruction>;
