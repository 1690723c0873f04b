// The real alert path for the local stack: Debian's Prometheus scrapes the
// service's metrics endpoint through the cluster's service proxy and evaluates
// the runbook's alert (`up{job="agent-native-framework"} == 0`); Debian's
// Alertmanager sends it to the receiver's webhook with the bearer token.
// Intervals are short so a demo fires within seconds; deploy/ has the
// production-shaped configs.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { httpAnswers, waitFor, type ProcessGroup } from './processes.js';

export interface AlertStackOptions {
  dataDir: string;
  /** The cluster API server (sandbox) URL and its bearer token, for the service proxy scrape. */
  clusterUrl: string;
  clusterToken: string;
  namespace: string;
  service: string;
  cluster: string;
  receiverUrl: string;
  receiverToken: string;
  prometheusPort: number;
  alertmanagerPort: number;
}

export const prometheusBinary = '/usr/bin/prometheus';
export const alertmanagerBinary = '/usr/bin/prometheus-alertmanager';

export function alertStackInstalled(): boolean {
  return existsSync(prometheusBinary) && existsSync(alertmanagerBinary);
}

/** The Prometheus config: one scrape job named after the service, the runbook's rule. */
export function prometheusConfig(o: AlertStackOptions, tokenFile: string, rulesFile: string): string {
  const url = new URL(o.clusterUrl);
  return stringify({
    global: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '1s' },
    rule_files: [rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${o.alertmanagerPort}`] }] }] },
    scrape_configs: [
      {
        job_name: o.service,
        scheme: url.protocol.replace(':', ''),
        metrics_path: `/api/v1/namespaces/${o.namespace}/services/${o.service}:8000/proxy/metrics`,
        authorization: { credentials_file: tokenFile },
        static_configs: [{ targets: [url.host], labels: { namespace: o.namespace, deployment: o.service, cluster: o.cluster } }],
      },
    ],
  });
}

export function prometheusRules(o: AlertStackOptions): string {
  return stringify({
    groups: [
      {
        name: 'service-down',
        rules: [
          {
            alert: 'ServiceDown',
            expr: `up{job="${o.service}"} == 0`,
            for: '4s',
            labels: { severity: 'critical' },
            annotations: { summary: `${o.service} in ${o.namespace} is down`, description: 'The metrics endpoint does not answer.' },
          },
        ],
      },
    ],
  });
}

export function alertmanagerConfig(o: AlertStackOptions, tokenFile: string): string {
  return stringify({
    route: {
      receiver: 'incident-response',
      group_by: ['alertname', 'cluster', 'namespace', 'deployment'],
      group_wait: '1s',
      group_interval: '5s',
      repeat_interval: '1h',
    },
    receivers: [
      {
        name: 'incident-response',
        webhook_configs: [
          {
            url: `${o.receiverUrl}/alerts/alertmanager`,
            send_resolved: true,
            max_alerts: 0,
            http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } },
          },
        ],
      },
    ],
  });
}

export interface AlertStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
}

export async function startAlertStack(group: ProcessGroup, o: AlertStackOptions): Promise<AlertStack> {
  if (!alertStackInstalled()) {
    throw new Error(`Prometheus and Alertmanager are not installed: apt-get install prometheus prometheus-alertmanager (Debian), then run again`);
  }
  const dir = join(o.dataDir, 'alerting');
  mkdirSync(join(dir, 'prometheus-data'), { recursive: true });
  mkdirSync(join(dir, 'alertmanager-data'), { recursive: true });
  // Tokens go to files readable by the owner only: neither appears on a command line.
  const clusterTokenFile = join(dir, 'cluster-token');
  const receiverTokenFile = join(dir, 'receiver-token');
  writeFileSync(clusterTokenFile, o.clusterToken, { mode: 0o600 });
  writeFileSync(receiverTokenFile, o.receiverToken, { mode: 0o600 });
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(rulesFile, prometheusRules(o));
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(o, clusterTokenFile, rulesFile));
  writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerConfig(o, receiverTokenFile));

  group.start('alertmanager', alertmanagerBinary, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'alertmanager-data')}`,
    `--web.listen-address=127.0.0.1:${o.alertmanagerPort}`,
    '--cluster.listen-address=', // a single instance: no gossip port
  ]);
  group.start('prometheus', prometheusBinary, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${o.prometheusPort}`,
  ]);
  const prometheusUrl = `http://127.0.0.1:${o.prometheusPort}`;
  const alertmanagerUrl = `http://127.0.0.1:${o.alertmanagerPort}`;
  await waitFor(() => httpAnswers(`${alertmanagerUrl}/-/ready`), 'Alertmanager', 30_000);
  await waitFor(() => httpAnswers(`${prometheusUrl}/-/ready`), 'Prometheus', 30_000);
  return { prometheusUrl, alertmanagerUrl };
}
