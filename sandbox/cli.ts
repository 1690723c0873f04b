// The sandbox CLI:
//   npm run sandbox -- [--scenario NAME] [--port 6443] [--services N] [--kubeconfig PATH]
//     starts a sandbox, writes its kubeconfig and runs until Ctrl-C;
//   npm run sandbox -- break NAME [--service S] | heal [--service S] | status
//     change or inspect a running one through its admin API, found by its kubeconfig.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { scenarioNames, startSandbox, type ScenarioName } from './index.js';

const defaultKubeconfig = '.data/sandbox/kubeconfig';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const scenarioOption = () => new Option('--scenario <name>', 'scenario to start in').choices(scenarioNames).default('healthy');
const kubeconfigOption = () => new Option('--kubeconfig <path>', 'kubeconfig of the sandbox').default(defaultKubeconfig);

/** Calls the admin API of the sandbox a kubeconfig points at. */
async function admin(kubeconfigPath: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server;
  const token = kc.getCurrentUser()?.token;
  if (!server || !token) throw new Error(`${kubeconfigPath} names no server or token: is it a sandbox kubeconfig?`);
  // The sandbox answers plain http on the same port as https, which spares trusting its certificate here.
  const url = new URL(path, server.replace(/^https:/, 'http:'));
  const response = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }).catch((e: unknown) => {
    throw new Error(`no sandbox answers at ${url.origin} (${e instanceof Error ? e.message : String(e)}): is it running?`);
  });
  const result = (await response.json()) as { message?: string };
  if (!response.ok) throw new Error(result.message ?? `HTTP ${response.status}`);
  return result;
}

function printStatus(status: unknown): void {
  const { services, dependencies } = status as { services: { name: string; scenario: string; recovered: boolean }[]; dependencies: { anthropic: string } };
  const width = Math.max(...services.map((s) => s.name.length), 7);
  process.stdout.write(`${'SERVICE'.padEnd(width)}  SCENARIO           RECOVERED\n`);
  for (const s of services) process.stdout.write(`${s.name.padEnd(width)}  ${s.scenario.padEnd(17)}  ${s.recovered}\n`);
  process.stdout.write(`dependency anthropic: ${dependencies.anthropic}\n`);
}

const program = new Command('sandbox').description('Simulated Kubernetes cluster for the Service Down runbook');

program
  .command('start', { isDefault: true })
  .description('start a sandbox and run until Ctrl-C')
  .addOption(scenarioOption())
  .option('--port <port>', 'port on 127.0.0.1 (0 = any free port)', integer(0, 65535), 6443)
  .option('--host <address>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
  .option('--advertise-host <name>', 'host name clients use, written into the kubeconfig and the certificate')
  .option('--token-file <path>', 'also write the bearer token here (e.g. for Prometheus)')
  .option('--services <n>', 'copies of the service', integer(1, 999), 1)
  .addOption(kubeconfigOption())
  .option('--canary <value>', 'plant this value as a secret, a literal env value and in a log line')
  .option('--rollout-ms <ms>', 'about how long a rollout takes', integer(50, 600_000))
  .option('--crash-loop-ms <ms>', 'back-off between restarts of a crashing container', integer(50, 600_000))
  .action(
    async (o: {
      scenario: ScenarioName;
      port: number;
      host: string;
      advertiseHost?: string;
      tokenFile?: string;
      services: number;
      kubeconfig: string;
      canary?: string;
      rolloutMs?: number;
      crashLoopMs?: number;
    }) => {
      const kubeconfigPath = resolve(o.kubeconfig);
      const sandbox = await startSandbox({
        port: o.port,
        host: o.host,
        advertiseHost: o.advertiseHost,
        tokenFile: o.tokenFile ? resolve(o.tokenFile) : undefined,
        scenario: o.scenario,
        services: o.services,
        kubeconfigPath,
        canary: o.canary,
        timing: { rolloutMs: o.rolloutMs, crashLoopMs: o.crashLoopMs },
      });
      const port = new URL(sandbox.url).port;
      process.stdout.write(
        [
          `sandbox cluster on https://127.0.0.1:${port} (plain http on the same port)`,
          `kubeconfig: ${kubeconfigPath}`,
          `  export KUBECONFIG=${kubeconfigPath}`,
          `scenario ${o.scenario} on ${sandbox.serviceNames.length === 1 ? sandbox.serviceNames[0] : `${sandbox.serviceNames.length} services`}`,
          'Ctrl-C to stop',
          '',
        ].join('\n'),
      );
      const stop = () => {
        sandbox.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

program
  .command('break')
  .description('apply a scenario to a running sandbox')
  .argument('<scenario>', `one of ${scenarioNames.join(', ')}`, (value: string) => {
    if (!scenarioNames.includes(value as ScenarioName)) throw new InvalidArgumentError(`expected one of ${scenarioNames.join(', ')}`);
    return value;
  })
  .option('--service <name>', 'only this service (default: all)')
  .addOption(kubeconfigOption())
  .action(async (scenario: string, o: { service?: string; kubeconfig: string }) => {
    printStatus(await admin(o.kubeconfig, 'POST', '/sandbox/break', { scenario, ...(o.service ? { service: o.service } : {}) }));
  });

program
  .command('heal')
  .description('bring a running sandbox back to healthy')
  .option('--service <name>', 'only this service (default: all)')
  .addOption(kubeconfigOption())
  .action(async (o: { service?: string; kubeconfig: string }) => {
    printStatus(await admin(o.kubeconfig, 'POST', '/sandbox/heal', o.service ? { service: o.service } : {}));
  });

program
  .command('status')
  .description("show each service's scenario and whether it has recovered")
  .addOption(kubeconfigOption())
  .action(async (o: { kubeconfig: string }) => {
    printStatus(await admin(o.kubeconfig, 'GET', '/sandbox/status'));
  });

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`sandbox: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
