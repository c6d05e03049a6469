// The bare engine's activity: does nothing, so what a child costs is Temporal's work alone
// (schedule, dispatch, complete, record), the floor Wingman's per-worker cost is compared with.
export async function noop(): Promise<void> {}
