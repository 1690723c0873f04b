// Signal-with-start of a long-lived workflow (a cluster's governor, a storm's major
// incident) that many incidents reach at once. Two concurrent calls may both try the
// start: the loser is told "already started" though the workflow runs, so it
// signals the running workflow instead of failing (and waiting out a retry).
import { WorkflowExecutionAlreadyStartedError, type Client, type WithWorkflowArgs, type WorkflowSignalWithStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/workflow';

export async function signalWithStart<W extends Workflow, A extends unknown[]>(
  client: Client,
  workflowType: string,
  options: WithWorkflowArgs<W, WorkflowSignalWithStartOptions<A>>,
): Promise<void> {
  try {
    await client.workflow.signalWithStart<W, A>(workflowType, options);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const signal = typeof options.signal === 'string' ? options.signal : options.signal.name;
    await client.workflow.getHandle(options.workflowId).signal(signal, ...(options.signalArgs ?? []));
  }
}
