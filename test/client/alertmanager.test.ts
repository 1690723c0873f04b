// The receiver's reading of an Alertmanager webhook, without a server: which
// services a delivery is about, what each gets (one folded signal), and every bad
// alert named at the field to fix, so nothing of a bad delivery is sent.
import { describe, expect, it } from 'vitest';
import { WebhookSchema, labelsFingerprint, planDelivery, severityOf, webhookPath, type Webhook } from '../../client/receiver/alertmanager.js';
import { maxAlertsPerSignal } from '../../workflows/messages.js';

const options = { defaultCluster: 'prod', clusters: ['prod', 'staging'] };

function webhook(alerts: Record<string, unknown>[], extra: Record<string, unknown> = {}): Webhook {
  return WebhookSchema.parse({ version: '4', groupKey: 'g', status: 'firing', receiver: 'incident', alerts, ...extra });
}

const firing = (labels: Record<string, string>, startsAt = '2026-11-27T10:00:00Z', fingerprint?: string) => ({
  status: 'firing',
  labels: { alertname: 'ServiceDown', ...labels },
  startsAt,
  ...(fingerprint ? { fingerprint } : {}),
});

describe('an Alertmanager delivery, planned', () => {
  it('folds the alerts of each service into one delivery, most severe first, on the default cluster without a cluster label', () => {
    const plan = planDelivery(
      webhook([
        firing({ namespace: 'payments', deployment: 'api', severity: 'warning' }, '2026-11-27T10:00:00Z', 'aaaaaaaaaaaaaaaa'),
        firing({ namespace: 'payments', deployment: 'api', severity: 'critical' }, '2026-11-27T10:01:00Z', 'bbbbbbbbbbbbbbbb'),
        firing({ namespace: 'payments', job: 'worker', cluster: 'staging' }),
      ]),
      options,
    );
    expect(plan.problems).toEqual([]);
    expect(plan.deliveries.map((d) => d.workflowId)).toEqual(['incident/prod/payments/api', 'incident/staging/payments/worker']);
    const api = plan.deliveries[0];
    expect(api?.firing.map((a) => a.severity)).toEqual(['critical', 'warning']);
    expect(api?.received).toEqual({ firing: 2, resolved: 0 });
  });

  it('deduplicates repeats and caps one signal at maxAlertsPerSignal, counting what it received', () => {
    const alerts = Array.from({ length: 60 }, (_, i) =>
      firing({ namespace: 'ns', deployment: 'd' }, `2026-11-27T10:${String(i % 30).padStart(2, '0')}:00Z`, 'cccccccccccccccc'),
    );
    const plan = planDelivery(webhook(alerts), options);
    expect(plan.deliveries).toHaveLength(1);
    expect(plan.deliveries[0]?.received.firing).toBe(60);
    expect(plan.deliveries[0]?.firing).toHaveLength(Math.min(30, maxAlertsPerSignal));
  });

  it('refuses the whole delivery when one alert is bad, naming each bad field and what to do', () => {
    const plan = planDelivery(
      webhook([
        firing({ namespace: 'payments', deployment: 'api' }),
        firing({ deployment: 'api' }),
        firing({ namespace: 'Not_A_Namespace', deployment: 'api' }),
        firing({ namespace: 'payments', deployment: 'api', cluster: 'elsewhere' }),
      ]),
      options,
    );
    expect(plan.deliveries).toEqual([]);
    expect(plan.problems.map((p) => p.path)).toEqual(['alerts[1].labels.namespace', 'alerts[2].labels.namespace', 'alerts[3].labels.cluster']);
    expect(plan.problems[0]?.message).toMatch(/add a 'namespace' label/);
    expect(plan.problems[2]?.message).toMatch(/not served here .*INCIDENT_CLUSTERS/);
  });

  it('refuses a webhook of another version or with no alerts, saying which', () => {
    const v3 = WebhookSchema.safeParse({ version: '3', groupKey: 'g', status: 'firing', receiver: 'r', alerts: [firing({})] });
    expect(v3.success).toBe(false);
    expect(v3.error?.issues[0]?.message).toMatch(/version "4"/);
    const empty = WebhookSchema.safeParse({ version: '4', groupKey: 'g', status: 'firing', receiver: 'r', alerts: [] });
    expect(empty.error?.issues[0]?.message).toMatch(/alerts is empty/);
  });
});

describe('the pieces', () => {
  it('maps severities onto four levels, unknown ones to critical', () => {
    expect(['warn', 'minor', 'low', 'major', 'page', 'CRITICAL'].map(severityOf)).toEqual(['warning', 'warning', 'info', 'error', 'critical', 'critical']);
  });

  it('gives the same label set the same fingerprint whatever the order, and paths as people write them', () => {
    expect(labelsFingerprint({ a: '1', b: '2' })).toBe(labelsFingerprint({ b: '2', a: '1' }));
    expect(labelsFingerprint({ a: '1' })).not.toBe(labelsFingerprint({ a: '2' }));
    expect(webhookPath(['alerts', 3, 'labels', 'app.kubernetes.io/name'])).toBe('alerts[3].labels["app.kubernetes.io/name"]');
    expect(webhookPath([])).toBe('(root)');
  });
});
