// Records the replay corpus of a release: real incident lifecycles run on the
// Java time-skipping test server against the fake fleet, each history written in
// Temporal's standard JSON to test/replay/releases/<release>/<name>.json with a
// manifest.json (file -> workflow ID: the workflow derives child IDs and
// idempotency keys from its ID, which a history does not hold).
//
//   npm run record:histories -- [--release <version>] [--force]
//
// The release defaults to package.json's version. A release's folder is a record
// of what runs in production under that version: it is never re-recorded, so an
// existing folder is refused unless --force (for a release not shipped yet).
// test/replay/replay.test.ts replays every release's histories with the current code.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, repoRoot, timeSkippingEnv, workflowBundle } from '../test/helpers/temporal.js';
import { FakeCluster, FakeFleet, type Scenario, type ServicePolicy } from '../test/fixtures/fake-cluster.js';
import { decide, openScenario, waitForStatus, type IncidentHandle } from '../test/fixtures/incident-driver.js';
import {
  TASK_QUEUE,
  acknowledgeSignal,
  alertResolvedSignal,
  alertsSignal,
  completeTaskSignal,
  escalateSignal,
  decideUpdate,
  hotfixUpdate,
  reproposeUpdate,
  resolveSignal,
  tasksQuery,
  type IncidentInput,
  type IncidentOutcome,
} from '../workflows/messages.js';
import type { postIncidentWorkflow } from '../workflows/post-incident.js';
import type { TaskGroup } from '../workflows/records.js';
import { newSigningKey, signDecision } from '../workflows/decision-signature.js';

const releasesDir = join(repoRoot, 'test/replay/releases');

const usage = 'usage: npm run record:histories -- [--release <version>] [--force]';

/** A bad command line: said in one line with the usage, without a stack. */
class UsageError extends Error {}

function parse(): { release: string; force: boolean } {
  let values: { release?: string; force?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { release: { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const release = values.release ?? (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  // A folder name, nothing that walks out of releases/.
  if (!/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(release))
    throw new UsageError(`--release "${release}": expected a version such as 0.2.0 (letters, digits, . _ + -)`);
  return { release, force: values.force ?? false };
}

/** One lifecycle driven to the moment its histories are saved. */
interface Lifecycle {
  name: string;
  what: string;
  run(r: Recorder): Promise<void>;
}

class Recorder {
  readonly manifest: Record<string, string> = {};
  /** Follow-ups left to the end: the test server stops skipping time once an abandoned child has completed. */
  readonly followUps = new Map<string, WorkflowHandle<typeof postIncidentWorkflow>>();

  constructor(
    readonly env: TestWorkflowEnvironment,
    readonly fleet: FakeFleet,
    private readonly dir: string,
  ) {}

  /** `policy`: the worker's approval policy for the service (anyone, nothing automatic by default). */
  open(
    scenario: Scenario,
    overrides: Partial<IncidentInput> = {},
    policy: ServicePolicy = {},
  ): Promise<{ cluster: FakeCluster; input: IncidentInput; handle: IncidentHandle }> {
    return openScenario(this.env, this.fleet, scenario, overrides, policy);
  }

  /** Writes the history as it is now (open or closed) under `<name>.json`. */
  async save(name: string, handle: WorkflowHandle): Promise<string> {
    const file = `${name}.json`;
    if (this.manifest[file] !== undefined) throw new Error(`${file} recorded twice`);
    writeFileSync(join(this.dir, file), historyToJSON(await handle.fetchHistory()));
    this.manifest[file] = handle.workflowId;
    return file;
  }

  /** Waits until nothing is in flight (no activity, no workflow task), so the open history ends where the workflow waits. */
  async whenWaiting(handle: WorkflowHandle): Promise<WorkflowHandle> {
    await eventually(async () => {
      const { raw } = await handle.describe();
      const last = (await handle.fetchHistory()).events?.at(-1);
      return (raw.pendingActivities ?? []).length === 0 && last?.workflowTaskCompletedEventAttributes ? true : undefined;
    }, `${handle.workflowId} to wait`);
    return handle;
  }

  followUpOf(outcome: IncidentOutcome): WorkflowHandle<typeof postIncidentWorkflow> {
    return this.env.client.workflow.getHandle<typeof postIncidentWorkflow>(outcome.postIncidentWorkflowId);
  }

  async completeTasks(handle: WorkflowHandle<typeof postIncidentWorkflow>, group: TaskGroup): Promise<void> {
    // The follow-up's own list: the runbook's tasks and the prevention items it added.
    const { tasks } = await handle.query(tasksQuery);
    for (const task of tasks.filter((t) => t.group === group)) await handle.signal(completeTaskSignal, { taskId: task.id, by: 'alice' });
  }
}

/** Approved as proposed, to the end of the monitor; the incident's history is saved, its follow-up kept for the end. */
function approvedEachTime(name: string, scenario: Scenario, approvals: number, what: string, followUp = false): Lifecycle {
  return {
    name,
    what,
    run: async (r) => {
      const { handle } = await r.open(scenario);
      for (let n = 1; n <= approvals; n++) await decide(handle, n, 'approve');
      const outcome = await handle.result();
      await r.save(`${name}.incident`, handle);
      if (followUp) r.followUps.set(name, r.followUpOf(outcome));
    },
  };
}

/** Every scenario of the fake cluster, each driven to its end as test/workflows/lifecycle.test.ts drives it, then the rest of the runbook's paths. */
const lifecycles: Lifecycle[] = [
  approvedEachTime('bad-rollout-approved', 'bad-rollout', 1, 'rollback approved, monitored, resolved (its follow-up runs to completion at the end)', true),
  approvedEachTime('oom-approved', 'oom', 1, 'memory raised on approval (its follow-up is caught waiting mid-month at the end)', true),
  approvedEachTime('config-restored-by-digest', 'config-error', 1, 'config map restored to the last applied bytes, approved by digest'),
  approvedEachTime('selector-mismatch-approved', 'selector-mismatch', 1, "service's selector set back on approval"),
  approvedEachTime(
    'cpu-starved-approved',
    'cpu-starved',
    1,
    "the runbook's requests and limits (Resource Issues) approved for pods throttled at a tiny CPU limit",
  ),
  {
    name: 'hotfix-approved',
    what: 'rollback rejected, handed over, a hotfix image supplied by a person (proposeHotfix), dry-run, approved, rolled out, resolved',
    run: async (r) => {
      const { handle } = await r.open('bad-rollout');
      await decide(handle, 1, 'reject');
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
      await handle.executeUpdate(hotfixUpdate, { args: [{ by: 'alice', image: 'agent-native-framework:hotfix-v1.0.1' }] });
      // Bob approves: who supplies a hotfix may not approve it (since 0.5.0).
      await decide(handle, 2, 'approve', 'bob');
      await handle.result();
      await r.save('hotfix-approved.incident', handle);
    },
  },
  {
    name: 'healthy-verified',
    what: 'nothing wrong found: verified, monitored, resolved without an action',
    run: async (r) => {
      const { handle } = await r.open('healthy');
      await handle.result();
      await r.save('healthy-verified.incident', handle);
    },
  },
  {
    name: 'scaled-to-zero-auto-approved',
    what: 'scaled back up by policy (no human approval), monitored, resolved',
    run: async (r) => {
      const { handle } = await r.open('scaled-to-zero', {}, { autoApprove: ['scale'] });
      await handle.result();
      await r.save('scaled-to-zero-auto-approved.incident', handle);
    },
  },
  {
    name: 'missing-secret-fixed-then-approved',
    what: 'a human restores the key, then the restart is approved',
    run: async (r) => {
      const { cluster, handle } = await r.open('missing-secret');
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the restart to await approval');
      cluster.change((w) => void (w.secretKeys = ['ANTHROPIC_API_KEY']));
      await decide(handle, 1, 'approve');
      await handle.result();
      await r.save('missing-secret-fixed-then-approved.incident', handle);
    },
  },
  {
    name: 'approval-expired-then-recovered',
    what: 'no decision in time: escalated; the human fixes the secret; the alert resolves',
    run: async (r) => {
      const { cluster, input, handle } = await r.open('missing-secret', { durations: { approvalTimeout: '5m' } });
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the restart to await approval');
      await r.env.sleep('6m');
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'escalated');
      cluster.change((w) => void (w.secretKeys = ['ANTHROPIC_API_KEY']));
      await handle.signal(alertResolvedSignal, { fingerprint: input.alert.fingerprint });
      await handle.result();
      await r.save('approval-expired-then-recovered.incident', handle);
    },
  },
  {
    name: 'rollback-rejected-resolved-by-hand',
    what: 'the rollback is rejected: escalated; resolved by hand',
    run: async (r) => {
      const { handle } = await r.open('bad-rollout');
      await decide(handle, 1, 'reject');
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'escalated');
      await handle.signal(resolveSignal, { by: 'bob', reason: 'rolled back by hand' });
      await handle.result();
      await r.save('rollback-rejected-resolved-by-hand.incident', handle);
    },
  },
  {
    name: 'ladder-with-rejection',
    what: 'no known cause (wedged): the emergency ladder, its second step rejected',
    run: async (r) => {
      const { handle } = await r.open('wedged');
      await decide(handle, 1, 'approve');
      await decide(handle, 2, 'reject');
      await decide(handle, 3, 'approve');
      await handle.result();
      await r.save('ladder-with-rejection.incident', handle);
    },
  },
  {
    name: 'unschedulable-resolved-by-hand',
    what: 'escalated for capacity; L2, L3 and status updates pass; closed by hand',
    run: async (r) => {
      const { handle } = await r.open('unschedulable');
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'escalated');
      await r.env.sleep('46m');
      await handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
      await handle.result();
      await r.save('unschedulable-resolved-by-hand.incident', handle);
    },
  },
  {
    name: 'dependency-down-alert-resolved',
    what: 'escalated for a dependency outage; it comes back, the alert resolves, verified and monitored',
    run: async (r) => {
      const { cluster, input, handle } = await r.open('dependency-down');
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'escalated');
      cluster.change((w) => void (w.dependencyUp = true));
      await handle.signal(alertResolvedSignal, { fingerprint: input.alert.fingerprint });
      await handle.result();
      await r.save('dependency-down-alert-resolved.incident', handle);
    },
  },
  {
    name: 'regression-during-monitor',
    what: 'the rollback recovers, the fifth monitor sample sees OOMKills: mitigation re-opens, memory raised',
    run: async (r) => {
      const { cluster, handle } = await r.open('bad-rollout');
      cluster.when('sampleHealth', 5, (w) => void (w.memoryNeed = '400Mi'));
      await decide(handle, 1, 'approve');
      await r.env.sleep('6m');
      await decide(handle, 2, 'approve');
      await handle.result();
      await r.save('regression-during-monitor.incident', handle);
    },
  },
  {
    name: 'approval-carried-over',
    what: 'an alert flood past a low history cap while the approval is open: continued as new, approved in run 2 (both runs)',
    run: async (r) => {
      const { input, handle } = await r.open('bad-rollout', { limits: { continueAsNewAfterEvents: 200 } });
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
      for (let i = 0; i < 150; i++) await handle.signal(alertsSignal, { firing: [input.alert], received: 1000 });
      await waitForStatus(handle, (s) => s.run > 1, 'a second run');
      await decide(handle, 1, 'approve');
      await handle.result();
      await r.save('approval-carried-over.run1.incident', r.env.client.workflow.getHandle(handle.workflowId, handle.signaledRunId));
      await r.save('approval-carried-over.run2.incident', handle);
    },
  },
  {
    name: 'input-while-closing',
    what: 'escalated; a slow pager holds the run at the history cap while people escalate and resolve: the page goes out before run 1 ends, the resolve crosses into run 2 (both runs)',
    run: async (r) => {
      const { cluster, input, handle } = await r.open('unschedulable', { limits: { continueAsNewAfterEvents: 200 } });
      await waitForStatus(handle, (s) => s.phase === 'escalated', 'escalated');
      const slow = cluster.hold((n) => n.channel === 'pager' && n.event === 'acknowledge');
      await handle.signal(acknowledgeSignal, { by: 'bob' });
      await eventually(async () => (slow.caught.length > 0 ? true : undefined), 'the acknowledgement to be in flight');
      for (let i = 0; i < 150; i++) await handle.signal(alertsSignal, { firing: [input.alert], received: 1 });
      await waitForStatus(handle, (s) => s.closing === 'continue', 'run 1 to close');
      await handle.signal(escalateSignal, { by: 'bob', reason: 'needs the platform team', level: 3 });
      await handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
      slow.release();
      await handle.result();
      await r.save('input-while-closing.run1.incident', r.env.client.workflow.getHandle(handle.workflowId, handle.signaledRunId));
      await r.save('input-while-closing.run2.incident', handle);
    },
  },
  {
    name: 'two-person-approved',
    what: 'a namespace under the two-person rule: alice approves, then bob; the rollback applies after the second',
    run: async (r) => {
      const { handle } = await r.open('bad-rollout', {}, { approvers: ['alice', 'bob'], twoPerson: true });
      await decide(handle, 1, 'approve', 'alice');
      await decide(handle, 1, 'approve', 'bob');
      await handle.result();
      await r.save('two-person-approved.incident', handle);
    },
  },
  {
    name: 'signed-decision-approved',
    what: 'decisions count only signed by an approval channel: an unsigned decide is refused (on the timeline), the signed one applies',
    run: async (r) => {
      const channel = { keyId: 'receiver-1', ...newSigningKey() };
      const { handle } = await r.open('bad-rollout', {}, { approvers: ['alice'], decisionKeys: { [channel.keyId]: channel.publicKey } });
      const { pendingApproval } = await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
      await handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] }).catch(() => undefined);
      const expiresAt = new Date((await r.env.currentTimeMs()) + 5 * 60_000);
      const signature = signDecision(channel, { actionKey: pendingApproval?.actionKey ?? '', decision: 'approve', by: 'alice' }, expiresAt);
      await handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve', signature }] });
      await handle.result();
      await r.save('signed-decision-approved.incident', handle);
    },
  },
  {
    name: 'approved-preview-changed',
    what: 'the object changes between the dry-run and the apply: the approval is void, the new dry-run is asked about and approved',
    run: async (r) => {
      const { cluster, handle } = await r.open('scaled-to-zero');
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the scale to await approval');
      cluster.change((w) => void (w.replicas = 1));
      await decide(handle, 1, 'approve', 'alice');
      await waitForStatus(handle, (s) => s.pendingApproval?.preview.changes[0]?.startsWith('replicas 1 ->') === true, 'the new dry-run');
      await decide(handle, 1, 'approve', 'bob');
      await handle.result();
      await r.save('approved-preview-changed.incident', handle);
    },
  },
  {
    name: 'expired-reproposed',
    what: 'no decision in time: L2 paged; bob proposes the rollback again; looked at again, dry-run, approved',
    run: async (r) => {
      const { handle } = await r.open('bad-rollout', { durations: { approvalTimeout: '5m' } });
      await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
      await r.env.sleep('6m');
      await waitForStatus(handle, (s) => s.phase === 'escalated' && s.actions[0]?.outcome === 'expired', 'the approval to expire');
      await handle.executeUpdate(reproposeUpdate, { args: [{ by: 'bob', action: 1 }] });
      await decide(handle, 2, 'approve', 'bob');
      await handle.result();
      await r.save('expired-reproposed.incident', handle);
    },
  },
  {
    name: 'follow-ups',
    what: "oom-approved's follow-up saved while it waits for the month's tasks, then bad-rollout-approved's run to completion (last: see Recorder.followUps)",
    run: async (r) => {
      const midMonth = r.followUps.get('oom-approved');
      const complete = r.followUps.get('bad-rollout-approved');
      if (!midMonth || !complete) throw new Error('the follow-ups of oom-approved and bad-rollout-approved are recorded after their incidents');
      const both = [midMonth, complete];
      await r.env.sleep('1h');
      for (const h of both) await r.completeTasks(h, 'immediate');
      await r.env.sleep('8d');
      for (const h of both) await r.completeTasks(h, 'follow-up');
      // Still open (a partial history replays as far as it goes): a follow-up in production is open for a month.
      await r.save('oom-approved.mid-month.post-incident', await r.whenWaiting(midMonth));
      await r.env.sleep('22d');
      await r.completeTasks(complete, 'long-term');
      await complete.result();
      await r.save('bad-rollout-approved.post-incident', complete);
    },
  },
];

async function main(): Promise<void> {
  const { release, force } = parse();
  const target = join(releasesDir, release);
  if (existsSync(target) && !force) {
    console.error(
      `${target} exists: the histories of a released version are a record of what runs in production and are not re-recorded.\n` +
        'Record the next release under its own version, or pass --force for a release that has not shipped.',
    );
    process.exit(1);
  }
  // Written aside and moved in when complete: a failed recording leaves no half release behind.
  const dir = mkdtempSync(join(tmpdir(), `histories-${release}-`));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const began = Date.now();
  console.log(`recording release ${release} into ${target}`);
  const env = await timeSkippingEnv();
  try {
    const fleet = new FakeFleet();
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(resolve(repoRoot, 'workflows/index.ts')),
      activities: fleet.activities,
    });
    const recorder = new Recorder(env, fleet, dir);
    await worker.runUntil(async () => {
      for (const [i, lifecycle] of lifecycles.entries()) {
        const t0 = Date.now();
        const before = Object.keys(recorder.manifest).length;
        process.stdout.write(`[${i + 1}/${lifecycles.length}] ${lifecycle.name}: ${lifecycle.what} ... `);
        await lifecycle.run(recorder);
        const files = Object.keys(recorder.manifest).slice(before);
        console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${files.join(', ')}`);
      }
    });
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(recorder.manifest, null, 2)}\n`);
    rmSync(target, { recursive: true, force: true });
    cpSync(dir, target, { recursive: true });
    console.log(`${Object.keys(recorder.manifest).length} histories of release ${release} in ${target} (${((Date.now() - began) / 1000).toFixed(0)} s)`);
  } finally {
    await env.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof UsageError ? `${err.message}\n${usage}` : err);
  process.exit(1);
});
