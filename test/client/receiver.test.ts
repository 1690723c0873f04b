// The alert receiver over real HTTP against the Temporal dev server: good
// webhooks open (or join) one incident per service; bad ones get a clear 4xx
// and start nothing. No worker runs here: the incidents are only opened, which
// is all the receiver is responsible for.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import { buildReceiver } from '../../client/receiver/server.js';
import { incidentWorkflowId } from '../../workflows/messages.js';
import { devServerEnv, uniqueId } from '../helpers/temporal.js';

const token = 'receiver-test-token-0123456789';
let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  env = await devServerEnv();
  const config = ClientEnvSchema.parse({});
  app = buildReceiver({ token, defaultCluster: 'local', gateway: new Incidents(env.client, config), log: pino({ level: 'silent' }), bodyLimit: 64 * 1024 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

const service = () => ({ cluster: 'local', namespace: uniqueId('ns'), deployment: 'agent-native-framework' });

async function post(body: string | object, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; incidents?: { workflowId: string; result: string }[] } };
}

async function exists(workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function signalsOf(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => (e.workflowExecutionSignaledEventAttributes?.signalName ? [e.workflowExecutionSignaledEventAttributes.signalName] : []));
}

describe('alert receiver', () => {
  it('opens one incident for a firing alert and tells it when the alert resolves', async () => {
    const svc = service();
    const firing = await post(serviceDownWebhook(svc, 'firing', '2026-11-27T10:00:00Z'));
    expect(firing.status).toBe(200);
    expect(firing.body.incidents).toEqual([expect.objectContaining({ workflowId: incidentWorkflowId(svc), result: 'signalled' })]);

    const resolved = await post(serviceDownWebhook(svc, 'resolved', '2026-11-27T10:00:00Z', '2026-11-27T10:05:00Z'));
    expect(resolved.status).toBe(200);
    expect(await signalsOf(incidentWorkflowId(svc))).toEqual(['alertFired', 'alertResolved']);
  });

  it('joins the open incident when Alertmanager redelivers the same alert', async () => {
    const svc = service();
    const webhook = serviceDownWebhook(svc, 'firing', '2026-11-27T11:00:00Z');
    for (let i = 0; i < 3; i++) expect((await post(webhook)).status).toBe(200);
    const runs: string[] = [];
    const handle = env.client.workflow.getHandle(incidentWorkflowId(svc));
    runs.push((await handle.describe()).runId);
    expect(await signalsOf(incidentWorkflowId(svc))).toEqual(['alertFired', 'alertFired', 'alertFired']);
    expect(runs).toHaveLength(1);
  });

  it('opens three incidents for a group of alerts about three services', async () => {
    const namespace = uniqueId('ns');
    const services = ['api', 'web', 'jobs'].map((deployment) => ({ cluster: 'local', namespace, deployment }));
    const group = serviceDownWebhook(services[0]!, 'firing', '2026-11-27T12:00:00Z');
    group.alerts = services.map((svc) => ({ ...serviceDownWebhook(svc, 'firing', '2026-11-27T12:00:00Z').alerts[0]! }));
    const res = await post(group);
    expect(res.status).toBe(200);
    expect(res.body.incidents?.map((i) => i.workflowId).sort()).toEqual(services.map(incidentWorkflowId).sort());
    for (const svc of services) expect(await exists(incidentWorkflowId(svc))).toBe(true);
  });

  it('does not open an incident for a resolved alert with none open', async () => {
    const svc = service();
    const res = await post(serviceDownWebhook(svc, 'resolved', '2026-11-27T13:00:00Z', '2026-11-27T13:01:00Z'));
    expect(res.status).toBe(200);
    expect(res.body.incidents?.[0]?.result).toBe('no-open-incident');
    expect(await exists(incidentWorkflowId(svc))).toBe(false);
  });

  // Each bad delivery names what is wrong and starts nothing.
  const badCases: { name: string; make: (svc: ReturnType<typeof service>) => { body: string | object; headers?: Record<string, string> }; status: number; error: RegExp }[] = [
    { name: 'malformed JSON', make: () => ({ body: '{"version": "4", "alerts": [' }), status: 400, error: /malformed JSON/ },
    { name: 'an empty body', make: () => ({ body: '' }), status: 400, error: /empty/ },
    { name: 'wrong types', make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), alerts: 'many' } }), status: 422, error: /not an Alertmanager webhook/ },
    { name: 'an unknown version', make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), version: '3' } }), status: 422, error: /not an Alertmanager webhook/ },
    {
      name: 'a missing namespace label',
      make: (svc) => {
        const w = serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z');
        const { namespace: _n, ...labels } = w.alerts[0]!.labels;
        return { body: { ...w, commonLabels: {}, alerts: [{ ...w.alerts[0]!, labels }] } };
      },
      status: 422,
      error: /no 'namespace' label/,
    },
    {
      name: 'neither deployment nor job label',
      make: (svc) => {
        const w = serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z');
        const { deployment: _d, job: _j, ...labels } = w.alerts[0]!.labels;
        return { body: { ...w, commonLabels: {}, alerts: [{ ...w.alerts[0]!, labels }] } };
      },
      status: 422,
      error: /neither a 'deployment' nor a 'job' label/,
    },
    { name: 'an oversized body', make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), padding: 'x'.repeat(70_000) } }), status: 413, error: /larger than/ },
    { name: 'a non-JSON content type', make: (svc) => ({ body: JSON.stringify(serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z')), headers: { 'content-type': 'text/plain' } }), status: 415, error: /content-type must be application\/json/ },
    { name: 'a wrong token', make: (svc) => ({ body: serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), headers: { authorization: 'Bearer not-the-token' } }), status: 401, error: /bearer token/ },
    { name: 'no token', make: (svc) => ({ body: serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), headers: { authorization: '' } }), status: 401, error: /bearer token/ },
  ];

  it.each(badCases)('answers $status to $name and starts nothing', async ({ make, status, error }) => {
    const svc = service();
    const { body, headers } = make(svc);
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(error);
    expect(await exists(incidentWorkflowId(svc))).toBe(false);
  });

  it('stays up and healthy after bad input', async () => {
    const live = await fetch(`${url}/health/live`);
    const ready = await fetch(`${url}/health/ready`);
    expect([live.status, ready.status]).toEqual([200, 200]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/incident_receiver_alerts_total\{status="firing",result="signalled"\} \d+/);
  });
});
