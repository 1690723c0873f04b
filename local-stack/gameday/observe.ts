// What a workflow is doing, as Temporal's server sees it (DescribeWorkflowExecution):
// its status, its IncidentPhase search attribute and its pending activities
// with the worker that runs each. Served by Temporal alone, so it answers while
// no worker runs (a query would not).
import type { Client } from '@temporalio/client';
import { IncidentPhase } from '../../workflows/search-attributes.js';

export interface PendingActivity {
  type: string;
  state: 'scheduled' | 'started' | 'other';
  attempt: number;
  /** `<pid>@<host>` of the worker that last started it. */
  worker?: string;
}

export interface WorkflowView {
  /** RUNNING, COMPLETED, CONTINUED_AS_NEW, ... of the latest run. */
  status: string;
  phase?: string;
  pending: PendingActivity[];
}

// temporal.api.enums.v1.PendingActivityState
const activityStates: Record<number, PendingActivity['state']> = { 1: 'scheduled', 2: 'started' };

/** The latest run of `workflowId`; undefined if there is none yet or Temporal does not answer within `timeoutMs`. */
export async function viewWorkflow(client: Client, workflowId: string, timeoutMs = 3_000): Promise<WorkflowView | undefined> {
  try {
    const d = await client.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(workflowId).describe());
    const phase = d.typedSearchAttributes.get(IncidentPhase);
    return {
      status: d.status.name,
      ...(phase !== undefined ? { phase } : {}),
      pending: (d.raw.pendingActivities ?? []).map((a) => ({
        type: a.activityType?.name ?? '?',
        state: activityStates[Number(a.state)] ?? 'other',
        attempt: a.attempt ?? 0,
        ...(a.lastWorkerIdentity ? { worker: a.lastWorkerIdentity } : {}),
      })),
    };
  } catch {
    return undefined;
  }
}

/** Whether a run of the workflow is open (RUNNING): a continue-as-new shows as the next run. */
export const isOpen = (v: WorkflowView | undefined): boolean => v?.status === 'RUNNING';
