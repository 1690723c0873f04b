// Generated webhooks, valid and not, against the receiver: while Temporal is up
// it never answers 5xx; every 4xx is JSON with an `error`; a valid webhook is
// delivered, one service at a time; and an invalid one starts and signals
// nothing. The bulk runs through a gateway that checks with the real one and
// counts deliveries; a smaller run goes to the dev server and then compares what
// the receiver answered with what Temporal recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import type { Webhook } from '../../client/receiver/alertmanager.js';
import { buildReceiver, type IncidentGateway, type ServiceOutcome } from '../../client/receiver/server.js';
import { devServerEnv, eventually } from '../helpers/temporal.js';

const token = 'receiver-fuzz-token-0123456789';
const served = ['local', 'eu-west-1'];
const bodyLimit = 128 * 1024;
const log = pino({ level: 'silent' });
const config = ClientEnvSchema.parse({ INCIDENT_CLUSTERS: served.join(',') });
const iso = (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s);
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// --- Generators ----------------------------------------------------------------

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const deploymentName = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/);
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const time = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

type AlertmanagerAlert = Webhook['alerts'][number];

/** An alert Alertmanager could send that the receiver must take. */
const validAlert: fc.Arbitrary<AlertmanagerAlert> = fc
  .record({
    status: fc.constantFrom('firing', 'resolved'),
    cluster: fc.option(fc.constantFrom(...served), { nil: undefined }),
    namespace: label,
    deployment: deploymentName,
    viaJob: fc.boolean(),
    alertname: fc.string({ minLength: 1, maxLength: 40 }),
    severity: fc.constantFrom('critical', 'error', 'warning', 'info', 'page', 'P1', ''),
    // Prometheus reserves label names that start with '__'.
    extra: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), text(60), { maxKeys: 4 }),
    summary: fc.option(text(200), { nil: undefined }),
    startsAt: time,
    endsAt: time,
    fingerprint: fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: undefined }),
  })
  .map((a): AlertmanagerAlert => ({
    status: a.status,
    labels: {
      ...a.extra,
      alertname: a.alertname,
      severity: a.severity,
      namespace: a.namespace,
      ...(a.viaJob ? { job: a.deployment } : { deployment: a.deployment }),
      ...(a.cluster ? { cluster: a.cluster } : {}),
    },
    annotations: a.summary === undefined ? {} : { summary: a.summary },
    startsAt: a.startsAt,
    ...(a.status === 'resolved' ? { endsAt: a.endsAt } : {}),
    ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
  }));

const webhookOf = (alerts: AlertmanagerAlert[]): Webhook => ({
  version: '4',
  groupKey: '{}:{alertname="ServiceDown"}',
  truncatedAlerts: 0,
  status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
  receiver: 'incident-response',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts,
});

type Mutation = (alert: AlertmanagerAlert) => void;
/** Each makes one alert invalid for certain (a resolved alert sends only its fingerprint and endsAt, so the others fire). */
const mutation: fc.Arbitrary<[string, Mutation]> = fc.oneof(
  fc
    .tuple(fc.constant('label too long'), fc.integer({ min: 501, max: 700 }))
    .map(([n, len]): [string, Mutation] => [n, (a) => void ((a.status = 'firing'), (a.labels.team = 'x'.repeat(len)))]),
  fc
    .tuple(fc.constant('alertname too long'), fc.integer({ min: 201, max: 300 }))
    .map(([n, len]): [string, Mutation] => [n, (a) => void ((a.status = 'firing'), (a.labels.alertname = 'A'.repeat(len)))]),
  fc
    .tuple(fc.constant('summary too long'), fc.integer({ min: 2001, max: 2500 }))
    .map(([n, len]): [string, Mutation] => [n, (a) => void ((a.status = 'firing'), (a.annotations.summary = 's'.repeat(len)))]),
  fc
    .tuple(
      fc.constant('startsAt not a time'),
      text(30).filter((s) => !iso(s)),
    )
    .map(([n, v]): [string, Mutation] => [n, (a) => void ((a.status = 'firing'), (a.startsAt = v))]),
  fc
    .tuple(
      fc.constant('endsAt not a time'),
      text(30).filter((s) => !iso(s)),
    )
    .map(([n, v]): [string, Mutation] => [n, (a) => void ((a.status = 'resolved'), (a.endsAt = v))]),
  fc
    .tuple(fc.constant('fingerprint too long'), fc.integer({ min: 129, max: 200 }))
    .map(([n, len]): [string, Mutation] => [n, (a) => void (a.fingerprint = 'f'.repeat(len))]),
  fc
    .tuple(
      fc.constant('cluster not served'),
      text(70).filter((s) => !served.includes(s)),
    )
    .map(([n, v]): [string, Mutation] => [n, (a) => void (a.labels.cluster = v)]),
  fc
    .tuple(
      fc.constant('namespace not a name'),
      text(70).filter((s) => !dnsLabel.test(s) || s.length > 63),
    )
    .map(([n, v]): [string, Mutation] => [n, (a) => void (a.labels.namespace = v)]),
  fc
    .tuple(fc.constant('deployment too long'), fc.integer({ min: 254, max: 300 }))
    .map(([n, len]): [string, Mutation] => [n, (a) => void ((a.labels.deployment = 'd'.repeat(len)), delete a.labels.job)]),
  fc.constant<[string, Mutation]>(['no namespace', (a) => void delete a.labels.namespace]),
  fc.constant<[string, Mutation]>(['no deployment or job', (a) => void (delete a.labels.deployment, delete a.labels.job)]),
);

interface Case {
  what: string;
  body: string;
  headers: Record<string, string>;
  /** Valid: must be 200. Invalid: must be 4xx, with nothing delivered. */
  valid: boolean;
}

const post = (c: Omit<Case, 'what' | 'valid'>) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}`, ...c.headers });

/** Webhooks of 1-5 alerts: valid ones, ones with one bad alert among good ones, and broken payloads. */
const webhookCase: fc.Arbitrary<Case> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(validAlert, { minLength: 1, maxLength: 5 })
      .map((alerts): Case => ({ what: 'valid', body: JSON.stringify(webhookOf(alerts)), headers: {}, valid: true })),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.array(validAlert, { minLength: 1, maxLength: 5 }), fc.nat(), mutation).map(([alerts, i, [what, mutate]]): Case => {
      mutate(alerts[i % alerts.length]!);
      return { what, body: JSON.stringify(webhookOf(alerts)), headers: {}, valid: false };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.jsonValue().map((v): Case => ({ what: 'any JSON', body: JSON.stringify(v) ?? 'null', headers: {}, valid: false })),
      fc.string({ unit: 'binary', maxLength: 200 }).map((s): Case => ({ what: 'any text as JSON', body: s, headers: {}, valid: false })),
      fc
        .array(validAlert, { minLength: 1, maxLength: 2 })
        .map((alerts): Case => ({ what: 'not JSON', body: JSON.stringify(webhookOf(alerts)), headers: { 'content-type': 'text/plain' }, valid: false })),
      fc.array(validAlert, { minLength: 1, maxLength: 2 }).map((alerts): Case => ({
        what: 'oversized',
        body: JSON.stringify({ ...webhookOf(alerts), padding: 'p'.repeat(bodyLimit) }),
        headers: {},
        valid: false,
      })),
      fc
        .tuple(
          fc.array(validAlert, { minLength: 1, maxLength: 2 }),
          fc.constantFrom<[string, unknown]>(
            ['version', '3'],
            ['alerts', []],
            ['alerts', 'many'],
            ['alerts', [{}]],
            ['status', 'pending'],
            ['groupKey', 5],
            ['commonLabels', { team: 1 }],
          ),
        )
        .map(([alerts, [key, value]]): Case => ({
          what: `bad ${key}`,
          body: JSON.stringify({ ...webhookOf(alerts), [key]: value }),
          headers: {},
          valid: false,
        })),
    ),
  },
);

/** Whatever the body, without the right token: 401. */
const unauthenticatedCase: fc.Arbitrary<Case> = fc
  .tuple(
    fc.oneof(
      webhookCase.map((c) => c.body),
      fc.string({ unit: 'binary', maxLength: 300 }),
    ),
    fc.constantFrom('', 'Bearer', `Bearer ${token}x`, `bearer ${token.slice(1)}`, `Basic ${token}`, 'Bearer ' + 'a'.repeat(5000)),
    fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
  )
  .map(([body, authorization, contentType]): Case => ({
    what: 'unauthenticated',
    body,
    headers: { authorization, 'content-type': contentType },
    valid: false,
  }));

// --- The receiver ---------------------------------------------------------------

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** Checks with the real gateway, counts deliveries instead of making them. */
class CountingGateway implements IncidentGateway {
  delivered: string[] = [];
  constructor(private readonly real: Incidents) {}
  check(...args: Parameters<IncidentGateway['check']>) {
    return this.real.check(...args);
  }
  async deliver(...[d]: Parameters<IncidentGateway['deliver']>): Promise<ServiceOutcome> {
    this.delivered.push(d.workflowId);
    return {
      workflowId: d.workflowId,
      service: `${d.service.namespace}/${d.service.deployment}`,
      cluster: d.service.cluster,
      status: d.firing.length ? 'firing' : 'resolved',
      alerts: d.alerts.length,
      firing: d.firing.length,
      resolved: d.resolved.length,
      result: 'signalled',
    };
  }
  async ready() {
    return true;
  }
}

async function send(app: FastifyInstance, c: Case) {
  const res = await app.inject({ method: 'POST', url: '/alerts/alertmanager', headers: post(c), payload: c.body });
  const body = res.json<{ error?: unknown; incidents?: ServiceOutcome[] }>();
  return { status: res.statusCode, body };
}

/** What holds for every answer: no 5xx while Temporal is up, JSON always, an error for every 4xx. */
function expectAnswered(c: Case, status: number, body: { error?: unknown; incidents?: unknown }) {
  const context = `${c.what}: ${status} ${JSON.stringify(body).slice(0, 300)}`;
  expect(status, context).toBeLessThan(500);
  if (status >= 400) {
    expect(typeof body.error, context).toBe('string');
    expect(String(body.error).length, context).toBeGreaterThan(0);
  }
  if (c.valid) expect(status, context).toBe(200);
  else expect([400, 413, 415, 422], context).toContain(status);
}

describe('receiver under generated webhooks', () => {
  it('never answers 5xx, always JSON, and delivers nothing of an invalid webhook (2,000 webhooks, counting gateway)', async () => {
    const gateway = new CountingGateway(new Incidents(env.client, config));
    const app = buildReceiver({ token, defaultCluster: 'local', clusters: served, gateway, log, bodyLimit });
    await fc.assert(
      fc.asyncProperty(webhookCase, async (c) => {
        gateway.delivered = [];
        const { status, body } = await send(app, c);
        expectAnswered(c, status, body);
        if (c.valid) expect(body.incidents?.map((i) => i.workflowId).sort()).toEqual([...new Set(gateway.delivered)].sort());
        else expect(gateway.delivered, c.what).toEqual([]);
      }),
      { numRuns: 2_000 },
    );
    await app.close();
  });

  it('answers 401 to any request without the right token (1,000 requests)', async () => {
    const gateway = new CountingGateway(new Incidents(env.client, config));
    const app = buildReceiver({ token, defaultCluster: 'local', clusters: served, gateway, log, bodyLimit });
    await fc.assert(
      fc.asyncProperty(unauthenticatedCase, async (c) => {
        const { status, body } = await send(app, c);
        expect(status).toBe(401);
        expect(body.error).toMatch(/bearer token/);
        expect(gateway.delivered).toEqual([]);
      }),
      { numRuns: 1_000 },
    );
    await app.close();
  });

  it('records in Temporal exactly what it answered 200 for, and nothing of the rest (150 webhooks, dev server)', async () => {
    const app = buildReceiver({ token, defaultCluster: 'local', clusters: served, gateway: new Incidents(env.client, config), log, bodyLimit });
    // Per incident, how many `alerts` signals the receiver said it sent.
    const signalled = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(webhookCase, async (c) => {
        const { status, body } = await send(app, c);
        expectAnswered(c, status, body);
        for (const o of body.incidents ?? []) if (o.result === 'signalled') signalled.set(o.workflowId, (signalled.get(o.workflowId) ?? 0) + 1);
      }),
      { numRuns: 150 },
    );
    await app.close();

    // Each incident got exactly the signals of the deliveries answered 200...
    expect(signalled.size).toBeGreaterThan(0);
    for (const [workflowId, count] of signalled) {
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      expect((history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alerts').length, workflowId).toBe(count);
    }
    // ...and nothing else was started (visibility catches up with the starts first).
    const query = "WorkflowType = 'incidentWorkflow'";
    await eventually(async () => ((await env.client.workflow.count(query)).count >= signalled.size ? true : undefined), 'the incidents to be listed');
    const listed: string[] = [];
    for await (const wf of env.client.workflow.list({ query })) listed.push(wf.workflowId);
    expect(listed.sort()).toEqual([...signalled.keys()].sort());
  });
});
