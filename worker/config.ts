// The worker's configuration: read once from the environment, validated, frozen.
// A missing or bad value stops start-up with one line naming the variable and
// what it wants. Secret values (API keys, routing keys, webhook URLs) are never
// printed: describeConfig() masks them.
import { historyKeysFrom, HistoryKeyError, type HistoryKeyRing } from '../codec/history-keys.js';
import { z } from 'zod';
import type { MitigationKind } from '../workflows/domain.js';
import { DurationSchema, MemoryQuantitySchema, MitigationKindSchema, describeIssues } from '../workflows/input.js';
import { parseFreezeWindow } from '../workflows/model/governor.js';
import { policyConflict, type WorkerApprovalPolicy } from '../activities/approval-policy.js';
import { KeyIdSchema, PublicKeySchema } from '../workflows/decision-signature.js';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);

/** "true"/"false"/"1"/"0"/"yes"/"no": a plain Boolean("false") would be true. */
const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no', '']).transform((s) => s === 'true' || s === '1' || s === 'yes');

/** `cluster=context,cluster2=context2`: which kubeconfig context serves an alert's cluster label. */
const contextMap = z.string().transform((s, ctx) => {
  const map: Record<string, string> = {};
  for (const pair of s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [cluster, context] = pair.split('=');
    if (!cluster || !context) {
      ctx.addIssue({ code: 'custom', message: `'${pair}' is not cluster=context` });
      return z.NEVER;
    }
    map[cluster.trim()] = context.trim();
  }
  return map;
});

/** `default=scale,rollout-undo;staging=*`: per namespace, the action kinds applied without a human. */
export const autoApproveSpec = z.string().transform((spec, ctx) => {
  const policy: Record<string, MitigationKind[]> = {};
  for (const entry of spec
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [namespace, kinds] = entry.split('=');
    if (!namespace || kinds === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${entry}' is not namespace=kind,kind` });
      return z.NEVER;
    }
    const wanted = kinds.trim() === '*' ? MitigationKindSchema.options : kinds.split(',').map((k) => k.trim());
    const parsed = z.array(MitigationKindSchema).safeParse(wanted);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `unknown action kind in '${entry}': use ${MitigationKindSchema.options.join(', ')} or *` });
      return z.NEVER;
    }
    policy[namespace.trim()] = parsed.data;
  }
  return policy;
});

/**
 * `alice,bob;payments=carol,dave`: who may approve. A list without `namespace=` applies
 * wherever no namespace has its own list; empty means anyone.
 */
export const approversSpec = z.string().transform((spec, ctx) => {
  const policy: { approvers: string[]; approversByNamespace: Record<string, string[]> } = { approvers: [], approversByNamespace: {} };
  for (const entry of spec
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [head, tail, ...rest] = entry.split('=');
    const names = (tail ?? head ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const parsed = z.array(z.string().min(1).max(200)).min(1).max(100).safeParse(names);
    if (rest.length > 0 || (tail !== undefined && !head?.trim()) || !parsed.success) {
      ctx.addIssue({ code: 'custom', message: `'${entry}' is not name,name or namespace=name,name (at most 100 names of at most 200 characters)` });
      return z.NEVER;
    }
    if (tail === undefined) policy.approvers = parsed.data;
    else policy.approversByNamespace[head!.trim()] = parsed.data;
  }
  return policy;
});

/** `ops-2026=<public key hex>,slack=<…>`: the approval channels' public keys, by key ID. */
export const decisionKeysSpec = z.string().transform((spec, ctx) => {
  const keys: Record<string, string> = {};
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [keyId = '', key = '', ...rest] = entry.split('=').map((p) => p.trim());
    if (rest.length > 0 || !KeyIdSchema.safeParse(keyId).success || !PublicKeySchema.safeParse(key).success) {
      ctx.addIssue({
        code: 'custom',
        message: `'${entry.slice(0, 40)}' is not keyId=<Ed25519 public key as 64 hex digits> (\`npm run incident -- keygen\` makes a pair)`,
      });
      return z.NEVER;
    }
    keys[keyId] = key;
  }
  return keys;
});

export const EnvSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('incident-response'),
    /** Temporal Cloud API key, if any (secret). */
    TEMPORAL_API_KEY: z.string().optional(),
    TEMPORAL_TLS: flag.default(false),
    /**
     * The keys incident histories are encrypted with (\`<keyId>=<base64>\`, the first encrypts, all decrypt;
     * codec/history-keys.ts): the same on every worker, receiver and CLI. Unset: in clear. Or the _FILE variant.
     */
    INCIDENT_HISTORY_KEYS: z.string().optional(),
    INCIDENT_HISTORY_KEYS_FILE: z.string().optional(),

    /** Path to a kubeconfig; empty means in-cluster service account, then ~/.kube/config. */
    KUBECONFIG: z.string().optional(),
    /** Maps an alert's `cluster` label to a kubeconfig context; the current context serves the rest. */
    KUBE_CONTEXTS: contextMap.default({}),
    /** Name of the cluster the current context stands for (alerts without a cluster label use it). */
    DEFAULT_CLUSTER: z.string().default('local'),

    /** Guardrails: mutations outside these namespaces are refused. */
    ALLOWED_NAMESPACES: list.default(['default']),
    MAX_REPLICAS: z.coerce.number().int().min(1).max(1000).default(10),
    /** Read by the workflow's own parser (workflows/units.ts): what the workflow accepts, the worker accepts. */
    MEMORY_CEILING: MemoryQuantitySchema.default('4Gi'),

    /**
     * Runbook step 4: env variables the services must have, checked against the pod
     * spec's sources (needed where pods take a whole secret through envFrom).
     */
    REQUIRED_ENV: list.default(['ANTHROPIC_API_KEY']),
    /**
     * Runbook step 4's `env | grep -E "(ANTHROPIC|LOG|AGENT)"`: the pod spec's env
     * variables shown in the findings (secrets by presence only, never a value).
     */
    ENV_PATTERN: z
      .string()
      .default('(ANTHROPIC|LOG|AGENT)')
      .refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'a regular expression, such as (ANTHROPIC|LOG|AGENT)'),
    /**
     * How health and metrics are reached: api-proxy (through the API server, as
     * `kubectl get --raw …/proxy/…`) or pod-network (the worker dials pod addresses,
     * when it runs inside the cluster's network or its proxy is forbidden).
     */
    PROBE_VIA: z.enum(['api-proxy', 'pod-network']).default('api-proxy'),
    /** Runbook step 5: dependencies probed from the worker's own network, `name=url` pairs (none unless set). */
    DEPENDENCY_URLS: z.string().default(''),
    /**
     * Runbook step 5 as the pod sees it (`kubectl exec … curl -I <url>`), `name=url`
     * pairs: read from the service's readiness answer, whose check `name` is the
     * pod's own probe of `url`. The worker never dials `url`.
     */
    POD_DEPENDENCIES: z.string().default('anthropic=https://api.anthropic.com/v1/health'),
    /**
     * Prometheus: the service's p99 and active agents before the alert (the monitor's thresholds,
     * runbook Resolution step 4), and the SLO burn query of the customer-impact check.
     */
    PROMETHEUS_URL: z.url().optional(),
    /** How far before the alert that baseline looks (a Prometheus range, e.g. 30m). */
    BASELINE_WINDOW: z
      .string()
      .regex(/^\d+[smh]$/)
      .default('30m'),

    /**
     * The approval policy every incident of this worker runs under, loaded by the incident
     * itself (never taken from whoever starts it): who may approve or reject (comma-separated;
     * empty means anyone) and, per namespace, the action kinds applied without a human.
     */
    INCIDENT_APPROVERS: approversSpec.default({ approvers: [], approversByNamespace: {} }),
    INCIDENT_AUTO_APPROVE: autoApproveSpec.default({}),
    /** Namespaces (comma-separated, or *) where every change needs two distinct approvers: one rejection stops it. */
    INCIDENT_TWO_PERSON: list.default([]),
    /**
     * The public keys of the approval channels (the receiver's decisions API). Set: a decision
     * counts only when one of them signed it, so a \`decide\` sent straight to Temporal, or in
     * someone else's name, is refused. Unset: unsigned decisions count (as before).
     */
    INCIDENT_DECISION_KEYS: decisionKeysSpec.default({}),

    /**
     * The cluster's remediation governor (workflows/governor.ts): every change asks it for a
     * lease first. At most GOVERNOR_MAX_CHANGES_PER_CLUSTER changes per GOVERNOR_WINDOW in a
     * cluster and GOVERNOR_MAX_CHANGES_PER_NAMESPACE in one namespace; a request over budget
     * (or on a workload or shared dependency being changed) waits at most GOVERNOR_MAX_WAIT,
     * then is refused. A service that needs a change again within GOVERNOR_COOLDOWN of an
     * automatic fix is handed to a person. A lease whose holder died ends after
     * GOVERNOR_LEASE_TTL. GOVERNOR_FREEZE_WINDOWS: `;`-separated UTC windows, each
     * `HH:MM-HH:MM` (daily), `Sat HH:MM-HH:MM` (weekly) or `<ISO start>/<ISO end>`.
     */
    GOVERNOR_MAX_CHANGES_PER_CLUSTER: z.coerce.number().int().min(1).max(10_000).default(10),
    GOVERNOR_MAX_CHANGES_PER_NAMESPACE: z.coerce.number().int().min(1).max(10_000).default(5),
    GOVERNOR_WINDOW: DurationSchema.default(10 * 60_000),
    GOVERNOR_COOLDOWN: DurationSchema.default(60 * 60_000),
    GOVERNOR_LEASE_TTL: DurationSchema.default(30 * 60_000),
    GOVERNOR_MAX_WAIT: DurationSchema.default(30 * 60_000),
    GOVERNOR_FREEZE_WINDOWS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(';')
          .map((w) => w.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().refine((w) => parseFreezeWindow(w) !== undefined, 'HH:MM-HH:MM, "Sat HH:MM-HH:MM" (UTC) or <ISO start>/<ISO end>'))),

    /** Notifications: with no URL configured, messages go to the outbox folder. */
    PAGERDUTY_ROUTING_KEY: z.string().optional(),
    /** Escalation levels 2 and 3 page their own PagerDuty services (unset: L1's key, each level still its own dedup key). */
    PAGERDUTY_ROUTING_KEY_L2: z.string().optional(),
    PAGERDUTY_ROUTING_KEY_L3: z.string().optional(),
    PAGERDUTY_EVENTS_URL: z.url().default('https://events.pagerduty.com/v2/enqueue'),
    SLACK_WEBHOOK_URL: z.url().optional(),
    STATUS_PAGE_WEBHOOK_URL: z.url().optional(),
    TICKET_WEBHOOK_URL: z.url().optional(),
    /** Stakeholders: told at identification, mitigation and resolve (a generic JSON webhook). */
    STAKEHOLDERS_WEBHOOK_URL: z.url().optional(),
    /** Customer impact: 'ingress' (probe the service's ingress through the cluster), 'none', or a customer-facing URL. */
    CUSTOMER_PROBE: z.union([z.enum(['ingress', 'none']), z.url()]).default('ingress'),
    /** An SLO burn-rate PromQL query ($namespace, $service) asked of PROMETHEUS_URL; at or above the threshold customers are affected. */
    CUSTOMER_SLO_BURN_QUERY: z.string().min(1).optional(),
    CUSTOMER_SLO_BURN_THRESHOLD: z.coerce.number().positive().default(1),
    OUTBOX_DIR: z.string().default('.data/outbox'),
    REPORTS_DIR: z.string().default('.data/reports'),

    /**
     * Where the health and metrics endpoints listen: loopback unless set, so a
     * worker on a laptop or shared host is not reachable from the network; a
     * container sets 0.0.0.0 for its probes and scrapes.
     */
    WORKER_HTTP_HOST: z.union([z.ipv4(), z.ipv6()], { error: 'an IP address to listen on, such as 127.0.0.1 or 0.0.0.0' }).default('127.0.0.1'),
    /** Worker health: /health/live, /health/ready. */
    WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    /** The SDK's Prometheus metrics (/metrics): task latencies, slots, polls. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).default(9465),
    /**
     * Open incidents kept in the worker's memory between their steps (the SDK's sticky cache).
     * Unset: the SDK's default, from the V8 heap limit. One evicted replays its history at its next step.
     */
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce
      .number({ error: 'a number of workflows, 2 or more' })
      .int()
      .min(2, { error: 'at least 2 (the SDK caches 2 or more)' })
      .max(100_000)
      .optional(),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),

    /**
     * Worker versioning (Temporal Worker Deployments). With WORKER_BUILD_ID set, the
     * worker joins the deployment WORKER_DEPLOYMENT_NAME as version <name>:<build>:
     * an incident stays on the build that opened it (PINNED), a follow-up moves to
     * each new current build (AUTO_UPGRADE). Unset (or empty): the worker is
     * unversioned and takes every task of its queue, as before versioning.
     * README, "Deploying a new worker version", is the runbook.
     */
    WORKER_DEPLOYMENT_NAME: z.string().trim().min(1).max(200).default('incident-response'),
    WORKER_BUILD_ID: z
      .string()
      .trim()
      .max(200)
      .regex(/^[^:.]*$/, "a build ID without ':' or '.' (they separate the deployment name from the build in version strings)")
      .optional()
      .transform((s) => (s ? s : undefined)),
  })
  .superRefine((config, ctx) => {
    const conflict = policyConflict(workerApprovalPolicy(config));
    if (conflict) ctx.addIssue({ code: 'custom', path: ['INCIDENT_TWO_PERSON'], message: conflict });
  });

/** The approval policy of INCIDENT_APPROVERS, INCIDENT_AUTO_APPROVE and INCIDENT_TWO_PERSON, for every namespace. */
export function workerApprovalPolicy(config: {
  INCIDENT_APPROVERS: z.output<typeof approversSpec>;
  INCIDENT_AUTO_APPROVE: z.output<typeof autoApproveSpec>;
  INCIDENT_TWO_PERSON: string[];
  INCIDENT_DECISION_KEYS: Record<string, string>;
}): WorkerApprovalPolicy {
  return {
    approvers: [...config.INCIDENT_APPROVERS.approvers],
    approversByNamespace: config.INCIDENT_APPROVERS.approversByNamespace,
    autoApprove: config.INCIDENT_AUTO_APPROVE,
    twoPerson: [...config.INCIDENT_TWO_PERSON],
    decisionKeys: { ...config.INCIDENT_DECISION_KEYS },
  };
}

export type WorkerConfig = Readonly<z.infer<typeof EnvSchema>>;

/**
 * The worker's deployment version, or undefined for an unversioned worker. Each
 * workflow declares its own versioning behavior (workflows/index.ts); the default
 * here only covers a workflow that declares none: PINNED, the one that never runs
 * a workflow on code it did not start with.
 */
export function workerDeploymentOptions(config: Pick<WorkerConfig, 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>) {
  if (!config.WORKER_BUILD_ID) return undefined;
  return {
    useWorkerVersioning: true,
    version: { deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: config.WORKER_BUILD_ID },
    defaultVersioningBehavior: 'PINNED',
  } as const;
}

/** Names of the variables that carry secrets, every key and webhook URL (the URL is the credential): never printed. */
export const secretVariables = [
  'TEMPORAL_API_KEY',
  'INCIDENT_HISTORY_KEYS',
  'PAGERDUTY_ROUTING_KEY',
  'PAGERDUTY_ROUTING_KEY_L2',
  'PAGERDUTY_ROUTING_KEY_L3',
  'SLACK_WEBHOOK_URL',
  'STATUS_PAGE_WEBHOOK_URL',
  'TICKET_WEBHOOK_URL',
  'STAKEHOLDERS_WEBHOOK_URL',
] as const;

/** A URL's user, password and query (where tokens ride) as "***"; scheme, host and path stay readable. */
function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s,]*@/gi, '$1***@').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s,]*?)\?[^\s,#]*/gi, '$1?***');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses environment variables with `schema`, or throws one line naming the bad variables (five, then how many more). */
export function parseEnvironment<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv, what: string): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid ${what}: ${describeIssues(parsed.error, '(environment)')} (see README, "Configuration")`);
  }
  return Object.freeze(parsed.data);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnvironment(EnvSchema, env, 'worker configuration');
}

/** The configuration as it is safe to log: secret values replaced by "***". */
export function describeConfig(config: WorkerConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) shown[name] = typeof value === 'string' ? maskUrlCredentials(value) : value;
  for (const name of secretVariables) if (shown[name] !== undefined) shown[name] = '***';
  return shown;
}

/** The keys histories are encrypted with (INCIDENT_HISTORY_KEYS or its _FILE), or undefined: in clear. */
export function historyKeyRing(config: {
  INCIDENT_HISTORY_KEYS?: string | undefined;
  INCIDENT_HISTORY_KEYS_FILE?: string | undefined;
}): HistoryKeyRing | undefined {
  try {
    return historyKeysFrom(config);
  } catch (err) {
    if (err instanceof HistoryKeyError) throw new ConfigError(err.message);
    throw err;
  }
}
