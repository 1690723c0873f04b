// `/incident list` in Slack, against the dev server (the list reads Temporal's
// visibility, which the time-skipping server has not): an incident opened as the
// receiver opens one is in the answer, with its number, to the person only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Incidents } from '../../client/incidents.js';
import { startTestReceiver } from '../fixtures/test-receiver.js';
import { newSigningKey } from '../../workflows/decision-signature.js';
import { alertFor } from '../fixtures/incident-driver.js';
import { SlackStandIn } from '../fixtures/slack-stand-in.js';
import { devServerEnv, eventually, uniqueId } from '../helpers/temporal.js';

const signingSecret = 'slack-signing-secret-0123456789abcdef';
let env: TestWorkflowEnvironment;
let slack: SlackStandIn;
let app: FastifyInstance;
let incidents: Incidents;
let url: string;

beforeAll(async () => {
  env = await devServerEnv();
  slack = await SlackStandIn.start(signingSecret);
  ({ app, url, incidents } = await startTestReceiver(env.client, (incidents) => ({
    decisions: {
      people: new Map(),
      key: { keyId: 'receiver-1', ...newSigningKey() },
      incidents,
      slack: { signingSecret, users: new Map([['U0ALICE', 'alice']]), responseOrigin: slack.origin },
    },
  })));
});
afterAll(async () => {
  await app?.close();
  await slack?.close();
  await env?.teardown();
});

describe('/incident list', () => {
  it('answers the person with the open incidents and their numbers', async () => {
    const service = { cluster: 'local', namespace: uniqueId('ns'), deployment: 'checkout' };
    const workflowId = await incidents.open(service, alertFor(service, new Date().toISOString()));

    const row = await eventually(
      async () => (await incidents.list({ open: true })).find((r) => r.workflowId === workflowId && r.number),
      'the incident listed',
    );
    const before = slack.responses.length;
    const command = slack.command('list', 'U0ALICE', { nowMs: Date.now() });
    const response = await fetch(`${url}/slack/commands`, { method: 'POST', headers: command.headers, body: command.payload });
    expect(response.status).toBe(200);
    const answer = await eventually(async () => slack.responses[before], 'the answer at the response_url');
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(new RegExp(`^\`\`\`INCIDENT[^]*INC-${row.number}\\s+local/${service.namespace}/checkout\\s+investigating[^]*\`\`\`$`));
  });
});
