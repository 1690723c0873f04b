// Builds and sends an Alertmanager webhook (version 4) for the runbook's alert,
// byte-for-byte the shape Alertmanager posts, so `npm start` exercises the same
// receiver path a real Alertmanager does.
import { createHash } from 'node:crypto';
import type { ServiceRef } from '../../workflows/domain.js';
import type { Webhook } from '../receiver/alertmanager.js';

export function serviceDownWebhook(service: ServiceRef, status: 'firing' | 'resolved', startsAt: string, endsAt?: string): Webhook {
  const labels = {
    alertname: 'ServiceDown',
    cluster: service.cluster,
    namespace: service.namespace,
    deployment: service.deployment,
    job: service.deployment,
    severity: 'critical',
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16);
  return {
    version: '4',
    groupKey: `{}:{alertname="ServiceDown", deployment="${service.deployment}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'incident-response',
    groupLabels: { alertname: 'ServiceDown', deployment: service.deployment },
    commonLabels: labels,
    commonAnnotations: { summary: `${service.deployment} in ${service.namespace} is down` },
    externalURL: 'http://localhost:9093',
    alerts: [
      {
        status,
        labels,
        annotations: { summary: `${service.deployment} in ${service.namespace} is down`, description: `up{job="${service.deployment}"} == 0` },
        startsAt,
        endsAt: endsAt ?? '0001-01-01T00:00:00Z',
        generatorURL: `http://localhost:9090/graph?g0.expr=up%7Bjob%3D%22${service.deployment}%22%7D+%3D%3D+0`,
        fingerprint,
      },
    ],
  };
}

/** POSTs a webhook to the receiver; throws with the receiver's error text on a non-2xx. */
export async function postWebhook(receiverUrl: string, token: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${receiverUrl}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`receiver answered ${res.status}: ${text}`);
  return JSON.parse(text) as unknown;
}
