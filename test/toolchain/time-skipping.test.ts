// Proof that the Java time-skipping test server runs: 30 days of workflow time
// pass while the test waits only for the server to skip ahead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, uniqueId, workflowBundle } from '../helpers/temporal.js';
import type { activityChain, sleepDays } from '../fixtures/proof-workflows.js';

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

  // Before the client's keepalive was fixed (timeSkippingEnv), the server dropped the
  // connection at about 90 s with this sleep on it: time then skipped while the
  // activities ran (they timed out) and the sleep never returned.
  it('keeps time-skipping right across a sleep that takes two minutes of real time', async () => {
    const taskQueue = uniqueId('proof');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(workflowsPath),
      activities: {
        pause: async (ms: number) => {
          await new Promise((r) => setTimeout(r, ms));
          return Context.current().info.attempt;
        },
      },
    });
    const steps = 50;
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof activityChain>('activityChain', { taskQueue, workflowId: uniqueId('chain'), args: [steps, 2_400] });
      // One skip, held by the activities for 50 × 2.4 s of real time: past the 90 s mark.
      await env.sleep(2 * steps * 60_000);
      expect(await handle.result()).toEqual(Array(steps).fill(1));
    });
  }, 300_000);
});
