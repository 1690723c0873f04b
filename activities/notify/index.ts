// notify(): the incident's messages to the pager, chat, status page and
// ticket system, and writeReport(): the incident summary. Every outgoing text
// is redacted first.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Channel, Notification } from '../../workflows/domain.js';
import type { ActivityDeps } from '../injected-deps.js';
import { redact } from '../redact.js';
import type { IncidentReport } from '../types.js';
import { postJson } from './http.js';
import { appendToOutbox } from './outbox.js';
import { pagerDutyEvents, slackMessage, statusPageMessage, webhookMessage } from './payloads.js';

function redacted(notification: Notification): Notification {
  return { ...notification, summary: redact.text(notification.summary), body: redact.text(notification.body) };
}

type Notifier = ActivityDeps['notifier'];

/** Where one message goes: a webhook, in the channel's wire format, or the outbox. */
export type Route = { via: 'webhook'; url: string; payloads: object[] } | { via: 'outbox' };

/** The channel has no URL configured: its messages go to the outbox (<outboxDir>/<channel>.jsonl). */
const outbox: Route = { via: 'outbox' };

function webhook(url: string, ...payloads: object[]): Route {
  return { via: 'webhook', url, payloads };
}

/**
 * Every channel's routing, exhaustive by type: a Channel without a route does not
 * compile, and a route says `outbox` itself when its channel is not configured
 * (there is no undefined to fall through to).
 */
export const routes = {
  pager: (config, message) => (config.pagerduty ? webhook(config.pagerduty.eventsUrl, ...pagerDutyEvents(message, config.pagerduty)) : outbox),
  chat: (config, message) => (config.chatWebhookUrl ? webhook(config.chatWebhookUrl, slackMessage(message)) : outbox),
  'status-page': (config, message, sentAt) => (config.statusPageWebhookUrl ? webhook(config.statusPageWebhookUrl, statusPageMessage(message, sentAt)) : outbox),
  ticket: (config, message, sentAt) => (config.ticketWebhookUrl ? webhook(config.ticketWebhookUrl, webhookMessage(message, sentAt)) : outbox),
  stakeholders: (config, message, sentAt) => (config.stakeholdersWebhookUrl ? webhook(config.stakeholdersWebhookUrl, webhookMessage(message, sentAt)) : outbox),
} satisfies Record<Channel, (config: Notifier, message: Notification, sentAt: string) => Route>;

/** Where this message goes, by its channel's route. */
export function route(config: Notifier, message: Notification, sentAt: string): Route {
  return routes[message.channel](config, message, sentAt);
}

export async function notify(deps: ActivityDeps, notification: Notification): Promise<void> {
  const message = redacted(notification);
  const sentAt = deps.clock().toISOString();
  const to = route(deps.notifier, message, sentAt);
  if (to.via === 'webhook') {
    // Several events (a resolve of each level paged): each its own idempotency key.
    for (const [i, payload] of to.payloads.entries()) {
      const key = message.id && to.payloads.length > 1 ? `${message.id}/${i + 1}` : message.id;
      await postJson(deps, message.channel, to.url, payload, key);
    }
  } else await appendToOutbox(deps.notifier.outboxDir, message.channel, { sentAt, ...message });
  deps.logger.info('notification sent', { channel: message.channel, event: message.event, incidentId: message.incidentId, via: to.via });
}

/** An incident ID as a file name: workflow IDs contain slashes. */
export function reportFileName(incidentId: string): string {
  return `${incidentId.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'incident'}.md`;
}

export async function writeReport(deps: ActivityDeps, report: IncidentReport): Promise<{ location: string }> {
  const markdown = redact.text(report.markdown);
  const title = redact.text(report.title);
  const url = deps.notifier.ticketWebhookUrl;
  if (url) {
    const answer = await postJson(deps, 'ticket', url, { incidentId: report.incidentId, title, markdown });
    let location = 'ticket';
    try {
      const parsed = JSON.parse(answer) as { url?: unknown; id?: unknown };
      if (typeof parsed.url === 'string') location = parsed.url;
      else if (typeof parsed.id === 'string' || typeof parsed.id === 'number') location = `ticket ${parsed.id}`;
    } catch {
      // the ticket system answered without JSON: the report is filed all the same
    }
    return { location };
  }
  const dir = resolve(deps.notifier.reportsDir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, reportFileName(report.incidentId));
  // Write then rename: a retried attempt or a crash never leaves half a report.
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, markdown, 'utf8');
  await rename(temporary, file);
  return { location: file };
}
