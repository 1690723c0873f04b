// The receiver's decisions API over real HTTP, with real incidents on the
// time-skipping server whose worker counts only signed decisions: a person's own
// token makes their decision, signed; everyone else gets a clear 4xx and changes
// nothing. The CLI's client of the API (`incident approve` with INCIDENT_API_URL)
// goes through the same server.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ClientEnvSchema, decisionsApiConfig } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { buildReceiver } from '../../client/receiver/server.js';
import { decideThroughApi } from '../../client/cli/decisions-api.js';
import { newSigningKey } from '../../workflows/decision-signature.js';
import { decideUpdate } from '../../workflows/messages.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { startTestReceiver } from '../fixtures/test-receiver.js';
import { openScenario, statusOf, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';

const suite = timeSkippingSuite();
const channel = { keyId: 'receiver-1', ...newSigningKey() };
const tokens = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef' };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let app: FastifyInstance;
let url: string;
/** The server's time, read before each request: the time-skipping server's clock is not the wall clock. */
let serverNow = 0;

beforeAll(async () => {
  const env = {
    APPROVER_TOKENS: `alice=sha256:${sha256(tokens.alice)},bob=sha256:${sha256(tokens.bob)}`,
    DECISION_SIGNING_KEY: `${channel.keyId}:${channel.secretKey}`,
  };
  const decisions = decisionsApiConfig(ClientEnvSchema.parse(env));
  if (!decisions) throw new Error('the decisions API should be on');
  ({ app, url } = await startTestReceiver(suite.env.client, (incidents) => ({ decisions: { ...decisions, incidents, clock: () => serverNow } }), env));
});
afterAll(async () => {
  await app?.close();
});

/** A bad rollout awaiting approval, in an incident whose worker lets alice approve and counts only this channel's signatures. */
async function awaiting(): Promise<{ handle: IncidentHandle; mutations: () => unknown[] }> {
  const { cluster, handle } = await openScenario(
    suite.env,
    suite.fleet,
    'bad-rollout',
    {},
    { approvers: ['alice'], decisionKeys: { [channel.keyId]: channel.publicKey } },
  );
  suite.started.push(handle);
  await waitForStatus(handle, (s) => s.pendingApproval?.action === 1, 'the rollback to await approval');
  return { handle, mutations: () => cluster.mutations };
}

async function post(body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  serverNow = await suite.env.currentTimeMs();
  const response = await fetch(`${url}/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the decisions API', () => {
  it("makes the decision of the person the token names, signed, and the incident applies it (the CLI's path)", async () => {
    const { handle, mutations } = await awaiting();
    serverNow = await suite.env.currentTimeMs();
    const outcome = await decideThroughApi(
      { url, token: tokens.alice },
      { incident: handle.workflowId, decision: 'approve', action: 1, comment: 'rollback is safe' },
    );
    expect(outcome).toMatchObject({ action: 1, approved: true, by: 'alice' });
    await handle.result();
    expect(mutations()).toEqual([expect.objectContaining({ approvedBy: 'alice' })]);
    expect((await statusOf(handle)).timeline.map((e) => e.text)).toContain('#1 approved by alice: rollback is safe');
  });

  it('refuses, with a clear 4xx, a missing or unknown token, a person the policy does not allow, a stale action, a bad body and an unknown incident; nothing changes', async () => {
    const { handle, mutations } = await awaiting();
    const body = { incident: handle.workflowId, decision: 'approve' };

    expect(await post(body)).toEqual({ status: 401, body: { error: expect.stringMatching(/^missing or unknown bearer token/) as unknown } });
    expect((await post(body, 'guessed-token-0123456789')).status).toBe(401);
    // Bob is known to the receiver, but the worker's policy lets only alice approve.
    expect(await post(body, tokens.bob)).toEqual({
      status: 403,
      body: { error: expect.stringMatching(/^bob is not an allowed approver .*\(allowed: alice\)$/) as unknown },
    });
    expect(await post({ ...body, action: 7 }, tokens.alice)).toEqual({
      status: 409,
      body: { error: expect.stringMatching(/^action #7 of .* is not awaiting approval: #1 is \(kubectl .*rollout undo/) as unknown },
    });
    expect(await post({ ...body, decision: 'maybe' }, tokens.alice)).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/^not a decision: decision/) as unknown },
    });
    expect(await post({ ...body, by: 'mallory' }, tokens.alice)).toMatchObject({ status: 422 });
    expect(await post({ ...body, incident: 'incident/local/nowhere/nothing' }, tokens.alice)).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/^no incident incident\/local\/nowhere\/nothing/) as unknown },
    });

    // The same request straight to Temporal, without the receiver's signature, is refused too.
    await expect(handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] })).rejects.toThrow();
    const status = await statusOf(handle);
    expect(status.pendingApproval?.action).toBe(1);
    expect(status.actions[0]?.outcome).toBe('awaiting-approval');
    expect(mutations()).toEqual([]);
  });

  it('answers 404 with what to set when the API is off', async () => {
    const off = buildReceiver({
      token: 'receiver-test-token-0123456789',
      defaultCluster: 'local',
      clusters: ['local'],
      gateway: new Incidents(suite.env.client, ClientEnvSchema.parse({})),
      log: pino({ level: 'silent' }),
    });
    const response = await off.inject({ method: 'POST', url: '/decisions', payload: {} });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: 'no route POST /decisions: alerts go to POST /alerts/alertmanager (the decisions API is off: set APPROVER_TOKENS and DECISION_SIGNING_KEY)',
    });
    await off.close();
  });
});

describe('the decisions API configuration', () => {
  it('needs both the tokens and the key, and says what a bad one should look like without echoing secrets', () => {
    const key = `${channel.keyId}:${channel.secretKey}`;
    expect(decisionsApiConfig(ClientEnvSchema.parse({}))).toBeUndefined();
    expect(() => decisionsApiConfig(ClientEnvSchema.parse({ DECISION_SIGNING_KEY: key }))).toThrow(/DECISION_SIGNING_KEY is set but no approval channel is/);
    expect(() => decisionsApiConfig(ClientEnvSchema.parse({ APPROVER_TOKENS: 'alice=plain-token', DECISION_SIGNING_KEY: key }))).toThrow(
      /APPROVER_TOKENS: 'alice=plain-token…' is not name=sha256:<64 hex digits>/,
    );
    const badKey = `${channel.keyId}:${channel.secretKey.slice(2)}`;
    let message = '';
    try {
      decisionsApiConfig(ClientEnvSchema.parse({ APPROVER_TOKENS: `alice=sha256:${sha256('t')}`, DECISION_SIGNING_KEY: badKey }));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('DECISION_SIGNING_KEY is not <keyId>:<Ed25519 secret key as 64 hex digits> (`incident keygen` makes one)');
  });
});
