// PagerDuty into the incident: a v3 webhook event, signed as PagerDuty signs it
// (v1=HMAC-SHA256 of the raw body with the subscription's secret), acknowledges
// the incident whose page it names; a wrong signature, another event type, a
// page of an incident that is over, and a redelivery change nothing.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { incidentOfDedupKey } from '../../client/receiver/pagerduty.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { startTestReceiver } from '../fixtures/test-receiver.js';
import { openScenario, statusOf, waitForStatus } from '../fixtures/incident-driver.js';

const suite = timeSkippingSuite();
const secret = 'pagerduty-webhook-secret-0123456789';
let app: FastifyInstance;

beforeAll(async () => {
  ({ app } = await startTestReceiver(suite.env.client, (incidents) => ({ pagerDuty: { secret, incidents } })));
});
afterAll(async () => {
  await app?.close();
});

function delivery(eventType: string, incidentKey: string, options: { id?: string; secret?: string; agent?: string } = {}) {
  const body = JSON.stringify({
    event: {
      id: options.id ?? `01${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: '2026-12-01T09:00:00.000Z',
      agent: { id: 'PUSER01', type: 'user_reference', summary: options.agent ?? 'Alice Smith' },
      data: { id: 'PINC001', type: 'incident', status: 'acknowledged', incident_key: incidentKey, title: 'agent-native-framework is down' },
    },
  });
  const signature = createHmac('sha256', options.secret ?? secret)
    .update(body)
    .digest('hex');
  return {
    method: 'POST' as const,
    url: '/pagerduty/webhook',
    payload: body,
    headers: { 'content-type': 'application/json', 'x-pagerduty-signature': `v1=${signature}` },
  };
}

async function pagedIncident() {
  const { handle } = await openScenario(suite.env, suite.fleet, 'bad-rollout');
  suite.started.push(handle);
  const status = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the incident to await approval');
  return { handle, dedupKey: status.dedupKey ?? '' };
}

describe("PagerDuty's webhook", () => {
  it('acknowledges the incident whose page (any level) was acknowledged in PagerDuty, as the person PagerDuty names', async () => {
    const { handle, dedupKey } = await pagedIncident();
    expect(incidentOfDedupKey(`${dedupKey}/L2`)).toEqual({ workflowId: handle.workflowId, dedupKey });
    const first = delivery('incident.acknowledged', `${dedupKey}/L2`, { id: 'EVT-1' });
    const answer = await app.inject(first);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ acknowledged: handle.workflowId, by: 'Alice Smith (PagerDuty)' });
    expect((await waitForStatus(handle, (s) => s.acknowledged !== undefined, 'the acknowledgement')).acknowledged?.by).toBe('Alice Smith (PagerDuty)');
    // PagerDuty delivers again (at least once): taken once.
    expect((await app.inject(first)).json()).toEqual({ ignored: 'event EVT-1 was taken already' });
  });

  it('changes nothing for a wrong signature, another event type, a page of an earlier incident, or a key not ours', async () => {
    const { handle, dedupKey } = await pagedIncident();
    const wrong = await app.inject(delivery('incident.acknowledged', dedupKey, { secret: 'not-the-secret' }));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: "missing or wrong X-PagerDuty-Signature: set PAGERDUTY_WEBHOOK_SECRET to the webhook subscription's secret" });
    const unsigned = await app.inject({ ...delivery('incident.acknowledged', dedupKey), headers: { 'content-type': 'application/json' } });
    expect(unsigned.statusCode).toBe(401);
    expect((await app.inject(delivery('incident.resolved', dedupKey))).json()).toEqual({ ignored: 'event type incident.resolved' });
    const earlier = `${handle.workflowId}/an-earlier-first-run-id`;
    expect((await app.inject(delivery('incident.acknowledged', earlier))).json()).toEqual({
      ignored: `${handle.workflowId}: the incident this page belongs to is over`,
    });
    expect((await app.inject(delivery('incident.acknowledged', 'some-other-tool-key'))).json()).toEqual({ ignored: 'not a page of an incident here' });
    expect((await app.inject({ ...delivery('incident.acknowledged', dedupKey), payload: '{"event":' })).statusCode).toBe(401);
    expect((await statusOf(handle)).acknowledged).toBeUndefined();
  });
});
