// PagerDuty into the incident: a v3 webhook subscription posts here, signed with
// its secret (X-PagerDuty-Signature: v1=<HMAC-SHA256 of the raw body>, several
// during a secret's rotation). An incident.acknowledged whose alert is one of an
// incident's pages (its dedup key, or that key's /L2, /L3) acknowledges the
// incident as the person PagerDuty names. Other events, and pages of incidents
// that are over, are answered 200 and ignored (PagerDuty would retry anything else).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { IncidentStatus } from '../../workflows/messages.js';

export interface PagerDutyWebhookOptions {
  secret: string;
  incidents: { status(ref: string): Promise<IncidentStatus>; acknowledge(ref: string, by: string): Promise<void> };
  log: Logger;
}

const WebhookSchema = z.object({
  event: z.object({
    id: z.string().min(1).max(200),
    event_type: z.string().min(1).max(200),
    agent: z.object({ summary: z.string().max(200).optional() }).nullish(),
    data: z.object({ incident_key: z.string().max(1000).nullish() }).passthrough(),
  }),
});

/** Whether `header` carries a v1 signature of `body` under `secret`. */
export function pagerDutySignatureMatches(header: string | undefined, body: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  return (header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .some((s) => {
      const given = Buffer.from(s.slice(3), 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** The incident's workflow ID and its L1 dedup key, from the dedup key of any of its pages; undefined when it is not one of ours. */
export function incidentOfDedupKey(key: string): { workflowId: string; dedupKey: string } | undefined {
  const dedupKey = key.replace(/\/L[23]$/, '');
  const slash = dedupKey.lastIndexOf('/');
  const workflowId = dedupKey.slice(0, slash);
  return workflowId.startsWith('incident/') && slash < dedupKey.length - 1 ? { workflowId, dedupKey } : undefined;
}

export function registerPagerDutyWebhook(app: FastifyInstance, options: PagerDutyWebhookOptions): void {
  const seen = new Map<string, number>();
  app.register(async (scope) => {
    // The signature covers the raw body: this route keeps it as PagerDuty sent it.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => done(null, body));

    scope.post('/pagerduty/webhook', async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const signature = req.headers['x-pagerduty-signature'];
      if (!pagerDutySignatureMatches(typeof signature === 'string' ? signature : undefined, raw, options.secret)) {
        return reply.code(401).send({ error: "missing or wrong X-PagerDuty-Signature: set PAGERDUTY_WEBHOOK_SECRET to the webhook subscription's secret" });
      }
      let event: z.infer<typeof WebhookSchema>['event'];
      try {
        event = WebhookSchema.parse(JSON.parse(raw)).event;
      } catch {
        return reply.code(422).send({ error: 'not a PagerDuty v3 webhook event ({event: {id, event_type, data}})' });
      }
      const now = Date.now();
      for (const [id, until] of seen) if (until <= now) seen.delete(id);
      if (seen.has(event.id)) return reply.code(200).send({ ignored: `event ${event.id} was taken already` });
      if (event.event_type !== 'incident.acknowledged') return reply.code(200).send({ ignored: `event type ${event.event_type}` });
      const ours = event.data.incident_key ? incidentOfDedupKey(event.data.incident_key) : undefined;
      if (!ours) return reply.code(200).send({ ignored: 'not a page of an incident here' });
      const status = await options.incidents.status(ours.workflowId).catch(() => undefined);
      if (status?.dedupKey !== ours.dedupKey || status.phase === 'resolved') {
        return reply.code(200).send({ ignored: `${ours.workflowId}: the incident this page belongs to is over` });
      }
      const by = `${event.agent?.summary?.trim() || 'someone'} (PagerDuty)`;
      await options.incidents.acknowledge(ours.workflowId, by);
      seen.set(event.id, now + 60 * 60_000);
      options.log.info({ incident: ours.workflowId, by, event: event.id }, 'acknowledged from PagerDuty');
      return reply.code(200).send({ acknowledged: ours.workflowId, by });
    });
  });
}
