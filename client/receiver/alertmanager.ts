// Alertmanager's webhook payload (version 4), how each alert maps to the one
// service it is about, and how one delivery folds into one `alerts` signal per
// service. The webhook schema is lenient where Alertmanager adds fields; every
// value that goes on to Temporal is checked against the workflow's own schemas
// (the single source of the bounds), and every problem is reported at the path of
// the webhook field to fix, before anything is sent.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ServiceRefSchema, type ServiceRef } from '../../workflows/domain.js';
import type { Severity } from '../../workflows/input.js';
import {
  AlertFiredSignalSchema,
  AlertResolvedSignalSchema,
  incidentWorkflowId,
  maxAlertsPerSignal,
  type AlertFiredSignal,
  type AlertResolvedSignal,
} from '../../workflows/messages.js';
import { ClusterNameSchema } from '../config.js';

const Labels = z.record(z.string(), z.string());

export const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const WebhookSchema = z.object({
  version: z.literal('4', { error: 'unsupported webhook version: this receiver takes Alertmanager\'s version "4"' }),
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

/** What is wrong with a delivery, at the path of the webhook field to fix (`alerts[3].labels.team`). */
export interface Problem {
  path: string;
  message: string;
}

/** `alerts.0.labels.team` (zod's path) as people write it: `alerts[0].labels.team`. */
export function webhookPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}${field(String(key))}`), '').replace(/^\./, '') || '(root)';
}
const field = (key: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** A value quoted for a message: JSON-escaped (no raw control characters in logs), cut when long. */
const shown = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** Alertmanager's `severity` label onto the incident's four levels. */
export function severityOf(label: string): Severity {
  const s = label.toLowerCase();
  if (['warning', 'warn', 'minor'].includes(s)) return 'warning';
  if (['info', 'informational', 'low', 'none'].includes(s)) return 'info';
  if (['error', 'major', 'high'].includes(s)) return 'error';
  return 'critical';
}
const severityRank: Record<Severity, number> = { critical: 3, error: 2, warning: 1, info: 0 };

/**
 * As Alertmanager computes one, from the label set, for payloads that carry none:
 * the same alert gets the same fingerprint firing and resolved, whatever its length.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** One service's alerts of a delivery, folded into the one `alerts` signal it gets. */
export interface ServiceDelivery {
  service: ServiceRef;
  workflowId: string;
  /** The webhook's alerts about this service, by index (problems found later name them). */
  alerts: number[];
  /** How many of them fired and resolved, before deduplication and the cap. */
  received: { firing: number; resolved: number };
  /** Deduplicated by (fingerprint, startsAt), most severe first, at most maxAlertsPerSignal. */
  firing: AlertFiredSignal[];
  /** Deduplicated by fingerprint, most severe first, at most maxAlertsPerSignal. */
  resolved: AlertResolvedSignal[];
}

export interface DeliveryPlan {
  deliveries: ServiceDelivery[];
  /** Empty when every alert is valid; otherwise nothing of the delivery may be sent. */
  problems: Problem[];
}

export interface PlanOptions {
  /** The cluster of alerts without a `cluster` label. */
  defaultCluster: string;
  /** The clusters served here; an alert about another is refused. */
  clusters: readonly string[];
}

interface Mapped {
  index: number;
  service?: ServiceRef;
  severity: Severity;
  firing?: AlertFiredSignal;
  resolved?: AlertResolvedSignal;
}

/** What to do about a bad value, by the field of the workflow's alert it became. */
const hints: Record<string, string> = {
  name: 'shorten the alert name in the rule',
  summary: 'shorten the summary annotation in the rule (longer text belongs in the description, which the incident does not keep)',
  labels: "shorten this label's value in the alert rule, or drop the label with alert_relabel_configs",
  startsAt: 'Alertmanager sends RFC 3339 times such as 2026-11-27T10:00:00Z: check what sends this webhook',
  endsAt: 'Alertmanager sends RFC 3339 times such as 2026-11-27T10:05:00Z: check what sends this webhook',
  fingerprint: "Alertmanager's fingerprints are 16 hex characters: check what sends this webhook",
};

/**
 * Maps every alert of a webhook to its service from the labels `namespace`,
 * `deployment` (or `job`) and `cluster` (or the default cluster), checks what
 * would be signalled against the workflow's schemas, and folds the alerts of each
 * service into one delivery. Every bad alert is named; one is enough to refuse
 * the whole webhook, so nothing half-starts.
 */
export function planDelivery(webhook: Webhook, options: PlanOptions): DeliveryPlan {
  const problems: Problem[] = [];
  const mapped = webhook.alerts.map((alert, index) => mapAlert(webhook, alert, index, options, problems));
  if (problems.length > 0) return { deliveries: [], problems };

  const byService = new Map<string, Mapped[]>();
  for (const m of mapped) {
    if (!m.service) continue;
    const id = incidentWorkflowId(m.service);
    byService.set(id, [...(byService.get(id) ?? []), m]);
  }
  const deliveries = [...byService].map(([workflowId, alerts]): ServiceDelivery => {
    // Most severe first; Array.prototype.sort is stable, so the webhook's order breaks ties.
    const ranked = [...alerts].sort((a, b) => severityRank[b.severity] - severityRank[a.severity]);
    const firing = unique(
      ranked.flatMap((m) => (m.firing ? [m.firing] : [])),
      (a) => `${a.fingerprint}\u0000${a.startsAt}`,
    );
    const resolved = unique(
      ranked.flatMap((m) => (m.resolved ? [m.resolved] : [])),
      (a) => a.fingerprint,
    );
    return {
      service: alerts[0]?.service as ServiceRef,
      workflowId,
      alerts: alerts.map((m) => m.index),
      received: { firing: alerts.filter((m) => m.firing).length, resolved: alerts.filter((m) => m.resolved).length },
      firing: firing.slice(0, maxAlertsPerSignal),
      resolved: resolved.slice(0, maxAlertsPerSignal),
    };
  });
  return { deliveries, problems };
}

function unique<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(key(item)) && Boolean(seen.add(key(item))));
}

function mapAlert(webhook: Webhook, alert: Alert, index: number, options: PlanOptions, problems: Problem[]): Mapped {
  const at = `alerts[${index}]`;
  const labels = { ...webhook.commonLabels, ...alert.labels };
  // A label the alert does not carry itself came from the group's common labels: point there.
  const labelPath = (key: string) => (Object.hasOwn(alert.labels, key) ? `${at}.labels${field(key)}` : `commonLabels${field(key)}`);
  const problem = (path: string, message: string) => problems.push({ path, message });
  const severity = severityOf(labels.severity ?? 'critical');

  const namespace = labels.namespace;
  const deploymentKey = labels.deployment !== undefined ? 'deployment' : 'job';
  const deployment = labels[deploymentKey];
  if (namespace === undefined) problem(`${at}.labels.namespace`, "missing: add a 'namespace' label in the alert rule so the incident knows the service");
  if (deployment === undefined)
    problem(`${at}.labels.deployment`, "missing, and no 'job' label either: add one in the alert rule so the incident knows the service");

  let cluster = options.defaultCluster;
  if (labels.cluster !== undefined) {
    const parsed = ClusterNameSchema.safeParse(labels.cluster);
    if (!parsed.success) {
      problem(
        labelPath('cluster'),
        `${shown(labels.cluster)} is not a cluster name (${parsed.error.issues[0]?.message}): fix the cluster label of the rule or of Prometheus' external_labels`,
      );
    } else if (!options.clusters.includes(parsed.data)) {
      problem(labelPath('cluster'), `cluster '${parsed.data}' is not served here (served: ${options.clusters.join(', ')}); add it to INCIDENT_CLUSTERS`);
    }
    cluster = labels.cluster;
  }

  let service: ServiceRef | undefined;
  if (namespace !== undefined && deployment !== undefined) {
    const parsed = ServiceRefSchema.safeParse({ cluster, namespace, deployment });
    if (parsed.success) service = parsed.data;
    for (const issue of parsed.error?.issues ?? []) {
      if (issue.path[0] === 'namespace') {
        problem(
          labelPath('namespace'),
          `${shown(namespace)} is not a Kubernetes namespace name (${issue.message}): lower-case letters, digits and '-', at most 63 characters; fix the rule's label`,
        );
      } else if (issue.path[0] === 'deployment') {
        problem(
          labelPath(deploymentKey),
          `${shown(deployment)} is not a Kubernetes deployment name (${issue.message}): lower-case letters, digits, '-' and '.', at most 253 characters; fix the rule's label`,
        );
      }
      // A bad cluster is reported above, with what to do about it.
    }
  }

  const fingerprint = alert.fingerprint || labelsFingerprint(labels);
  if (alert.status === 'resolved') {
    const resolved: AlertResolvedSignal = { fingerprint, ...(alert.endsAt === undefined ? {} : { endsAt: alert.endsAt }) };
    const parsed = AlertResolvedSignalSchema.safeParse(resolved);
    for (const issue of parsed.error?.issues ?? []) {
      const key = String(issue.path[0]);
      problem(`${at}.${key}`, `${issue.message}${key === 'endsAt' ? ` (got ${shown(alert.endsAt ?? '')})` : ''}: ${hints[key] ?? 'fix it'}`);
    }
    return { index, service, severity, resolved };
  }

  const summaryPath = alert.annotations.summary !== undefined ? `${at}.annotations.summary` : 'commonAnnotations.summary';
  const firing: AlertFiredSignal = {
    name: labels.alertname ?? 'ServiceDown',
    severity,
    summary: alert.annotations.summary ?? webhook.commonAnnotations.summary ?? `${deployment ?? 'the service'} in ${namespace ?? 'its namespace'} is down`,
    labels,
    startsAt: alert.startsAt,
    fingerprint,
  };
  const parsed = AlertFiredSignalSchema.safeParse(firing);
  for (const issue of parsed.error?.issues ?? []) {
    const [key, label] = issue.path.map(String);
    const path =
      key === 'name'
        ? labelPath('alertname')
        : key === 'summary'
          ? summaryPath
          : key === 'labels' && label !== undefined
            ? labelPath(label)
            : `${at}.${webhookPath(issue.path)}`;
    problem(path, `${issue.message}${key === 'startsAt' ? ` (got ${shown(alert.startsAt)})` : ''}: ${hints[key ?? ''] ?? 'fix it in the alert rule'}`);
  }
  return { index, service, severity, firing };
}
