// The wire formats of the notification channels, from a (redacted) Notification:
// PagerDuty Events API v2, Slack incoming webhook, and a generic JSON webhook
// for the status page and tickets.
import { ApplicationFailure } from '@temporalio/common';
import type { Notification } from '../../workflows/domain.js';
import { sha256 } from '../digest.js';
import { truncate } from '../redact.js';
import { FailureTypes } from '../types.js';

const pagerActions = ['trigger', 'acknowledge', 'resolve'] as const;
type PagerAction = (typeof pagerActions)[number];

function isPagerAction(event: string): event is PagerAction {
  return (pagerActions as readonly string[]).includes(event);
}

/** Routing keys per escalation level: L2 and L3 fall back to L1's. */
export interface PagerRouting {
  routingKey: string;
  routingKeyL2?: string | undefined;
  routingKeyL3?: string | undefined;
}

/**
 * Each level its own PagerDuty alert: L1 keeps the incident's dedup key, L2 and L3 add
 * `/L2`, `/L3`. One key for all would fold L2 into L1's open alert, and nobody new is paged.
 */
export function pagerDedupKey(dedupKey: string, level: number): string {
  return level <= 1 ? dedupKey : `${dedupKey}/L${level}`;
}

const routingKeyOf = (routing: PagerRouting, level: number): string =>
  (level >= 3 ? routing.routingKeyL3 : undefined) ?? (level >= 2 ? routing.routingKeyL2 : undefined) ?? routing.routingKey;

/**
 * The Events v2 events of one pager notification: a trigger pages its level; an acknowledge
 * or resolve (its level: the highest paged) goes to every level up to it, so resolve closes them all.
 */
export function pagerDutyEvents(notification: Notification, routing: PagerRouting): object[] {
  const level = Math.min(3, Math.max(1, notification.level ?? 1));
  if (notification.event === 'trigger') return [pagerDutyEvent(notification, routingKeyOf(routing, level), pagerDedupKey(notification.dedupKey, level))];
  return [1, 2, 3].filter((l) => l <= level).map((l) => pagerDutyEvent(notification, routingKeyOf(routing, l), pagerDedupKey(notification.dedupKey, l)));
}

/** https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (acknowledge and resolve carry no payload). */
export function pagerDutyEvent(notification: Notification, routingKey: string, dedupKey = notification.dedupKey): object {
  const action = notification.event;
  if (!isPagerAction(action)) {
    throw ApplicationFailure.nonRetryable(`pager event '${action}' is not one of ${pagerActions.join(', ')}`, FailureTypes.BadRequest);
  }
  const base = { routing_key: routingKey, event_action: action, dedup_key: dedupKey };
  if (action !== 'trigger') return base;
  return {
    ...base,
    payload: {
      summary: truncate(notification.summary, 1024),
      source: 'incident-response',
      severity: notification.severity,
      custom_details: {
        incident: notification.incidentId,
        level: notification.level,
        details: notification.body,
        ...(notification.id ? { message_id: notification.id } : {}),
      },
    },
  };
}

/** https://api.slack.com/messaging/webhooks: `text` is the fallback, blocks carry the markdown (3000 chars per section). */
export function slackMessage(notification: Notification): object {
  return {
    text: truncate(notification.summary, 300),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${notification.summary}*`, 3000) } },
      ...(notification.body ? [{ type: 'section', text: { type: 'mrkdwn', text: truncate(notification.body, 3000) } }] : []),
      ...(notification.event === 'approval-request' && notification.action ? [decisionButtons(notification.incidentId, notification.action)] : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${notification.incidentId} · ${notification.event} · ${notification.severity}${notification.id ? ` · ${notification.id}` : ''}`,
          },
        ],
      },
    ],
  };
}

/** What a chat button names: the incident and its action. The click comes back signed by Slack to the receiver's /slack/interactions. */
export interface DecisionButtonValue {
  incident: string;
  action: number;
}

/** Block Kit buttons under an approval request (https://api.slack.com/reference/block-kit/block-elements#button). */
function decisionButtons(incident: string, action: number): object {
  const value = JSON.stringify({ incident, action } satisfies DecisionButtonValue);
  const button = (actionId: string, text: string, style?: 'primary' | 'danger') => ({
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    value,
    ...(style ? { style } : {}),
  });
  return {
    type: 'actions',
    block_id: `decide-${action}`,
    elements: [button('approve', 'Approve', 'primary'), button('reject', 'Reject', 'danger'), button('acknowledge', 'Acknowledge')],
  };
}

/**
 * The status page: public, so only the public text, the state (the event) and an
 * opaque reference that groups one incident's updates; no workflow ID, cluster,
 * namespace or severity.
 */
export function statusPageMessage(notification: Notification, sentAt: string): object {
  return {
    ...(notification.id ? { id: notification.id } : {}),
    incident: sha256(notification.dedupKey).slice(0, 16),
    event: notification.event,
    title: notification.summary,
    body: notification.body,
    sentAt,
  };
}

/** Ticket systems and stakeholders: the notification as JSON, plus when it was sent. */
export function webhookMessage(notification: Notification, sentAt: string): object {
  return { ...notification, sentAt };
}
