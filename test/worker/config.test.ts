// The worker's start-up log line carries its whole configuration (describeConfig):
// no key, token or webhook URL may appear in it, nor the credentials of any other URL.
import { describe, expect, it } from 'vitest';
import { EnvSchema, describeConfig, loadConfig, secretVariables } from '../../worker/config.js';
import { activitiesConfig } from '../../worker/activities.js';
import { WorkerApprovalPolicySchema, approvalPolicyFor } from '../../activities/approval-policy.js';
import { loadClientConfig } from '../../client/config.js';
import { newSigningKey } from '../../workflows/decision-signature.js';

const canary = 'CANARY7f3a';

describe("the worker's configuration as logged at start", () => {
  it('names every key, token and webhook URL variable a secret', () => {
    const credentials = Object.keys(EnvSchema.shape).filter((name) => /(_KEY|_TOKEN|_SECRET|_PASSWORD|WEBHOOK_URL)$/.test(name));
    expect(credentials.length).toBeGreaterThanOrEqual(6);
    for (const name of credentials) expect(secretVariables as readonly string[], name).toContain(name);
  });

  it('shows no secret value, and no user, password or query of any other URL', () => {
    const config = loadConfig({
      TEMPORAL_API_KEY: `key-${canary}`,
      PAGERDUTY_ROUTING_KEY: `routing-${canary}`,
      SLACK_WEBHOOK_URL: `https://hooks.slack.example/services/T0/B0/${canary}`,
      STATUS_PAGE_WEBHOOK_URL: `https://status.example/hooks/${canary}`,
      TICKET_WEBHOOK_URL: `https://tickets.example/api/${canary}`,
      STAKEHOLDERS_WEBHOOK_URL: `https://comms.example/notify/${canary}`,
      PROMETHEUS_URL: `https://reader:${canary}@prometheus.example:9090/`,
      PAGERDUTY_EVENTS_URL: `https://events.pagerduty.example/v2/enqueue?token=${canary}`,
      DEPENDENCY_URLS: `db=https://admin:${canary}@db.example/health,api=https://api.example/health?key=${canary}`,
      CUSTOMER_PROBE: `https://probe:${canary}@shop.example/`,
      INCIDENT_HISTORY_KEYS: `k1=${canary}`,
    });
    const logged = JSON.stringify(describeConfig(config));
    expect(logged).not.toContain(canary);
    // What is not a credential stays readable, so the line still says where things go.
    expect(logged).toContain('https://***@prometheus.example:9090/');
    expect(logged).toContain('db=https://***@db.example/health,api=https://api.example/health?***');
    expect(logged).toContain('https://events.pagerduty.example/v2/enqueue?***');
  });
});

describe("the approval policy, the worker's configuration", () => {
  it('reads who may approve and, per namespace, what is applied without a human; an incident gets its namespace only', () => {
    const config = loadConfig({ INCIDENT_APPROVERS: 'alice, bob', INCIDENT_AUTO_APPROVE: 'default=scale,rollout-undo; staging=*' });
    // As the worker hands it to its activities (createDefaultDeps parses the same schema).
    const policy = WorkerApprovalPolicySchema.parse(activitiesConfig(config).approval);
    expect(approvalPolicyFor(policy, 'default')).toEqual({
      approvers: ['alice', 'bob'],
      autoApprove: { default: ['scale', 'rollout-undo'] },
      approvalsRequired: 1,
      decisionKeys: {},
    });
    expect(approvalPolicyFor(policy, 'payments')).toEqual({ approvers: ['alice', 'bob'], autoApprove: {}, approvalsRequired: 1, decisionKeys: {} });
    expect(approvalPolicyFor(policy, 'staging').autoApprove.staging).toContain('patch-config-map');
    expect(approvalPolicyFor(undefined, 'default')).toEqual({ approvers: [], autoApprove: {}, approvalsRequired: 1, decisionKeys: {} });
  });

  it('gives a namespace its own approvers and the two-person rule where it is asked for', () => {
    const config = loadConfig({ INCIDENT_APPROVERS: 'alice,bob; payments = carol, dave ;ledger=erin', INCIDENT_TWO_PERSON: 'payments, ledger' });
    const policy = WorkerApprovalPolicySchema.parse(activitiesConfig(config).approval);
    expect(approvalPolicyFor(policy, 'payments')).toEqual({ approvers: ['carol', 'dave'], autoApprove: {}, approvalsRequired: 2, decisionKeys: {} });
    expect(approvalPolicyFor(policy, 'ledger')).toMatchObject({ approvers: ['erin'], approvalsRequired: 2, decisionKeys: {} });
    expect(approvalPolicyFor(policy, 'default')).toEqual({ approvers: ['alice', 'bob'], autoApprove: {}, approvalsRequired: 1, decisionKeys: {} });
    const everywhere = WorkerApprovalPolicySchema.parse(activitiesConfig(loadConfig({ INCIDENT_TWO_PERSON: '*' })).approval);
    expect(approvalPolicyFor(everywhere, 'anything').approvalsRequired).toBe(2);
  });

  it("reads the approval channels' public keys, which every incident gets, and refuses a malformed one without echoing it whole", () => {
    const a = newSigningKey().publicKey;
    const b = newSigningKey().publicKey;
    const policy = WorkerApprovalPolicySchema.parse(activitiesConfig(loadConfig({ INCIDENT_DECISION_KEYS: `receiver-1=${a}, slack=${b}` })).approval);
    expect(approvalPolicyFor(policy, 'payments').decisionKeys).toEqual({ 'receiver-1': a, slack: b });
    expect(() => loadConfig({ INCIDENT_DECISION_KEYS: `receiver-1:${a}` })).toThrow(
      /INCIDENT_DECISION_KEYS: 'receiver-1:[0-9a-f]{29}' is not keyId=<Ed25519 public key as 64 hex digits>/,
    );
    expect(() => loadConfig({ INCIDENT_DECISION_KEYS: 'receiver-1=abc' })).toThrow(/is not keyId=<Ed25519 public key/);
  });

  it('stops the worker with one line naming the variable when the policy is malformed or contradicts itself', () => {
    expect(() => loadConfig({ INCIDENT_AUTO_APPROVE: 'default=scale,delete-everything' })).toThrow(
      /invalid worker configuration: INCIDENT_AUTO_APPROVE: unknown action kind in 'default=scale,delete-everything'/,
    );
    expect(() => loadConfig({ INCIDENT_AUTO_APPROVE: 'scale' })).toThrow(/INCIDENT_AUTO_APPROVE: 'scale' is not namespace=kind,kind/);
    expect(() => loadConfig({ INCIDENT_APPROVERS: 'payments=' })).toThrow(/INCIDENT_APPROVERS: 'payments=' is not name,name or namespace=name,name/);
    expect(() => loadConfig({ INCIDENT_APPROVERS: '=alice' })).toThrow(/INCIDENT_APPROVERS: '=alice' is not/);
    // A namespace cannot both need two people and need none.
    expect(() => loadConfig({ INCIDENT_TWO_PERSON: 'payments', INCIDENT_AUTO_APPROVE: 'payments=scale' })).toThrow(
      /INCIDENT_TWO_PERSON: namespace\(s\) payments need two approvers \(INCIDENT_TWO_PERSON\) and are auto-approved/,
    );
    expect(() => loadConfig({ INCIDENT_TWO_PERSON: '*', INCIDENT_AUTO_APPROVE: 'default=scale' })).toThrow(/namespace\(s\) default need two approvers/);
    expect(() => loadConfig({ INCIDENT_TWO_PERSON: 'payments', INCIDENT_AUTO_APPROVE: 'default=scale' })).not.toThrow();
  });

  it('is ignored, with a warning, where a receiver or the CLI reads it', async () => {
    const warned = new Promise<string>((resolve) => process.once('warning', (w) => resolve(w.message)));
    const config = loadClientConfig({ INCIDENT_AUTO_APPROVE: 'default=*' });
    expect(config).not.toHaveProperty('INCIDENT_AUTO_APPROVE');
    expect(await warned).toBe(`INCIDENT_AUTO_APPROVE ignored here: the approval policy is the worker's configuration (see README, "Configuration")`);
  });
});
