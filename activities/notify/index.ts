// notify(): the incident's messages to the pager, chat, status page and
// ticket system, and writeReport(): the incident summary. Every outgoing text
// is redacted first.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Channel, Notification } from '../../workflows/domain.js';
import type { ActivityDeps } from '../deps.js';
import { redact } from '../redact.js';
import type { IncidentReport } from '../types.js';
import { postJson } from './http.js';
import { appendToOutbox } from './outbox.js';
import { pagerDutyEvent, slackMessage, webhookMessage } from './payloads.js';

function redacted(notification: Notification): Notification {
  return { ...notification, summary: redact.text(notification.summary), body: redact.text(notification.body) };
}

/** Where a channel's messages go, and in which format; undefined: no URL configured. */
function target(deps: ActivityDeps, channel: Channel, message: Notification, sentAt: string): { url: string; payload: object } | undefined {
  const config = deps.notifier;
  switch (channel) {
    case 'pager':
      return config.pagerduty ? { url: config.pagerduty.eventsUrl, payload: pagerDutyEvent(message, config.pagerduty.routingKey) } : undefined;
    case 'chat':
      return config.chatWebhookUrl ? { url: config.chatWebhookUrl, payload: slackMessage(message) } : undefined;
    case 'status-page':
      return config.statusPageWebhookUrl ? { url: config.statusPageWebhookUrl, payload: webhookMessage(message, sentAt) } : undefined;
    case 'ticket':
      return config.ticketWebhookUrl ? { url: config.ticketWebhookUrl, payload: webhookMessage(message, sentAt) } : undefined;
  }
}

export async function notify(deps: ActivityDeps, notification: Notification): Promise<void> {
  const message = redacted(notification);
  const sentAt = deps.clock().toISOString();
  const to = target(deps, message.channel, message, sentAt);
  if (to) await postJson(deps, message.channel, to.url, to.payload, message.id);
  else await appendToOutbox(deps.notifier.outboxDir, message.channel, { sentAt, ...message });
  deps.logger.info('notification sent', { channel: message.channel, event: message.event, incidentId: message.incidentId, via: to ? 'webhook' : 'outbox' });
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
