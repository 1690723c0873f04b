// npm run cluster -- [--scenario NAME] [--port 6443] [--services N] [--dir PATH]
// Starts a real Kubernetes control plane on loopback with the runbook's service
// on it, writes its kubeconfigs and runs until Ctrl-C, which stops every
// component. The binaries come from `npm run provision:cluster`.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { scenarioNames, startControlPlane, type ControlPlane } from './index.js';
import type { ScenarioName } from '../sandbox/index.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const opts = new Command('npm run cluster --')
  .description("A real Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler, kwok nodes) with the runbook's service, on loopback")
  .addOption(new Option('--scenario <name>', 'how the service is broken once it runs').choices(scenarioNames).default('healthy'))
  .option('--port <port>', "the API server's port on 127.0.0.1 (0 = any free port)", integer(0, 65535), 6443)
  .option('--services <n>', 'copies of the service', integer(1, 50), 1)
  .option('--dir <path>', 'state, kubeconfigs and logs (emptied at start)', '.data/control-plane')
  .parse()
  .opts<{ scenario: ScenarioName; port: number; services: number; dir: string }>();

const say = (line: string) => process.stderr.write(`${line}\n`);
const started = Date.now();
say('starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1...');
let plane: ControlPlane | undefined;
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say('stopping the control plane...');
  await plane?.close();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
try {
  plane = await startControlPlane({ dir: resolve(opts.dir), port: opts.port, scenario: opts.scenario, services: opts.services, say });
  process.stdout.write(
    [
      `control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.url}, scenario ${opts.scenario}`,
      `  admin:   export KUBECONFIG=${plane.kubeconfigPath}`,
      `  worker:  ${plane.workerKubeconfigPath} (ServiceAccount incident-worker, deploy/kubernetes/rbac.yaml)`,
      `  worker settings: PROBE_VIA=pod-network (step 5 reads the pods' own dependency checks; to probe from the worker too: DEPENDENCY_URLS=anthropic=${plane.dependencyUrl})`,
      `  logs:    ${resolve(opts.dir, 'logs')}`,
      'Press Ctrl-C to stop it.',
      '',
    ].join('\n'),
  );
} catch (err) {
  say(`npm run cluster failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
