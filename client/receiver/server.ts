// The alert receiver: Alertmanager's webhook in, one durable incident per
// service out (signal-with-start, so a re-fired or redelivered alert joins the
// incident that is open). Bad input gets a 4xx with a JSON error naming what is
// wrong, and nothing is started. Temporal trouble gets a 503, which Alertmanager
// retries; a retry is harmless because the workflow ID is the service.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { AlertMappingError, WebhookSchema, serviceAlerts, type ServiceAlert } from './alertmanager.js';

export interface AlertOutcome {
  workflowId: string;
  service: string;
  status: ServiceAlert['status'];
  /** signalled: joined or started; no-open-incident: a resolved alert for a service with none open. */
  result: 'signalled' | 'no-open-incident';
}

/** What the receiver needs from Temporal (client/incidents.ts implements it). */
export interface IncidentGateway {
  /** Firing: signal-with-start; resolved: signal the open incident, if any. */
  deliver(alert: ServiceAlert): Promise<AlertOutcome>;
  /** Temporal answers. */
  ready(): Promise<boolean>;
}

export interface ReceiverOptions {
  token: string;
  defaultCluster: string;
  gateway: IncidentGateway;
  log: Logger;
  /** Largest body accepted, in bytes (Alertmanager's grouped payloads stay far below). */
  bodyLimit?: number;
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

export function buildReceiver(options: ReceiverOptions): FastifyInstance {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const alerts = new Counter({ name: 'incident_receiver_alerts_total', help: 'Alerts received, by status and result', labelNames: ['status', 'result'], registers: [registry] });
  const requests = new Histogram({
    name: 'incident_receiver_request_seconds',
    help: 'Webhook request duration by HTTP status',
    labelNames: ['code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024 });
  // Alertmanager posts JSON; anything else is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain');

  // One error shape for everything: { error, detail? } with the right 4xx/5xx.
  app.setErrorHandler((err: FastifyError & { detail?: unknown }, _req, reply) => {
    const status = err.statusCode ?? 500;
    const error =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `body larger than ${options.bodyLimit ?? 1024 * 1024} bytes`
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? `content-type must be application/json, got '${String(_req.headers['content-type'] ?? 'none')}'`
      : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty: send the Alertmanager webhook JSON'
      : status === 400 && err.message.includes('JSON') ? `malformed JSON: ${err.message}`
      : status >= 500 ? 'temporarily unable to record the alert; retry' : err.message;
    if (status >= 500) options.log.error({ err: err.message }, 'webhook failed');
    void reply.code(status).send(err.detail === undefined ? { error } : { error, detail: err.detail });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url}: alerts go to POST /alerts/alertmanager` });
  });

  app.post('/alerts/alertmanager', async (req, reply) => {
    const end = requests.startTimer();
    try {
      if (!tokenMatches(req.headers.authorization, options.token)) {
        throw httpError(401, "missing or wrong bearer token: set Alertmanager's http_config.authorization.credentials to the receiver token");
      }
      const parsed = WebhookSchema.safeParse(req.body);
      if (!parsed.success) {
        throw httpError(422, 'not an Alertmanager webhook payload', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      }
      let mapped: ServiceAlert[];
      try {
        mapped = serviceAlerts(parsed.data, options.defaultCluster);
      } catch (err) {
        if (err instanceof AlertMappingError) throw httpError(422, err.message);
        throw err;
      }
      if (parsed.data.truncatedAlerts > 0) {
        options.log.warn({ truncated: parsed.data.truncatedAlerts, groupKey: parsed.data.groupKey }, 'Alertmanager truncated this group: raise max_alerts in webhook_config');
      }
      let outcomes: AlertOutcome[];
      try {
        outcomes = await Promise.all(mapped.map((alert) => options.gateway.deliver(alert)));
      } catch (err) {
        options.log.error({ err: err instanceof Error ? err.message : String(err) }, 'Temporal did not take the alert');
        throw httpError(503, 'temporarily unable to record the alert; retry');
      }
      for (const o of outcomes) alerts.inc({ status: o.status, result: o.result });
      // Where it came from (Alertmanager's external URL and group) and what became of each alert.
      options.log.info({ externalURL: parsed.data.externalURL, groupKey: parsed.data.groupKey, outcomes }, 'alerts delivered');
      end({ code: 200 });
      return reply.code(200).send({ incidents: outcomes, truncatedAlerts: parsed.data.truncatedAlerts });
    } catch (err) {
      end({ code: (err as { statusCode?: number }).statusCode ?? 500 });
      throw err;
    }
  });

  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async (_req, reply) => {
    const ready = await options.gateway.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'temporal unreachable' });
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  return app;
}
