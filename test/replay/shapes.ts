// The folder (under test/fixtures/histories/) that holds the histories of today's workflow
// shape: what record-histories.ts writes by default and what the replay test checks in detail.
export const CURRENT_SHAPE = 'local-steps';
