// The remediation governor from outside (the CLI, tests, the benchmark): freeze and
// unfreeze a cluster or one of its namespaces, and read its leases, budget, freezes
// and cooldowns. A freeze signal-with-starts governor/<cluster> without a policy: the
// governor takes the worker's policy from the first lease request (never from here).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { remediationGovernorWorkflow } from '../workflows/governor.js';
import { describeIssues } from '../workflows/input.js';
import {
  FreezeRequestSchema,
  TASK_QUEUE,
  UnfreezeRequestSchema,
  freezeSignal,
  governorStatusQuery,
  governorWorkflowId,
  unfreezeSignal,
  type FreezeRequest,
  type GovernorStatus,
  type UnfreezeRequest,
} from '../workflows/messages.js';
import { formatDuration } from '../workflows/units.js';
import { InvalidRequest } from './incidents.js';

export class Governors {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string = TASK_QUEUE,
  ) {}

  /** Freezes changes in the cluster (or one namespace) for a while; answers the governor's view once the freeze shows. */
  async freeze(cluster: string, request: FreezeRequest): Promise<GovernorStatus> {
    const parsed = FreezeRequestSchema.safeParse(request);
    if (!parsed.success) throw new InvalidRequest(`bad freeze: ${describeIssues(parsed.error, '(request)')}`);
    await this.client.workflow.signalWithStart<typeof remediationGovernorWorkflow, [FreezeRequest]>('remediationGovernorWorkflow', {
      workflowId: governorWorkflowId(cluster),
      taskQueue: this.taskQueue,
      args: [{ cluster }],
      signal: freezeSignal,
      signalArgs: [parsed.data],
      staticSummary: `Remediation governor of cluster ${cluster}`,
    });
    return this.until(cluster, (s) =>
      s.freezes.some((f) => f.by === parsed.data.by && f.reason === parsed.data.reason && f.namespace === parsed.data.namespace),
    );
  }

  async unfreeze(cluster: string, request: UnfreezeRequest): Promise<GovernorStatus> {
    const parsed = UnfreezeRequestSchema.safeParse(request);
    if (!parsed.success) throw new InvalidRequest(`bad unfreeze: ${describeIssues(parsed.error, '(request)')}`);
    await this.client.workflow.getHandle(governorWorkflowId(cluster)).signal(unfreezeSignal, parsed.data);
    return this.until(cluster, (s) => !s.freezes.some((f) => f.by !== 'configuration' && f.namespace === parsed.data.namespace));
  }

  /** The governor's view, or undefined when the cluster has none running. */
  async status(cluster: string): Promise<GovernorStatus | undefined> {
    try {
      return await this.client.workflow.getHandle(governorWorkflowId(cluster)).query(governorStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** The clusters that have a governor running. */
  async clusters(): Promise<string[]> {
    const found: string[] = [];
    for await (const w of this.client.workflow.list({ query: `WorkflowType = 'remediationGovernorWorkflow' AND ExecutionStatus = 'Running'` })) {
      found.push(w.workflowId.replace(/^governor\//, ''));
    }
    return found.sort();
  }

  private async until(cluster: string, done: (s: GovernorStatus) => boolean): Promise<GovernorStatus> {
    for (let i = 0; ; i++) {
      const s = await this.status(cluster);
      if (s && (done(s) || i >= 50)) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The governor's view as text: leases, budget use, queue, freezes and cooldowns. */
export function governorView(s: GovernorStatus): string {
  const p = s.policy;
  const lines = [
    `governor/${s.cluster} (run ${s.run}): at most ${p.maxChangesPerCluster} changes per ${formatDuration(p.window)} in the cluster, ${p.maxChangesPerNamespace} per namespace; cooldown ${formatDuration(p.cooldown)}, lease TTL ${formatDuration(p.leaseTtl)}, waits at most ${formatDuration(p.maxWait)}`,
    `budget: cluster ${s.budget.cluster.used}/${s.budget.cluster.limit} in the last ${s.budget.window}` +
      Object.entries(s.budget.namespaces)
        .map(([ns, b]) => `, ${ns} ${b.used}/${b.limit}`)
        .join(''),
    `leases (${s.leases.length}):`,
    ...s.leases.map((l) => `  ${l.holder}  ${l.scopes.join(' ')}  until ${l.expiresAt}${l.automatic ? '  (automatic)' : ''}  ${l.command}`),
    `waiting (${s.queue.length}):`,
    ...s.queue.map((q) => `  ${q.holder} since ${q.waitingSince}: ${q.reason}`),
    `freezes (${s.freezes.length}):`,
    ...s.freezes.map((f) => `  ${f.namespace ?? '(whole cluster)'} until ${f.until} by ${f.by}: ${f.reason}`),
    `cooldowns (${s.cooldowns.length}):`,
    ...s.cooldowns.map((c) => `  ${c.service} until ${c.until}: ${c.command} (${c.outcome}, ${c.holder})`),
    `granted ${s.stats.granted}, released ${s.stats.released}, expired ${s.stats.expired}, handed to people ${s.stats.handedToPeople}, refused ${JSON.stringify(s.stats.refused)}`,
  ];
  return lines.join('\n');
}
