// What the activities run on, injected: cluster access, HTTP, notification
// targets, clock, logger and guardrails. createDefaultDeps() builds them from a
// plain config object (the worker's config loader maps its environment to it);
// tests build the same deps over the sandbox.
import { log } from '@temporalio/activity';
import type { Logger } from '@temporalio/common';
import { z } from 'zod';
import { kubeconfigClusterAccess, type ClusterAccess } from './kube/cluster.js';
import { MemoryQuantitySchema } from '../workflows/input.js';
import { WorkerApprovalPolicySchema, type WorkerApprovalPolicy } from './approval-policy.js';
import { GovernorPolicySchema, type GovernorPolicy } from '../workflows/model/governor.js';

export const ActivitiesConfigSchema = z.object({
  kube: z.object({
    /** A kubeconfig file (the sandbox writes one); absent: in-cluster if `inCluster`, else KUBECONFIG or ~/.kube/config. */
    kubeconfigPath: z.string().min(1).optional(),
    inCluster: z.boolean().default(false),
    /** Alert `cluster` label → kubeconfig context. */
    contexts: z.record(z.string(), z.string()).default({}),
    /** The cluster name the current context (or the in-cluster account) stands for. */
    defaultCluster: z.string().min(1).default('local'),
    requestTimeoutMs: z.number().int().positive().default(10_000),
  }),
  guardrails: z.object({
    allowedNamespaces: z.array(z.string().min(1)).min(1),
    maxReplicas: z.number().int().min(1),
    memoryCeiling: MemoryQuantitySchema,
  }),
  /**
   * Runbook step 4: env variables the service cannot start without. Checked
   * against what the pod template provides (env, and the keys of its envFrom
   * config maps and secrets): a key removed from a secret the pods take whole
   * shows nowhere else. The runbook's service needs ANTHROPIC_API_KEY.
   */
  requiredEnv: z.array(z.string().min(1)).default(['ANTHROPIC_API_KEY']),
  /**
   * Runbook step 4's `env | grep -E "(ANTHROPIC|LOG|AGENT)"`: the pod spec's env
   * variables whose name matches, with where each comes from and whether it is
   * there (a secret's value is never read into the findings).
   */
  envPattern: z.string().default('(ANTHROPIC|LOG|AGENT)'),
  /** Runbook step 5: external APIs the service needs, probed from the worker (its network, not the pod's). */
  dependencies: z.array(z.object({ name: z.string().min(1), url: z.url() })).default([]),
  /**
   * Runbook step 5 from the pod (`kubectl exec … curl -I <url>`, without exec
   * rights): the service's readiness answer carries the pod's own probe of each
   * dependency as `checks.<name>`. Read through the API server (or the pod
   * network); `url` is what the pod probes, shown, never dialled by the worker.
   */
  podDependencies: z.array(z.object({ name: z.string().min(1), url: z.url() })).default([{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health' }]),
  notifications: z.object({
    pagerduty: z
      .object({
        /** L1's routing key, and L2's and L3's when they page other services (each level its own people); unset: L1's. */
        routingKey: z.string().min(1),
        routingKeyL2: z.string().min(1).optional(),
        routingKeyL3: z.string().min(1).optional(),
        eventsUrl: z.url().default('https://events.pagerduty.com/v2/enqueue'),
      })
      .optional(),
    chatWebhookUrl: z.url().optional(),
    statusPageWebhookUrl: z.url().optional(),
    ticketWebhookUrl: z.url().optional(),
    /** The stakeholders' own messages (teams kept informed: identified, mitigated, resolved); a generic JSON webhook. */
    stakeholdersWebhookUrl: z.url().optional(),
    /** Messages of channels without a URL land here, one JSON line each in <channel>.jsonl. */
    outboxDir: z.string().min(1).default('.data/outbox'),
    reportsDir: z.string().min(1).default('.data/reports'),
  }),
  /** Where the service answers behind its Service (the runbook's ports and paths). */
  probes: z
    .object({
      healthPort: z.union([z.number().int(), z.string()]).default(8080),
      metricsPort: z.union([z.number().int(), z.string()]).default(8000),
      livePath: z.string().default('health/live'),
      readyPath: z.string().default('health/ready'),
      metricsPath: z.string().default('metrics'),
      /** Timeout of each dependency probe and notification POST. */
      httpTimeoutMs: z.number().int().positive().default(5_000),
      /**
       * How the service and its pods are reached: through the API server's proxy
       * (services/proxy, pods/proxy; the worker can run anywhere), or on the pod
       * network (the worker runs inside the cluster's network and dials pod
       * addresses itself; no proxy rights needed).
       */
      via: z.enum(['api-proxy', 'pod-network']).default('api-proxy'),
    })
    .prefault({}),
  /**
   * Whether customers are affected (runbook Escalation Level 3, Communication):
   * a synthetic probe of the customer-facing entry ('ingress': each path of the
   * ingresses routing to the service, requested through the cluster; a URL: that
   * URL; 'none': no probe) and/or an SLO burn rate, a PromQL query whose value at
   * or above `sloBurnThreshold` means customers are affected.
   */
  customerImpact: z
    .object({
      probe: z.union([z.enum(['ingress', 'none']), z.url()]).default('ingress'),
      prometheusUrl: z.url().optional(),
      /** PromQL; `$namespace` and `$service` are replaced by the service's. */
      sloBurnQuery: z.string().min(1).optional(),
      sloBurnThreshold: z.number().positive().default(1),
    })
    .prefault({}),
  /** The cluster's remediation governor: budgets, window, cooldown, lease TTL, freezes (GOVERNOR_* in worker/config.ts). */
  governor: GovernorPolicySchema.prefault({}),
  /** The approval policy incidents load (INCIDENT_APPROVERS, INCIDENT_AUTO_APPROVE, INCIDENT_TWO_PERSON in worker/config.ts); default: anyone approves, one approval, nothing automatic. */
  approval: WorkerApprovalPolicySchema.prefault({}),
  /** How often waitForRollout re-reads the deployment (and heartbeats). */
  rolloutPollMs: z.number().int().positive().default(1_000),
  /**
   * Runbook step 4: where the monitor reads the service's p99 latency and active agents
   * before the incident (its default thresholds). Queries take {namespace},
   * {deployment} and {window}; the latency query answers in seconds.
   */
  baseline: z
    .object({
      prometheusUrl: z.url().optional(),
      window: z
        .string()
        .regex(/^\d+[smh]$/)
        .default('30m'),
      latencyQuery: z
        .string()
        .default(
          'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{namespace}",deployment="{deployment}"}[{window}])))',
        ),
      agentsQuery: z.string().default('sum(avg_over_time(agent_active_agents{namespace="{namespace}",deployment="{deployment}"}[{window}]))'),
    })
    .prefault({}),
});
export type ActivitiesConfig = z.input<typeof ActivitiesConfigSchema>;
type ParsedConfig = z.output<typeof ActivitiesConfigSchema>;

export type Guardrails = ParsedConfig['guardrails'];
export type Dependency = ParsedConfig['dependencies'][number];

export interface ActivityDeps {
  kube: ClusterAccess;
  fetch: typeof fetch;
  notifier: ParsedConfig['notifications'];
  clock: () => Date;
  logger: Logger;
  guardrails: Guardrails;
  requiredEnv: string[];
  envPattern: string;
  dependencies: Dependency[];
  podDependencies: Dependency[];
  probes: ParsedConfig['probes'];
  customerImpact: ParsedConfig['customerImpact'];
  rolloutPollMs: number;
  /** Absent: the governor's defaults (GovernorPolicySchema). */
  governor?: GovernorPolicy;
  /** Absent: anyone may approve, nothing is applied without a human. */
  approval?: WorkerApprovalPolicy;
  /** Absent: no baseline is read, the monitor's defaults apply. */
  baseline?: ParsedConfig['baseline'];
}

/** The production deps: kubeconfig clients, global fetch, wall clock, the activity logger. */
export function createDefaultDeps(input: ActivitiesConfig): ActivityDeps {
  const config = ActivitiesConfigSchema.parse(input);
  return {
    kube: kubeconfigClusterAccess({ ...config.kube, logger: log }),
    fetch: globalThis.fetch,
    notifier: config.notifications,
    clock: () => new Date(),
    logger: log,
    guardrails: config.guardrails,
    requiredEnv: config.requiredEnv,
    envPattern: config.envPattern,
    dependencies: config.dependencies,
    podDependencies: config.podDependencies,
    probes: config.probes,
    customerImpact: config.customerImpact,
    rolloutPollMs: config.rolloutPollMs,
    governor: config.governor,
    approval: config.approval,
    baseline: config.baseline,
  };
}
