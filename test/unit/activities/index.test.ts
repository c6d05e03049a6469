// What the worker registers: on the workspace queue exactly the activities today's workflows
// call there, and as local activities of the workflow worker the instruction's quick steps. The
// single-purpose functions the steps are made of are not activities of their own.
import { expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../../src/activities/index.js';
import { readConfig } from '../../../src/config.js';

test("the workspace queue serves the check step and the batch's; the workflow worker the quick steps; no more", () => {
  // The batch's: its plan, child checks, suite and report.
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'wingman-act-'));
  const activities = createActivities(readConfig({ WINGMAN_STATE_DIR: stateDir }));
  expect(Object.keys(activities.workspace).sort()).toEqual(
    ['checkOutput', 'loadPlanPage', 'loadPlanDetails', 'checkChildren', 'runSuite', 'writeReport'].sort(),
  );
  expect(Object.keys(activities.local).sort()).toEqual(['beginInstruction', 'finishInstruction', 'preparePrompt']);
  expect(Object.keys(activities.llm).sort()).toEqual(['generateOllama', 'generateOpenAI', 'generateProcessor']);
});
