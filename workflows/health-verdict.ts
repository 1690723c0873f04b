// Runbook, Resolution step 4 ("Monitor Recovery"): what makes a monitor sample
// bad, and when bad samples are a regression that re-opens mitigation.
import type { Findings, HealthSample, MitigationAction } from './domain.js';
import { mitigations } from './mitigations.js';

export interface RegressionRules {
  maxErrorRate: number;
  maxP99LatencyMs?: number | undefined;
  consecutiveBadSamples: number;
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
  return `${sample.readyPods}/${sample.desiredPods} ready, ${sample.restarts} restarts, live ${sample.live ? 'ok' : 'failing'}, ready ${sample.ready ? 'ok' : 'failing'}, errors ${(sample.errorRate * 100).toFixed(1)}%${sample.p99LatencyMs === undefined ? '' : `, p99 ${Math.round(sample.p99LatencyMs)} ms`}`;
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
