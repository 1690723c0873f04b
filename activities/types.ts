// The contract between the incident workflow and its activities. The workflow
// does `import type { IncidentActivities }` and proxies them; createActivities()
// (activities/index.ts) returns an object of this shape over injected clients.
import type { RetryPolicy } from '@temporalio/common';
import type {
  ConfigFindings,
  DependencyFindings,
  EventFindings,
  HealthFindings,
  HealthSample,
  LogFindings,
  MutationPreview,
  MutationRequest,
  MutationResult,
  Notification,
  PodCounters,
  ResourceFindings,
  RolloutStatus,
  ServiceRef,
  VerificationResult,
  WorkloadFindings,
} from '../workflows/domain.js';

export interface IncidentReport {
  incidentId: string;
  title: string;
  /** Markdown, drafted by the workflow from its own record. */
  markdown: string;
}

export interface IncidentActivities {
  // Investigation (read-only; the workflow runs them in parallel).
  /** Runbook step 1: deployment, replica sets / revisions, pods. */
  inspectWorkload(service: ServiceRef): Promise<WorkloadFindings>;
  /** Runbook step 2: log tails (current and previous), error-pattern counts. */
  collectLogs(service: ServiceRef, options: { tailLines: number; sinceSeconds?: number }): Promise<LogFindings>;
  /** Runbook step 3: nodes, pod usage, quotas, scheduling failures. */
  inspectResources(service: ServiceRef): Promise<ResourceFindings>;
  /** Runbook step 4: config maps, secret key names, env the pods need. */
  inspectConfiguration(service: ServiceRef): Promise<ConfigFindings>;
  /** Runbook step 5: dependency probes, service account, role bindings. */
  checkDependencies(service: ServiceRef): Promise<DependencyFindings>;
  /** Pods running but unhealthy: service, endpoints, health via the service proxy, ingress. */
  checkServiceHealth(service: ServiceRef): Promise<HealthFindings>;
  /** Root cause: the service's recent events, oldest first (at most 20). */
  recentEvents(service: ServiceRef): Promise<EventFindings>;

  // Mutations (approval-gated by the workflow; idempotent by key).
  /** Server-side dry-run: what would change. */
  previewMutation(request: MutationRequest): Promise<MutationPreview>;
  /** Applies the change once; a retry with the same key writes nothing. */
  applyMutation(request: MutationRequest): Promise<MutationResult>;

  // Verification and monitoring.
  /** `kubectl rollout status` logic; heartbeats while it waits. */
  waitForRollout(service: ServiceRef, options: { timeoutSeconds: number }): Promise<RolloutStatus>;
  /** Rollout complete, pods ready with no new restarts, health endpoints 200, metrics answer. */
  verifyRecovery(service: ServiceRef, options: { restartsBaseline: number }): Promise<VerificationResult>;
  /**
   * One monitor sample: restarts, readiness, health endpoints, and error rate and latency
   * since `previous` (the counters of the sample before, which the workflow keeps).
   */
  sampleHealth(service: ServiceRef, options?: { previous?: PodCounters }): Promise<HealthSample>;

  // Communications and records.
  notify(notification: Notification): Promise<void>;
  writeReport(report: IncidentReport): Promise<{ location: string }>;
}

/** Failure type names for ApplicationFailure; retry policies and tests use the same names. */
export const FailureTypes = {
  /** 401/403: the worker's credentials or RBAC do not allow the call. */
  Forbidden: 'KubernetesForbidden',
  /** 404: the object does not exist. */
  NotFound: 'KubernetesNotFound',
  /** 422/400: the API server refused the object as invalid. */
  Invalid: 'KubernetesInvalid',
  /** A configured guardrail (namespace, max replicas, memory ceiling) refused the mutation. */
  GuardrailViolation: 'GuardrailViolation',
  /** Bad input to an activity (a bug or a bad signal payload). */
  BadRequest: 'BadRequest',
  /** The object changed since the plan was approved (e.g. the value a restore would write): investigate again. */
  StalePlan: 'StalePlan',
  /** A notification endpoint refused the message (4xx other than 429): wrong URL or key. */
  NotificationRejected: 'NotificationRejected',
} as const;
export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];
export const nonRetryableFailureTypes: string[] = Object.values(FailureTypes);

/**
 * The retry policy for these activities. Transient trouble (API throttling,
 * 5xx, timeouts, dropped connections, notification endpoints down) is retried
 * with backoff; each attempt already retries single calls a few times in place,
 * so an attempt that fails means the trouble lasted. A 429's Retry-After
 * overrides the interval. Permanent failures (FailureTypes) are not retried.
 * waitForRollout also needs a heartbeatTimeout (a few poll intervals, e.g. 30 s).
 */
export const activityRetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: nonRetryableFailureTypes,
} satisfies RetryPolicy;
