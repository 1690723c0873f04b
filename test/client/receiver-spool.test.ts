// The receiver with a spool (RECEIVER_SPOOL_DIR, client/receiver/spool.ts): a webhook
// is answered once it is on disk, Temporal gets it behind the answer, in order per
// incident, and nothing answered 200 is lost to Temporal being away or to a restart
// of the receiver. Over the receiver's HTTP routes, with a Temporal the test scripts.
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import type { ServiceDelivery, Webhook } from '../../client/receiver/alertmanager.js';
import { CoalescingGateway, outcomeOf } from '../../client/receiver/coalesce.js';
import { TemporalRefusedError, TemporalUnavailableError, buildReceiver, type IncidentGateway, type ServiceOutcome } from '../../client/receiver/server.js';
import { DeliverySpool } from '../../client/receiver/spool.js';
import type { ServiceRef } from '../../workflows/domain.js';
import { eventually } from '../helpers/temporal.js';

const token = 'spool-test-token-0123456789';
const svc: ServiceRef = { cluster: 'local', namespace: 'shop', deployment: 'checkout' };
const other: ServiceRef = { cluster: 'local', namespace: 'shop', deployment: 'cart' };
const log = pino({ level: 'silent' });

/** Temporal as the test drives it: answers at once, holds signals, or fails the next ones. */
class ScriptedTemporal implements IncidentGateway {
  readonly taken: ServiceDelivery[] = [];
  private held: (() => void)[] = [];
  hold = false;
  /** Errors thrown by the next signals, in order. */
  failures: Error[] = [];

  check(): [] {
    return [];
  }
  async ready(): Promise<boolean> {
    return !this.hold;
  }
  async deliver(delivery: ServiceDelivery): Promise<ServiceOutcome> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    this.taken.push(delivery);
    return outcomeOf(delivery, 'signalled');
  }
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
}

const opened: { app: FastifyInstance; spool: DeliverySpool }[] = [];
/** Stops the receivers started so far (what their spools hold stays on disk). */
async function stopReceivers(): Promise<void> {
  for (const { app, spool } of opened.splice(0)) {
    await app.close();
    await spool.close();
  }
}
afterEach(stopReceivers);

async function receiver(temporal: ScriptedTemporal, dir: string, maxPending?: number) {
  const gateway = new CoalescingGateway(temporal);
  const spool = await DeliverySpool.open(gateway, { dir, log, retryMs: 5, maxRetryMs: 20, ...(maxPending ? { maxPending } : {}) });
  const app = buildReceiver({ token, defaultCluster: 'local', clusters: ['local'], gateway, log, spool });
  opened.push({ app, spool });
  return {
    spool,
    app,
    post: async (body: Webhook) => {
      const res = await app.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload: body });
      const json = res.json<{ incidents?: { result: string }[]; error?: string }>();
      return { status: res.statusCode, results: (json.incidents ?? []).map((i) => i.result), error: json.error };
    },
  };
}

const spoolDir = () => mkdtempSync(join(tmpdir(), 'receiver-spool-'));
const firing = (startsAt = '2026-11-30T10:00:00Z', s = svc) => serviceDownWebhook(s, 'firing', startsAt);
const resolved = (startsAt = '2026-11-30T10:00:00Z', s = svc) => serviceDownWebhook(s, 'resolved', startsAt, '2026-11-30T10:05:00Z');
const what = (d: ServiceDelivery) => `${d.service.deployment} ${d.firing.length > 0 ? `firing ${d.firing[0]?.startsAt}` : 'resolved'}`;

describe('a receiver with a spool', () => {
  it('answers 200 once the alerts are on disk, before Temporal has them, and Temporal then gets them', async () => {
    const temporal = new ScriptedTemporal();
    temporal.hold = true;
    const { post, spool } = await receiver(temporal, spoolDir());
    expect(await post(firing())).toEqual({ status: 200, results: ['spooled'], error: undefined });
    expect(temporal.taken).toHaveLength(0);
    expect(spool.stats().pending).toBe(1);
    temporal.release();
    await eventually(async () => (spool.stats().pending === 0 ? true : undefined), 'the spool to drain');
    expect(temporal.taken.map(what)).toEqual(['checkout firing 2026-11-30T10:00:00Z']);
  });

  it('answers a redelivery of what the incident already has without writing it, but never while that incident has alerts waiting', async () => {
    const temporal = new ScriptedTemporal();
    const dir = spoolDir();
    const { post, spool } = await receiver(temporal, dir);
    await post(firing('2026-11-30T10:00:00Z'));
    await post(resolved('2026-11-30T10:00:00Z'));
    await eventually(async () => (spool.stats().pending === 0 && temporal.taken.length === 2 ? true : undefined), 'the spool to drain');
    const size = readFileSync(join(dir, 'spool.log'), 'utf8').length;
    expect(await post(resolved('2026-11-30T10:00:00Z'))).toMatchObject({ status: 200, results: ['duplicate'] });
    expect(readFileSync(join(dir, 'spool.log'), 'utf8').length).toBe(size);
    // A re-fire waits in the spool; the same resolve again must then reach the incident after it.
    temporal.hold = true;
    await post(firing('2026-11-30T10:10:00Z'));
    expect(await post(resolved('2026-11-30T10:00:00Z'))).toMatchObject({ status: 200, results: ['spooled'] });
    temporal.release();
    await eventually(async () => (spool.stats().pending === 0 && temporal.taken.length === 4 ? true : undefined), 'the spool to drain');
    expect(temporal.taken.map(what).slice(2)).toEqual(['checkout firing 2026-11-30T10:10:00Z', 'checkout resolved']);
  });

  it('keeps taking alerts while Temporal is unreachable, and delivers them in order when it is back', async () => {
    const temporal = new ScriptedTemporal();
    temporal.failures = Array.from({ length: 5 }, () => new TemporalUnavailableError('connection refused'));
    const { post, spool, app } = await receiver(temporal, spoolDir());
    expect((await post(firing('2026-11-30T10:00:00Z'))).status).toBe(200);
    expect((await post(resolved('2026-11-30T10:00:00Z'))).status).toBe(200);
    expect((await post(firing('2026-11-30T10:10:00Z'))).status).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    await eventually(async () => (spool.stats().pending === 0 ? true : undefined), 'the spool to drain');
    // One incident's alerts in the order they came: never the resolve after the re-fire that followed it.
    expect(temporal.taken.map(what)).toEqual(['checkout firing 2026-11-30T10:00:00Z', 'checkout resolved', 'checkout firing 2026-11-30T10:10:00Z']);
    expect(spool.stats().retries).toBeGreaterThanOrEqual(5);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^incident_receiver_spool_deliveries\{kind="delivered"\} 3$/m);
    expect(metrics).toMatch(/^incident_receiver_spool_pending 0$/m);
  });

  it('loses nothing to a restart: the next receiver on the directory sends what was answered 200 and not yet sent, once', async () => {
    const dir = spoolDir();
    const first = new ScriptedTemporal();
    const a = await receiver(first, dir);
    expect((await a.post(firing('2026-11-30T10:00:00Z', other))).status).toBe(200);
    await eventually(async () => (first.taken.length === 1 ? true : undefined), 'the first delivery');
    first.hold = true;
    expect((await a.post(firing())).status).toBe(200);
    expect((await a.post(resolved('2026-11-30T10:00:00Z', other))).status).toBe(200);
    // The receiver stops with two deliveries on disk and not in Temporal.
    await stopReceivers();

    const second = new ScriptedTemporal();
    const b = await receiver(second, dir);
    await eventually(async () => (b.spool.stats().pending === 0 && second.taken.length === 2 ? true : undefined), 'the left deliveries');
    expect(second.taken.map(what).sort()).toEqual(['cart resolved', 'checkout firing 2026-11-30T10:00:00Z']);

    // And once only: a third start finds nothing left.
    await stopReceivers();
    const third = new ScriptedTemporal();
    const c = await receiver(third, dir);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.spool.stats().pending).toBe(0);
    expect(third.taken).toHaveLength(0);
  });

  it('skips a line cut short by a crash mid-write (never answered 200) and sends the rest', async () => {
    const dir = spoolDir();
    const temporal = new ScriptedTemporal();
    temporal.hold = true;
    const a = await receiver(temporal, dir);
    await a.post(firing());
    await stopReceivers();
    appendFileSync(join(dir, 'spool.log'), '{"s":99,"t":0,"d":{"serv');
    const second = new ScriptedTemporal();
    const b = await receiver(second, dir);
    await eventually(async () => (second.taken.length === 1 && b.spool.stats().pending === 0 ? true : undefined), 'the whole line');
    expect(second.taken.map(what)).toEqual(['checkout firing 2026-11-30T10:00:00Z']);
    // The log was rewritten without the torn line.
    expect(readFileSync(join(dir, 'spool.log'), 'utf8')).not.toContain('"serv\n');
  });

  it('drops what Temporal refuses (it would refuse it again), and the incident gets its next alerts', async () => {
    const temporal = new ScriptedTemporal();
    temporal.failures = [new TemporalRefusedError('payload too large')];
    const { post, spool } = await receiver(temporal, spoolDir());
    await post(firing('2026-11-30T10:00:00Z'));
    await post(firing('2026-11-30T10:10:00Z'));
    await eventually(async () => (spool.stats().pending === 0 ? true : undefined), 'the spool to drain');
    expect(spool.stats().dropped).toBeGreaterThanOrEqual(1);
    expect(temporal.taken.map(what)).toContain('checkout firing 2026-11-30T10:10:00Z');
  });

  it('answers 503 when full, records nothing of that webhook, and is not ready until it has room', async () => {
    const temporal = new ScriptedTemporal();
    temporal.hold = true;
    const dir = spoolDir();
    const { post, app, spool } = await receiver(temporal, dir, 1);
    expect((await post(firing())).status).toBe(200);
    const full = await post(firing('2026-11-30T10:00:00Z', other));
    expect(full.status).toBe(503);
    expect(full.error).toMatch(/spool holds 1 deliveries not yet in Temporal .*retry later: the alerts are not recorded/);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
    expect(readFileSync(join(dir, 'spool.log'), 'utf8')).not.toContain('"cart"');
    temporal.release();
    await eventually(async () => (spool.stats().pending === 0 ? true : undefined), 'the spool to drain');
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('refuses a directory it cannot write, at start, with the path in the error', async () => {
    const file = join(spoolDir(), 'not-a-dir');
    writeFileSync(file, '');
    await expect(DeliverySpool.open(new ScriptedTemporal(), { dir: file, log })).rejects.toThrow(/not-a-dir/);
  });
});
