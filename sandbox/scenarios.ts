// The failure scenarios of the sandbox (docs/architecture.md), applied as the change
// that causes them would happen in a real cluster (a deploy of a broken image,
// an edited secret or config map followed by pods being recreated, a scale to
// zero, a node pool filled by other work, a selector edit, an outage upstream),
// so that they recover when, and only when, the right fix is applied.
import { prepareWrite } from './admission.js';
import { requestPodDeletion } from './pods.js';
import { startupCpuNeed } from './app.js';
import { bytes, Mi, milliCpu } from './quantity.js';
import { R, type ResourceType } from './resources.js';
import { podResources, occupiesNode } from './scheduler.js';
import type { Store } from './store.js';
import type { ConfigMap, Container, Deployment, KObject, Node, Pod, Secret, Service } from './types.js';
import { badImage, hogNamespace, teamReleaseImage, unreadyImage, type ServiceState, type World } from './world.js';

export type ScenarioName =
  | 'healthy'
  | 'bad-rollout'
  | 'oom'
  | 'missing-secret'
  | 'config-error'
  | 'scaled-to-zero'
  | 'unschedulable'
  | 'selector-mismatch'
  | 'dependency-down'
  | 'cpu-starved'
  /** A release whose pods run but never get ready: the ingress answers customers 5xx (no backend). */
  | 'release-5xx'
  /** A bad release rolled back, whose pods then slow down while the monitor runs. */
  | 'latency-regression'
  /** Storm: one outage of the dependency every target shares (the Anthropic API); it comes back for all at once. */
  | 'shared-dependency-down'
  /** Storm: the targets' pods are pinned to one node pool (nodeSelector pool=agents) that other work has filled. */
  | 'node-pool-full'
  /** Storm: one bad release (agents-v1.6.0) rolled out to all of a team's services (label team=agents) at once. */
  | 'team-rollout';

export const scenarioNames: readonly ScenarioName[] = [
  'healthy',
  'bad-rollout',
  'oom',
  'missing-secret',
  'config-error',
  'scaled-to-zero',
  'unschedulable',
  'selector-mismatch',
  'dependency-down',
  'cpu-starved',
  'release-5xx',
  'latency-regression',
  'shared-dependency-down',
  'node-pool-full',
  'team-rollout',
];

/** The node pool of node-pool-full: the label its nodes carry and the targets' pods are pinned to. */
export const nodePool = { label: 'pool', name: 'agents' } as const;
/** The team of team-rollout, and the release it rolled out to all of its services. */
export const teamRelease = { team: 'agents', release: 'agents-v1.6.0', image: teamReleaseImage } as const;

/** What the app needs once its workload has grown: more than the 2Gi limit, less than 4Gi. */
const grownMemoryNeed = 2800 * Mi;
/**
 * A "right-sizing" that went too far: requests and limits cut far below the runbook's
 * (requests 1Gi/500m, limits 4Gi/2000m). The memory limit still covers the app (no
 * OOM kill); the CPU limit is below what its start-up needs, so it is throttled and
 * never gets ready.
 */
const starvedResources = { requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '100m', memory: '2Gi' } };
const hogLabel = { app: 'etl-worker', 'app.kubernetes.io/part-of': 'data-pipeline' };

export interface ScenarioContext {
  store: Store;
  world: World;
  usedClusterIPs: () => Set<string>;
}

function write<T extends KObject>(ctx: ScenarioContext, resource: ResourceType, previous: T, next: T): T {
  return ctx.store.update(resource, prepareWrite(resource, previous, next, ctx.usedClusterIPs) as T);
}

function deploymentOf(ctx: ScenarioContext, s: ServiceState): Deployment {
  const d = ctx.store.get<Deployment>(R.deployments, s.namespace, s.names.name);
  if (!d) throw new Error(`deployment ${s.namespace}/${s.names.name} is gone; heal cannot recreate it`);
  return d;
}

function withContainer(d: Deployment, name: string, change: (c: Container) => Container): Deployment {
  const containers = d.spec.template.spec.containers.map((c) => (c.name === name ? change(c) : c));
  return { ...d, spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, containers } } } };
}

/** Deletes the service's pods, as a node drain or eviction would: its replica sets recreate them. */
function recreatePods(ctx: ScenarioContext, s: ServiceState, only?: (p: Pod) => boolean): void {
  for (const pod of ctx.store.list<Pod>(R.pods, s.namespace)) {
    if (pod.metadata.labels?.app === s.names.name && !pod.metadata.deletionTimestamp && (!only || only(pod))) requestPodDeletion(ctx.store, pod);
  }
}

/**
 * Fills every node with batch work so that none has room for the targets' pods,
 * then evicts those pods: their replacements stay Pending (FailedScheduling).
 */
function fillNodes(ctx: ScenarioContext, targets: ServiceState[]): void {
  const apps = new Set(targets.map((s) => s.names.name));
  const need = Math.min(...targets.map((s) => podResources(s.baseline.template.spec).requestMemory));
  const pods = ctx.store.list<Pod>(R.pods);
  for (const node of ctx.store.list<Node>(R.nodes)) {
    const used = pods
      .filter((p) => occupiesNode(p) && p.spec.nodeName === node.metadata.name && !apps.has(p.metadata.labels?.app ?? ''))
      .reduce((n, p) => n + podResources(p.spec).requestMemory, 0);
    const hog = bytes(node.status?.allocatable?.memory) - used - Math.floor(need / 2);
    if (hog <= 0) continue;
    const hogMi = Math.floor(hog / Mi);
    const draft: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `etl-worker-${node.metadata.name}-${Date.now().toString(36)}`, namespace: hogNamespace, labels: hogLabel },
      spec: {
        nodeName: node.metadata.name,
        containers: [
          {
            name: 'etl-worker',
            image: 'registry.example.com/data/etl-worker:2.3.1',
            resources: { requests: { cpu: '100m', memory: `${hogMi}Mi` }, limits: { memory: `${hogMi}Mi` } },
          },
        ],
      },
    };
    ctx.store.create(R.pods, { ...prepareWrite(R.pods, undefined, draft, ctx.usedClusterIPs), status: { phase: 'Pending', qosClass: 'Burstable' } });
  }
  for (const s of targets) recreatePods(ctx, s);
}

/**
 * Labels the nodes as one pool (the sandbox's nodes are all of one instance type) and
 * pins the targets' pods to it by nodeSelector, as a team that owns its nodes does.
 */
function pinToPool(ctx: ScenarioContext, targets: ServiceState[]): void {
  for (const node of ctx.store.list<Node>(R.nodes)) {
    if (node.metadata.labels?.[nodePool.label] !== nodePool.name)
      write(ctx, R.nodes, node, { ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, [nodePool.label]: nodePool.name } } });
  }
  for (const s of targets) {
    const d = deploymentOf(ctx, s);
    const spec = d.spec.template.spec;
    if (spec.nodeSelector?.[nodePool.label] === nodePool.name) continue;
    const template = { ...d.spec.template, spec: { ...spec, nodeSelector: { ...spec.nodeSelector, [nodePool.label]: nodePool.name } } };
    const cause = `kubectl patch deployment/${s.names.name} -p '{"spec":{"template":{"spec":{"nodeSelector":{"${nodePool.label}":"${nodePool.name}"}}}}}'`;
    write(ctx, R.deployments, d, {
      ...d,
      metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, 'kubernetes.io/change-cause': cause } },
      spec: { ...d.spec, template },
    });
  }
}

/** Deploys the broken release: kubectl set image deployment/NAME CONTAINER=<bad image>. */
function rollOut(ctx: ScenarioContext, s: ServiceState, name: string, container: string, image: string, release = image.split(':')[1]): void {
  const d = deploymentOf(ctx, s);
  const next = withContainer(d, container, (c) => ({ ...c, image }));
  const cause = `release ${release}: kubectl set image deployment/${name} ${container}=${image}`;
  write(ctx, R.deployments, d, {
    ...next,
    metadata: { ...next.metadata, annotations: { ...next.metadata.annotations, 'kubernetes.io/change-cause': cause } },
  });
}

/** Applies a scenario to the given services. */
export function breakServices(ctx: ScenarioContext, scenario: ScenarioName, targets: ServiceState[]): void {
  if (scenario === 'healthy') {
    healServices(ctx, targets);
    return;
  }
  for (const s of targets) s.scenario = scenario;
  if (scenario === 'unschedulable') {
    fillNodes(ctx, targets);
    return;
  }
  if (scenario === 'node-pool-full') {
    pinToPool(ctx, targets);
    fillNodes(ctx, targets);
    return;
  }
  if (scenario === 'shared-dependency-down') {
    // One outage, shared: when the dependency comes back (heal of any target), it is back for all.
    const outage = { from: Date.now() };
    for (const s of targets) if (!s.outages.some((o) => o.to === undefined)) s.outages.push(outage);
    return;
  }
  for (const s of targets) {
    const { name, container } = s.names;
    switch (scenario) {
      // A bad release (as bad-rollout) that also migrated the session cache: the rollback restores
      // health, then the pods it starts slow down once up a while. No fix of ours cures that.
      case 'latency-regression':
        s.slowSince = Date.now();
        rollOut(ctx, s, name, container, badImage);
        break;
      case 'bad-rollout':
        rollOut(ctx, s, name, container, badImage);
        break;
      case 'release-5xx':
        rollOut(ctx, s, name, container, unreadyImage);
        break;
      case 'team-rollout': {
        const d = deploymentOf(ctx, s);
        write(ctx, R.deployments, d, { ...d, metadata: { ...d.metadata, labels: { ...d.metadata.labels, team: teamRelease.team } } });
        rollOut(ctx, s, name, container, teamRelease.image, teamRelease.release);
        break;
      }
      case 'oom':
        s.memoryNeed = grownMemoryNeed;
        break;
      case 'cpu-starved': {
        const d = deploymentOf(ctx, s);
        const next = withContainer(d, container, (c) => ({ ...c, resources: starvedResources }));
        const cause = `right-sizing: kubectl set resources deployment/${name} -c ${container} --requests=cpu=50m,memory=256Mi --limits=cpu=100m,memory=2Gi`;
        write(ctx, R.deployments, d, {
          ...next,
          metadata: { ...next.metadata, annotations: { ...next.metadata.annotations, 'kubernetes.io/change-cause': cause } },
        });
        break;
      }
      case 'missing-secret': {
        const secret = ctx.store.get<Secret>(R.secrets, s.namespace, s.names.secret);
        if (secret) {
          const data = { ...secret.data };
          delete data.ANTHROPIC_API_KEY;
          write(ctx, R.secrets, secret, { ...secret, data });
        }
        recreatePods(ctx, s);
        break;
      }
      case 'config-error': {
        const cm = ctx.store.get<ConfigMap>(R.configmaps, s.namespace, s.names.configMap);
        if (cm) write(ctx, R.configmaps, cm, { ...cm, data: { ...cm.data, AGENT_MAX_WORKERS: 'eight' } });
        recreatePods(ctx, s);
        break;
      }
      case 'scaled-to-zero': {
        const d = deploymentOf(ctx, s);
        write(ctx, R.deployments, d, { ...d, spec: { ...d.spec, replicas: 0 } });
        break;
      }
      case 'selector-mismatch': {
        const svc = ctx.store.get<Service>(R.services, s.namespace, name);
        if (svc) write(ctx, R.services, svc, { ...svc, spec: { ...svc.spec, selector: { app: `${name}-v2` } } });
        break;
      }
      case 'dependency-down':
        if (!s.outages.some((o) => o.to === undefined)) s.outages.push({ from: Date.now() });
        break;
    }
  }
}

function memoryLimit(d: Deployment, container: string): number | undefined {
  const c = d.spec.template.spec.containers.find((x) => x.name === container);
  return c?.resources?.limits?.memory !== undefined ? bytes(c.resources.limits.memory) : undefined;
}

/** Whether the container's CPU limit starves the app's start-up (see app.ts). */
function cpuStarved(d: Deployment, container: string): boolean {
  const limit = d.spec.template.spec.containers.find((x) => x.name === container)?.resources?.limits?.cpu;
  return limit !== undefined && milliCpu(limit) > 0 && milliCpu(limit) < startupCpuNeed;
}

/**
 * Puts one of a service's objects back: creates FRESH when the object is gone, or
 * writes what REPAIR makes of it when it has drifted (REPAIR gives undefined when it
 * has not). True when either happened.
 */
function restoreObject<T extends KObject>(
  ctx: ScenarioContext,
  resource: ResourceType,
  namespace: string,
  name: string,
  fresh: T,
  repair: (existing: T) => T | undefined,
): boolean {
  const existing = ctx.store.get<T>(resource, namespace, name);
  if (!existing) {
    ctx.store.create(resource, fresh);
    return true;
  }
  const repaired = repair(existing);
  if (repaired === undefined) return false;
  write(ctx, resource, existing, repaired);
  return true;
}

/** Brings services back to healthy with the smallest set of changes that does it. */
export function healServices(ctx: ScenarioContext, targets: ServiceState[]): void {
  const now = Date.now();
  for (const s of targets) {
    s.scenario = 'healthy';
    delete s.slowSince;
    for (const o of s.outages) o.to ??= now;
    s.memoryNeed = s.baseline.memoryNeed;
    const secretRestored = restoreObject<Secret>(
      ctx,
      R.secrets,
      s.namespace,
      s.names.secret,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: s.names.secret, namespace: s.namespace, labels: { app: s.names.name } },
        type: 'Opaque',
        data: s.baseline.secretData,
      },
      (secret) =>
        secret.data?.ANTHROPIC_API_KEY ? undefined : { ...secret, data: { ...secret.data, ANTHROPIC_API_KEY: s.baseline.secretData.ANTHROPIC_API_KEY ?? '' } },
    );
    const configRestored = restoreObject<ConfigMap>(
      ctx,
      R.configmaps,
      s.namespace,
      s.names.configMap,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: s.names.configMap, namespace: s.namespace, labels: { app: s.names.name } },
        data: s.baseline.configData,
      },
      (cm) => (JSON.stringify(cm.data) !== JSON.stringify(s.baseline.configData) ? { ...cm, data: s.baseline.configData } : undefined),
    );
    const envRestored = secretRestored || configRestored;
    const svc = ctx.store.get<Service>(R.services, s.namespace, s.names.name);
    if (svc && JSON.stringify(svc.spec.selector) !== JSON.stringify(s.baseline.selector)) {
      write(ctx, R.services, svc, { ...svc, spec: { ...svc.spec, selector: s.baseline.selector } });
    }
    let d = deploymentOf(ctx, s);
    const image = d.spec.template.spec.containers.find((c) => c.name === s.names.container)?.image ?? '';
    const limit = memoryLimit(d, s.names.container);
    if (
      ctx.world.brokenImages.has(image) ||
      ctx.world.unreadyImages.has(image) ||
      (limit !== undefined && limit < s.memoryNeed) ||
      cpuStarved(d, s.names.container)
    ) {
      d = write(ctx, R.deployments, d, {
        ...d,
        metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, 'kubernetes.io/change-cause': s.baseline.changeCause } },
        spec: { ...d.spec, template: s.baseline.template },
      });
    }
    if ((d.spec.replicas ?? 0) === 0) write(ctx, R.deployments, d, { ...d, spec: { ...d.spec, replicas: s.baseline.replicas } });
    // Pods built with the broken environment keep it until they are recreated.
    if (envRestored) recreatePods(ctx, s, (p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
  }
  // The pool stays pinned once healed: the other work leaving makes room for the pods.
  const stillStarved = [...ctx.world.services.values()].some((s) => s.scenario === 'unschedulable' || s.scenario === 'node-pool-full');
  if (!stillStarved) {
    for (const pod of ctx.store.list<Pod>(R.pods, hogNamespace)) {
      if (pod.metadata.labels?.app === hogLabel.app && !pod.metadata.deletionTimestamp) requestPodDeletion(ctx.store, pod);
    }
  }
}
