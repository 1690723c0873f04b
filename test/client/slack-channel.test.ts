// Slack as an approval channel, end to end but for Slack itself: an incident on
// the time-skipping server whose worker counts only signed decisions posts its
// approval request (rendered as the chat webhook would post it, with buttons);
// a local Slack stand-in clicks them, signed as Slack signs; the receiver checks
// the signature, maps the Slack user to an approver, signs the decision, and
// updates the message in place through the click's response_url. The
// `/incident` slash command goes the same way: list, show, approve, reject, ack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { startTestReceiver } from '../fixtures/test-receiver.js';
import { slackMessage } from '../../activities/notify/payloads.js';
import { newSigningKey } from '../../workflows/decision-signature.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { openScenario, statusOf, waitForStatus } from '../fixtures/incident-driver.js';
import { SlackStandIn, type SlackBlock, type SlackResponse } from '../fixtures/slack-stand-in.js';
import type { FakeCluster } from '../fixtures/fake-cluster.js';
import { eventually } from '../helpers/temporal.js';

const suite = timeSkippingSuite();
const channel = { keyId: 'receiver-1', ...newSigningKey() };
const signingSecret = 'slack-signing-secret-0123456789abcdef';
let slack: SlackStandIn;
let app: FastifyInstance;
let url: string;
let serverNow = 0;

beforeAll(async () => {
  slack = await SlackStandIn.start(signingSecret);
  ({ app, url } = await startTestReceiver(suite.env.client, (incidents) => ({
    decisions: {
      people: new Map(),
      key: channel,
      incidents,
      clock: () => serverNow,
      slack: {
        signingSecret,
        users: new Map([
          ['U0ALICE', 'alice'],
          ['U0BOB', 'bob'],
        ]),
        responseOrigin: slack.origin,
      },
    },
  })));
});
afterAll(async () => {
  await app?.close();
  await slack?.close();
});

/** A bad rollout awaiting approval (only alice may approve, only signed decisions count), and its request as Slack shows it. */
async function requestInSlack(): Promise<{
  cluster: FakeCluster;
  handle: Awaited<ReturnType<typeof openScenario>>['handle'];
  message: { blocks: SlackBlock[] };
}> {
  const { cluster, handle } = await openScenario(
    suite.env,
    suite.fleet,
    'bad-rollout',
    {},
    { approvers: ['alice'], decisionKeys: { [channel.keyId]: channel.publicKey } },
  );
  suite.started.push(handle);
  await waitForStatus(handle, (s) => s.pendingApproval?.action === 1, 'the rollback to await approval');
  const request = await eventually(
    async () => cluster.notifications.find((n) => n.notification.event === 'approval-request')?.notification,
    'the approval request in chat',
  );
  return { cluster, handle, message: slackMessage(request) as { blocks: SlackBlock[] } };
}

async function send(click: { payload: string; headers: Record<string, string> }, path = '/slack/interactions'): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: click.headers, body: click.payload });
  return { status: response.status, body: await response.text() };
}

/** `/incident <text>` typed by `user`: Slack's answer is an empty 200, what happened comes to the response_url. */
async function slash(text: string, user: string): Promise<SlackResponse> {
  serverNow = await suite.env.currentTimeMs();
  const before = slack.responses.length;
  expect(await send(slack.command(text, user, { nowMs: serverNow }), '/slack/commands')).toEqual({ status: 200, body: '' });
  return nextResponse(before);
}

async function nextResponse(count: number): Promise<SlackResponse> {
  return eventually(async () => slack.responses[count], `Slack response ${count + 1}`);
}

describe('approving from Slack', () => {
  it('a signed click by a mapped approver approves, and the message is updated in place with who decided', async () => {
    const { cluster, handle, message } = await requestInSlack();
    // The request carries the buttons, naming this incident and action.
    const buttons = message.blocks.find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons.map((b) => b.action_id)).toEqual(['approve', 'reject', 'acknowledge']);
    expect(JSON.parse(buttons[0]?.value ?? '')).toEqual({ incident: handle.workflowId, action: 1 });

    serverNow = await suite.env.currentTimeMs();
    const before = slack.responses.length;
    expect(await send(slack.click(message, 'approve', 'U0ALICE', { nowMs: serverNow }))).toEqual({ status: 200, body: '' });
    const updated = await nextResponse(before);
    expect(updated).toMatchObject({ replace_original: true, text: '#1 approved by alice' });
    expect(updated.blocks?.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(updated.blocks?.at(-1))).toMatch(/approved by alice \(Slack\) at .*rollout undo/);
    await handle.result();
    expect(cluster.mutations.map((m) => m.approvedBy)).toEqual(['alice']);
  });

  it('refuses a bad signature, a stale or future timestamp and a replay (also a disguised one) with 401, and an unmapped or unallowed user with a note to them; nothing is decided', async () => {
    const { cluster, handle, message } = await requestInSlack();
    serverNow = await suite.env.currentTimeMs();
    const nowMs = serverNow;

    expect((await send(slack.click(message, 'approve', 'U0ALICE', { nowMs, secret: 'not-the-signing-secret' }))).status).toBe(401);
    expect((await send(slack.click(message, 'approve', 'U0ALICE', { nowMs, timestampMs: nowMs - 6 * 60_000 }))).status).toBe(401);
    // A click captured on the wire and sent again: the first (bob's, refused by the policy) is taken, the copy is not.
    const before = slack.responses.length;
    const captured = slack.click(message, 'approve', 'U0BOB', { nowMs });
    expect((await send(captured)).status).toBe(200);
    const again = await send(captured);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body)).toEqual({ error: 'this exact request was received already: a replay is refused' });
    // The same copy with its signature header dressed up (Bolt reads the hash as whatever follows the first '='), and a click from the future.
    const dressed = { ...captured, headers: { ...captured.headers, 'x-slack-signature': `${captured.headers['x-slack-signature'] ?? ''}=x` } };
    expect((await send(dressed)).status).toBe(401);
    expect((await send(slack.click(message, 'approve', 'U0ALICE', { nowMs, timestampMs: nowMs + 6 * 60_000 }))).status).toBe(401);
    expect(await nextResponse(before)).toMatchObject({
      response_type: 'ephemeral',
      replace_original: false,
      text: expect.stringMatching(/^Not done: bob is not an allowed approver .*\(allowed: alice\)$/) as unknown,
    });
    expect((await send(slack.click(message, 'approve', 'U0EVE', { nowMs }))).status).toBe(200);
    expect(await nextResponse(before + 1)).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: '<@U0EVE> is not mapped to a person here (SLACK_USERS): nothing was done.',
    });

    const status = await statusOf(handle);
    expect(status.pendingApproval?.action).toBe(1);
    expect(status.actions[0]?.decision).toBeUndefined();
    expect(cluster.mutations).toEqual([]);
    expect(slack.responses).toHaveLength(before + 2);
  });

  it('an Acknowledge click acknowledges the incident as the mapped person', async () => {
    const { handle, message } = await requestInSlack();
    serverNow = await suite.env.currentTimeMs();
    const before = slack.responses.length;
    expect((await send(slack.click(message, 'acknowledge', 'U0BOB', { nowMs: serverNow }))).status).toBe(200);
    expect(await nextResponse(before)).toMatchObject({ response_type: 'in_channel', text: `bob acknowledged ${handle.workflowId}` });
    expect((await waitForStatus(handle, (s) => s.acknowledged !== undefined, 'the acknowledgement')).acknowledged?.by).toBe('bob');
  });
});

describe('the /incident slash command', () => {
  it('shows an incident to the person and approves as them: the incident applies the signed decision', async () => {
    const { cluster, handle } = await requestInSlack();
    const id = handle.workflowId;

    const shown = await slash(`show ${id}`, 'U0BOB');
    expect(shown.response_type).toBe('ephemeral');
    expect(shown.text).toMatch(/^```[^]*rollout undo deployment\/bad-rollout-[^]*```$/);

    const approved = await slash(`approve ${id} #1 rollback looks right`, 'U0ALICE');
    expect(approved.response_type).toBe('in_channel');
    expect(approved.text).toMatch(/^:white_check_mark: approved by alice \(Slack\) at \S+: #1 of /);
    expect(approved.text).toContain(`#1 of ${id} \`kubectl -n default rollout undo deployment/`);
    await handle.result();
    expect(cluster.mutations.map((m) => m.approvedBy)).toEqual(['alice']);
    expect((await statusOf(handle)).actions[0]?.decision).toMatchObject({ approved: true, by: 'alice', comment: 'rollback looks right' });
  });

  it('acknowledges as the person; refuses an unmapped user, a stale action, a person the policy does not allow and a bad signature; says how to use it', async () => {
    const { cluster, handle } = await requestInSlack();
    const id = handle.workflowId;

    expect(await slash(`ack ${id}`, 'U0BOB')).toMatchObject({ response_type: 'in_channel', text: `bob acknowledged ${id} (Slack)` });
    expect((await waitForStatus(handle, (s) => s.acknowledged !== undefined, 'the acknowledgement')).acknowledged?.by).toBe('bob');

    expect(await slash(`approve ${id} #1`, 'U0EVE')).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: '<@U0EVE> is not mapped to a person here (SLACK_USERS): nothing was done.',
    });
    expect((await slash(`approve ${id} #7`, 'U0ALICE')).text).toMatch(/^Not done: action #7 of .* is not awaiting approval: #1 is/);
    expect((await slash(`approve ${id}`, 'U0ALICE')).text).toMatch(/^Say which action: `\/incident approve .* #N`/);
    expect((await slash(`approve ${id} #1`, 'U0BOB')).text).toMatch(/^Not done: bob is not an allowed approver .*\(allowed: alice\)$/);
    const usage = await slash('frobnicate everything', 'U0ALICE');
    expect(usage.response_type).toBe('ephemeral');
    expect(usage.text).toMatch(/^Not a command here: `\/incident frobnicate everything`\n`\/incident list`/);
    expect((await slash('show', 'U0ALICE')).text).toMatch(/`\/incident show INC-42`/);

    serverNow = await suite.env.currentTimeMs();
    const forged = await send(slack.command(`approve ${id}`, 'U0ALICE', { nowMs: serverNow, secret: 'not-the-signing-secret' }), '/slack/commands');
    expect(forged.status).toBe(401);
    const stale = await send(slack.command(`approve ${id}`, 'U0ALICE', { nowMs: serverNow, timestampMs: serverNow - 6 * 60_000 }), '/slack/commands');
    expect(stale.status).toBe(401);

    const status = await statusOf(handle);
    expect(status.pendingApproval?.action).toBe(1);
    expect(status.actions[0]?.decision).toBeUndefined();
    expect(cluster.mutations).toEqual([]);
  });
});
