// The incident's plain data: what crosses every Temporal boundary (workflow input,
// activity results, signals, queries). JSON only: no Map, Set, Date or class
// instances. Each shape is a zod schema so the edges can validate it, and the
// TypeScript type is inferred from it.
import { z } from 'zod';

/** A SHA-256 digest in hex: how a value travels where the value itself must not (history, approvals). */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex');

/** One service: the unit an incident is opened for (one workflow per service). */
export const ServiceRefSchema = z.object({
  cluster: z.string().min(1).max(63),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name')
    .max(63),
  deployment: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes deployment name')
    .max(253),
});
export type ServiceRef = z.infer<typeof ServiceRefSchema>;

// ---------------------------------------------------------------------------
// Findings: the runbook's investigation steps 1-5, compact and redacted.
// Lists are bounded by the activities (see the limits noted per field) so that
// workflow histories stay small.
// ---------------------------------------------------------------------------

export const ContainerSpecSchema = z.object({
  name: z.string(),
  image: z.string(),
  requests: z.object({ cpu: z.string().optional(), memory: z.string().optional() }),
  limits: z.object({ cpu: z.string().optional(), memory: z.string().optional() }),
});
export type ContainerSpec = z.infer<typeof ContainerSpecSchema>;

export const RevisionSchema = z.object({
  revision: z.number().int(),
  replicaSet: z.string(),
  images: z.array(z.string()),
  changeCause: z.string().optional(),
  createdAt: z.string(),
  /** Ready replicas this revision had when it was last the live one, if known. */
  readyReplicas: z.number().int(),
});
export type Revision = z.infer<typeof RevisionSchema>;

export const PodSummarySchema = z.object({
  name: z.string(),
  phase: z.string(),
  ready: z.boolean(),
  restarts: z.number().int(),
  /** e.g. CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError */
  waitingReason: z.string().optional(),
  lastTermination: z.object({ reason: z.string(), exitCode: z.number().int() }).optional(),
  node: z.string().optional(),
  revision: z.number().int().optional(),
  startedAt: z.string().optional(),
});
export type PodSummary = z.infer<typeof PodSummarySchema>;

/** Runbook step 1: `kubectl get/describe deployment`, `kubectl get/describe pods -l app=...`. */
export const WorkloadFindingsSchema = z.object({
  exists: z.boolean(),
  desiredReplicas: z.number().int(),
  readyReplicas: z.number().int(),
  availableReplicas: z.number().int(),
  updatedReplicas: z.number().int(),
  generation: z.number().int(),
  observedGeneration: z.number().int(),
  currentRevision: z.number().int(),
  selector: z.record(z.string(), z.string()),
  containers: z.array(ContainerSpecSchema),
  conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })),
  /** Rollout history, newest first (at most 10). */
  revisions: z.array(RevisionSchema),
  /** The pod template's nodeSelector (the node pool its pods are pinned to), when it has one. */
  nodeSelector: z.record(z.string(), z.string()).optional(),
  /** At most 20 pods. */
  pods: z.array(PodSummarySchema),
});
export type WorkloadFindings = z.infer<typeof WorkloadFindingsSchema>;

/** Runbook step 2: `kubectl logs -l app=... --tail`, `--previous`, grep error|exception|fatal. */
/** One block of `grep -B5 -A5 "ERROR\|FATAL"` output from one container's log. */
export const LogExcerptSchema = z.object({
  pod: z.string(),
  previous: z.boolean(),
  lines: z.array(z.string()),
  /** Lines of a longer merged block left out before these. */
  omitted: z.number().int().min(0).optional(),
});
export type LogExcerpt = z.infer<typeof LogExcerptSchema>;

/** What keeps the RCA excerpts small in the history, the snapshot and the report. */
export const logExcerptBounds = { context: 5, maxBlocks: 4, maxBlockLines: 11, maxLineLength: 300, maxChars: 6_000 } as const;

export const LogFindingsSchema = z.object({
  errorCount: z.number().int(),
  exceptionCount: z.number().int(),
  fatalCount: z.number().int(),
  /** The last matching lines across pods (current and previous containers), redacted; at most 20, each at most 500 chars. */
  lastErrorLines: z.array(z.object({ pod: z.string(), previous: z.boolean(), line: z.string() })),
  /**
   * Root cause analysis: `kubectl logs --since=1h | grep -B5 -A5 "ERROR\|FATAL"`,
   * the latest blocks of context around ERROR/FATAL lines, redacted, bounded
   * (logExcerptBounds). Absent from findings of earlier releases.
   */
  contextExcerpts: z.array(LogExcerptSchema).optional(),
});
export type LogFindings = z.infer<typeof LogFindingsSchema>;

/** Runbook step 3: `kubectl describe nodes`, `kubectl top pods`, `kubectl describe resourcequota`. */
export const ResourceFindingsSchema = z.object({
  nodes: z.array(
    z.object({
      name: z.string(),
      ready: z.boolean(),
      /** Conditions other than Ready that are True (MemoryPressure, DiskPressure, ...). */
      pressure: z.array(z.string()),
      allocatable: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }),
      requested: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }),
    }),
  ),
  podUsage: z.array(z.object({ pod: z.string(), cpuMillis: z.number(), memoryBytes: z.number(), memoryLimitBytes: z.number().optional() })),
  quotas: z.array(z.object({ name: z.string(), hard: z.record(z.string(), z.string()), used: z.record(z.string(), z.string()) })),
  /** FailedScheduling messages seen for the service's pods (at most 5). */
  schedulingFailures: z.array(z.string()),
  /** What this cluster would not show (no metrics-server, RBAC without nodes or quotas), and what that leaves unknown. */
  gaps: z.array(z.string()).optional(),
});
export type ResourceFindings = z.infer<typeof ResourceFindingsSchema>;

/** Runbook step 4: config map contents, secret KEY NAMES ONLY, env required by the pod spec. */
export const ConfigFindingsSchema = z.object({
  configMaps: z.array(
    z.object({
      name: z.string(),
      exists: z.boolean(),
      data: z.record(z.string(), z.string()),
      /**
       * Keys whose value differs from the `last-applied-configuration` annotation.
       * `current` and `lastApplied` are for people (redacted, cut); `lastAppliedSha256`
       * identifies the exact last applied value, which a restore reads again at apply time.
       */
      drift: z.array(
        z.object({ key: z.string(), current: z.string().optional(), lastApplied: z.string().optional(), lastAppliedSha256: Sha256Schema.optional() }),
      ),
      /** The last applied data, when the annotation exists, as shown to people (redacted, cut: never written back). */
      lastApplied: z.record(z.string(), z.string()).optional(),
    }),
  ),
  secrets: z.array(z.object({ name: z.string(), exists: z.boolean(), keys: z.array(z.string()) })),
  /** Env the pod template needs that its sources do not provide. */
  missingEnv: z.array(z.object({ variable: z.string(), source: z.enum(['secret', 'configMap']), object: z.string(), key: z.string() })),
  /**
   * The runbook's `env | grep -E "(ANTHROPIC|LOG|AGENT)"`, read from the pod spec:
   * each matching variable, its source, whether it is there; a value only when it
   * is not a secret's (redacted, cut).
   */
  env: z
    .array(
      z.object({
        variable: z.string(),
        source: z.enum(['literal', 'secret', 'configMap']),
        object: z.string().optional(),
        present: z.boolean(),
        value: z.string().optional(),
      }),
    )
    .optional(),
});
export type ConfigFindings = z.infer<typeof ConfigFindingsSchema>;

/** Runbook step 5: external API reachability, service account and role bindings. */
export const DependencyFindingsSchema = z.object({
  probes: z.array(
    z.object({
      name: z.string(),
      url: z.string(),
      ok: z.boolean(),
      status: z.number().int().optional(),
      error: z.string().optional(),
      /** Where the probe ran: `pod/<name>` (the pod's own check of url), absent for the worker's. */
      from: z.string().optional(),
    }),
  ),
  /** Dependencies no pod could be asked about (none answering, or no such check), and why. */
  unchecked: z.array(z.object({ name: z.string(), url: z.string(), reason: z.string() })).optional(),
  serviceAccount: z.object({ name: z.string(), exists: z.boolean() }),
  roleBindings: z.array(z.string()),
});
export type DependencyFindings = z.infer<typeof DependencyFindingsSchema>;

/** "Pods running but unhealthy": health endpoints through the service, endpoints, ingress. */
export const HealthFindingsSchema = z.object({
  service: z.object({
    exists: z.boolean(),
    /** The service's name, when the activity found it (optional: the runbook names it like the deployment). */
    name: z.string().optional(),
    selector: z.record(z.string(), z.string()),
    endpoints: z.number().int(),
  }),
  /** The selector labels the deployment's pods actually carry (to fix a selector mismatch). */
  podLabels: z.record(z.string(), z.string()),
  live: z.object({ status: z.number().int(), body: z.string() }),
  ready: z.object({ status: z.number().int(), body: z.string() }),
  /**
   * The same endpoints asked of one running pod directly (pods/proxy: the runbook's
   * port-forward + curl), when the service reaches no pod: says why the pods are unready.
   */
  direct: z
    .object({
      pod: z.string(),
      live: z.object({ status: z.number().int(), body: z.string() }),
      ready: z.object({ status: z.number().int(), body: z.string() }),
    })
    .optional(),
  metricsUp: z.boolean(),
  ingresses: z.array(z.object({ name: z.string(), hosts: z.array(z.string()) })),
});
export type HealthFindings = z.infer<typeof HealthFindingsSchema>;

/** Root cause inputs: `kubectl get events --sort-by=.metadata.creationTimestamp | tail -20`. */
export const EventSchema = z.object({
  time: z.string(),
  type: z.string(),
  reason: z.string(),
  object: z.string(),
  message: z.string(),
  count: z.number().int(),
});
export type ServiceEvent = z.infer<typeof EventSchema>;

export const EventFindingsSchema = z.object({
  events: z.array(EventSchema),
});
export type EventFindings = z.infer<typeof EventFindingsSchema>;

export const FindingsSchema = z.object({
  collectedAt: z.string(),
  workload: WorkloadFindingsSchema,
  logs: LogFindingsSchema,
  resources: ResourceFindingsSchema,
  config: ConfigFindingsSchema,
  dependencies: DependencyFindingsSchema,
  health: HealthFindingsSchema,
  events: EventFindingsSchema,
});
export type Findings = z.infer<typeof FindingsSchema>;

// ---------------------------------------------------------------------------
// Mitigations: the runbook's fixes. The workflow decides every value (target
// revision, replica count, restart timestamp); the activity only applies it.
// ---------------------------------------------------------------------------

export const MitigationActionSchema = z.discriminatedUnion('kind', [
  /** kubectl rollout undo deployment/X --to-revision=N */
  z.object({ kind: z.literal('rollout-undo'), toRevision: z.number().int().positive() }),
  /** kubectl rollout restart deployment/X (restartedAt chosen by the workflow) */
  z.object({ kind: z.literal('rollout-restart'), restartedAt: z.string() }),
  /** kubectl scale deployment/X --replicas=N */
  z.object({ kind: z.literal('scale'), replicas: z.number().int().min(0) }),
  /** kubectl patch deployment/X (container resources) */
  z.object({
    kind: z.literal('set-resources'),
    container: z.string(),
    requests: z.object({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
    limits: z.object({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
  }),
  /** kubectl set image deployment/X container=image */
  z.object({ kind: z.literal('set-image'), container: z.string(), image: z.string() }),
  /**
   * kubectl patch configmap NAME -p '{"data":...}' then rollout restart, with values
   * the workflow chose itself (the runbook's LOG_LEVEL=DEBUG), never values from findings.
   */
  z.object({
    kind: z.literal('patch-config-map'),
    name: z.string(),
    data: z.record(z.string(), z.string()),
    /** Keys to delete (a merge patch's null): putting back a key that was absent before our patch. */
    remove: z.array(z.string()).optional(),
    restartedAt: z.string(),
  }),
  /**
   * Puts drifted keys back to their last applied values, then rollout restart. It
   * carries no value, only each key's SHA-256 of the value that was shown for
   * approval: the activity reads the values again from the source of truth (the
   * `last-applied-configuration` annotation), refuses if they changed, writes
   * them byte for byte, and checks the object holds them after the write.
   */
  z.object({ kind: z.literal('restore-config-map'), name: z.string(), keys: z.record(z.string(), Sha256Schema), restartedAt: z.string() }),
  /** kubectl patch service NAME -p '{"spec":{"selector":...}}' */
  z.object({ kind: z.literal('set-service-selector'), service: z.string(), selector: z.record(z.string(), z.string()) }),
]);
export type MitigationAction = z.infer<typeof MitigationActionSchema>;
export type MitigationKind = MitigationAction['kind'];

export interface MutationRequest {
  service: ServiceRef;
  action: MitigationAction;
  /**
   * `<workflowId>/<first run ID>/action-<n>` (IncidentModel.idempotencyKey): recorded on
   * every object written, so a retried activity, or a later run of the same incident,
   * sees its own write and writes nothing again.
   */
  idempotencyKey: string;
  /** Who approved it ("policy:auto" for auto-approval); recorded with the write. */
  approvedBy: string;
  /**
   * The dry-run's changes the approval was given for (at most the first 20). Set, the apply
   * dry-runs again first and writes nothing if the changes differ (ApprovedPreviewChanged).
   */
  approvedChanges?: string[];
}

/** How many of a dry-run's changes are kept with the action, shown and bound to its approval. */
export const maxPreviewChanges = 20;

export interface MutationPreview {
  /** The kubectl command this stands for, for humans. */
  command: string;
  /** Human-readable change from the server-side dry-run, e.g. "memory limit 256Mi -> 512Mi". */
  changes: string[];
  /** False when the object already is in the requested state. */
  wouldChange: boolean;
}

export interface MutationResult {
  command: string;
  changes: string[];
  /** True when the idempotency key was already on the object: nothing was written this time. */
  alreadyApplied: boolean;
  /**
   * metadata.generation of the last object written (0 for a config map, which has
   * none). Recorded only: the workflow verifies by waiting for the rollout and
   * checking health, not by comparing generations.
   */
  generation: number;
}

// ---------------------------------------------------------------------------
// Verification and monitoring
// ---------------------------------------------------------------------------

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RolloutStatus {
  complete: boolean;
  /** kubectl rollout status's last message, e.g. "deployment X successfully rolled out". */
  message: string;
}

export interface VerificationResult {
  recovered: boolean;
  checks: Check[];
  /** Total restarts of the current pods; the monitor compares against it. */
  restarts: number;
}

/**
 * One pod's traffic counters as its metrics endpoint reports them. They cross
 * Temporal as JSON, which has no Infinity: the +Inf bucket's bound is null.
 */
export interface WireTrafficCounters {
  requests: number;
  errors: number;
  /** Cumulative latency buckets in milliseconds: [upper bound (null for +Inf), count], ascending. */
  buckets: [number | null, number][];
}

/** Each pod's counters at a monitor sample: the next sample's baseline, kept by the workflow so any worker can take it. */
export type PodCounters = Record<string, WireTrafficCounters>;

export interface HealthSample {
  at: string;
  readyPods: number;
  desiredPods: number;
  restarts: number;
  live: boolean;
  ready: boolean;
  /** Share of 5xx among requests since the previous sample (0..1), from the metrics endpoint. */
  errorRate: number;
  /** p99 latency in ms from the metrics endpoint, if it reports a histogram. */
  p99LatencyMs?: number;
  /** The pods' `agent_active_agents` gauges summed, if they report it (runbook step 4: active agent count). */
  activeAgents?: number;
  /** Each running pod's counters now: pass them to the next sample as `previous`. */
  counters?: PodCounters;
}

/**
 * The service's own figures before the incident (Prometheus over a window before
 * the alert started), from which the monitor derives its default thresholds.
 */
export interface MetricsBaseline {
  p99LatencyMs?: number;
  activeAgents?: number;
  /** Where the figures come from, or why there are none (shown on the timeline). */
  from: string;
}

// ---------------------------------------------------------------------------
// Communications
// ---------------------------------------------------------------------------

/**
 * Where messages go. Each channel's routing (its webhook and wire format, or the
 * outbox when none is configured) is activities/notify/index.ts `routes`, a record
 * over every channel: a new one here without a route does not compile.
 */
export const channels = ['pager', 'chat', 'status-page', 'ticket', 'stakeholders'] as const;
export type Channel = (typeof channels)[number];

export interface Notification {
  channel: Channel;
  /** pager: trigger | acknowledge | resolve; others: a short kind such as "status-update". */
  event: string;
  incidentId: string;
  /** One per incident, so the pager groups every page of it. */
  dedupKey: string;
  /**
   * One per message, the same on every retry: the receiving side deduplicates on it
   * (the Idempotency-Key header and `id` of webhooks, the outbox skips an id it has).
   */
  id?: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  /** Escalation level for pages (1, 2, 3). */
  level?: number;
  /** The action an approval request asks about: chat shows Approve / Reject / Acknowledge buttons for it. */
  action?: number;
  summary: string;
  /** Markdown body; never carries a secret value. */
  body: string;
}

// ---------------------------------------------------------------------------
// Customer impact: runbook Escalation Level 3 ("extended outage affecting
// customers") and Communication ("status page if customer-facing impact").
// ---------------------------------------------------------------------------

/**
 * Whether customers are affected now, from a synthetic probe of the customer-facing
 * entry (the service's ingress, or a configured URL) and/or an SLO burn rate from
 * Prometheus. Evidence is redacted and short: it goes into history and messages.
 */
export interface CustomerImpact {
  affected: boolean;
  /** Whether the service has a customer-facing entry at all (an ingress, a URL, an SLO); false: internal only. */
  customerFacing: boolean;
  checkedAt: string;
  /** At most 10 lines, each at most 200 chars, redacted. */
  evidence: string[];
}

/** The incident as the status page shows it (public wording, nothing internal). */
export const publicStates = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type PublicState = (typeof publicStates)[number];
