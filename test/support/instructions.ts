// Writes worker instructions in the 10-point framework, for scenarios the shared corpus lacks.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface InstructionSpec {
  id: string;
  name?: string;
  files: string[];
  dependsOn?: string[];
  test?: string;
  llm?: 'openai' | 'ollama' | 'processor';
  criteria?: string[];
}

export function instructionText(s: InstructionSpec): string {
  return `# ${s.id}: ${s.name ?? `Scenario ${s.id}`}

## 1. DELIVERABLES
${s.files.map((f) => `- [ ] Create/update file: \`${f}\``).join('\n')}

## 2. SUCCESS_CRITERIA
${(s.criteria ?? ['The code compiles']).map((c) => `- ${c}`).join('\n')}

## 3. BOUNDARIES
- Only touch the files above

## 4. DEPENDENCIES
- ${s.dependsOn?.length ? s.dependsOn.join(', ') : 'None'}

## 5. MITIGATION
- Keep it simple

## 6. TEST_PROCESS
\`\`\`bash
${s.test ?? `python -m py_compile ${path.relative('wingman', s.files[0]!)}`}
\`\`\`

## 7. TEST_RESULTS_FORMAT
- PASS/FAIL

## 8. TASK_CLASSIFICATION
- Type: implementation
- Complexity: low
- LLM: ${s.llm ?? 'openai'}

## 9. RETROSPECTIVE
- Note what was hard

## 10. PERFORMANCE_REQUIREMENTS
- Fast enough
`;
}

export function writeInstructions(dir: string, specs: InstructionSpec[]): void {
  mkdirSync(dir, { recursive: true });
  for (const s of specs) writeFileSync(path.join(dir, `${s.id}.md`), instructionText(s));
}
