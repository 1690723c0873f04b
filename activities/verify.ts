// Runbook "Verification" and "Monitor Recovery": rollout complete, pods ready
// with no new restarts, /health/live and /health/ready 200, metrics answering;
// and the monitor's one-minute sample (restarts, readiness, health, error rate, p99, active agents).
import type { V1Pod } from '@kubernetes/client-node';
import type { Check, HealthSample, PodCounters, ServiceRef, VerificationResult, WireTrafficCounters } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { probeGet, shownAnswer, type ProxyAnswer } from './health.js';
import type { KubeClients } from './kube/cluster.js';
import { isPodReady, isPodRunning, listPods, livePods, podRestarts, readDeployment } from './kube/objects.js';
import { errorRate, gaugeSum, parsePrometheusText, quantileMs, sinceLast, sumCounters, trafficCounters, type TrafficCounters } from './metrics.js';
import { rolloutState } from './rollout.js';

interface Observation {
  desired: number;
  pods: V1Pod[];
  ready: number;
  restarts: number;
  rollout: ReturnType<typeof rolloutState> | undefined;
  live: ProxyAnswer;
  readyProbe: ProxyAnswer;
}

/** One look at the service: its deployment and live pods, and its health endpoints through the service. */
async function observe(deps: ActivityDeps, k: KubeClients, service: ServiceRef): Promise<Observation> {
  const { namespace, deployment: name } = service;
  const { healthPort, livePath, readyPath } = deps.probes;
  const onService = { kind: 'services' as const, namespace, name };
  const [deployment, live, readyProbe] = await Promise.all([
    readDeployment(k, service),
    probeGet(deps, k, onService, healthPort, livePath),
    probeGet(deps, k, onService, healthPort, readyPath),
  ]);
  const pods = deployment ? livePods(await listPods(k, namespace, deployment)) : [];
  return {
    desired: deployment?.spec?.replicas ?? 0,
    pods,
    ready: pods.filter(isPodReady).length,
    restarts: pods.reduce((sum, pod) => sum + podRestarts(pod), 0),
    rollout: deployment ? rolloutState(deployment) : undefined,
    live,
    readyProbe,
  };
}

function endpointCheck(name: string, path: string, answer: ProxyAnswer): Check {
  const { status, body } = shownAnswer(answer);
  return { name, ok: status === 200, detail: `GET /${path.replace(/^\/+/, '')} → ${status}${body && status !== 200 ? `: ${body}` : ''}` };
}

export async function verifyRecovery(deps: ActivityDeps, service: ServiceRef, options: { restartsBaseline: number }): Promise<VerificationResult> {
  const k = deps.kube.clients(service.cluster);
  const { livePath, readyPath, metricsPath, metricsPort } = deps.probes;
  const [seen, metrics] = await Promise.all([
    observe(deps, k, service),
    probeGet(deps, k, { kind: 'services', namespace: service.namespace, name: service.deployment }, metricsPort, metricsPath),
  ]);
  const checks: Check[] = [
    { name: 'rollout complete', ok: seen.rollout?.complete ?? false, detail: seen.rollout?.message ?? `deployment ${service.deployment} does not exist` },
    { name: 'pods ready', ok: seen.desired > 0 && seen.ready >= seen.desired, detail: `${seen.ready}/${seen.desired} pods ready` },
    { name: 'no new restarts', ok: seen.restarts <= options.restartsBaseline, detail: `${seen.restarts} restarts (baseline ${options.restartsBaseline})` },
    endpointCheck('liveness endpoint', livePath, seen.live),
    endpointCheck('readiness endpoint', readyPath, seen.readyProbe),
    endpointCheck('metrics endpoint', metricsPath, metrics),
  ];
  return { recovered: checks.every((c) => c.ok), checks, restarts: seen.restarts };
}

/**
 * Each running pod's traffic counters, scraped directly: behind the service,
 * consecutive scrapes would hit different pods, and unready pods (which the
 * service skips) still count the requests they fail.
 */
async function podCounters(
  deps: ActivityDeps,
  k: KubeClients,
  namespace: string,
  pods: V1Pod[],
): Promise<{ counters: Map<string, TrafficCounters>; activeAgents: number | undefined }> {
  const scraped = await Promise.all(
    pods.filter(isPodRunning).map(async (pod) => {
      const name = pod.metadata?.name ?? '';
      const answer = await probeGet(deps, k, { kind: 'pods', namespace, name }, deps.probes.metricsPort, deps.probes.metricsPath);
      if (answer.status !== 200) return [];
      const samples = parsePrometheusText(answer.body);
      return [{ name, counters: trafficCounters(samples), agents: gaugeSum(samples, activeAgentsMetric) }];
    }),
  );
  const answered = scraped.flat();
  const agents = answered.flatMap((a) => (a.agents === undefined ? [] : [a.agents]));
  return {
    counters: new Map(answered.map((a) => [a.name, a.counters])),
    activeAgents: agents.length === 0 ? undefined : agents.reduce((sum, n) => sum + n, 0),
  };
}

/** Runbook step 4's "active agent count": the gauge the service exposes on its metrics port. */
const activeAgentsMetric = 'agent_active_agents';

const toWire = (c: TrafficCounters): WireTrafficCounters => ({ ...c, buckets: c.buckets.map(([le, n]) => [le === Infinity ? null : le, n]) });
const fromWire = (c: WireTrafficCounters): TrafficCounters => ({ ...c, buckets: c.buckets.map(([le, n]) => [le ?? Infinity, n]) });

/**
 * The monitor's sample. Error rate and p99 cover the requests since the
 * previous sample (`previous`, per pod, kept by the workflow: any worker can
 * take any sample), or a pod's whole life when it is new, its counters were
 * reset, or there is no previous sample.
 */
export async function sampleHealth(deps: ActivityDeps, service: ServiceRef, previous: PodCounters | undefined): Promise<HealthSample> {
  const k = deps.kube.clients(service.cluster);
  const seen = await observe(deps, k, service);
  const { counters, activeAgents } = await podCounters(deps, k, service.namespace, seen.pods);
  const window = sumCounters([...counters].map(([pod, now]) => sinceLast(now, previous?.[pod] ? fromWire(previous[pod]) : undefined)));
  return {
    at: deps.clock().toISOString(),
    readyPods: seen.ready,
    desiredPods: seen.desired,
    restarts: seen.restarts,
    live: seen.live.status === 200,
    ready: seen.readyProbe.status === 200,
    errorRate: errorRate(window),
    p99LatencyMs: quantileMs(window, 0.99),
    ...(activeAgents === undefined ? {} : { activeAgents }),
    counters: Object.fromEntries([...counters].map(([pod, c]) => [pod, toWire(c)])),
  };
}
