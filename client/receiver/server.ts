// The alert receiver: Alertmanager's webhook in, one durable incident per
// service out, with one `alerts` signal per service per delivery (signal-with-start,
// so a re-fired or redelivered alert joins the incident that is open). A webhook
// is all or nothing: every alert is checked before anything is sent, and one bad
// alert refuses the whole delivery with a 4xx naming each bad alert. Only Temporal
// being unreachable gets a 503, which Alertmanager retries; a retry is harmless
// because the workflow ID is the service. A fault of the receiver is a 500.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { WebhookSchema, planDelivery, webhookPath, type Problem, type ServiceDelivery } from './alertmanager.js';
import { TemporalRefusedError, TemporalUnavailableError, type IncidentGateway, type OpenIncidents, type ServiceOutcome } from './gateway.js';
import { outcomeOf } from './coalesce.js';
import { SpoolFullError, type DeliverySpool } from './spool.js';
import { registerDecisionsApi, type DecisionsApiOptions } from './decisions.js';
import { registerSlackChannel, type SlackChannelOptions } from './slack.js';
import { registerPagerDutyWebhook, type PagerDutyWebhookOptions } from './pagerduty.js';

export * from './gateway.js';

export interface ReceiverOptions {
  token: string;
  defaultCluster: string;
  /** The clusters served here (INCIDENT_CLUSTERS); alerts about others are refused. */
  clusters: readonly string[];
  gateway: IncidentGateway;
  log: Logger;
  /** Largest body accepted, in bytes (Alertmanager's grouped payloads stay far below). */
  bodyLimit?: number;
  /** RECEIVER_SPOOL_DIR: a 200 means on the receiver's disk, and the spool sends to Temporal behind it (spool.ts). */
  spool?: DeliverySpool;
  /** PagerDuty's v3 webhook (POST /pagerduty/webhook): its secret; absent, it is off. */
  pagerDuty?: Omit<PagerDutyWebhookOptions, 'log'>;
  /** The decisions API (POST /decisions, when people have tokens) and Slack (POST /slack/interactions and /slack/commands): absent, both are off. */
  decisions?: Omit<DecisionsApiOptions, 'log'> & { slack?: Omit<SlackChannelOptions, 'log' | 'key' | 'incidents' | 'clock'> };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of the bearer token (hashing first equalises lengths). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1]?.trim() ?? ''), digest(token)) && match !== null;
}

function httpError(status: number, error: string, detail?: unknown): Error & { statusCode: number; detail?: unknown } {
  return Object.assign(new Error(error), { statusCode: status, detail });
}

/** The most problems listed in a 422 body (the count says how many there were). */
const maxListedProblems = 100;

/** 422 for a delivery with bad alerts: every one named, what to do, and that nothing was recorded. */
function refusal(problems: Problem[], alertCount: number): Error {
  const bad = new Set(problems.map((p) => /^alerts\[(\d+)\]/.exec(p.path)?.[1] ?? p.path)).size;
  const listed = problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > listed.length ? `; and ${problems.length - listed.length} more (see detail)` : '';
  return httpError(
    422,
    `refused the whole delivery, nothing was recorded: ${bad} of ${alertCount} alerts ${bad === 1 ? 'is' : 'are'} invalid: ${listed.join('; ')}${more}`,
    problems.slice(0, maxListedProblems),
  );
}

export function buildReceiver(options: ReceiverOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const alerts = new Counter({
    name: 'incident_receiver_alerts_total',
    help: 'Alerts received, by status and result',
    labelNames: ['status', 'result'],
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'incident_receiver_request_seconds',
    help: 'Webhook request duration by HTTP status',
    labelNames: ['code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  // For the dashboard (deploy/grafana): what the incidents look like now, read from Temporal on each scrape.
  const gateway = options.gateway;
  new Gauge({
    name: 'incident_open',
    help: 'Open incidents by phase (Temporal visibility: IncidentPhase of running incident workflows)',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      this.reset();
      const open = await openIncidents();
      for (const [phase, n] of Object.entries(open?.byPhase ?? {})) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'incident_awaiting_approval',
    help: 'Open incidents with a mitigation waiting for a human decision',
    registers: [registry],
    async collect() {
      this.reset();
      const open = await openIncidents();
      if (open) this.set(open.awaitingApproval);
    },
  });
  // Both gauges of one scrape share one read; Temporal unreachable leaves them without a sample.
  let reading: Promise<OpenIncidents | undefined> | undefined;
  const openIncidents = (): Promise<OpenIncidents | undefined> => {
    reading ??= (gateway.openIncidents?.() ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .finally(() => setTimeout(() => (reading = undefined), 1_000).unref());
    return reading;
  };
  if (gateway.deliveryStats) {
    const stats = gateway.deliveryStats.bind(gateway);
    new Gauge({
      name: 'incident_receiver_signals',
      help: 'Signals sent to Temporal since the receiver started (kind=sent), deliveries folded into another one (folded) and answered as duplicates without a signal (duplicate)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const { signals, folded, duplicates } = stats();
        this.set({ kind: 'sent' }, signals);
        this.set({ kind: 'folded' }, folded);
        this.set({ kind: 'duplicate' }, duplicates);
      },
    });
  }
  const spool = options.spool;
  if (spool) {
    new Gauge({
      name: 'incident_receiver_spool_pending',
      help: 'Deliveries answered 200 and on disk, not yet in Temporal (RECEIVER_SPOOL_DIR)',
      registers: [registry],
      collect() {
        this.set(spool.stats().pending);
      },
    });
    new Gauge({
      name: 'incident_receiver_spool_oldest_seconds',
      help: 'Age of the oldest delivery not yet in Temporal: how far behind the spool is',
      registers: [registry],
      collect() {
        this.set(spool.stats().oldestPendingSeconds);
      },
    });
    new Gauge({
      name: 'incident_receiver_spool_deliveries',
      help: 'Deliveries the spool sent to Temporal (kind=delivered), dropped because Temporal refused them (dropped), and attempts repeated (retries)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const s = spool.stats();
        this.set({ kind: 'delivered' }, s.delivered);
        this.set({ kind: 'dropped' }, s.dropped);
        this.set({ kind: 'retries' }, s.retries);
      },
    });
  }
  const alertDuration = new Histogram({
    name: 'incident_receiver_alert_duration_seconds',
    help: 'From an alert firing to its resolution (startsAt to endsAt of resolved alerts): the time to mitigate as monitoring saw it',
    labelNames: ['alertname'],
    buckets: [60, 120, 300, 600, 900, 1800, 3600, 7200, 14400],
    registers: [registry],
  });
  /** Alertmanager may send a resolved alert more than once: each (fingerprint, startsAt) counts once. */
  const timed = new Set<string>();

  const app = Fastify({ logger: false, bodyLimit });
  // Alertmanager posts JSON; anything else is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain');

  // One error shape for everything: { error, detail? } with the right 4xx/5xx.
  app.setErrorHandler((err: FastifyError & { detail?: unknown }, req, reply) => {
    const status = err.statusCode ?? 500;
    const error =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `body larger than ${bodyLimit} bytes`
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `content-type must be application/json, got '${String(req.headers['content-type'] ?? 'none')}'`
          : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty: send the Alertmanager webhook JSON'
            : status === 400 && err.message.includes('JSON')
              ? `malformed JSON: ${err.message}`
              : status === 503
                ? err.message
                : status >= 500
                  ? "the receiver failed (a fault of the receiver, not of the alerts): see its log for 'webhook failed'"
                  : err.message;
    if (status >= 500) options.log.error({ err: err.message, stack: status === 503 ? undefined : err.stack }, 'webhook failed');
    void reply.code(status).send(err.detail === undefined ? { error } : { error, detail: err.detail });
  });
  app.setNotFoundHandler((req, reply) => {
    const decisions = options.decisions?.people.size
      ? ', decisions to POST /decisions'
      : ' (the decisions API is off: set APPROVER_TOKENS and DECISION_SIGNING_KEY)';
    void reply.code(404).send({ error: `no route ${req.method} ${req.url}: alerts go to POST /alerts/alertmanager${decisions}` });
  });

  // Before the body is read: an unauthenticated client gets nothing parsed, whatever it sends.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!tokenMatches(req.headers.authorization, options.token)) {
      await reply.code(401).send({ error: "missing or wrong bearer token: set Alertmanager's http_config.authorization.credentials to the receiver token" });
    }
  };
  const record = async (_req: FastifyRequest, reply: FastifyReply) => {
    requests.observe({ code: reply.statusCode }, reply.elapsedTime / 1000);
  };

  app.post('/alerts/alertmanager', { onRequest: authenticate, onResponse: record }, async (req, reply) => {
    const parsed = WebhookSchema.safeParse(req.body);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => ({ path: webhookPath(i.path), message: i.message }));
      throw httpError(
        422,
        `not an Alertmanager webhook payload: ${detail
          .slice(0, 3)
          .map((d) => `${d.path}: ${d.message}`)
          .join('; ')}`,
        detail.slice(0, maxListedProblems),
      );
    }
    const webhook = parsed.data;
    // Everything is checked before anything is sent: a delivery is recorded whole or not at all.
    const plan = planDelivery(webhook, { defaultCluster: options.defaultCluster, clusters: options.clusters });
    const problems = plan.problems.length > 0 ? plan.problems : plan.deliveries.flatMap((d) => options.gateway.check(d));
    if (problems.length > 0) {
      options.log.warn({ groupKey: webhook.groupKey, externalURL: webhook.externalURL, problems: problems.slice(0, 10) }, 'webhook refused: invalid alerts');
      throw refusal(problems, webhook.alerts.length);
    }
    if (webhook.truncatedAlerts > 0) {
      options.log.warn(
        { truncated: webhook.truncatedAlerts, groupKey: webhook.groupKey },
        'Alertmanager truncated this group: raise max_alerts in webhook_config',
      );
    }

    const settled = spool ? await spooled(spool, plan.deliveries) : await Promise.allSettled(plan.deliveries.map((d) => options.gateway.deliver(d)));
    for (const alert of webhook.alerts) {
      const key = `${alert.fingerprint ?? JSON.stringify(alert.labels)}@${alert.startsAt}`;
      const seconds = (Date.parse(alert.endsAt ?? '') - Date.parse(alert.startsAt)) / 1000;
      if (alert.status !== 'resolved' || !(seconds >= 0) || timed.has(key)) continue;
      timed.add(key);
      if (timed.size > 10_000) timed.delete(timed.values().next().value ?? key);
      alertDuration.observe({ alertname: alert.labels.alertname ?? 'unknown' }, seconds);
    }
    for (const [i, s] of settled.entries()) {
      const d = plan.deliveries[i];
      const result = s.status === 'fulfilled' ? s.value.result : 'failed';
      if (d?.received.firing) alerts.inc({ status: 'firing', result }, d.received.firing);
      if (d?.received.resolved) alerts.inc({ status: 'resolved', result }, d.received.resolved);
    }
    const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    if (failures.length > 0) {
      const recorded = outcomes.map((o) => o.workflowId);
      // A fault first (it needs a person), then a refusal (a retry cannot help), then an outage (a retry will).
      const fault = failures.find((f) => !(f instanceof TemporalUnavailableError) && !(f instanceof TemporalRefusedError));
      if (fault !== undefined) throw fault instanceof Error ? fault : new Error('a delivery failed with a value that is not an Error');
      const refused = failures.find((f) => f instanceof TemporalRefusedError);
      if (refused) {
        options.log.error({ err: refused.message, groupKey: webhook.groupKey, recorded }, 'Temporal refused the alerts');
        throw httpError(422, `${refused.message}${recorded.length ? ` (recorded before the refusal: ${recorded.join(', ')})` : ''}`);
      }
      const first = failures[0] as TemporalUnavailableError;
      options.log.error({ err: first.message, groupKey: webhook.groupKey, recorded }, 'Temporal is unreachable');
      throw httpError(503, `Temporal is unreachable or did not answer in time (${first.message}): the alerts are not recorded; retry`);
    }
    // Where it came from (Alertmanager's external URL and group) and what became of each service's alerts.
    // A redelivery of what the incidents already have (every outcome a duplicate) is routine in a storm: debug, not info.
    if (outcomes.every((o) => o.result === 'duplicate' || o.result === 'spooled'))
      options.log.debug({ groupKey: webhook.groupKey, outcomes }, 'alerts already delivered');
    else options.log.info({ externalURL: webhook.externalURL, groupKey: webhook.groupKey, outcomes }, 'alerts delivered');
    return reply.code(200).send({ incidents: outcomes, truncatedAlerts: webhook.truncatedAlerts });
  });

  if (options.pagerDuty) registerPagerDutyWebhook(app, { ...options.pagerDuty, log: options.log });
  const channels = options.decisions;
  if (channels && channels.people.size > 0) registerDecisionsApi(app, { ...channels, log: options.log });
  if (channels?.slack) {
    registerSlackChannel(app, {
      ...channels.slack,
      key: channels.key,
      incidents: channels.incidents,
      log: options.log,
      ...(channels.clock ? { clock: channels.clock } : {}),
    });
  }

  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async (_req, reply) => {
    // With a spool, alerts are taken while Temporal is away: ready while it has room.
    if (spool) return reply.code(spool.hasRoom() ? 200 : 503).send({ status: spool.hasRoom() ? 'ready' : 'spool full' });
    const ready = await options.gateway.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'temporal unreachable' });
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  return app;
}

/** The deliveries written to the spool: each one's outcome 'spooled'; a full spool is a 503, a disk that fails a 500. */
async function spooled(spool: DeliverySpool, deliveries: ServiceDelivery[]): Promise<PromiseSettledResult<ServiceOutcome>[]> {
  let results: ('spooled' | 'duplicate')[];
  try {
    results = await spool.accept(deliveries);
  } catch (err) {
    if (err instanceof SpoolFullError) throw httpError(503, `${err.message}: the alerts are not recorded`);
    throw err;
  }
  return deliveries.map((d, i) => ({ status: 'fulfilled', value: outcomeOf(d, results[i] ?? 'spooled') }));
}
