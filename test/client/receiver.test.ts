// The alert receiver over real HTTP against the Temporal dev server: good
// webhooks open (or join) one incident per service with one `alerts` signal per
// delivery; bad ones get a clear 4xx, and then nothing in the delivery is started
// or signalled. No worker runs here: the incidents are only opened, which is all
// the receiver is responsible for.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, defaultPayloadConverter } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import type { Webhook } from '../../client/receiver/alertmanager.js';
import { buildReceiver } from '../../client/receiver/server.js';
import type { ServiceRef } from '../../workflows/domain.js';
import { staticSummaryBudget } from '../../workflows/render.js';
import { incidentWorkflowId, maxAlertsPerSignal, type AlertBatchSignal } from '../../workflows/messages.js';
import { devServerEnv, uniqueId } from '../helpers/temporal.js';

const token = 'receiver-test-token-0123456789';
const bodyLimit = 1024 * 1024;
/** The longest cluster name there is (a DNS-1123 label), served here too. */
const longCluster = `c${'-'.repeat(61)}c`;
let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  env = await devServerEnv();
  const config = ClientEnvSchema.parse({ INCIDENT_CLUSTERS: `local,eu-west-1,${longCluster}` });
  app = buildReceiver({
    token,
    defaultCluster: 'local',
    clusters: ['local', 'eu-west-1', longCluster],
    gateway: new Incidents(env.client, config),
    log: pino({ level: 'silent' }),
    bodyLimit,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

const service = (overrides: Partial<ServiceRef> = {}): ServiceRef => ({
  cluster: 'local',
  namespace: uniqueId('ns'),
  deployment: 'agent-native-framework',
  ...overrides,
});

interface Outcome {
  workflowId: string;
  service: string;
  status: string;
  alerts: number;
  firing: number;
  resolved: number;
  result: string;
}
interface Answer {
  status: number;
  body: { error?: string; detail?: { path: string; message: string }[]; incidents?: Outcome[] };
}

async function post(body: string | object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
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

/** The signals in the incident's history, with their payloads. */
async function signalsOf(workflowId: string): Promise<{ name: string; payload: unknown }[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (!signal?.signalName) return [];
    const first = signal.input?.payloads?.[0];
    return [{ name: signal.signalName, payload: first ? defaultPayloadConverter.fromPayload(first) : undefined }];
  });
}
const signalNames = async (workflowId: string) => (await signalsOf(workflowId)).map((s) => s.name);

/** The runbook's alert for `svc`, with `change` applied to its one alert. */
function webhookWith(svc: ServiceRef, change: (alert: Webhook['alerts'][number]) => void = () => undefined, status: 'firing' | 'resolved' = 'firing'): Webhook {
  const w = serviceDownWebhook(svc, status, '2026-11-27T14:00:00Z', status === 'resolved' ? '2026-11-27T14:05:00Z' : undefined);
  // Labels live on the alert only, so a change to them is not hidden by commonLabels.
  w.commonLabels = {};
  w.commonAnnotations = {};
  change(w.alerts[0]!);
  return w;
}

describe('alert receiver', () => {
  it('opens one incident for a firing alert and tells it when the alert resolves', async () => {
    const svc = service();
    const firing = await post(serviceDownWebhook(svc, 'firing', '2026-11-27T10:00:00Z'));
    expect(firing.status).toBe(200);
    expect(firing.body.incidents).toEqual([
      expect.objectContaining({ workflowId: incidentWorkflowId(svc), status: 'firing', alerts: 1, firing: 1, resolved: 0, result: 'signalled' }),
    ]);

    const resolved = await post(serviceDownWebhook(svc, 'resolved', '2026-11-27T10:00:00Z', '2026-11-27T10:05:00Z'));
    expect(resolved.status).toBe(200);
    expect(resolved.body.incidents).toEqual([expect.objectContaining({ status: 'resolved', alerts: 1, firing: 0, resolved: 1, result: 'signalled' })]);
    const signals = await signalsOf(incidentWorkflowId(svc));
    expect(signals.map((s) => s.name)).toEqual(['alerts', 'alerts']);
    expect(signals[1]?.payload).toEqual({ firing: [], resolved: [{ fingerprint: expect.any(String) as string, endsAt: '2026-11-27T10:05:00Z' }], received: 1 });
  });

  it('joins the open incident when Alertmanager redelivers the same alert', async () => {
    const svc = service();
    const webhook = serviceDownWebhook(svc, 'firing', '2026-11-27T11:00:00Z');
    for (let i = 0; i < 3; i++) expect((await post(webhook)).status).toBe(200);
    const { runId } = await env.client.workflow.getHandle(incidentWorkflowId(svc)).describe();
    expect(await signalNames(incidentWorkflowId(svc))).toEqual(['alerts', 'alerts', 'alerts']);
    expect((await env.client.workflow.getHandle(incidentWorkflowId(svc)).describe()).runId).toBe(runId);
  });

  it('opens three incidents for a group of alerts about three services', async () => {
    const namespace = uniqueId('ns');
    const services = ['api', 'web', 'jobs'].map((deployment) => service({ namespace, deployment }));
    const group = serviceDownWebhook(services[0]!, 'firing', '2026-11-27T12:00:00Z');
    group.commonLabels = { alertname: 'ServiceDown', namespace };
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

  it('folds a 1,000-alert group for one service into one alerts signal per delivery, most severe first', async () => {
    const svc = service();
    const group = serviceDownWebhook(svc, 'firing', '2026-11-27T15:00:00Z');
    const template = group.alerts[0]!;
    group.alerts = Array.from({ length: 1000 }, (_, i) => ({
      ...template,
      labels: { ...template.labels, pod: `${svc.deployment}-${i}`, severity: i === 997 ? 'critical' : 'warning' },
      fingerprint: i.toString(16).padStart(16, '0'),
    }));
    for (let delivery = 1; delivery <= 2; delivery++) {
      const res = await post(group);
      expect(res.status).toBe(200);
      expect(res.body.incidents).toEqual([
        expect.objectContaining({ workflowId: incidentWorkflowId(svc), alerts: 1000, firing: maxAlertsPerSignal, result: 'signalled' }),
      ]);
      const signals = await signalsOf(incidentWorkflowId(svc));
      expect(signals.map((s) => s.name)).toEqual(Array(delivery).fill('alerts'));
      const batch = signals.at(-1)?.payload as AlertBatchSignal;
      expect(batch.received).toBe(1000);
      expect(batch.firing).toHaveLength(maxAlertsPerSignal);
      expect(batch.firing?.[0]).toMatchObject({ severity: 'critical', labels: expect.objectContaining({ pod: `${svc.deployment}-997` }) as object });
    }
    // The incident opened on the most severe alert of the group.
    const history = await env.client.workflow.getHandle(incidentWorkflowId(svc)).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(input && defaultPayloadConverter.fromPayload<{ alert: { severity: string } }>(input).alert.severity).toBe('critical');
  });

  it('deduplicates a group that repeats the same alerts', async () => {
    const svc = service();
    const group = serviceDownWebhook(svc, 'firing', '2026-11-27T16:00:00Z');
    group.alerts = [group.alerts[0]!, group.alerts[0]!, group.alerts[0]!];
    const res = await post(group);
    expect(res.body.incidents).toEqual([expect.objectContaining({ alerts: 3, firing: 1 })]);
  });

  it('opens the incident of a 253-character deployment, the longest name Kubernetes allows, with or without a fingerprint', async () => {
    const deployment = `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.e`;
    expect(deployment).toHaveLength(253);
    for (const withFingerprint of [true, false]) {
      const svc = service({ deployment, namespace: `${uniqueId('n')}-${'x'.repeat(50)}`.slice(0, 63), cluster: 'eu-west-1' });
      const res = await post(
        webhookWith(svc, (alert) => {
          if (!withFingerprint) delete alert.fingerprint;
        }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await exists(incidentWorkflowId(svc))).toBe(true);
    }
  });

  it('opens the incident of the longest names there are, with a UI summary cut to what Temporal takes', async () => {
    const deployment = `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.e`;
    const svc = service({ deployment, namespace: `${uniqueId('n')}-${'x'.repeat(60)}`.slice(0, 63), cluster: longCluster });
    // 200 UTF-16 units (the schema's bound), 400 bytes of UTF-8.
    const res = await post(webhookWith(svc, (a) => void (a.labels.alertname = '\u{1F525}'.repeat(100))));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const summary = await env.client.workflow
      .getHandle(incidentWorkflowId(svc))
      .describe()
      .then((d) => d.staticSummary());
    expect(summary).toMatch(/^\[critical\] INC-\d+ \u{1F525}+…$/u);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThanOrEqual(staticSummaryBudget + 2);
  });

  // Alerts that Alertmanager would send but that fall outside what the workflow takes:
  // each is refused as a whole delivery with the alert's path and what to do; nothing starts.
  const outOfBounds: { name: string; change: (alert: Webhook['alerts'][number], svc: ServiceRef) => void; path: RegExp; status?: 'resolved' }[] = [
    { name: 'a 600-character label value', change: (a) => void (a.labels.team = 'x'.repeat(600)), path: /alerts\[0\]\.labels\.team: .*500.*shorten/i },
    {
      name: 'a 3,000-character summary annotation',
      change: (a) => void (a.annotations.summary = 's'.repeat(3000)),
      path: /alerts\[0\]\.annotations\.summary: .*2000/,
    },
    { name: "startsAt 'not-a-date'", change: (a) => void (a.startsAt = 'not-a-date'), path: /alerts\[0\]\.startsAt: .*RFC 3339/ },
    { name: "startsAt '-1'", change: (a) => void (a.startsAt = '-1'), path: /alerts\[0\]\.startsAt: .*RFC 3339/ },
    { name: 'a 300-character alertname', change: (a) => void (a.labels.alertname = 'A'.repeat(300)), path: /alerts\[0\]\.labels\.alertname: .*200/ },
    { name: 'a 200-character fingerprint', change: (a) => void (a.fingerprint = 'f'.repeat(200)), path: /alerts\[0\]\.fingerprint: .*128/ },
    {
      name: 'a 254-character deployment',
      change: (a) => void (a.labels.deployment = 'd'.repeat(254)),
      path: /alerts\[0\]\.labels\.deployment: .*Kubernetes deployment name/,
    },
    {
      name: 'an upper-case namespace',
      change: (a) => void (a.labels.namespace = 'Default'),
      path: /alerts\[0\]\.labels\.namespace: .*Kubernetes namespace name/,
    },
    {
      name: "a resolved alert's endsAt 'yesterday'",
      change: (a) => void (a.endsAt = 'yesterday'),
      path: /alerts\[0\]\.endsAt: .*RFC 3339/,
      status: 'resolved',
    },
  ];

  it.each(outOfBounds)('refuses $name with 422, naming the alert, and starts nothing', async ({ change, path, status }) => {
    const svc = service();
    const res = await post(webhookWith(svc, (a) => change(a, svc), status));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(path);
    expect(res.body.error).toMatch(/nothing was recorded/);
    expect(res.body.detail?.[0]?.path).toMatch(/^alerts\[0\]/);
    expect(await exists(incidentWorkflowId(svc))).toBe(false);
  });

  it('refuses a webhook with one valid and one invalid alert as a whole: 422, nothing started or signalled', async () => {
    const valid = service();
    const open = service();
    expect((await post(serviceDownWebhook(open, 'firing', '2026-11-27T17:00:00Z'))).status).toBe(200);
    const invalid = service();
    const group = serviceDownWebhook(valid, 'firing', '2026-11-27T17:00:00Z');
    group.commonLabels = {};
    group.alerts = [
      group.alerts[0]!,
      webhookWith(open, () => undefined, 'resolved').alerts[0]!,
      webhookWith(invalid, (a) => void (a.labels.team = 'x'.repeat(600))).alerts[0]!,
    ];
    const res = await post(group);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/alerts\[2\]\.labels\.team/);
    expect(res.body.detail?.map((d) => d.path)).toEqual(['alerts[2].labels.team']);
    expect(await exists(incidentWorkflowId(valid))).toBe(false);
    expect(await exists(incidentWorkflowId(invalid))).toBe(false);
    expect(await signalNames(incidentWorkflowId(open))).toEqual(['alerts']);
  });

  it('names every bad alert of a delivery', async () => {
    const group = serviceDownWebhook(service(), 'firing', '2026-11-27T17:30:00Z');
    group.commonLabels = {};
    group.alerts = [0, 1, 2, 3].map((i) => webhookWith(service(), (a) => void (i % 2 === 1 ? (a.startsAt = 'soon') : undefined)).alerts[0]!);
    const res = await post(group);
    expect(res.status).toBe(422);
    expect(res.body.detail?.map((d) => d.path)).toEqual(['alerts[1].startsAt', 'alerts[3].startsAt']);
    expect(res.body.error).toMatch(/2 of 4 alerts/);
  });

  // The cluster label becomes part of the workflow ID and picks the kubeconfig context.
  const clusters: { name: string; cluster: string; error: RegExp }[] = [
    { name: 'a path', cluster: '../../etc', error: /alerts\[0\]\.labels\.cluster: .*DNS-1123 label/ },
    { name: 'a NUL byte', cluster: 'local\u0000', error: /alerts\[0\]\.labels\.cluster: .*DNS-1123 label/ },
    { name: 'upper case', cluster: 'Local', error: /DNS-1123 label/ },
    { name: '64 characters', cluster: 'c'.repeat(64), error: /DNS-1123 label/ },
    { name: 'an empty label', cluster: '', error: /DNS-1123 label/ },
    {
      name: 'a cluster not served here',
      cluster: 'staging',
      error: new RegExp(`cluster 'staging' is not served here \\(served: local, eu-west-1, ${longCluster}\\); add it to INCIDENT_CLUSTERS`),
    },
  ];

  it.each(clusters)('refuses a cluster label that is $name and starts nothing', async ({ cluster, error }) => {
    const svc = service();
    const res = await post(webhookWith(svc, (a) => void (a.labels.cluster = cluster)));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(error);
    expect(await exists(incidentWorkflowId({ ...svc, cluster: 'local' }))).toBe(false);
    expect(await exists(incidentWorkflowId({ ...svc, cluster: 'staging' }))).toBe(false);
  });

  it('opens incidents on every served cluster, and on the default one without a cluster label', async () => {
    const eu = service({ cluster: 'eu-west-1' });
    expect((await post(webhookWith(eu))).status).toBe(200);
    const unlabelled = service();
    expect((await post(webhookWith(unlabelled, (a) => void delete a.labels.cluster))).status).toBe(200);
    expect([await exists(incidentWorkflowId(eu)), await exists(incidentWorkflowId(unlabelled))]).toEqual([true, true]);
  });

  // Each bad delivery names what is wrong and starts nothing.
  const badCases: { name: string; make: (svc: ServiceRef) => { body: string | object; headers?: Record<string, string> }; status: number; error: RegExp }[] = [
    { name: 'malformed JSON', make: () => ({ body: '{"version": "4", "alerts": [' }), status: 400, error: /malformed JSON/ },
    { name: 'an empty body', make: () => ({ body: '' }), status: 400, error: /empty/ },
    {
      name: 'wrong types',
      make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), alerts: 'many' } }),
      status: 422,
      error: /not an Alertmanager webhook/,
    },
    {
      name: 'an unknown version',
      make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), version: '3' } }),
      status: 422,
      error: /not an Alertmanager webhook/,
    },
    {
      name: 'a missing namespace label',
      make: (svc) => ({ body: webhookWith(svc, (a) => void delete a.labels.namespace) }),
      status: 422,
      error: /alerts\[0\]\.labels\.namespace: missing/,
    },
    {
      name: 'neither deployment nor job label',
      make: (svc) => ({ body: webhookWith(svc, (a) => void (delete a.labels.deployment, delete a.labels.job)) }),
      status: 422,
      error: /alerts\[0\]\.labels\.deployment: missing, and no 'job' label either/,
    },
    {
      name: 'an oversized body',
      make: (svc) => ({ body: { ...serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), padding: 'x'.repeat(bodyLimit + 1) } }),
      status: 413,
      error: /larger than/,
    },
    {
      name: 'a non-JSON content type',
      make: (svc) => ({ body: JSON.stringify(serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z')), headers: { 'content-type': 'text/plain' } }),
      status: 415,
      error: /content-type must be application\/json/,
    },
    {
      name: 'a wrong token',
      make: (svc) => ({ body: serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), headers: { authorization: 'Bearer not-the-token' } }),
      status: 401,
      error: /bearer token/,
    },
    {
      name: 'no token',
      make: (svc) => ({ body: serviceDownWebhook(svc, 'firing', '2026-11-27T14:00:00Z'), headers: { authorization: '' } }),
      status: 401,
      error: /bearer token/,
    },
  ];

  it.each(badCases)('answers $status to $name and starts nothing', async ({ make, status, error }) => {
    const svc = service();
    const { body, headers } = make(svc);
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(error);
    expect(await exists(incidentWorkflowId(svc))).toBe(false);
  });

  // The token is checked before the body is read: an unauthenticated client gets nothing parsed.
  const unauthenticated: { name: string; body: string; contentType?: string }[] = [
    { name: 'malformed JSON', body: '{"version": "4", "alerts": [' },
    { name: 'an empty body', body: '' },
    { name: 'a body over the limit', body: JSON.stringify({ padding: 'x'.repeat(bodyLimit + 1) }) },
    { name: 'a non-JSON content type', body: 'hello', contentType: 'text/plain' },
  ];

  it.each(unauthenticated)('answers 401 to an unauthenticated request with $name', async ({ body, contentType }) => {
    for (const authorization of ['', 'Bearer wrong-token-wrong-token', `Basic ${token}`]) {
      const res = await post(body, { authorization, 'content-type': contentType ?? 'application/json' });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/bearer token/);
    }
  });

  it('stays up and healthy after bad input', async () => {
    const live = await fetch(`${url}/health/live`);
    const ready = await fetch(`${url}/health/ready`);
    expect([live.status, ready.status]).toEqual([200, 200]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/incident_receiver_alerts_total\{status="firing",result="signalled"\} \d+/);
    expect(metrics).toMatch(/incident_receiver_request_seconds_count\{code="401"\} \d+/);
  });
});

describe('metrics for the dashboard (deploy/grafana)', () => {
  const sample = (metrics: string, series: string): number | undefined => {
    const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const scrape = async () => (await fetch(`${url}/metrics`)).text();

  it('counts open incidents by phase and those awaiting approval, from Temporal', async () => {
    const opened = [service(), service()];
    for (const svc of opened) expect((await post(serviceDownWebhook(svc, 'firing', new Date().toISOString()))).status).toBe(200);
    const running = 'WorkflowType = "incidentWorkflow" AND ExecutionStatus = "Running" AND IncidentPhase = "investigating"';
    // Visibility catches up on its own time: wait until Temporal itself counts them, then the scrape must say the same.
    let expected = 0;
    for (let i = 0; i < 100 && expected < opened.length; i++) {
      expected = (await env.client.workflow.count(running)).count;
      if (expected < opened.length) await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = await scrape();
    expect(sample(metrics, 'incident_open{phase="investigating"}')).toBeGreaterThanOrEqual(opened.length);
    expect(sample(metrics, 'incident_open{phase="awaiting-approval"}')).toBe(0);
    expect(sample(metrics, 'incident_awaiting_approval')).toBe(0);
  });

  it('times each resolved alert from firing to resolution once, however often Alertmanager sends it', async () => {
    const before = await scrape();
    const series = (s: string) => `incident_receiver_alert_duration_seconds_${s}`;
    const svc = service();
    const resolved = serviceDownWebhook(svc, 'resolved', '2026-11-27T10:00:00Z', '2026-11-27T10:07:00Z');
    await post(resolved);
    await post(resolved);
    const after = await scrape();
    const delta = (s: string) => (sample(after, s) ?? 0) - (sample(before, s) ?? 0);
    expect(delta(series('count{alertname="ServiceDown"}'))).toBe(1);
    expect(delta(series('sum{alertname="ServiceDown"}'))).toBe(420);
    expect(delta(series('bucket{le="300",alertname="ServiceDown"}'))).toBe(0);
    expect(delta(series('bucket{le="600",alertname="ServiceDown"}'))).toBe(1);
  });
});
