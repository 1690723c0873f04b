// Alertmanager's webhook payload (version 4) and how each alert maps to the one
// service it is about. The schema is strict where a mistake would open an
// incident for the wrong service, and lenient where Alertmanager adds fields.
import { z } from 'zod';
import { ServiceRefSchema, type ServiceRef } from '../../workflows/domain.js';

const Labels = z.record(z.string(), z.string());

export const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).optional(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const WebhookSchema = z.object({
  version: z.literal('4', { error: "unsupported webhook version: this receiver takes Alertmanager's version \"4\"" }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertSchema).min(1, 'alerts is empty: nothing to do').max(1000),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/** One alert, resolved to its service, ready for signal-with-start. */
export interface ServiceAlert {
  service: ServiceRef;
  status: 'firing' | 'resolved';
  name: string;
  severity: string;
  summary: string;
  startsAt: string;
  fingerprint: string;
  labels: Record<string, string>;
}

export class AlertMappingError extends Error {
  override name = 'AlertMappingError';
}

/**
 * Maps every alert of a webhook to its service from the labels `namespace`,
 * `deployment` (or `job`) and `cluster` (or the default cluster). One bad alert
 * rejects the whole delivery, so nothing half-starts; the message names it.
 */
export function serviceAlerts(webhook: Webhook, defaultCluster: string): ServiceAlert[] {
  return webhook.alerts.map((alert, index) => {
    const labels = { ...webhook.commonLabels, ...alert.labels };
    const where = `alerts[${index}] (${labels.alertname ?? 'unnamed'})`;
    const deployment = labels.deployment ?? labels.job;
    if (!labels.namespace) throw new AlertMappingError(`${where} has no 'namespace' label: add it in the alert rule so the incident knows the service`);
    if (!deployment) throw new AlertMappingError(`${where} has neither a 'deployment' nor a 'job' label: add one in the alert rule`);
    const parsed = ServiceRefSchema.safeParse({ cluster: labels.cluster ?? defaultCluster, namespace: labels.namespace, deployment });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AlertMappingError(`${where}: label for ${issue?.path.join('.') ?? 'service'} is not valid (${issue?.message ?? 'invalid'})`);
    }
    return {
      service: parsed.data,
      status: alert.status,
      name: labels.alertname ?? 'ServiceDown',
      severity: labels.severity ?? 'critical',
      summary: alert.annotations.summary ?? webhook.commonAnnotations.summary ?? `${deployment} in ${labels.namespace} is down`,
      startsAt: alert.startsAt,
      // Alertmanager always sends one; a hand-made payload may not.
      fingerprint: alert.fingerprint ?? `${parsed.data.cluster}/${parsed.data.namespace}/${deployment}/${labels.alertname ?? ''}`,
      labels,
    };
  });
}
