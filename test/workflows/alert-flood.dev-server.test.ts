// An alert flood against the real path: Alertmanager's webhooks through the
// receiver into the dev server, and a worker (over a scripted fake cluster)
// running the incident. Given an incident waiting for a person's approval, when
// one group of 1,000 per-pod alerts is delivered 20 times (Alertmanager's
// repeat_interval, retries), then the incident still takes every person's
// signal, and each delivery added at most one signal and one workflow task to
// its history, whatever the group's size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import { buildReceiver } from '../../client/receiver/server.js';
import { incidentWorkflowId, statusQuery, type IncidentStatus } from '../../workflows/messages.js';
import { FakeCluster, FakeFleet } from '../fixtures/fake-cluster.js';
import { devServerEnv, eventually, uniqueId, startIncidentWorker, type RunningWorker } from '../helpers/temporal.js';

const token = 'flood-test-token-0123456789';
const deliveries = 20;
const podsInGroup = 1000;
/** Per delivery: its `alerts` signal and the workflow task that takes it (scheduled, started, completed). */
const eventsPerDelivery = 4;

let env: TestWorkflowEnvironment;
let worker: RunningWorker | undefined;
let receiver: FastifyInstance;
let incidents: Incidents;
const fleet = new FakeFleet();

beforeAll(async () => {
  env = await devServerEnv();
  worker = await startIncidentWorker(env, fleet.activities);
  incidents = new Incidents(env.client, ClientEnvSchema.parse({}));
  receiver = buildReceiver({
    token,
    defaultCluster: 'local',
    clusters: ['local'],
    gateway: incidents,
    log: pino({ level: 'silent' }),
    bodyLimit: 4 * 1024 * 1024,
  });
});

afterAll(async () => {
  await receiver?.close();
  await worker?.stop();
  await env?.teardown();
});

/** One Alertmanager group: the runbook's alert once per pod of the service, as a per-pod rule fires it. */
function perPodGroup(namespace: string, deployment: string, startsAt: string) {
  const webhook = serviceDownWebhook({ cluster: 'local', namespace, deployment }, 'firing', startsAt);
  const [alert] = webhook.alerts;
  if (!alert) throw new Error('the webhook has no alert');
  webhook.alerts = Array.from({ length: podsInGroup }, (_, i) => ({
    ...alert,
    labels: { ...alert.labels, pod: `${deployment}-${i}` },
    fingerprint: `${i.toString(16).padStart(16, '0')}`,
  }));
  return webhook;
}

async function history(workflowId: string) {
  return (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('given an incident awaiting approval', () => {
  it('when a 1,000-alert group is delivered 20 times, then every person’s signal still lands and each delivery added one signal and one workflow task', async () => {
    const namespace = 'default';
    const deployment = uniqueId('flooded');
    fleet.add(new FakeCluster({ cluster: 'local', namespace, deployment }, 'bad-rollout'));
    const workflowId = incidentWorkflowId({ cluster: 'local', namespace, deployment });
    const group = perPodGroup(namespace, deployment, new Date().toISOString());

    const post = () => receiver.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload: group });
    expect((await post()).statusCode).toBe(200);
    const handle = env.client.workflow.getHandle(workflowId);
    // And its L1 decided: paged after its diagnosis (the storm check's answer is a signal too).
    await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.pendingApproval && s.escalationLevel >= 1 ? true : undefined;
    }, 'the rollback to await approval, L1 paged');
    const before = (await history(workflowId)).length;

    for (let i = 1; i < deliveries; i++) {
      const res = await post();
      expect(res.statusCode, res.body).toBe(200);
    }
    // A signal that lands during a workflow task is written to history when that task completes.
    await eventually(async () => ((await handle.query(statusQuery)).alert.deliveries === deliveries ? true : undefined), 'every delivery to be taken');
    const afterFlood = await history(workflowId);

    // People: acknowledge, a note, an escalation, then a resolution by hand.
    await incidents.acknowledge(workflowId, 'bob');
    await incidents.note(workflowId, 'bob', 'looking at the rollout');
    await incidents.escalate(workflowId, 'bob', 'customers report errors');
    const status: IncidentStatus = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.acknowledged && s.escalationLevel >= 2 ? s : undefined;
    }, 'the acknowledgement and the escalation');
    await incidents.resolve(workflowId, 'bob', 'rolled back by hand');
    const outcome = (await handle.result()) as { resolution: string };

    const signals = afterFlood.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes?.signalName);
    // Besides the deliveries, one answer of the storm check (majorRole: this incident leads its cause).
    expect(signals.filter((name) => name !== 'majorRole')).toEqual(Array.from({ length: deliveries }, () => 'alerts'));
    expect(signals.filter((name) => name === 'majorRole')).toHaveLength(1);
    expect(afterFlood.length - before).toBeLessThanOrEqual((deliveries - 1) * eventsPerDelivery);
    expect(status.alert.deliveries).toBe(deliveries);
    expect(status.acknowledged?.by).toBe('bob');
    expect(status.timeline.map((t) => t.text)).toContain('bob: looking at the rollout');
    expect(outcome.resolution).toBe('manual');
  });
});
