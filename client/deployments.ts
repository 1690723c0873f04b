// The operator's view of the worker's Temporal Worker Deployment: its versions
// (builds), which one is current, how many open incidents and follow-ups each
// still has, promotion of a build to current, and whether an old build is
// drained so that its workers can be stopped. README, "Deploying a new worker
// version", is the runbook these serve.
//
// Facts checked on the dev server of CLI v1.5.1 (server 1.29.1), which the
// deploy test (test/deploy/worker-versioning.dev-server.test.ts) keeps true:
// - visibility names a run's version `name:build` in TemporalWorkerDeploymentVersion
//   (the deprecated `version` string of DescribeWorkflow says `name.build`), and
//   its behavior as 'Pinned' or 'AutoUpgrade' in TemporalWorkflowVersioningBehavior;
// - an AUTO_UPGRADE run (a follow-up) keeps its old version in visibility until its
//   next workflow task, which runs on the current build: it does not hold a build;
// - a PINNED run (an incident) stays on its build to the end, through
//   continue-as-new; a child it starts (the follow-up) begins on the parent's
//   build and shows as Pinned there until its first workflow task completes, then
//   as AutoUpgrade, and moves to the current build at its next task;
// - a workflow task completed with a versioning behavior by an unversioned worker
//   is refused (workflows/versioning.ts declares it only on versioned workers).
import type { Client } from '@temporalio/client';

/** What a version is to the deployment's routing. */
export type VersionStatus = 'current' | 'ramping' | 'draining' | 'drained' | 'inactive' | 'created' | 'unknown';

// temporal.api.enums.v1.WorkerDeploymentVersionStatus
const statusNames: Record<number, VersionStatus> = { 1: 'inactive', 2: 'current', 3: 'ramping', 4: 'draining', 5: 'drained', 6: 'created' };

export interface OpenRuns {
  /** Open incidents pinned to the build: the build must keep a worker until they close. */
  incidents: number;
  /** Open follow-ups visibility still shows on the build: they move to the current build at their next step. */
  followUps: number;
  /** Every open run pinned to the build (incidents, and anything else pinned there). */
  pinned: number;
}

export interface VersionReport extends OpenRuns {
  buildId: string;
  status: VersionStatus;
  /** True when the build may be stopped: not current or ramping, and no open run pinned to it. */
  drained: boolean;
}

export interface DeploymentReport {
  name: string;
  /** The current build; undefined when new work goes to unversioned workers. */
  current?: string;
  versions: VersionReport[];
  /** Open runs with no version: started by an unversioned worker. */
  unversioned: Omit<OpenRuns, 'pinned'>;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const running = `ExecutionStatus = 'Running'`;

/** One build of one Worker Deployment, as visibility names it. */
export function versionQuery(deploymentName: string, buildId: string): string {
  return `TemporalWorkerDeploymentVersion = ${quote(`${deploymentName}:${buildId}`)}`;
}

export class WorkerDeployments {
  constructor(
    private readonly client: Client,
    readonly name: string,
  ) {}

  private get namespace(): string {
    return this.client.options.namespace;
  }

  private async count(query: string): Promise<number> {
    return (await this.client.workflow.count(query)).count;
  }

  /** Open runs on one build, from visibility (it follows the server by a moment). */
  async openRuns(buildId: string): Promise<OpenRuns> {
    const version = versionQuery(this.name, buildId);
    const [incidents, followUps, pinned] = await Promise.all([
      this.count(`${version} AND ${running} AND WorkflowType = 'incidentWorkflow'`),
      this.count(`${version} AND ${running} AND WorkflowType = 'postIncidentWorkflow'`),
      this.count(`${version} AND ${running} AND TemporalWorkflowVersioningBehavior = 'Pinned'`),
    ]);
    return { incidents, followUps, pinned };
  }

  /** The deployment's builds with their routing status and open runs; undefined when no versioned worker ever polled. */
  async describe(): Promise<DeploymentReport | undefined> {
    let info;
    try {
      info = (await this.client.workflowService.describeWorkerDeployment({ namespace: this.namespace, deploymentName: this.name })).workerDeploymentInfo;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
    const ramping = info?.routingConfig?.rampingDeploymentVersion?.buildId ?? undefined;
    const versions: VersionReport[] = [];
    for (const summary of info?.versionSummaries ?? []) {
      const buildId = summary.deploymentVersion?.buildId;
      if (!buildId) continue;
      const status = buildId === current ? 'current' : buildId === ramping ? 'ramping' : (statusNames[summary.status ?? 0] ?? 'unknown');
      const open = await this.openRuns(buildId);
      versions.push({ buildId, status, ...open, drained: status !== 'current' && status !== 'ramping' && open.pinned === 0 });
    }
    const none = `TemporalWorkerDeploymentVersion IS NULL AND ${running}`;
    const [incidents, followUps] = await Promise.all([
      this.count(`${none} AND WorkflowType = 'incidentWorkflow'`),
      this.count(`${none} AND WorkflowType = 'postIncidentWorkflow'`),
    ]);
    return { name: this.name, ...(current ? { current } : {}), versions, unversioned: { incidents, followUps } };
  }

  /**
   * Makes the build current: new incidents start on it, follow-ups move to it.
   * The server refuses a build none of whose workers has polled yet; this waits
   * up to `waitMs` for one (a worker that just started), then gives up.
   */
  async promote(buildId: string, waitMs = 0): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await this.client.workflowService.setWorkerDeploymentCurrentVersion({
          namespace: this.namespace,
          deploymentName: this.name,
          buildId,
          identity: this.client.options.identity,
        });
        return;
      } catch (err) {
        const notPolled = isNotFound(err) || /pollers|not found/i.test(err instanceof Error ? err.message : '');
        if (!notPolled || Date.now() >= deadline) {
          throw new Error(
            `cannot make ${this.name}:${buildId} current: ${err instanceof Error ? err.message : String(err)} (has a worker with WORKER_BUILD_ID=${buildId} started and polled?)`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Sends new work to unversioned workers again (the deployment's current version becomes "unversioned"). */
  async promoteUnversioned(): Promise<void> {
    await this.client.workflowService.setWorkerDeploymentCurrentVersion({
      namespace: this.namespace,
      deploymentName: this.name,
      buildId: '',
      identity: this.client.options.identity,
    });
  }

  /** Whether the build's workers may be stopped, and if not, why. */
  async drained(buildId: string): Promise<{ drained: boolean; reason: string; open: OpenRuns }> {
    const report = await this.describe();
    const version = report?.versions.find((v) => v.buildId === buildId);
    if (!report || !version) {
      const open = await this.openRuns(buildId);
      return { drained: open.pinned === 0, reason: `${this.name}:${buildId} is not a version of the deployment (no worker of it has polled)`, open };
    }
    const open = { incidents: version.incidents, followUps: version.followUps, pinned: version.pinned };
    if (version.status === 'current' || version.status === 'ramping') {
      return { drained: false, reason: `${this.name}:${buildId} is ${version.status}: new incidents go to it`, open };
    }
    if (version.pinned > 0) {
      return {
        drained: false,
        reason: `${version.pinned} open run(s) pinned to ${this.name}:${buildId} (${version.incidents} incident(s)): they finish there`,
        open,
      };
    }
    const moving = version.followUps > 0 ? `; ${version.followUps} follow-up(s) still shown on it move to the current build at their next step` : '';
    return { drained: true, reason: `${this.name}:${buildId} is drained: no open run is pinned to it, its workers can be stopped${moving}`, open };
  }
}

function isNotFound(err: unknown): boolean {
  // gRPC NOT_FOUND (5) and FAILED_PRECONDITION (9): no such deployment, or none of its workers has polled.
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 5 || code === 9;
}
