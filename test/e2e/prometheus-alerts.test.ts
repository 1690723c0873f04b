// The real alert path: Debian's Prometheus scrapes the sandbox service through
// the cluster's service proxy, evaluates `up{job="agent-native-framework"} == 0`,
// and Debian's Alertmanager posts the alert to the receiver, which opens the
// incident that then recovers the service.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertStackInstalled } from '../../local-stack/prometheus-stack.js';
import { npmStartArgs } from '../helpers/npm-start.js';
import { runToEnd } from '../helpers/processes.js';

describe('alerts from real Prometheus and Alertmanager', () => {
  it('fires ServiceDown for a bad rollout, opens the incident, and the incident recovers the service', async () => {
    // .ci/run installs both from Debian; without them this test cannot say anything.
    expect(alertStackInstalled(), 'apt-get install prometheus prometheus-alertmanager').toBe(true);
    const base = 17500;
    const { args, dataDir } = npmStartArgs(['--alerts', 'prometheus', '--auto-approve', '--monitor', '30s', '--exit-when-resolved'], base, 'incident-alerts-', [
      '--prometheus-port',
      String(base + 6),
      '--alertmanager-port',
      String(base + 7),
    ]);
    const run = await runToEnd('npm', args, 270_000);
    expect(run.code, `${run.stderr.slice(-2000)}\n${run.stdout.slice(-3000)}`).toBe(0);
    const summary = JSON.parse(
      run.stdout
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{')) ?? '{}',
    ) as { status?: string; diagnosis?: string };
    expect(summary).toMatchObject({ status: 'recovered', diagnosis: 'bad-rollout' });

    // The alert that opened it came from Alertmanager: its group and external URL are in the receiver's log.
    const deliveries = readFileSync(join(dataDir, 'logs/receiver.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"alerts delivered"'))
      .map((line) => JSON.parse(line) as { externalURL: string; groupKey: string; outcomes: { status: string }[] });
    const fromAlertmanager = deliveries.filter((d) => d.externalURL.includes(`:${base + 7}`) && d.groupKey.includes('alertname="ServiceDown"'));
    expect(fromAlertmanager.map((d) => d.outcomes[0]?.status)).toContain('firing');
  }, 300_000);
});
