// Proof that the Java time-skipping test server runs: 30 days of workflow time
// pass while the test waits only for the server to skip ahead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, uniqueId, workflowBundle } from '../helpers/temporal.js';
import type { sleepDays } from '../fixtures/proof-workflows.js';

const workflowsPath = new URL('../fixtures/proof-workflows.ts', import.meta.url).pathname;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('time-skipping test server', () => {
  it('completes a workflow that sleeps 30 days, with 30 days of workflow time elapsed', async () => {
    const taskQueue = uniqueId('proof');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(workflowsPath),
    });
    const serverTimeBefore = await env.currentTimeMs();
    const result = await worker.runUntil(env.client.workflow.execute<typeof sleepDays>('sleepDays', { taskQueue, workflowId: uniqueId('sleep'), args: [30] }));
    const thirtyDays = 30 * 24 * 3600 * 1000;
    expect(result.elapsedMs).toBeGreaterThanOrEqual(thirtyDays);
    expect((await env.currentTimeMs()) - serverTimeBefore).toBeGreaterThanOrEqual(thirtyDays);
  });
});
