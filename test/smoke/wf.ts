import { proxyActivities } from '@temporalio/workflow';
const { hello } = proxyActivities<{ hello(n: string): Promise<string> }>({ startToCloseTimeout: '10s' });
export async function smoke(n: string): Promise<string> {
  return await hello(n);
}
