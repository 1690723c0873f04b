// The kubelet: runs each bound pod's containers through the lifecycle a real
// node would show (ContainerCreating, Running, Ready, CrashLoopBackOff with
// restart counts and last termination, CreateContainerConfigError,
// Terminating), serves their logs (current and previous), their resource usage
// for metrics.k8s.io, and their HTTP answers for the API server's proxy.
//
// The environment is resolved from config maps and secrets once, when the pod is
// created: fixing a secret or config map needs a restart to take effect, as the
// runbook says ("restore, then restart").
import { createHash } from 'node:crypto';
import {
  appReady,
  cpuUsage,
  httpAnswer,
  listening,
  logLines,
  memoryUsage,
  startOutcome,
  type AppRun,
  type Env,
  type EnvValue,
  type HttpAnswer,
} from './app.js';
import { ApiError, badRequest } from './errors.js';
import type { EventRecorder } from './events.js';
import { bytes, formatBytes, formatCpu, milliCpu } from './quantity.js';
import { R } from './resources.js';
import { keyOf, type Store } from './store.js';
import { isoMicros, isoSeconds } from './time.js';
import type { Timing } from './timing.js';
import type { ConfigMap, Condition, Container, ContainerStatus, Node, Pod, Secret } from './types.js';
import type { World } from './world.js';

type Stage = 'creating' | 'configError' | 'running' | 'backoff' | 'terminating';

interface Terminated {
  run: AppRun;
  id: string;
  exitCode: number;
  reason: 'Error' | 'OOMKilled' | 'Completed';
}

interface SimPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  stage: Stage;
  /** When the current stage ends (creating, configError retry, backoff, terminating). */
  until: number;
  env?: Env;
  configError?: string;
  restarts: number;
  run?: AppRun;
  runId?: string;
  exitAt?: number;
  exitReason?: 'Error' | 'OOMKilled';
  previous?: Terminated;
  ready: boolean;
  ip: string;
  hostIP: string;
  startTime: number;
  lastUnhealthy: number;
}

/** How long metrics-server keeps reporting a container after it stopped (its scrape window). */
const metricsWindowMs = 60_000;

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Deletes a pod as the API server does: at once if it never reached a node, else gracefully. */
export function requestPodDeletion(store: Store, pod: Pod, graceSeconds?: number): Pod {
  const grace = graceSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
  if (!pod.spec.nodeName || grace === 0) return store.remove(R.pods, pod.metadata.namespace, pod.metadata.name) as Pod;
  if (pod.metadata.deletionTimestamp) return pod;
  return store.update(R.pods, {
    ...pod,
    metadata: { ...pod.metadata, deletionTimestamp: isoSeconds(Date.now() + grace * 1000), deletionGracePeriodSeconds: grace },
  });
}

export class Kubelet {
  private readonly sims = new Map<string, SimPod>();
  private readonly nodeIps = new Map<string, { prefix: string; hostIP: string; next: number }>();

  constructor(
    private readonly store: Store,
    private readonly events: EventRecorder,
    private readonly world: World,
    private readonly timing: Timing,
  ) {
    store.subscribe((change) => {
      if (change.resource === R.nodes && change.type !== 'DELETED') {
        // A mirror may list pods before their node: they wait for it (see admit).
        const node = change.object.metadata.name;
        for (const pod of store.list<Pod>(R.pods)) {
          const key = keyOf(pod.metadata.namespace, pod.metadata.name);
          if (pod.spec.nodeName === node && !this.sims.has(key)) this.admit(pod, key);
        }
        return;
      }
      if (change.resource !== R.pods) return;
      const key = keyOf(change.object.metadata.namespace, change.object.metadata.name);
      if (change.type === 'DELETED') this.sims.delete(key);
      else if ((change.object as Pod).spec.nodeName && !this.sims.has(key)) this.admit(change.object as Pod, key);
    });
  }

  private admit(pod: Pod, key: string): void {
    const node = pod.spec.nodeName ?? '';
    let ips = this.nodeIps.get(node);
    if (!ips) {
      const nodeObject = this.store.get<Node>(R.nodes, undefined, node);
      // Not seen yet (the node agent's mirror lists nodes and pods side by side): the pod
      // waits for its node, or it would take an address outside the node's range for life.
      if (!nodeObject) return;
      // Every address stays inside 127.0.0.0/8, so nothing that follows one (the API server's
      // proxy, a probe from the worker) can leave this machine.
      const hostIP = nodeObject?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
      // Pods take addresses from the node's range; a node registered without one (added by hand)
      // gets a range no seeded node uses.
      const range = /^127\.(\d+)\.(\d+)\.0\/24$/.exec(nodeObject?.spec?.podCIDR ?? '');
      const prefix = range ? `127.${range[1]}.${range[2]}` : `127.245.${this.nodeIps.size % 250}`;
      ips = { prefix, hostIP, next: 2 };
      this.nodeIps.set(node, ips);
    }
    const n = ips.next++;
    const now = Date.now();
    this.sims.set(key, {
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      uid: pod.metadata.uid ?? '',
      stage: 'creating',
      until: now + this.timing.startMs,
      restarts: 0,
      ready: false,
      ip: `${ips.prefix}.${(n % 250) + 2}`,
      hostIP: ips.hostIP,
      startTime: now,
      lastUnhealthy: 0,
    });
  }

  /** One kubelet sync of every pod. */
  sync(now: number): void {
    for (const [key, sim] of this.sims) {
      const pod = this.store.get<Pod>(R.pods, sim.namespace, sim.name);
      if (!pod || pod.metadata.uid !== sim.uid) {
        this.sims.delete(key);
        continue;
      }
      this.step(sim, pod, now);
    }
  }

  private step(sim: SimPod, pod: Pod, now: number): void {
    if (pod.metadata.deletionTimestamp && sim.stage !== 'terminating') {
      const graceful = (pod.metadata.deletionGracePeriodSeconds ?? 30) > 0 && sim.stage !== 'creating';
      if (sim.run) this.containerEvent(pod, 'Normal', 'Killing', `Stopping container ${this.main(pod).name}`);
      sim.stage = 'terminating';
      sim.until = now + (graceful ? this.timing.terminateMs : 0);
      return;
    }
    switch (sim.stage) {
      case 'creating':
      case 'configError':
        if (now >= sim.until) this.start(sim, pod, now);
        else if (sim.stage === 'creating' && !pod.status?.containerStatuses) this.writeStatus(sim, pod, now);
        return;
      case 'backoff':
        if (now >= sim.until) {
          sim.restarts++;
          this.start(sim, pod, now);
        }
        return;
      case 'terminating':
        if (now >= sim.until) this.store.remove(R.pods, sim.namespace, sim.name);
        return;
      case 'running':
        this.checkRunning(sim, pod, now);
    }
  }

  private main(pod: Pod): Container {
    return pod.spec.containers[0] as Container;
  }

  private start(sim: SimPod, pod: Pod, now: number): void {
    const container = this.main(pod);
    // The environment is fixed when the pod is first started (see the file comment).
    if (!sim.env) {
      const resolved = this.resolveEnv(pod, container);
      if (typeof resolved === 'string') {
        const first = sim.stage !== 'configError' || sim.configError !== resolved;
        sim.stage = 'configError';
        sim.configError = resolved;
        sim.until = now + this.timing.crashLoopMs;
        if (first) this.writeStatus(sim, pod, now);
        this.containerEvent(pod, 'Warning', 'Failed', `Error: ${resolved}`);
        return;
      }
      sim.env = resolved;
      sim.configError = undefined;
    }
    const service = this.world.serviceOf(pod);
    const limit = container.resources?.limits?.memory !== undefined ? bytes(container.resources.limits.memory) : undefined;
    const image = container.image ?? '';
    const cpuLimit = container.resources?.limits?.cpu !== undefined ? milliCpu(container.resources.limits.cpu) : undefined;
    const outcome = startOutcome(image, sim.env, service, this.world, limit, cpuLimit);
    sim.run = { podName: pod.metadata.name, image, env: sim.env, service, startedAt: now, memoryLimit: limit, cpuLimit, outcome };
    sim.runId = `containerd://${sha(`${sim.uid}/${sim.restarts}`)}`;
    sim.exitAt = outcome.kind === 'error' ? now + this.timing.failRunMs : outcome.kind === 'oom' ? now + this.timing.oomRunMs : undefined;
    sim.exitReason = outcome.kind === 'error' ? 'Error' : outcome.kind === 'oom' ? 'OOMKilled' : undefined;
    sim.stage = 'running';
    sim.ready = false;
    this.containerEvent(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
    this.containerEvent(pod, 'Normal', 'Created', `Created container: ${container.name}`);
    this.containerEvent(pod, 'Normal', 'Started', `Started container ${container.name}`);
    this.writeStatus(sim, pod, now);
  }

  private checkRunning(sim: SimPod, pod: Pod, now: number): void {
    const run = sim.run;
    if (!run) return;
    if (sim.exitAt === undefined && run.outcome.kind === 'ok' && run.memoryLimit !== undefined && run.service && run.memoryLimit < run.service.memoryNeed) {
      // The app's memory need grew past the limit while it ran: the kernel kills it.
      sim.exitAt = now + this.timing.oomRunMs;
      sim.exitReason = 'OOMKilled';
    }
    if (sim.exitAt !== undefined && now >= sim.exitAt) {
      const finished = { ...run, finishedAt: now };
      sim.previous = { run: finished, id: sim.runId ?? '', exitCode: sim.exitReason === 'OOMKilled' ? 137 : 1, reason: sim.exitReason ?? 'Error' };
      sim.run = undefined;
      sim.exitAt = undefined;
      sim.ready = false;
      // The kubelet restarts a container at once the first time; after that it backs off.
      if (sim.restarts === 0) {
        sim.restarts++;
        this.start(sim, pod, now);
        return;
      }
      sim.stage = 'backoff';
      sim.until = now + this.timing.crashLoopMs;
      this.writeStatus(sim, pod, now);
      this.containerEvent(
        pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.main(pod).name} in pod ${pod.metadata.name}_${sim.namespace}(${sim.uid})`,
      );
      return;
    }
    const ready = sim.exitAt === undefined && appReady(run, now, this.timing.readyMs);
    if (ready !== sim.ready) {
      sim.ready = ready;
      this.writeStatus(sim, pod, now);
    }
    if (!ready && listening(run) && now - run.startedAt >= this.timing.readyMs && now - sim.lastUnhealthy >= this.timing.crashLoopMs) {
      sim.lastUnhealthy = now;
      const answer = httpAnswer(run, 8080, '/health/ready', now, this.timing.readyMs);
      if (answer.status !== 200)
        this.containerEvent(pod, 'Warning', 'Unhealthy', `Readiness probe failed: HTTP probe failed with statuscode: ${answer.status}`);
    }
  }

  private containerEvent(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.record(pod, type, reason, message, { component: 'kubelet', host: pod.spec.nodeName }, `spec.containers{${this.main(pod).name}}`);
  }

  private resolveEnv(pod: Pod, container: Container): Env | string {
    const ns = pod.metadata.namespace;
    const env = new Map<string, EnvValue>();
    for (const from of container.envFrom ?? []) {
      const prefix = from.prefix ?? '';
      if (from.configMapRef) {
        const cm = this.store.get<ConfigMap>(R.configmaps, ns, from.configMapRef.name ?? '');
        if (!cm && !from.configMapRef.optional) return `configmap "${from.configMapRef.name}" not found`;
        for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(prefix + k, { source: 'configMap', value: v, present: v !== '' });
      }
      if (from.secretRef) {
        const secret = this.store.get<Secret>(R.secrets, ns, from.secretRef.name ?? '');
        if (!secret && !from.secretRef.optional) return `secret "${from.secretRef.name}" not found`;
        for (const [k, v] of Object.entries(secret?.data ?? {})) env.set(prefix + k, { source: 'secret', present: v !== '' });
      }
    }
    for (const e of container.env ?? []) {
      const cmRef = e.valueFrom?.configMapKeyRef;
      const secretRef = e.valueFrom?.secretKeyRef;
      if (cmRef) {
        const value = this.store.get<ConfigMap>(R.configmaps, ns, cmRef.name ?? '')?.data?.[cmRef.key];
        if (value === undefined && !cmRef.optional) return `couldn't find key ${cmRef.key} in ConfigMap ${ns}/${cmRef.name}`;
        if (value !== undefined) env.set(e.name, { source: 'configMap', value, present: value !== '' });
      } else if (secretRef) {
        const value = this.store.get<Secret>(R.secrets, ns, secretRef.name ?? '')?.data?.[secretRef.key];
        if (value === undefined && !secretRef.optional) return `couldn't find key ${secretRef.key} in Secret ${ns}/${secretRef.name}`;
        if (value !== undefined) env.set(e.name, { source: 'secret', present: value !== '' });
      } else {
        env.set(e.name, { source: 'literal', value: e.value ?? '', present: (e.value ?? '') !== '' });
      }
    }
    return env;
  }

  private writeStatus(sim: SimPod, pod: Pod, now: number): void {
    const status = this.statusOf(sim, pod, now);
    if (JSON.stringify(status) === JSON.stringify(pod.status)) return;
    this.store.update(R.pods, { ...pod, status });
  }

  private statusOf(sim: SimPod, pod: Pod, now: number): Pod['status'] {
    const old = pod.status?.conditions ?? [];
    const since = (type: string, status: Condition['status']) => {
      const c = old.find((x) => x.type === type);
      return c?.status === status ? c.lastTransitionTime : isoSeconds(now);
    };
    const main = this.main(pod);
    const created = sim.stage !== 'creating';
    const unready = sim.ready ? undefined : { reason: 'ContainersNotReady', message: `containers with unready status: [${main.name}]` };
    const condition = (type: string, ok: boolean, extra?: { reason: string; message: string }): Condition => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: since(type, ok ? 'True' : 'False'),
      ...(ok ? {} : (extra ?? {})),
    });
    const statuses: ContainerStatus[] = pod.spec.containers.map((c, i) => (i === 0 ? this.mainStatus(sim, c) : this.sidecarStatus(sim, c)));
    return {
      phase: sim.stage === 'creating' || sim.stage === 'configError' ? 'Pending' : 'Running',
      conditions: [
        condition('PodReadyToStartContainers', created),
        condition('Initialized', true),
        condition('Ready', sim.ready, unready),
        condition('ContainersReady', sim.ready, unready),
        condition('PodScheduled', true),
      ],
      hostIP: sim.hostIP,
      hostIPs: [{ ip: sim.hostIP }],
      ...(created ? { podIP: sim.ip, podIPs: [{ ip: sim.ip }] } : {}),
      startTime: isoSeconds(sim.startTime),
      containerStatuses: statuses,
      qosClass: pod.status?.qosClass ?? 'Burstable',
    };
  }

  private mainStatus(sim: SimPod, c: Container): ContainerStatus {
    const image = c.image ?? '';
    const base = {
      name: c.name,
      image,
      imageID: '',
      restartCount: sim.restarts,
      ready: sim.ready,
      started: sim.stage === 'running' || sim.stage === 'terminating',
    };
    const lastState = sim.previous
      ? {
          terminated: {
            exitCode: sim.previous.exitCode,
            reason: sim.previous.reason,
            startedAt: isoSeconds(sim.previous.run.startedAt),
            finishedAt: isoSeconds(sim.previous.run.finishedAt ?? sim.previous.run.startedAt),
            containerID: sim.previous.id,
          },
        }
      : {};
    const imageID = `docker.io/library/${image}@sha256:${sha(image)}`;
    switch (sim.stage) {
      case 'creating':
        return { ...base, state: { waiting: { reason: 'ContainerCreating' } }, lastState };
      case 'configError':
        return { ...base, state: { waiting: { reason: 'CreateContainerConfigError', message: sim.configError } }, lastState };
      case 'backoff':
        return {
          ...base,
          imageID,
          containerID: sim.previous?.id,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${Math.max(1, Math.round(this.timing.crashLoopMs / 1000))}s restarting failed container=${c.name} pod=${sim.name}_${sim.namespace}(${sim.uid})`,
            },
          },
          lastState,
        };
      default:
        return { ...base, imageID, containerID: sim.runId, state: { running: { startedAt: isoSeconds(sim.run?.startedAt ?? sim.startTime) } }, lastState };
    }
  }

  /** Containers after the first are plain sidecars: they start with the pod and stay up. */
  private sidecarStatus(sim: SimPod, c: Container): ContainerStatus {
    const image = c.image ?? '';
    const running = sim.stage !== 'creating' && sim.stage !== 'configError';
    return {
      name: c.name,
      image,
      imageID: running ? `docker.io/library/${image}@sha256:${sha(image)}` : '',
      restartCount: 0,
      ready: running,
      started: running,
      ...(running ? { containerID: `containerd://${sha(`${sim.uid}/${c.name}`)}` } : {}),
      state: running ? { running: { startedAt: isoSeconds(sim.startTime) } } : { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
    };
  }

  // ---- reads for the API server ----

  /** Container logs as GET pods/log returns them (400 with the kubelet's wording when there are none). */
  logs(pod: Pod, query: URLSearchParams): string {
    const containerName = query.get('container') ?? (pod.spec.containers.length === 1 ? pod.spec.containers[0]?.name : undefined);
    if (!containerName) {
      throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]`);
    }
    const index = pod.spec.containers.findIndex((c) => c.name === containerName);
    if (index < 0) throw badRequest(`container ${containerName} is not valid for pod ${pod.metadata.name}`);
    // As the API server does: a pod on no node has no log, and the answer is empty (200, no content type).
    if (!pod.spec.nodeName) return '';
    const sim = this.sims.get(keyOf(pod.metadata.namespace, pod.metadata.name));
    const previous = query.get('previous') === 'true';
    const now = Date.now();
    let run: AppRun | undefined;
    if (index > 0) {
      if (previous) throw badRequest(`previous terminated container "${containerName}" in pod "${pod.metadata.name}" not found`);
      const started = sim && sim.stage !== 'creating' && sim.stage !== 'configError';
      run = started
        ? {
            podName: pod.metadata.name,
            image: pod.spec.containers[index]?.image ?? '',
            env: new Map(),
            service: undefined,
            startedAt: sim.startTime,
            memoryLimit: undefined,
            outcome: { kind: 'ok' },
          }
        : undefined;
    } else if (previous) {
      run = sim?.previous?.run;
      if (!run) throw badRequest(`previous terminated container "${containerName}" in pod "${pod.metadata.name}" not found`);
    } else {
      // A crash-looping container's current log is its last run's, as the kubelet serves it.
      run = sim?.run ?? sim?.previous?.run;
    }
    if (!run) {
      const reason = sim?.stage === 'configError' ? 'CreateContainerConfigError' : 'ContainerCreating';
      throw badRequest(`container "${containerName}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`);
    }
    let lines = logLines(run, this.world, now);
    const sinceSeconds = Number(query.get('sinceSeconds') ?? NaN);
    const sinceTime = Date.parse(query.get('sinceTime') ?? '');
    const from = Number.isFinite(sinceSeconds) ? now - sinceSeconds * 1000 : Number.isFinite(sinceTime) ? sinceTime : undefined;
    if (from !== undefined) lines = lines.filter((l) => l.time >= from);
    const tail = Number(query.get('tailLines') ?? NaN);
    if (Number.isInteger(tail) && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
    const timestamps = query.get('timestamps') === 'true';
    let text = lines.map((l) => `${timestamps ? `${isoMicros(l.time)} ` : ''}${l.text}\n`).join('');
    const limitBytes = Number(query.get('limitBytes') ?? NaN);
    if (Number.isInteger(limitBytes) && limitBytes > 0) text = Buffer.from(text).subarray(0, limitBytes).toString();
    return text;
  }

  /** The app's answer through the pod or service proxy; 503 when nothing listens on the port. */
  http(pod: Pod, port: number, path: string): HttpAnswer {
    const sim = this.sims.get(keyOf(pod.metadata.namespace, pod.metadata.name));
    if (!sim || sim.stage === 'creating') throw new ApiError(503, 'ServiceUnavailable', `pod ${pod.metadata.name} does not have an IP address yet`);
    const listensOn = new Set(pod.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)));
    if (!sim.run || !listening(sim.run) || sim.stage !== 'running' || (listensOn.size > 0 && !listensOn.has(port))) {
      throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${sim.ip}:${port}: connect: connection refused`);
    }
    return httpAnswer(sim.run, port, path, Date.now(), this.timing.readyMs);
  }

  /** The pod's IP once its sandbox exists. */
  ipOf(pod: Pod): string | undefined {
    const sim = this.sims.get(keyOf(pod.metadata.namespace, pod.metadata.name));
    return sim && sim.stage !== 'creating' ? sim.ip : undefined;
  }

  /** PodMetrics for pods whose containers ran within the metrics window. */
  podMetrics(namespace: string | undefined): Record<string, unknown>[] {
    const now = Date.now();
    const out: Record<string, unknown>[] = [];
    for (const sim of this.sims.values()) {
      if (namespace && sim.namespace !== namespace) continue;
      const run = sim.run ?? (sim.previous && now - (sim.previous.run.finishedAt ?? 0) < metricsWindowMs ? sim.previous.run : undefined);
      const pod = this.store.get<Pod>(R.pods, sim.namespace, sim.name);
      if (!run || !pod) continue;
      out.push({
        kind: 'PodMetrics',
        apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: { name: sim.name, namespace: sim.namespace, creationTimestamp: isoSeconds(now), labels: pod.metadata.labels ?? {} },
        timestamp: isoSeconds(now - 5_000),
        window: '15s',
        containers: pod.spec.containers.map((c, i) => ({
          name: c.name,
          usage: i === 0 ? { cpu: `${cpuUsage(run) * 1_000_000}n`, memory: `${Math.round(memoryUsage(run, now) / 1024)}Ki` } : { cpu: '2m', memory: '16Mi' },
        })),
      });
    }
    return out.sort((a, b) => String((a.metadata as { name: string }).name).localeCompare(String((b.metadata as { name: string }).name)));
  }

  /** NodeMetrics: the node's pods plus system daemons. */
  nodeMetrics(): Record<string, unknown>[] {
    const now = Date.now();
    const usage = new Map<string, { cpu: number; memory: number }>();
    for (const sim of this.sims.values()) {
      const pod = this.store.get<Pod>(R.pods, sim.namespace, sim.name);
      if (!pod?.spec.nodeName || !sim.run) continue;
      const u = usage.get(pod.spec.nodeName) ?? { cpu: 0, memory: 0 };
      u.cpu += cpuUsage(sim.run);
      u.memory += memoryUsage(sim.run, now);
      usage.set(pod.spec.nodeName, u);
    }
    return this.store.list<Node>(R.nodes).map((n) => {
      const u = usage.get(n.metadata.name) ?? { cpu: 0, memory: 0 };
      return {
        kind: 'NodeMetrics',
        apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: { name: n.metadata.name, creationTimestamp: isoSeconds(now), labels: n.metadata.labels ?? {} },
        timestamp: isoSeconds(now - 5_000),
        window: '20s',
        usage: { cpu: formatCpu(u.cpu + 180), memory: formatBytes(Math.round((u.memory + 900 * 2 ** 20) / 1024) * 1024) },
      };
    });
  }

  /** Whether a pod has reached a state that shows what is wrong with it (or that nothing is). */
  settled(pod: Pod): boolean {
    if (!pod.spec.nodeName) return pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') ?? false;
    const sim = this.sims.get(keyOf(pod.metadata.namespace, pod.metadata.name));
    if (!sim) return false;
    if (sim.stage === 'configError' || sim.stage === 'backoff') return true;
    if (sim.stage !== 'running' || !sim.run) return false;
    if (sim.exitAt !== undefined) return sim.restarts > 0 && sim.previous !== undefined;
    return sim.ready || Date.now() - sim.run.startedAt >= this.timing.readyMs;
  }
}
