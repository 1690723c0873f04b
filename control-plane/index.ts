// A real Kubernetes control plane on loopback, with the runbook's service on it:
// etcd, kube-apiserver (RBAC on), kube-controller-manager, kube-scheduler and
// kwok (components.ts), the world created through the API (world.ts) and the
// node agent acting as the nodes' kubelet and the service's containers
// (node-agent.ts). The incident worker gets a kubeconfig of its own, with a
// token of the `incident-worker` ServiceAccount bound by deploy/kubernetes/rbac.yaml,
// so every call it makes passes the real RBAC authorizer.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { healServices, breakServices, scenarioNames, type ScenarioName } from '../sandbox/scenarios.js';
import { serviceRecovered, servicesSettled } from '../sandbox/cluster.js';
import { writeKubeconfig } from '../sandbox/kubeconfig.js';
import { resolveTiming } from '../sandbox/timing.js';
import type { ServiceState } from '../sandbox/world.js';
import { R } from '../sandbox/resources.js';
import { mapSelectorMatcher } from '../sandbox/selectors.js';
import type { Store } from '../sandbox/store.js';
import type { Pod, Service } from '../sandbox/types.js';
import { claimPodNetwork, type PodNetwork } from './addresses.js';
import { RawApi } from './api.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { FaultRule } from '../sandbox/faults.js';
import { choosePorts, readAudit, startComponents } from './components.js';
import type { AuditEntry } from '../sandbox/audit.js';
import { idempotencyKeyAnnotation } from '../activities/kube/mutation.js';
import { clusterName, makeCredentials } from './credentials.js';
import { startNodeAgent } from './node-agent.js';
import { seedRealWorld } from './world.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
export const rbacManifest = join(root, 'deploy', 'kubernetes', 'rbac.yaml');

export interface ControlPlaneOptions {
  /** Where etcd's data, the credentials, kubeconfigs and component logs go (emptied first: each start is a new cluster); a fresh temporary directory if absent. */
  dir?: string;
  /** The API server's port on 127.0.0.1; 0 (the default) for any free one. */
  port?: number;
  scenario?: ScenarioName;
  services?: number;
  /** Planted in the service's secret, a literal env value of its pod template and its logs (tests prove it never leaks). */
  canary?: string;
  timing?: { rolloutMs?: number; crashLoopMs?: number };
  /** Lines about the components (one exited, a write the agent could not make). */
  say?: (line: string) => void;
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly dir: string;
  /** cluster-admin: for people, kubectl checks and scenarios. */
  readonly kubeconfigPath: string;
  /** The incident worker's: the `incident-worker` ServiceAccount's token, nothing more than rbac.yaml grants. */
  readonly workerKubeconfigPath: string;
  readonly serviceNames: string[];
  /** The fake Anthropic API's health URL, for DEPENDENCY_URLS. */
  readonly dependencyUrl: string;
  break(scenario: ScenarioName, service?: string): void;
  heal(service?: string): void;
  isRecovered(service?: string): boolean;
  /** Faults on the worker's path to the API server (latency, 429/500/503/403, drops); [] clears them. */
  setFaults(rules: FaultRule[]): void;
  /** The incident worker's writes (dry runs too), from the API server's audit log. */
  audit(): AuditEntry[];
  /** Waits until every write of the node agent and the scenarios reached the API server. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

export { scenarioNames };

/** What kube-proxy would route a service to: the ready, live pods its selector matches. */
function selectedReadyPods(store: Store, s: ServiceState): Pod[] {
  const selects = mapSelectorMatcher(store.get<Service>(R.services, s.namespace, s.names.name)?.spec.selector);
  return store
    .list<Pod>(R.pods, s.namespace)
    .filter((p) => !p.metadata.deletionTimestamp && selects(p.metadata.labels))
    .filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'control-plane-'));
  const ownDir = options.dir === undefined;
  if (!ownDir) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const timing = resolveTiming(options.timing);
  const ports = await choosePorts(options.port);
  const url = `https://127.0.0.1:${ports.apiserver}`;
  const credentials = makeCredentials(dir, url);
  const components = await startComponents(dir, ports, credentials, say).catch(async (err: unknown) => {
    await ports.releaseKubelet();
    throw err;
  });
  let agent: Awaited<ReturnType<typeof startNodeAgent>> | undefined;
  let proxy: FaultProxy | undefined;
  let network: PodNetwork | undefined;
  try {
    const admin = new RawApi(url, credentials.tokens.admin, credentials.caPem);
    const claimed = await claimPodNetwork();
    network = claimed;
    const world = await seedRealWorld(admin, { services: options.services ?? 1, canary: options.canary, timing, podRangeOf: (node) => claimed.rangeOf(node) });
    // Held since the ports were chosen (other control planes start beside this one): let go right before the agent listens.
    await ports.releaseKubelet();
    agent = await startNodeAgent({
      api: new RawApi(url, credentials.tokens.nodeAgent, credentials.caPem),
      world,
      timing,
      kubeletPort: ports.kubelet,
      warn: say,
    });

    // The worker's identity: the manifest users apply, and a token for its ServiceAccount.
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', credentials.files.adminKubeconfig, ...args], { encoding: 'utf8' });
    await kubectl('create', 'namespace', 'incident-response');
    await kubectl('apply', '-f', rbacManifest);
    const { stdout: workerToken } = await kubectl('create', 'token', 'incident-worker', '-n', 'incident-response', '--duration=48h');
    const workerKubeconfigPath = join(dir, 'worker.kubeconfig');
    // The worker reaches the API server through the fault proxy (a plain pass-through until faults are set).
    proxy = await startFaultProxy({ upstream: url, ca: credentials.caPem, key: credentials.servingKeyPem, cert: credentials.caPem });
    writeKubeconfig(workerKubeconfigPath, proxy.url, workerToken.trim(), credentials.caPem, clusterName, 'incident-worker');

    const store = agent.store;
    const kubelet = agent.kubelet;
    const targets = (service?: string): ServiceState[] => {
      if (service === undefined) return [...world.services.values()];
      const state = world.services.get(service);
      if (!state) throw new Error(`unknown service "${service}": the cluster runs ${[...world.services.keys()].join(', ')}`);
      return [state];
    };
    const context = { store, world, usedClusterIPs: () => new Set<string>() };
    // Hand over a world whose pods run (or show the scenario's symptoms), not one still starting.
    const settle = async () => {
      const deadline = Date.now() + 60_000;
      while (!servicesSettled(store, kubelet, world) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    };
    await settle();
    if (options.scenario && options.scenario !== 'healthy') {
      breakServices(context, options.scenario, targets());
      await store.flushed();
      await new Promise((r) => setTimeout(r, 500));
      await settle();
    }
    let closed: Promise<void> | undefined;
    const started = agent;
    const faultProxy = proxy;
    const podNetwork = network;
    return {
      url,
      dir,
      kubeconfigPath: credentials.files.adminKubeconfig,
      workerKubeconfigPath,
      serviceNames: [...world.services.keys()],
      dependencyUrl: started.dependencyUrl,
      break: (scenario, service) => breakServices(context, scenario, targets(service)),
      heal: (service) => healServices(context, targets(service)),
      // The API server refuses loopback addresses in Endpoints: the backends are the ready pods the selector matches.
      isRecovered: (service) => targets(service).every((s) => serviceRecovered(store, kubelet, s, selectedReadyPods)),
      audit: () => readAudit(dir, idempotencyKeyAnnotation),
      setFaults: (rules) => faultProxy.setFaults(rules),
      flushed: () => store.flushed(),
      close: () =>
        (closed ??= (async () => {
          await faultProxy.close();
          await started.close();
          await components.group.stopAll(5_000);
          await podNetwork.release();
          if (ownDir) rmSync(dir, { recursive: true, force: true });
        })()),
    };
  } catch (err) {
    await ports.releaseKubelet();
    await proxy?.close();
    await agent?.close();
    await components.group.stopAll(5_000);
    await network?.release();
    throw err;
  }
}
