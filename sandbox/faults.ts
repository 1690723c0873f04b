// Fault injection for the Kubernetes API: per verb and resource, a share of
// requests gets added latency, an error status (429 with Retry-After, 500, 503)
// or a dropped connection, so clients' retry and idempotency paths are exercised;
// 403 stands for an RBAC denial (the sandbox has no RBAC of its own).
import { ApiError } from './errors.js';

export interface FaultRule {
  verb?: string;
  /** "deployments" also matches its subresources ("deployments/scale"); "pods/log" only that one. */
  resource?: string;
  status?: FaultStatus;
  rate: number;
  latencyMs?: number;
  drop?: boolean;
}

export type FaultStatus = 403 | 429 | 500 | 503;

export type FaultDecision = { latencyMs: number; drop: boolean; error?: ApiError };

const errors: Record<FaultStatus, (verb: string, resource: string) => ApiError> = {
  403: (verb, resource) => new ApiError(403, 'Forbidden', `${resource} is forbidden: User "sandbox-user" cannot ${verb} resource "${resource}"`),
  429: () => new ApiError(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', { retryAfterSeconds: 1 }),
  500: () => new ApiError(500, 'InternalError', 'an error on the server ("injected fault") has prevented the request from succeeding'),
  503: () => new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
};

function matches(rule: FaultRule, verb: string, resource: string): boolean {
  if (rule.verb !== undefined && rule.verb !== verb) return false;
  if (rule.resource === undefined) return true;
  return rule.resource === resource || resource.startsWith(`${rule.resource}/`);
}

export class Faults {
  private rules: readonly FaultRule[] = [];

  set(rules: readonly FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r }));
  }

  /** Rolls the dice for one request; each matching rule fires independently at its rate. */
  decide(verb: string, resource: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, drop: false };
    for (const rule of this.rules) {
      if (!matches(rule, verb, resource) || Math.random() >= rule.rate) continue;
      decision.latencyMs += rule.latencyMs ?? 0;
      if (rule.drop) decision.drop = true;
      if (rule.status !== undefined && !decision.error) decision.error = errors[rule.status](verb, resource);
    }
    return decision;
  }
}
