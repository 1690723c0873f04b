// The receiver when Temporal is not there: a good webhook gets 503 (Alertmanager
// retries it), and so does /health/ready; bad input still gets its 4xx, because
// it is checked before anything goes to Temporal; and a fault of the receiver
// itself is a 500, never a 503 that would ask for a retry. How long the 503
// takes is a figure of `npm run bench -- receiver-outage`, not asserted here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { z } from 'zod';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import { buildReceiver, type IncidentGateway } from '../../client/receiver/server.js';
import { devServerEnv, uniqueId } from '../helpers/temporal.js';
import { deadPort } from '../helpers/processes.js';

const token = 'receiver-outage-token-0123456789';
const config = ClientEnvSchema.parse({});
const log = pino({ level: 'silent' });

const receiverOver = (gateway: IncidentGateway) => buildReceiver({ token, defaultCluster: 'local', clusters: ['local'], gateway, log });
const firing = () => serviceDownWebhook({ cluster: 'local', namespace: uniqueId('ns'), deployment: 'checkout' }, 'firing', '2026-11-27T10:00:00Z');

async function post(app: FastifyInstance, body: object) {
  const res = await app.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload: body });
  return { status: res.statusCode, body: res.json<{ error?: string; status?: string }>() };
}

describe.each([
  {
    name: 'nothing listens on its port',
    temporal: async () => {
      const connection = Connection.lazy({ address: `127.0.0.1:${await deadPort()}` });
      return new Client({ connection });
    },
  },
  {
    name: 'the dev server it was connected to has stopped',
    temporal: async () => {
      const env = await devServerEnv();
      // Connected and answering first, as a receiver is when Temporal goes away.
      const connection = await Connection.connect({ address: env.address });
      await env.teardown();
      return new Client({ connection });
    },
  },
])('when Temporal is unreachable ($name)', ({ temporal }) => {
  let app: FastifyInstance;
  let incidents: Incidents;
  beforeAll(async () => {
    // A shorter deadline than the receiver's only to keep the suite quick; the 503 is the same.
    incidents = new Incidents(await temporal(), config, { callTimeoutMs: 1_000 });
    app = receiverOver(incidents);
  });
  afterAll(async () => {
    await app?.close();
    await incidents?.close();
  });

  it('answers a good webhook with 503 and an error that asks for a retry', async () => {
    const res = await post(app, firing());
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/Temporal is unreachable.*retry/);
  });

  it('answers /health/ready with 503', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'temporal unreachable' });
  });

  it('still refuses a bad webhook with 422: the check needs no Temporal', async () => {
    const bad = firing();
    bad.alerts[0]!.startsAt = 'not-a-date';
    const res = await post(app, bad);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/alerts\[0\]\.startsAt/);
  });
});

describe('when the receiver itself fails', () => {
  const faults: { name: string; fault: () => Error }[] = [
    { name: 'a ZodError', fault: () => z.string().max(1).safeParse('too long').error ?? new Error('unreachable') },
    { name: 'a TypeError', fault: () => new TypeError("Cannot read properties of undefined (reading 'workflowId')") },
  ];

  it.each(faults)('answers 500, not 503, to $name while delivering', async ({ fault }) => {
    const real = new Incidents(new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await deadPort()}` }) }), config);
    const app = receiverOver({
      check: (delivery) => real.check(delivery),
      deliver: () => Promise.reject(fault()),
      ready: () => Promise.resolve(true),
    });
    const res = await post(app, firing());
    expect(res.status).toBe(500);
    expect(res.body.error).toMatch(/receiver failed/);
    expect(res.body.error).not.toMatch(/retry/);
    await app.close();
    await real.close();
  });
});
