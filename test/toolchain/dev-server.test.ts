// Proof that the Temporal CLI dev server runs with the incident search attributes
// registered: a workflow upserts IncidentPhase and a visibility query finds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv, eventually, uniqueId, workflowBundle } from '../helpers/temporal.js';
import type { markPhase } from '../fixtures/proof-workflows.js';

const workflowsPath = new URL('../fixtures/proof-workflows.ts', import.meta.url).pathname;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('Temporal CLI dev server', () => {
  it('finds a workflow through a visibility query on a custom search attribute', async () => {
    const taskQueue = uniqueId('proof');
    const phase = uniqueId('phase');
    const workflowId = uniqueId('mark');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(workflowsPath),
    });
    await worker.runUntil(env.client.workflow.execute<typeof markPhase>('markPhase', { taskQueue, workflowId, args: [phase] }));
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of env.client.workflow.list({ query: `IncidentPhase = "${phase}"` })) ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    }, 'the visibility query to see the workflow');
    expect(found).toEqual([workflowId]);
  });
});
