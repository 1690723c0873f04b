// Runbook, Resolution step 4 ("Monitor Recovery"): what makes a monitor sample
// bad, and when bad samples are a regression that re-opens mitigation.
import type { Findings, HealthSample, MetricsBaseline, MitigationAction } from './domain.js';
import { mitigations } from './mitigations.js';

export interface RegressionRules {
  maxErrorRate: number;
  maxP99LatencyMs?: number | undefined;
  consecutiveBadSamples: number;
}

/** The rules of the monitor that judges all four of the runbook's key metrics (input.ts `regression`). */
export interface SignalRules extends RegressionRules {
  /** p99 threshold = the p99 before the incident × this, when maxP99LatencyMs is not set. */
  latencyFactor: number;
  /** p99 threshold when maxP99LatencyMs is not set and there is no baseline. */
  defaultMaxP99LatencyMs: number;
  /** New restarts since the restore that are tolerated (noted, not bad); one more is a regression at once. */
  restartTolerance: number;
  /** Active agents below this share of the baseline are bad; with no baseline, zero agents are. */
  minActiveAgentsRatio: number;
}

/** One threshold the monitor judges by, and where it came from (for the timeline). */
export interface Threshold {
  value: number;
  from: string;
}

/** What the monitor judges each sample by; decided once per monitor and carried by continue-as-new. */
export interface MonitorThresholds {
  maxErrorRate: Threshold;
  maxP99LatencyMs: Threshold;
  maxNewRestarts: Threshold;
  minActiveAgents: Threshold;
}

/**
 * Runbook Resolution step 4's key metrics, each with its threshold: error rate and
 * restarts from the rules; p99 latency from the rules, else the service's own p99
 * before the incident times latencyFactor, else defaultMaxP99LatencyMs; active
 * agents a share of the baseline's, else at least one.
 */
export function monitorThresholds(rules: SignalRules, baseline: MetricsBaseline | undefined): MonitorThresholds {
  const maxP99LatencyMs: Threshold =
    rules.maxP99LatencyMs !== undefined
      ? { value: rules.maxP99LatencyMs, from: 'configured (regression.maxP99LatencyMs)' }
      : baseline?.p99LatencyMs !== undefined && baseline.p99LatencyMs > 0
        ? {
            value: Math.round(baseline.p99LatencyMs * rules.latencyFactor),
            from: `${rules.latencyFactor}× the p99 before the incident (${Math.round(baseline.p99LatencyMs)} ms, ${baseline.from})`,
          }
        : { value: rules.defaultMaxP99LatencyMs, from: `default, no baseline (${baseline?.from ?? 'not measured'})` };
  const minActiveAgents: Threshold =
    baseline?.activeAgents !== undefined && baseline.activeAgents > 0
      ? {
          value: Math.max(1, Math.round(baseline.activeAgents * rules.minActiveAgentsRatio * 10) / 10),
          from: `${rules.minActiveAgentsRatio}× the active agents before the incident (${Math.round(baseline.activeAgents * 10) / 10}, ${baseline.from})`,
        }
      : { value: 1, from: `default: at least one agent, no baseline (${baseline?.from ?? 'not measured'})` };
  return {
    maxErrorRate: { value: rules.maxErrorRate, from: 'configured (regression.maxErrorRate)' },
    maxP99LatencyMs,
    maxNewRestarts: { value: rules.restartTolerance, from: 'configured (regression.restartTolerance)' },
    minActiveAgents,
  };
}

export function describeThresholds(t: MonitorThresholds): string {
  return [
    `error rate ≤ ${(t.maxErrorRate.value * 100).toFixed(1)}% (${t.maxErrorRate.from})`,
    `p99 ≤ ${t.maxP99LatencyMs.value} ms (${t.maxP99LatencyMs.from})`,
    `new restarts ≤ ${t.maxNewRestarts.value} (${t.maxNewRestarts.from})`,
    `active agents ≥ ${t.minActiveAgents.value} (${t.minActiveAgents.from})`,
  ].join('; ');
}

/**
 * All four key metrics judged. Restarts beyond the tolerance are a regression at
 * once (a crash loop is back); tolerated ones are only noted. Any other failure
 * (readiness, health, error rate, p99, active agents) re-opens mitigation after
 * `consecutiveBadSamples` in a row. A metric the service does not report is not judged.
 */
export function judgeSample(
  sample: HealthSample,
  t: MonitorThresholds,
  restartsBaseline: number,
  badBefore: number,
  consecutiveBadSamples: number,
): SampleVerdict & { notes: string[] } {
  const reasons: string[] = [];
  const notes: string[] = [];
  const newRestarts = sample.restarts - restartsBaseline;
  const crashing = newRestarts > t.maxNewRestarts.value;
  if (crashing) reasons.push(`${newRestarts} new restarts > ${t.maxNewRestarts.value} tolerated`);
  else if (newRestarts > 0) notes.push(`${newRestarts} new restart(s), within the tolerance of ${t.maxNewRestarts.value}`);
  if (sample.readyPods < sample.desiredPods) reasons.push(`${sample.readyPods}/${sample.desiredPods} pods ready`);
  if (!sample.live) reasons.push('/health/live failing');
  if (!sample.ready) reasons.push('/health/ready failing');
  if (sample.errorRate > t.maxErrorRate.value)
    reasons.push(`error rate ${(sample.errorRate * 100).toFixed(1)}% > ${(t.maxErrorRate.value * 100).toFixed(1)}% (${t.maxErrorRate.from})`);
  if (sample.p99LatencyMs !== undefined && sample.p99LatencyMs > t.maxP99LatencyMs.value)
    reasons.push(`p99 ${Math.round(sample.p99LatencyMs)} ms > ${t.maxP99LatencyMs.value} ms (${t.maxP99LatencyMs.from})`);
  if (sample.activeAgents !== undefined && sample.activeAgents < t.minActiveAgents.value)
    reasons.push(`${sample.activeAgents} active agents < ${t.minActiveAgents.value} (${t.minActiveAgents.from})`);
  const bad = reasons.length > 0;
  return { bad, regression: crashing || (bad && badBefore + 1 >= consecutiveBadSamples), reasons, notes };
}

export interface SampleVerdict {
  bad: boolean;
  /** True when mitigation must re-open. */
  regression: boolean;
  reasons: string[];
}

/**
 * New restarts are a regression at once (a crash loop is back); other failures
 * (readiness, health, error rate, latency) only after `consecutiveBadSamples` in a
 * row, so one slow scrape does not re-open an incident.
 */
export function assessSample(sample: HealthSample, restartsBaseline: number, badBefore: number, rules: RegressionRules): SampleVerdict {
  const reasons: string[] = [];
  const newRestarts = sample.restarts - restartsBaseline;
  if (newRestarts > 0) reasons.push(`${newRestarts} new restarts`);
  if (sample.readyPods < sample.desiredPods) reasons.push(`${sample.readyPods}/${sample.desiredPods} pods ready`);
  if (!sample.live) reasons.push('/health/live failing');
  if (!sample.ready) reasons.push('/health/ready failing');
  if (sample.errorRate > rules.maxErrorRate) reasons.push(`error rate ${(sample.errorRate * 100).toFixed(1)}% > ${(rules.maxErrorRate * 100).toFixed(1)}%`);
  if (rules.maxP99LatencyMs !== undefined && sample.p99LatencyMs !== undefined && sample.p99LatencyMs > rules.maxP99LatencyMs) {
    reasons.push(`p99 ${Math.round(sample.p99LatencyMs)} ms > ${rules.maxP99LatencyMs} ms`);
  }
  const bad = reasons.length > 0;
  return { bad, regression: newRestarts > 0 || (bad && badBefore + 1 >= rules.consecutiveBadSamples), reasons };
}

export function describeSample(sample: HealthSample): string {
  return `${sample.readyPods}/${sample.desiredPods} ready, ${sample.restarts} restarts, live ${sample.live ? 'ok' : 'failing'}, ready ${sample.ready ? 'ok' : 'failing'}, errors ${(sample.errorRate * 100).toFixed(1)}%${sample.p99LatencyMs === undefined ? '' : `, p99 ${Math.round(sample.p99LatencyMs)} ms`}${sample.activeAgents === undefined ? '' : `, ${sample.activeAgents} active agents`}`;
}

/**
 * The restart count verification compares against: actions that replace every pod
 * start from zero; the others (scale, selector) keep the pods and their count
 * (the catalogue's replacesPods).
 */
export function restartsBaseline(action: MitigationAction | undefined, findings: Findings | undefined): number {
  const current = findings?.workload.pods.reduce((sum, p) => sum + p.restarts, 0) ?? 0;
  if (!action) return current;
  return mitigations[action.kind].replacesPods ? 0 : current;
}
