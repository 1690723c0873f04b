// What the Temporal UI shows for an incident, on the real dev server (which has
// visibility and keeps user metadata): static summary and details from the start
// options, current details and the status query while it waits for approval, a
// visibility query on IncidentPhase, and a summary on every activity and timer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import { devServerEnv, eventually, startIncidentWorker, type RunningWorker } from '../helpers/temporal.js';
import { FakeCluster, FakeFleet } from '../fixtures/fake-cluster.js';
import { incidentInput, newService, openIncident, waitForStatus } from '../fixtures/incident-driver.js';
import { incidentStartOptions } from '../../workflows/messages.js';

let env: TestWorkflowEnvironment;
let worker: RunningWorker | undefined;
const fleet = new FakeFleet();

beforeAll(async () => {
  env = await devServerEnv();
  worker = await startIncidentWorker(env, fleet.activities);
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

describe('incident in the Temporal UI (dev server)', () => {
  it('shows the static summary and details, the current phase and pending approval, and is found by IncidentPhase', async () => {
    const service = newService('ui');
    fleet.add(new FakeCluster(service, 'bad-rollout'));
    const input = incidentInput(service, new Date().toISOString(), { incidentNumber: 42 });
    const handle = await openIncident(env.client, input);
    try {
      const status = await waitForStatus(handle, (s) => s.phase === 'awaiting-approval', 'the rollback to await approval');
      expect(status.pendingApproval).toMatchObject({ action: 1, kind: 'rollout-undo', preview: { wouldChange: true } });
      expect(status.diagnosis?.category).toBe('bad-rollout');

      const description = await handle.describe();
      const start = incidentStartOptions(input);
      expect(await description.staticSummary()).toBe(start.staticSummary);
      expect(await description.staticSummary()).toBe(`[critical] INC-42 ServiceDown: default/${service.deployment} (test)`);
      expect(await description.staticDetails()).toContain('**Escalation:** L1 at once, L2 at 15m, L3 at 30m unless restored');

      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain('## Awaiting approval');
      expect(metadata.currentDetails).toContain(
        `**Awaiting approval — action #1:** \`kubectl -n default rollout undo deployment/${service.deployment} --to-revision=3\``,
      );
      expect(metadata.currentDetails).toContain('- dry-run: template: revision 4 -> revision 3');
      expect(metadata.currentDetails).toMatch(/\*\*Next timers:\*\* .*approval of #1 expires at/);

      const query = `IncidentPhase = "awaiting-approval" AND AwaitingApproval = true AND IncidentService = "${service.deployment}" AND IncidentDiagnosis = "bad-rollout" AND IncidentNumber = 42`;
      const found = await eventually(async () => {
        const ids: string[] = [];
        for await (const wf of env.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 ? ids : undefined;
      }, 'the visibility query to find the incident');
      expect(found).toEqual([`incident/test/default/${service.deployment}`]);

      const history = await handle.fetchHistory();
      const summaries = (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes || e.timerStartedEventAttributes)
        .map((e) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : undefined));
      expect(summaries.length).toBeGreaterThan(10);
      expect(summaries.filter((s) => !s)).toEqual([]);
      expect(summaries).toContain(`dry-run: kubectl -n default rollout undo deployment/${service.deployment} --to-revision=3`);
      expect(summaries).toContainEqual(expect.stringMatching(/^page L2 at \+15m \(.*\) unless restored$/));
    } finally {
      await handle.terminate('test over');
    }
  });
});
