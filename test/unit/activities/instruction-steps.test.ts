// The finish step: the result is recorded, then the retrospective stored, then the batch told
// (only an instruction with a batch); a failure to record tells nobody, so the workflow's own
// fallback signal is the one the batch gets. The check step: a guide runs nothing.
import { expect, test } from '@jest/globals';
import { checkStep, localSteps } from '../../../src/activities/instruction-steps.js';
import type { InstructionResult } from '../../../src/schemas.js';
import { blankResult } from '../../../src/workflows/instruction/blank-result.js';

type Parts = Parameters<typeof localSteps>[0];

const result: InstructionResult = {
  ...blankResult('WORKER_001', 'One', 'passed', 'ended passed', null),
  startedAt: '2026-11-30T00:00:00.000Z',
  finishedAt: '2026-11-30T00:00:01.000Z',
};

function parts(calls: string[], opts: { recordFails?: boolean } = {}): Parts {
  const fail = () => Promise.reject(new Error('not used by this step'));
  return {
    loadEntry: fail,
    preparePrompt: fail,
    inspectOutput: async () => {
      calls.push('inspect');
      return { guide: true, markers: ['Step 1:'], files: [] };
    },
    writeDeliverables: async () => {
      calls.push('write');
      return { written: [] };
    },
    runTests: async () => {
      calls.push('tests');
      throw new Error('a guide must not be tested');
    },
    checkCriteria: fail,
    recordResult: async () => {
      calls.push('record');
      if (opts.recordFails) throw new Error('ENOSPC');
    },
    storeRetrospective: async () => {
      calls.push('retrospective');
      return { stored: 'local' };
    },
  } as unknown as Parts;
}

const finish = { reportPath: '/tmp/report.json', batchId: 'b1', result };

test('finish records, stores the retrospective, then tells the batch its outcome', async () => {
  const calls: string[] = [];
  const steps = localSteps(parts(calls), async (batch, r) => {
    calls.push(`tell ${batch} ${r.id} ${r.outcome}`);
  });
  await steps.finishInstruction({ ...finish, batchWorkflowId: 'batch-b1' });
  expect(calls).toEqual(['record', 'retrospective', 'tell batch-b1 WORKER_001 passed']);
});

test('finish of an instruction without a batch tells nobody', async () => {
  const calls: string[] = [];
  const steps = localSteps(parts(calls), async () => {
    calls.push('tell');
  });
  await steps.finishInstruction({ ...finish, batchWorkflowId: null });
  expect(calls).toEqual(['record', 'retrospective']);
});

test('finish that cannot record fails before telling the batch', async () => {
  const calls: string[] = [];
  const steps = localSteps(parts(calls, { recordFails: true }), async () => {
    calls.push('tell');
  });
  await expect(steps.finishInstruction({ ...finish, batchWorkflowId: 'batch-b1' })).rejects.toThrow('ENOSPC');
  expect(calls).toEqual(['record']);
});

test('check of a guide writes nothing and runs no test', async () => {
  const calls: string[] = [];
  const checked = await checkStep(parts(calls)).checkOutput({
    workerId: 'WORKER_001',
    workspace: '/tmp/ws',
    pythonRoot: 'wingman',
    commands: [['python', '-m', 'pytest']],
    outputRef: { sha256: 'a'.repeat(64), bytes: 5, inline: 'Step 1: write the code', store: null },
    instructionFile: '/tmp/WORKER_001.md',
    deliverables: ['wingman/x.py'],
  });
  expect(checked).toMatchObject({ guide: true, markers: ['Step 1:'], written: [], tests: null, criteria: null });
  expect(calls).toEqual(['inspect']);
});
