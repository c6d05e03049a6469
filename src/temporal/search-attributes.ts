// Custom search attributes: they let a person filter a batch's workers in the Web UI
// (e.g. `WingmanBatchId = "b1" AND WingmanOutcome = "failed"`).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BATCH_ID = defineSearchAttributeKey('WingmanBatchId', SearchAttributeType.KEYWORD);
export const WORKER_ID = defineSearchAttributeKey('WingmanWorkerId', SearchAttributeType.KEYWORD);
export const OUTCOME = defineSearchAttributeKey('WingmanOutcome', SearchAttributeType.KEYWORD);
export const PROVIDER = defineSearchAttributeKey('WingmanProvider', SearchAttributeType.KEYWORD);

/** Name → type, as the operator API and `temporal server start-dev --search-attribute` want them. */
export const SEARCH_ATTRIBUTES = {
  [BATCH_ID.name]: 'Keyword',
  [WORKER_ID.name]: 'Keyword',
  [OUTCOME.name]: 'Keyword',
  [PROVIDER.name]: 'Keyword',
} as const;
