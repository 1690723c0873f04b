// Configuration of the programs that start incidents (the receiver, the CLI's
// `trigger`, `npm start`): where Temporal is, and the policy every new incident
// gets as its input (durations, guardrails; the approval policy is the worker's). Read once, validated,
// frozen; a bad value stops start-up with one line naming the variable.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../workflows/units.js';
import { KeyIdSchema, SecretKeySchema } from '../workflows/decision-signature.js';
import { ConfigError, parseEnvironment } from '../worker/config.js';

export { historyKeyRing } from '../worker/config.js';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);

/**
 * A cluster name: a DNS-1123 label, as Kubernetes names its own objects. It becomes
 * part of the workflow ID (`incident/<cluster>/...`) and picks a kubeconfig context,
 * so nothing else (no '/', '..', NUL or upper case) may pass.
 */
export const ClusterNameSchema = z
  .string()
  .max(63, 'a DNS-1123 label: at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit");

const clusterList = list.pipe(z.array(ClusterNameSchema).min(1, 'at least one cluster'));
const duration = z.string().refine((text) => parseDuration(text) !== undefined, 'a duration such as "30s", "15m" or "24h"');

export const ClientEnvSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('incident-response'),
    TEMPORAL_API_KEY: z.string().optional(),
    /** The cluster name for alerts that carry no `cluster` label. */
    DEFAULT_CLUSTER: ClusterNameSchema.default('local'),
    /** The clusters this deployment serves (comma-separated); an alert about another is refused. Default: DEFAULT_CLUSTER. */
    INCIDENT_CLUSTERS: clusterList.optional(),
    /** The runbook's 30-minute monitor; shorter for demos and game days. */
    INCIDENT_MONITOR: duration.optional(),
    INCIDENT_SAMPLE_INTERVAL: duration.optional(),
    INCIDENT_APPROVAL_TIMEOUT: duration.optional(),
    /** How long an incident's L1 page waits for its diagnosis (to fold a storm into one major incident); 30s. */
    INCIDENT_PAGE_HOLD: duration.optional(),
    /** The SLA's outage budget, and how long before it is spent customers are notified (if affected). */
    INCIDENT_SLA_BUDGET: duration.optional(),
    INCIDENT_SLA_WARNING: duration.optional(),
    INCIDENT_MAX_REPLICAS: z.coerce.number().int().min(1).max(1000).default(10),
    INCIDENT_MEMORY_CEILING: z.string().default('4Gi'),

    /** Loopback unless asked: a container or a pod sets 0.0.0.0 explicitly. */
    RECEIVER_HOST: z.string().default('127.0.0.1'),
    RECEIVER_PORT: z.coerce.number().int().min(0).max(65535).default(8095),
    /** The bearer token Alertmanager sends (http_config.authorization). Or RECEIVER_TOKEN_FILE. */
    RECEIVER_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    RECEIVER_TOKEN_FILE: z.string().optional(),
    /**
     * A directory on persistent storage: the receiver answers 200 once a webhook is written there
     * and sends it to Temporal behind the answer (client/receiver/spool.ts). Unset: a 200 means in Temporal.
     */
    RECEIVER_SPOOL_DIR: z.string().min(1).optional(),
    /** Deliveries the spool holds at most before it answers 503. */
    RECEIVER_SPOOL_MAX: z.coerce.number().int().min(1).default(100_000),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),

    /**
     * The receiver's decisions API (POST /decisions), on when both are set: who each person's
     * token names (\`alice=sha256:<hex of SHA-256 of her token>,bob=…\`, from \`incident token alice\`),
     * and the key it signs their decisions with (\`<keyId>:<secret key hex>\`, from \`incident keygen\`).
     * The workers hold the matching public key (INCIDENT_DECISION_KEYS). Or the _FILE variants.
     */
    APPROVER_TOKENS: z.string().optional(),
    APPROVER_TOKENS_FILE: z.string().optional(),
    DECISION_SIGNING_KEY: z.string().optional(),
    DECISION_SIGNING_KEY_FILE: z.string().optional(),
    /**
     * Slack as an approval channel (POST /slack/interactions, with the decisions API's signing key):
     * the Slack app's signing secret, and who each Slack user is here (\`U012AB3CD=alice,…\`).
     */
    SLACK_SIGNING_SECRET: z.string().optional(),
    SLACK_SIGNING_SECRET_FILE: z.string().optional(),
    SLACK_USERS: z.string().optional(),
    /** PagerDuty's webhook (v3) into the receiver (POST /pagerduty/webhook): the subscription's secret; an acknowledgement there acknowledges the incident. */
    PAGERDUTY_WEBHOOK_SECRET: z.string().optional(),
    PAGERDUTY_WEBHOOK_SECRET_FILE: z.string().optional(),
    /**
     * The keys incident histories are encrypted with (\`<keyId>=<base64>\`, first one encrypts; codec/history-keys.ts),
     * the same on every worker, receiver and CLI of a deployment. Unset: histories are in clear. Or the _FILE variant.
     */
    INCIDENT_HISTORY_KEYS: z.string().optional(),
    INCIDENT_HISTORY_KEYS_FILE: z.string().optional(),
    /** The CLI: approve and reject through this receiver's decisions API, as the person INCIDENT_API_TOKEN names. */
    INCIDENT_API_URL: z.url().optional(),
    INCIDENT_API_TOKEN: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    // Alerts without a cluster label go to DEFAULT_CLUSTER: refusing all of them would be a silent outage.
    if (env.INCIDENT_CLUSTERS && !env.INCIDENT_CLUSTERS.includes(env.DEFAULT_CLUSTER)) {
      ctx.addIssue({
        code: 'custom',
        path: ['INCIDENT_CLUSTERS'],
        message: `must include DEFAULT_CLUSTER '${env.DEFAULT_CLUSTER}' (alerts without a cluster label go there)`,
      });
    }
  });
export type ClientConfig = Readonly<z.infer<typeof ClientEnvSchema>>;

export { ConfigError as ClientConfigError };

/** The approval policy is the worker's now (worker/config.ts): set here, it would do nothing, so say so. */
const policyVariables = ['INCIDENT_APPROVERS', 'INCIDENT_AUTO_APPROVE', 'INCIDENT_TWO_PERSON'] as const;

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const ignored = policyVariables.filter((name) => env[name]);
  if (ignored.length > 0) {
    process.emitWarning(`${ignored.join(' and ')} ignored here: the approval policy is the worker's configuration (see README, "Configuration")`);
  }
  return parseEnvironment(ClientEnvSchema, env, 'configuration');
}

/** The clusters whose alerts open incidents here: INCIDENT_CLUSTERS, or just DEFAULT_CLUSTER. */
export function servedClusters(config: ClientConfig): readonly string[] {
  return config.INCIDENT_CLUSTERS ?? [config.DEFAULT_CLUSTER];
}

/** A value from NAME or from the file NAME_FILE names (trimmed), or undefined. */
function valueOrFile(value: string | undefined, file: string | undefined, name: string): string | undefined {
  if (value) return value.trim();
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${name}_FILE ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface ApprovalChannelsConfig {
  /** People by the SHA-256 of their token (the decisions API); empty: only Slack. */
  people: Map<string, string>;
  key: { keyId: string; secretKey: string };
  slack?: { signingSecret: string; users: Map<string, string> };
}

/** The approval channels (the decisions API, Slack) and the key they sign decisions with. Undefined: none is on. */
export function decisionsApiConfig(config: ClientConfig): ApprovalChannelsConfig | undefined {
  const tokens = valueOrFile(config.APPROVER_TOKENS, config.APPROVER_TOKENS_FILE, 'APPROVER_TOKENS');
  const key = valueOrFile(config.DECISION_SIGNING_KEY, config.DECISION_SIGNING_KEY_FILE, 'DECISION_SIGNING_KEY');
  const slackSecret = valueOrFile(config.SLACK_SIGNING_SECRET, config.SLACK_SIGNING_SECRET_FILE, 'SLACK_SIGNING_SECRET');
  if (!tokens && !key && !slackSecret) return undefined;
  if (!key)
    throw new ConfigError('APPROVER_TOKENS and SLACK_SIGNING_SECRET need DECISION_SIGNING_KEY (or its _FILE): the key the receiver signs decisions with');
  if (!tokens && !slackSecret)
    throw new ConfigError(
      'DECISION_SIGNING_KEY is set but no approval channel is: set APPROVER_TOKENS (the decisions API) or SLACK_SIGNING_SECRET (Slack), or neither',
    );
  const people = new Map<string, string>();
  for (const entry of (tokens ?? '')
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([^=\s]{1,200})=sha256:([0-9a-f]{64})$/.exec(entry);
    if (!match?.[1] || !match[2])
      throw new ConfigError(`APPROVER_TOKENS: '${entry.slice(0, 30)}…' is not name=sha256:<64 hex digits> (\`incident token <name>\` prints one)`);
    people.set(match[2], match[1]);
  }
  const [keyId = '', secretKey = '', ...rest] = key.split(':');
  if (rest.length > 0 || !KeyIdSchema.safeParse(keyId).success || !SecretKeySchema.safeParse(secretKey).success) {
    throw new ConfigError('DECISION_SIGNING_KEY is not <keyId>:<Ed25519 secret key as 64 hex digits> (`incident keygen` makes one)');
  }
  if (!slackSecret) return { people, key: { keyId, secretKey } };
  const users = new Map<string, string>();
  for (const entry of (config.SLACK_USERS ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([A-Z0-9]{2,40})=([^=,\s]{1,200})$/.exec(entry);
    if (!match?.[1] || !match[2]) throw new ConfigError(`SLACK_USERS: '${entry.slice(0, 40)}' is not <Slack user ID>=<approver name> (e.g. U012AB3CD=alice)`);
    users.set(match[1], match[2]);
  }
  return { people, key: { keyId, secretKey }, slack: { signingSecret: slackSecret, users } };
}

/** The secret of PagerDuty's webhook subscription, or undefined (the webhook is off). */
export function pagerDutyWebhookSecret(config: ClientConfig): string | undefined {
  return valueOrFile(config.PAGERDUTY_WEBHOOK_SECRET, config.PAGERDUTY_WEBHOOK_SECRET_FILE, 'PAGERDUTY_WEBHOOK_SECRET') || undefined;
}

/** The receiver's token, from RECEIVER_TOKEN or the file RECEIVER_TOKEN_FILE names. */
export function receiverToken(config: ClientConfig): string {
  if (config.RECEIVER_TOKEN) return config.RECEIVER_TOKEN;
  if (config.RECEIVER_TOKEN_FILE) {
    const token = readFileSync(config.RECEIVER_TOKEN_FILE, 'utf8').trim();
    if (token.length >= 16) return token;
    throw new ConfigError(`RECEIVER_TOKEN_FILE ${config.RECEIVER_TOKEN_FILE}: the token must have at least 16 characters`);
  }
  throw new ConfigError('RECEIVER_TOKEN (or RECEIVER_TOKEN_FILE) is required: the bearer token Alertmanager sends');
}
