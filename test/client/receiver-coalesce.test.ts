// The receiver through an alert storm (client/receiver/coalesce.ts): redeliveries
// answered without a signal, concurrent deliveries for a service folded into one
// signal whose answer is every one's, and never a 2xx for alerts Temporal did not
// take. Over the receiver's HTTP routes, with a gateway whose Temporal answers
// when the test says so.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import type { ServiceDelivery, Webhook } from '../../client/receiver/alertmanager.js';
import { CoalescingGateway, fold } from '../../client/receiver/coalesce.js';
import { TemporalUnavailableError, buildReceiver, type IncidentGateway, type ServiceOutcome } from '../../client/receiver/server.js';
import type { ServiceRef } from '../../workflows/domain.js';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { maxAlertsPerSignal, type AlertBatchSignal } from '../../workflows/messages.js';
import { devServerEnv, uniqueId } from '../helpers/temporal.js';

const token = 'coalesce-test-token-0123456789';
const svc: ServiceRef = { cluster: 'local', namespace: 'shop', deployment: 'checkout' };
const other: ServiceRef = { cluster: 'local', namespace: 'shop', deployment: 'cart' };

/** Temporal as the test drives it: each signal waits until answered; what it took is kept in order. */
class ScriptedTemporal implements IncidentGateway {
  readonly sent: ServiceDelivery[] = [];
  readonly taken: ServiceDelivery[] = [];
  private pending: { delivery: ServiceDelivery; answer: (err?: Error) => void }[] = [];
  /** Answer each signal at once (true) or hold it until `answer` (false). */
  auto = true;

  check(): [] {
    return [];
  }
  async ready(): Promise<boolean> {
    return true;
  }
  deliver(delivery: ServiceDelivery): Promise<ServiceOutcome> {
    this.sent.push(delivery);
    return new Promise((resolve, reject) => {
      const answer = (err?: Error) => {
        if (err) return reject(err);
        this.taken.push(delivery);
        resolve({
          workflowId: delivery.workflowId,
          service: `${delivery.service.namespace}/${delivery.service.deployment}`,
          cluster: delivery.service.cluster,
          status: delivery.firing.length > 0 ? 'firing' : 'resolved',
          alerts: delivery.received.firing + delivery.received.resolved,
          firing: delivery.firing.length,
          resolved: delivery.resolved.length,
          result: 'signalled',
        });
      };
      if (this.auto) answer();
      else this.pending.push({ delivery, answer });
    });
  }
  /** Answers the oldest held signal. */
  answer(err?: Error): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no signal is waiting for an answer');
    next.answer(err);
  }
  get held(): number {
    return this.pending.length;
  }
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function receiver(
  temporal: ScriptedTemporal,
  now?: () => number,
): { gateway: CoalescingGateway; post: (body: Webhook) => Promise<{ status: number; results: string[] }> } {
  const gateway = new CoalescingGateway(temporal, now ? { now, ttlMs: 60_000 } : {});
  app = buildReceiver({ token, defaultCluster: 'local', clusters: ['local'], gateway, log: pino({ level: 'silent' }) });
  const server = app;
  return {
    gateway,
    post: async (body) => {
      const res = await server.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload: body });
      const json = res.json<{ incidents?: { result: string }[] }>();
      return { status: res.statusCode, results: (json.incidents ?? []).map((i) => i.result) };
    },
  };
}

/** Lets the receiver's pending work run (inject, the lanes) without answering anything. */
const settle = () => new Promise((r) => setTimeout(r, 20));

const firing = (startsAt = '2026-11-30T10:00:00Z', s = svc) => serviceDownWebhook(s, 'firing', startsAt);
const resolved = (startsAt = '2026-11-30T10:00:00Z', endsAt = '2026-11-30T10:05:00Z') => serviceDownWebhook(svc, 'resolved', startsAt, endsAt);

describe('duplicates', () => {
  it('answers a redelivered firing alert 2xx without signalling it again', async () => {
    const temporal = new ScriptedTemporal();
    const { post } = receiver(temporal);
    expect(await post(firing())).toEqual({ status: 200, results: ['signalled'] });
    expect(await post(firing())).toEqual({ status: 200, results: ['duplicate'] });
    expect(await post(firing())).toEqual({ status: 200, results: ['duplicate'] });
    expect(temporal.sent).toHaveLength(1);
  });

  it('counts on /metrics the signals sent and the duplicates answered without one', async () => {
    const temporal = new ScriptedTemporal();
    const { post } = receiver(temporal);
    await post(firing());
    await post(firing());
    await post(firing());
    const metrics = (await (app as FastifyInstance).inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^incident_receiver_signals\{kind="sent"\} 1$/m);
    expect(metrics).toMatch(/^incident_receiver_signals\{kind="duplicate"\} 2$/m);
  });

  it('never swallows a re-fire (a new startsAt) or a resolve as a duplicate', async () => {
    const temporal = new ScriptedTemporal();
    const { post } = receiver(temporal);
    await post(firing('2026-11-30T10:00:00Z'));
    expect(await post(resolved('2026-11-30T10:00:00Z'))).toEqual({ status: 200, results: ['signalled'] });
    expect(await post(resolved('2026-11-30T10:00:00Z'))).toEqual({ status: 200, results: ['duplicate'] });
    expect(await post(firing('2026-11-30T10:10:00Z'))).toEqual({ status: 200, results: ['signalled'] });
    // The same resolve as before, after a new firing: the incident must hear it again.
    expect(await post(resolved('2026-11-30T10:00:00Z'))).toEqual({ status: 200, results: ['signalled'] });
    expect(temporal.taken.map((d) => (d.firing.length > 0 ? `firing ${d.firing[0]?.startsAt}` : `resolved ${d.resolved[0]?.endsAt}`))).toEqual([
      'firing 2026-11-30T10:00:00Z',
      'resolved 2026-11-30T10:05:00Z',
      'firing 2026-11-30T10:10:00Z',
      'resolved 2026-11-30T10:05:00Z',
    ]);
  });

  it('does not answer a redelivery 2xx while the first delivery is still unanswered, nor after it failed', async () => {
    const temporal = new ScriptedTemporal();
    temporal.auto = false;
    const { post } = receiver(temporal);
    const first = post(firing());
    await settle();
    const again = post(firing());
    await settle();
    expect(temporal.held).toBe(1);
    temporal.answer(new TemporalUnavailableError('deadline exceeded'));
    expect((await first).status).toBe(503);
    // The redelivery waited behind it and is sent on its own, not taken for a duplicate of what failed.
    await settle();
    expect(temporal.held).toBe(1);
    temporal.answer();
    expect(await again).toEqual({ status: 200, results: ['signalled'] });
    expect(temporal.taken).toHaveLength(1);
  });

  it('forgets what it knows after the time to live, so a firing alert sent again after the incident closed reaches Temporal', async () => {
    const temporal = new ScriptedTemporal();
    let now = 0;
    const { post } = receiver(temporal, () => now);
    await post(firing());
    now = 59_000;
    expect((await post(firing())).results).toEqual(['duplicate']);
    now = 61_000;
    expect((await post(firing())).results).toEqual(['signalled']);
    expect(temporal.sent).toHaveLength(2);
  });
});

describe('concurrent deliveries for one service', () => {
  it('go as one signal while one is in flight, and its success answers them all', async () => {
    const temporal = new ScriptedTemporal();
    temporal.auto = false;
    const { post, gateway } = receiver(temporal);
    const first = post(firing('2026-11-30T10:00:00Z'));
    await settle();
    const waiting = [post(firing('2026-11-30T10:01:00Z')), post(firing('2026-11-30T10:02:00Z')), post(firing('2026-11-30T10:03:00Z'))];
    await settle();
    expect(temporal.held).toBe(1);
    temporal.answer();
    expect((await first).status).toBe(200);
    await settle();
    // The three that waited: one signal carrying the three alerts.
    expect(temporal.held).toBe(1);
    expect(temporal.sent[1]?.firing.map((a) => a.startsAt)).toEqual(['2026-11-30T10:01:00Z', '2026-11-30T10:02:00Z', '2026-11-30T10:03:00Z']);
    for (const w of waiting) expect(await Promise.race([w.then(() => 'answered'), settle().then(() => 'waiting')])).toBe('waiting');
    temporal.answer();
    for (const w of waiting) expect(await w).toEqual({ status: 200, results: ['signalled'] });
    expect(gateway.stats).toMatchObject({ signals: 2, folded: 2 });
  });

  it('a folded signal that fails fails every delivery it carried: nothing is answered 2xx that Temporal did not take', async () => {
    const temporal = new ScriptedTemporal();
    temporal.auto = false;
    const { post } = receiver(temporal);
    const first = post(firing('2026-11-30T10:00:00Z'));
    await settle();
    const waiting = [post(firing('2026-11-30T10:01:00Z')), post(firing('2026-11-30T10:02:00Z'))];
    await settle();
    temporal.answer();
    await first;
    await settle();
    temporal.answer(new TemporalUnavailableError('Temporal is down'));
    for (const w of waiting) expect((await w).status).toBe(503);
    expect(temporal.taken.flatMap((d) => d.firing.map((a) => a.startsAt))).toEqual(['2026-11-30T10:00:00Z']);
    // Alertmanager retries them, and they are sent (nothing of them was remembered as taken).
    temporal.auto = true;
    expect(await post(firing('2026-11-30T10:01:00Z'))).toEqual({ status: 200, results: ['signalled'] });
  });

  it('keeps a resolve apart from the firings around it, in order, and other services apart', async () => {
    const temporal = new ScriptedTemporal();
    temporal.auto = false;
    const { post } = receiver(temporal);
    const first = post(firing('2026-11-30T10:00:00Z'));
    await settle();
    const rest = [post(resolved('2026-11-30T10:00:00Z')), post(firing('2026-11-30T10:10:00Z')), post(firing('2026-11-30T10:00:00Z', other))];
    await settle();
    // The other service has its own lane: its signal does not wait.
    expect(temporal.held).toBe(2);
    for (let i = 0; i < 4; i++) {
      temporal.answer();
      await settle();
    }
    await first;
    for (const r of rest) expect((await r).status).toBe(200);
    expect(temporal.taken.filter((d) => d.service.deployment === 'checkout').map((d) => (d.firing.length > 0 ? 'firing' : 'resolved'))).toEqual([
      'firing',
      'resolved',
      'firing',
    ]);
  });
});

describe('fold', () => {
  const delivery = (n: number, status: 'firing' | 'resolved', at = n): ServiceDelivery => ({
    service: svc,
    workflowId: 'incident/local/shop/checkout',
    alerts: [n],
    received: { firing: status === 'firing' ? 1 : 0, resolved: status === 'resolved' ? 1 : 0 },
    firing: status === 'firing' ? [{ name: 'ServiceDown', severity: 'critical', summary: '', labels: {}, startsAt: `t${at}`, fingerprint: `f${n}` }] : [],
    resolved: status === 'resolved' ? [{ fingerprint: `f${n}`, endsAt: `e${at}` }] : [],
  });

  it('folds firings with firings and resolves with resolves, the later resolve of an alert last', () => {
    expect(fold(delivery(1, 'firing'), delivery(1, 'firing'))?.firing).toHaveLength(1);
    expect(fold(delivery(1, 'firing'), delivery(2, 'firing'))?.received.firing).toBe(2);
    expect(
      fold(
        {
          ...delivery(1, 'resolved'),
          resolved: [
            { fingerprint: 'f1', endsAt: 'e1' },
            { fingerprint: 'f2', endsAt: 'e2' },
          ],
        },
        delivery(1, 'resolved', 9),
      )?.resolved,
    ).toEqual([
      { fingerprint: 'f2', endsAt: 'e2' },
      { fingerprint: 'f1', endsAt: 'e9' },
    ]);
  });

  it('does not fold a resolve with a firing, another service, or past the per-signal cap', () => {
    expect(fold(delivery(1, 'firing'), delivery(1, 'resolved'))).toBeUndefined();
    expect(fold(delivery(1, 'resolved'), delivery(2, 'firing'))).toBeUndefined();
    expect(fold(delivery(1, 'firing'), { ...delivery(2, 'firing'), workflowId: 'incident/local/shop/cart' })).toBeUndefined();
    const full = Array.from({ length: maxAlertsPerSignal - 1 }, (_, i) => delivery(i + 10, 'firing')).reduce(
      (d, n) => fold(d, n) as ServiceDelivery,
      delivery(1, 'firing'),
    );
    expect(full.firing).toHaveLength(maxAlertsPerSignal);
    expect(fold(full, delivery(99, 'firing'))).toBeUndefined();
  });
});

describe('on the dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('every alert answered 2xx, folded or a duplicate, is in the incident history, in fewer signals than deliveries', async () => {
    const gateway = new CoalescingGateway(new Incidents(env.client, ClientEnvSchema.parse({})));
    app = buildReceiver({ token, defaultCluster: 'local', clusters: ['local'], gateway, log: pino({ level: 'silent' }) });
    const server = app;
    const service: ServiceRef = { cluster: 'local', namespace: uniqueId('storm'), deployment: 'checkout' };
    const minute = (m: number) => `2026-11-30T10:${String(m).padStart(2, '0')}:00Z`;
    // 10 alerts (10 firings of the service), each delivered 3 times, all at once.
    const bodies = Array.from({ length: 30 }, (_, i) => serviceDownWebhook(service, 'firing', minute(i % 10)));
    const answers = await Promise.all(
      bodies.map((payload) => server.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload })),
    );
    const ok = bodies.filter((_, i) => answers[i]?.statusCode === 200).map((b) => b.alerts[0]?.startsAt);
    expect(ok).toHaveLength(30);

    const history = await env.client.workflow
      .getHandle(answers[0]?.json<{ incidents: { workflowId: string }[] }>().incidents[0]?.workflowId ?? '')
      .fetchHistory();
    const batches = (history.events ?? []).flatMap((e) => {
      const a = e.workflowExecutionSignaledEventAttributes;
      return a?.signalName === 'alerts' ? [defaultPayloadConverter.fromPayload<AlertBatchSignal>(a.input?.payloads?.[0] ?? {})] : [];
    });
    expect(new Set(batches.flatMap((b) => (b.firing ?? []).map((a) => a.startsAt)))).toEqual(new Set(ok));
    expect(batches.length).toBeLessThan(30);
    expect(batches.length).toBe(gateway.stats.signals);
  });
});
