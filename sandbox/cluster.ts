// The simulated cluster: the store, the world it was seeded with, and the
// control loops (scheduler, kubelet, deployment and replica-set controllers,
// endpoints and quota controllers) run on one timer, in that order, as a real
// control plane would converge.
import { DeploymentController } from './controller.js';
import { EndpointsController } from './endpoints.js';
import { EventRecorder } from './events.js';
import { Kubelet } from './pods.js';
import { syncQuotas } from './quota.js';
import { R } from './resources.js';
import { breakServices, healServices, type ScenarioName } from './scenarios.js';
import { Scheduler } from './scheduler.js';
import { Store } from './store.js';
import type { Timing } from './timing.js';
import type { Deployment, Endpoints, Pod, Service } from './types.js';
import { seedWorld, type ServiceState, type World } from './world.js';

export interface ClusterOptions {
  services: number;
  canary?: string;
}

const resyncMs = 1_000;
const pruneEveryMs = 30_000;

export class Cluster {
  readonly store = new Store();
  readonly events = new EventRecorder(this.store);
  readonly world: World;
  readonly kubelet: Kubelet;
  readonly endpoints: EndpointsController;
  private readonly scheduler: Scheduler;
  private readonly controller: DeploymentController;
  private readonly quotaDirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private lastError: string | undefined;

  constructor(
    readonly timing: Timing,
    options: ClusterOptions,
  ) {
    const usedClusterIPs = () => this.usedClusterIPs();
    this.scheduler = new Scheduler(this.store, this.events, timing);
    this.controller = new DeploymentController(this.store, this.events, usedClusterIPs);
    this.endpoints = new EndpointsController(this.store);
    this.store.subscribe((change) => {
      if (change.resource === R.pods || change.resource === R.resourcequotas) this.quotaDirty.add(change.object.metadata.namespace ?? 'default');
    });
    this.world = seedWorld(this.store, { services: options.services, canary: options.canary, timing, usedClusterIPs });
    this.kubelet = new Kubelet(this.store, this.events, this.world, timing);
  }

  usedClusterIPs(): Set<string> {
    return new Set(this.store.list<Service>(R.services).map((s) => s.spec.clusterIP ?? ''));
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.timing.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass of every control loop. */
  tick(): void {
    const now = Date.now();
    try {
      this.scheduler.schedule(now);
      this.kubelet.sync(now);
      this.controller.sync(now, resyncMs);
      this.endpoints.sync();
      syncQuotas(this.store, this.quotaDirty);
      this.quotaDirty.clear();
      if (now - this.lastPrune > pruneEveryMs) {
        this.lastPrune = now;
        this.events.prune(now);
      }
    } catch (e) {
      // A bug in one loop must not stop the others; say so once per distinct failure.
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      if (message !== this.lastError) process.emitWarning(`sandbox control loop failed: ${message}`);
      this.lastError = message;
    }
  }

  targets(service?: string): ServiceState[] {
    if (service === undefined) return [...this.world.services.values()];
    const state = this.world.services.get(service);
    if (!state) throw new Error(`unknown service "${service}": the sandbox runs ${[...this.world.services.keys()].join(', ')}`);
    return [state];
  }

  private context() {
    return { store: this.store, world: this.world, usedClusterIPs: () => this.usedClusterIPs() };
  }

  break(scenario: ScenarioName, service?: string): void {
    breakServices(this.context(), scenario, this.targets(service));
  }

  heal(service?: string): void {
    healServices(this.context(), this.targets(service));
  }

  /** All replicas of the current revision ready, and every ready endpoint answering 200 on both health paths. */
  isRecovered(service?: string): boolean {
    return this.targets(service).every((s) => serviceRecovered(this.store, this.kubelet, s));
  }

  /** Whether every service pod shows its steady state (so a scenario's symptoms are visible). */
  settled(): boolean {
    return servicesSettled(this.store, this.kubelet, this.world);
  }
}

/** The pods behind a service's endpoints. */
export function endpointPods(store: Store, s: ServiceState): (Pod | undefined)[] {
  const endpoints = store.get<Endpoints>(R.endpoints, s.namespace, s.names.name);
  const addresses = (endpoints?.subsets ?? []).flatMap((sub) => sub.addresses ?? []);
  return addresses.map((a) => store.get<Pod>(R.pods, a.targetRef?.namespace ?? s.namespace, a.targetRef?.name ?? ''));
}

/**
 * A service is recovered when all replicas of its current revision are ready and
 * every backend (by default: its endpoints' pods) answers 200 on both health paths.
 */
export function serviceRecovered(
  store: Store,
  kubelet: Kubelet,
  s: ServiceState,
  backends: (store: Store, s: ServiceState) => (Pod | undefined)[] = endpointPods,
): boolean {
  const d = store.get<Deployment>(R.deployments, s.namespace, s.names.name);
  const want = d?.spec.replicas ?? 0;
  const st = d?.status;
  if (!d || !st || want < 1 || st.observedGeneration !== d.metadata.generation) return false;
  if (st.updatedReplicas !== want || st.replicas !== want || st.readyReplicas !== want || st.availableReplicas !== want) return false;
  const pods = backends(store, s);
  if (pods.length === 0) return false;
  return pods.every((pod) => {
    if (!pod) return false;
    try {
      return ['/health/live', '/health/ready'].every((path) => kubelet.http(pod, 8080, path).status === 200);
    } catch {
      return false;
    }
  });
}

/** Whether every service pod shows its steady state (so a scenario's symptoms are visible). */
export function servicesSettled(store: Store, kubelet: Kubelet, world: World): boolean {
  for (const s of world.services.values()) {
    const d = store.get<Deployment>(R.deployments, s.namespace, s.names.name);
    if (!d || d.status?.observedGeneration !== d.metadata.generation) return false;
    const pods = store.list<Pod>(R.pods, s.namespace).filter((p) => p.metadata.labels?.app === s.names.name);
    if (pods.some((p) => p.metadata.deletionTimestamp)) return false;
    if (pods.length !== (d.spec.replicas ?? 0)) return false;
    if (!pods.every((p) => kubelet.settled(p))) return false;
  }
  return true;
}
