// Notifications: PagerDuty Events v2, Slack webhook, generic webhook, or the
// outbox when no URL is configured; redacted; failures classified for retry.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ActivitiesConfigSchema, type ActivityDeps } from '../../activities/injected-deps.js';
import { notify, reportFileName, route, writeReport } from '../../activities/notify/index.js';
import { FailureTypes } from '../../activities/types.js';
import { activitiesConfig } from '../../worker/activities.js';
import { loadConfig } from '../../worker/config.js';
import { channels, type Channel, type Notification } from '../../workflows/domain.js';
import { captureLogger, noCluster, testProbes } from './helpers.js';

interface Posted {
  url: string;
  body: unknown;
  headers: Record<string, string>;
}

function deps(notifier: Partial<ActivityDeps['notifier']>, answer: () => Response = () => new Response('ok')): { deps: ActivityDeps; posted: Posted[] } {
  const posted: Posted[] = [];
  const fetch = (async (url: string, init: { body: string; headers: Record<string, string> }) => {
    posted.push({ url, body: JSON.parse(init.body) as unknown, headers: init.headers });
    return answer();
  }) as typeof globalThis.fetch;
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  return {
    posted,
    deps: {
      kube: noCluster,
      fetch,
      notifier: { outboxDir: join(dir, 'outbox'), reportsDir: join(dir, 'reports'), ...notifier },
      clock: () => new Date('2025-06-01T12:00:00Z'),
      logger: captureLogger().logger,
      guardrails: { allowedNamespaces: ['default'], maxReplicas: 4, memoryCeiling: '4Gi' },
      requiredEnv: [],
      envPattern: '(ANTHROPIC|LOG|AGENT)',
      dependencies: [],
      podDependencies: [],
      probes: { ...testProbes, httpTimeoutMs: 1000 },
      customerImpact: { probe: 'none', sloBurnThreshold: 1 },
      rolloutPollMs: 100,
    },
  };
}

const page: Notification = {
  channel: 'pager',
  event: 'trigger',
  incidentId: 'incident/local/default/web',
  dedupKey: 'incident/local/default/web#7',
  severity: 'critical',
  level: 1,
  summary: 'web is down',
  body: 'CrashLoopBackOff; last log: ANTHROPIC_API_KEY=sk-ant-secretvalue123 rejected',
};

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('notify', () => {
  it('writes a message to the outbox once, however often a retry delivers it (its id is there already)', async () => {
    const { deps: d } = deps({});
    const message = { ...page, id: `${page.dedupKey}/message-3` };
    await notify(d, message);
    await notify(d, message);
    await notify(d, { ...message, id: `${page.dedupKey}/message-4` });
    const lines = readFileSync(join(d.notifier.outboxDir, 'pager.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([`${page.dedupKey}/message-3`, `${page.dedupKey}/message-4`]);
  });

  it('sends the message id as the Idempotency-Key of a webhook, and in the body, so the receiver can drop a retried duplicate', async () => {
    const { deps: d, posted } = deps({ statusPageWebhookUrl: 'http://127.0.0.1:9/status' });
    await notify(d, { ...page, channel: 'status-page', event: 'update', id: `${page.dedupKey}/message-9` });
    expect(posted[0]?.headers['idempotency-key']).toBe(`${page.dedupKey}/message-9`);
    expect(posted[0]?.body).toMatchObject({ id: `${page.dedupKey}/message-9` });
  });

  it('posts the status page only its public text, its state and an opaque incident reference: no incident ID, cluster or severity', async () => {
    const { deps: d, posted } = deps({ statusPageWebhookUrl: 'http://127.0.0.1:9/status' });
    const update = { ...page, channel: 'status-page' as const, event: 'identified', summary: 'web: Identified', body: 'We have identified the cause.' };
    await notify(d, update);
    await notify(d, { ...update, event: 'resolved', summary: 'web: Resolved', body: 'Resolved.' });
    const [first, second] = posted.map((p) => p.body as Record<string, unknown>);
    expect(Object.keys(first ?? {}).sort()).toEqual(['body', 'event', 'incident', 'sentAt', 'title']);
    expect(first).toMatchObject({ event: 'identified', title: 'web: Identified', body: 'We have identified the cause.' });
    expect(first?.['incident']).toMatch(/^[0-9a-f]{16}$/);
    expect(second?.['incident']).toBe(first?.['incident']);
    expect(JSON.stringify(posted.map((p) => p.body))).not.toMatch(/incident\/local|default|critical/);
  });

  it('pages through PagerDuty Events v2 with the routing key and one dedup key per incident, redacted', async () => {
    const { deps: d, posted } = deps({ pagerduty: { routingKey: 'R0UTINGKEY', eventsUrl: 'https://events.example/v2/enqueue' } });
    await notify(d, page);
    await notify(d, { ...page, event: 'resolve' });
    expect(posted.map((p) => p.url)).toEqual(['https://events.example/v2/enqueue', 'https://events.example/v2/enqueue']);
    expect(posted[0]?.body).toMatchObject({
      routing_key: 'R0UTINGKEY',
      event_action: 'trigger',
      dedup_key: page.dedupKey,
      payload: { summary: 'web is down', severity: 'critical', source: 'incident-response' },
    });
    expect(posted[1]?.body).toEqual({ routing_key: 'R0UTINGKEY', event_action: 'resolve', dedup_key: page.dedupKey });
    expect(JSON.stringify(posted)).not.toContain('secretvalue123');
  });

  it('pages each escalation level through its own routing key and dedup key, and a resolve closes every level paged', async () => {
    const pagerduty = { routingKey: 'KEY-L1', routingKeyL2: 'KEY-L2', routingKeyL3: 'KEY-L3', eventsUrl: 'https://events.example/v2/enqueue' };
    const { deps: d, posted } = deps({ pagerduty });
    for (const level of [1, 2, 3]) await notify(d, { ...page, level, id: `m-${level}` });
    await notify(d, { ...page, event: 'resolve', level: 3, id: 'm-resolve' });
    const sent = posted.map((p) => p.body as { routing_key: string; event_action: string; dedup_key: string });
    expect(sent.map((e) => [e.event_action, e.routing_key, e.dedup_key])).toEqual([
      ['trigger', 'KEY-L1', page.dedupKey],
      ['trigger', 'KEY-L2', `${page.dedupKey}/L2`],
      ['trigger', 'KEY-L3', `${page.dedupKey}/L3`],
      ['resolve', 'KEY-L1', page.dedupKey],
      ['resolve', 'KEY-L2', `${page.dedupKey}/L2`],
      ['resolve', 'KEY-L3', `${page.dedupKey}/L3`],
    ]);
    // Each event its own idempotency key, so a retry of the resolve is recognised event by event.
    expect(posted.slice(3).map((p) => p.headers['idempotency-key'])).toEqual(['m-resolve/1', 'm-resolve/2', 'm-resolve/3']);
    // Without keys of their own, L2 and L3 go to L1's service, still as alerts of their own.
    const { deps: one, posted: single } = deps({ pagerduty: { routingKey: 'KEY-L1', eventsUrl: 'https://events.example/v2/enqueue' } });
    await notify(one, { ...page, level: 2 });
    expect(single[0]?.body).toMatchObject({ routing_key: 'KEY-L1', dedup_key: `${page.dedupKey}/L2` });
  });

  it('posts chat as a Slack incoming-webhook message', async () => {
    const { deps: d, posted } = deps({ chatWebhookUrl: 'https://hooks.example/T/B/x' });
    await notify(d, { ...page, channel: 'chat', event: 'status-update' });
    expect(posted[0]?.body).toMatchObject({ text: 'web is down', blocks: [{ type: 'section' }, { type: 'section' }, { type: 'context' }] });
  });

  it('appends one JSON line per message to <outbox>/<channel>.jsonl when no URL is configured', async () => {
    const { deps: d, posted } = deps({});
    await notify(d, { ...page, channel: 'status-page', event: 'status-update' });
    await notify(d, { ...page, channel: 'status-page', event: 'resolved' });
    expect(posted).toEqual([]);
    const lines = readFileSync(join(d.notifier.outboxDir, 'status-page.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as Notification).event)).toEqual(['status-update', 'resolved']);
    expect(lines.join('\n')).not.toContain('secretvalue123');
  });

  it.each([
    [429, false],
    [503, false],
    [400, true],
    [403, true],
  ])('an answer %d fails %s', async (code, permanent) => {
    const { deps: d } = deps({ statusPageWebhookUrl: 'https://status.example/hook' }, () => new Response('nope', { status: code }));
    const err = await failure(notify(d, { ...page, channel: 'status-page' }));
    expect(err.nonRetryable).toBe(permanent);
    if (permanent) expect(err.type).toBe(FailureTypes.NotificationRejected);
    expect(err.message).not.toContain('status.example');
  });

  it('a network failure is retryable and does not show the URL', async () => {
    const { deps: d } = deps({ chatWebhookUrl: 'https://hooks.example/T/B/secretpath' }, () => {
      throw new TypeError('fetch failed');
    });
    const err = await failure(notify(d, { ...page, channel: 'chat' }));
    expect(err.nonRetryable).toBe(false);
    expect(err.message).not.toContain('secretpath');
  });

  it('refuses a pager event PagerDuty does not know', async () => {
    const { deps: d } = deps({ pagerduty: { routingKey: 'R', eventsUrl: 'https://events.example/v2/enqueue' } });
    expect((await failure(notify(d, { ...page, event: 'status-update' }))).type).toBe(FailureTypes.BadRequest);
  });
});

// Every channel has a route (the compiler: `routes` satisfies a record over Channel);
// here, that the worker's configuration reaches it: the variables of a channel
// send that channel's messages, and only its, to a webhook; unset, to the outbox.
describe('routing, from the worker environment to each channel', () => {
  /** The variables that configure each channel (a record over Channel: a new one must name its own). */
  const channelEnv: Record<Channel, NodeJS.ProcessEnv> = {
    pager: { PAGERDUTY_ROUTING_KEY: 'R0UTINGKEY' },
    chat: { SLACK_WEBHOOK_URL: 'https://hooks.example/chat' },
    'status-page': { STATUS_PAGE_WEBHOOK_URL: 'https://status.example/hook' },
    ticket: { TICKET_WEBHOOK_URL: 'https://tickets.example/hook' },
    stakeholders: { STAKEHOLDERS_WEBHOOK_URL: 'https://stakeholders.example/hook' },
  };
  const notifier = (env: NodeJS.ProcessEnv) => ActivitiesConfigSchema.parse(activitiesConfig(loadConfig(env))).notifications;
  const via = (env: NodeJS.ProcessEnv, channel: Channel) => route(notifier(env), { ...page, channel }, '2025-06-01T12:00:00.000Z').via;

  it('sends every channel to the outbox when nothing is configured', () => {
    expect(channels.map((channel) => via({}, channel))).toEqual(channels.map(() => 'outbox'));
  });

  it.each(channels)('sends %s to its webhook once its variables are set, and no other channel', (configured) => {
    expect(Object.fromEntries(channels.map((channel) => [channel, via(channelEnv[configured], channel)]))).toEqual(
      Object.fromEntries(channels.map((channel) => [channel, channel === configured ? 'webhook' : 'outbox'])),
    );
  });
});

describe('writeReport', () => {
  it('writes the redacted markdown to <reports>/<incident>.md', async () => {
    const { deps: d } = deps({});
    const { location } = await writeReport(d, { incidentId: 'incident/local/default/web', title: 'web down', markdown: '# web down\ntoken=abcdef123456\n' });
    expect(location).toBe(join(d.notifier.reportsDir, 'incident-local-default-web.md'));
    expect(readFileSync(location, 'utf8')).toBe('# web down\ntoken=***\n');
  });

  it('files it with the ticket webhook when one is configured', async () => {
    const { deps: d, posted } = deps({ ticketWebhookUrl: 'https://tickets.example/api' }, () => Response.json({ url: 'https://tickets.example/T-1' }));
    expect(await writeReport(d, { incidentId: 'i', title: 't', markdown: 'm' })).toEqual({ location: 'https://tickets.example/T-1' });
    expect(posted[0]?.body).toEqual({ incidentId: 'i', title: 't', markdown: 'm' });
  });

  it('names report files safely', () => {
    expect(reportFileName('../../etc/passwd')).toBe('etc-passwd.md');
  });
});
