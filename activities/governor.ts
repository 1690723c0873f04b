// The incident's side of the remediation governor: a lease request signal-with-starts
// governor/<cluster> (workflows/governor.ts) with this worker's governor policy, and
// a release signals it. The policy is the worker's configuration (GOVERNOR_*,
// worker/config.ts), never anything in the incident's input. The client is the
// worker's own (the activity context's), on the worker's namespace and task queue.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { remediationGovernorWorkflow } from '../workflows/governor.js';
import { signalWithStart } from './signal-with-start.js';
import { governorWorkflowId, releaseLeaseSignal, requestLeaseSignal } from '../workflows/messages.js';
import type { GovernorPolicy, LeaseRelease, LeaseRequest } from '../workflows/model/governor.js';

export function governorActivities(policy: GovernorPolicy) {
  return {
    async requestChangeLease(request: Omit<LeaseRequest, 'policy'>): Promise<{ maxWaitMs: number }> {
      const context = Context.current();
      await signalWithStart<typeof remediationGovernorWorkflow, [LeaseRequest]>(context.client, 'remediationGovernorWorkflow', {
        workflowId: governorWorkflowId(request.service.cluster),
        taskQueue: context.info.taskQueue,
        args: [{ cluster: request.service.cluster, policy }],
        signal: requestLeaseSignal,
        signalArgs: [{ ...request, policy }],
        staticSummary: `Remediation governor of cluster ${request.service.cluster}`,
      });
      return { maxWaitMs: policy.maxWait };
    },
    async releaseChangeLease(release: LeaseRelease): Promise<void> {
      const handle = Context.current().client.workflow.getHandle(governorWorkflowId(release.service.cluster));
      await handle.signal(releaseLeaseSignal, release).catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
    },
  };
}
