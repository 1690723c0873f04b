// The contract between the incident workflow and its activities. The workflow
// does `import type { IncidentActivities }` and proxies them; createActivities()
// (activities/index.ts) returns an object of this shape over injected clients.
import type {
  ConfigFindings,
  CustomerImpact,
  DependencyFindings,
  EventFindings,
  HealthFindings,
  HealthSample,
  MetricsBaseline,
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
import type { LeaseRelease, LeaseRequest } from '../workflows/model/governor.js';
import type { ApprovalPolicy } from '../workflows/input.js';

export type { EndedIncident, JoinMajorRequest } from './major-incident.js';
import type { EndedIncident, JoinMajorRequest } from './major-incident.js';

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
  /** The service's p99 latency and active agents over a window before `before` (the alert's start), from Prometheus. */
  metricsBaseline(service: ServiceRef, options: { before: string }): Promise<MetricsBaseline>;

  /**
   * The approval policy of this worker's configuration (INCIDENT_APPROVERS, INCIDENT_AUTO_APPROVE)
   * for the service's namespace: who may approve, and what is applied without a human. Every
   * incident run loads it at its start; what a caller put in the incident's input is not used.
   */
  approvalPolicy(service: ServiceRef): Promise<ApprovalPolicy>;

  // The cluster's remediation governor (workflows/governor.ts).
  /**
   * Asks the cluster's governor for a change lease (signal-with-start, with the worker's
   * governor policy); the answer comes back as a signal. Returns how long the governor
   * lets a request wait, so the incident bounds its own wait.
   */
  requestChangeLease(request: Omit<LeaseRequest, 'policy'>): Promise<{ maxWaitMs: number }>;
  /** Ends the lease (the change was verified, failed, or not applied); a governor that is not running has none to end. */
  releaseChangeLease(release: LeaseRelease): Promise<void>;

  // Communications and records.
  /** Whether customers are affected: the customer-facing probe and/or the SLO burn rate, with redacted evidence. */
  checkCustomerImpact(service: ServiceRef): Promise<CustomerImpact>;
  notify(notification: Notification): Promise<void>;
  /** A storm: joins the major incident of the diagnosis's common cause (signal-with-start; the parent answers by signal). */
  joinMajorIncident(request: JoinMajorRequest): Promise<{ majorId: string }>;
  /** Which of the major incident's children have ended without reporting resolved (workflows/major-incident.ts). */
  endedIncidents(incidentIds: string[]): Promise<EndedIncident[]>;
  writeReport(report: IncidentReport): Promise<{ location: string }>;
}

/**
 * Every failure type name an activity throws (ApplicationFailure.type); the retry
 * policies (workflows/retry.ts) and tests use the same names. Permanent ones end
 * the activity at once; transient ones (retryableFailureTypes) are retried by
 * Temporal's retry policy, the one layer that retries.
 */
export const FailureTypes = {
  // Permanent.
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
  /**
   * A dry-run just before the apply differs from the one the approver saw (someone changed the
   * object meanwhile): nothing is written; the incident shows the new dry-run and asks again.
   */
  ApprovedPreviewChanged: 'ApprovedPreviewChanged',
  /** A notification endpoint refused the message (4xx other than 429): wrong URL or key. */
  NotificationRejected: 'NotificationRejected',

  // Transient: retried with backoff (a 429's Retry-After sets the next delay).
  /** 429, 408, 5xx, a timeout or a dropped connection from the API server. */
  KubernetesUnavailable: 'KubernetesUnavailable',
  /** 409: the object changed between the read and the write; the next attempt reads it again. */
  Conflict: 'KubernetesConflict',
  /** 429, 5xx or no answer from a notification endpoint. */
  NotificationUnavailable: 'NotificationUnavailable',
  /** Anything unforeseen (a malformed response, a bug): retried, with a message that says what. */
  Unexpected: 'UnexpectedError',
} as const;
export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];

/** The transient failure types: Temporal retries these, and nothing else retries them. */
export const retryableFailureTypes: readonly FailureType[] = [
  FailureTypes.KubernetesUnavailable,
  FailureTypes.Conflict,
  FailureTypes.NotificationUnavailable,
  FailureTypes.Unexpected,
];
export const nonRetryableFailureTypes: string[] = Object.values(FailureTypes).filter((type) => !retryableFailureTypes.includes(type));
