// Reading a failure's billed cost the way the workflow sees it: after the trip through Temporal's
// failure converter, wrapped in an ActivityFailure.
import {
  ActivityFailure,
  ApplicationFailure,
  RetryState,
  defaultFailureConverter,
  defaultPayloadConverter,
} from '@temporalio/common';
import { billedCostOf } from '../../../../src/activities/llm/billed.js';
import { LLM_FAILURE_TYPES, checkOutput, llmFailure } from '../../../../src/activities/llm/errors.js';

function asTheWorkflowSeesIt(err: ApplicationFailure): ActivityFailure {
  const decoded = defaultFailureConverter.failureToError(
    defaultFailureConverter.errorToFailure(err, defaultPayloadConverter),
    defaultPayloadConverter,
  );
  return new ActivityFailure(
    'activity failed',
    'generateOpenAI',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker',
    decoded,
  );
}

function thrown(fn: () => void): ApplicationFailure {
  try {
    fn();
  } catch (e) {
    return e as ApplicationFailure;
  }
  throw new Error('nothing thrown');
}

test('a billed unusable answer: cost and tokens survive the failure converter', () => {
  const billed = { costUsd: 0.0042, tokens: { prompt: 1200, completion: 4000 } };
  const f = thrown(() => checkOutput('openai', '```python\ndef f(', billed, 'length'));
  expect(billedCostOf(asTheWorkflowSeesIt(f))).toEqual(billed);
  expect(billedCostOf(f)).toEqual(billed);
});

test('a call with no answer (timeout, HTTP error) carries no billed cost', () => {
  for (const type of [LLM_FAILURE_TYPES.timeout, LLM_FAILURE_TYPES.unavailable, LLM_FAILURE_TYPES.rejected]) {
    expect(billedCostOf(asTheWorkflowSeesIt(llmFailure(type, 'x', { provider: 'openai', status: 500 })))).toBeNull();
  }
  expect(billedCostOf(new Error('plain'))).toBeNull();
  expect(billedCostOf(undefined)).toBeNull();
});
