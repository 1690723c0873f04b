// Many incidents reach one governor or one major incident at once: when two
// signal-with-starts race, the loser is told "already started" though the workflow
// runs. Its signal must still arrive, at once, not after a retry (seen in CI: a
// lease request retried late, after the other incident had released its lease).
import { describe, expect, it } from 'vitest';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { joinMajorIncident } from '../../activities/major-incident.js';
import type { MajorJoin } from '../../workflows/messages.js';

function racingClient(signalled: { workflowId: string; signal: string; args: unknown[] }[]): Client {
  const workflow = {
    signalWithStart: () =>
      Promise.reject(new WorkflowExecutionAlreadyStartedError('Workflow execution already started', 'major-east-0123abcd', 'majorIncidentWorkflow')),
    getHandle: (workflowId: string) => ({
      signal: (signal: string, ...args: unknown[]) => {
        signalled.push({ workflowId, signal, args });
        return Promise.resolve();
      },
    }),
  };
  return { workflow } as unknown as Client;
}

describe('signal-with-start that loses the start race', () => {
  it('signals the workflow that is already running, with the same signal and arguments', async () => {
    const signalled: { workflowId: string; signal: string; args: unknown[] }[] = [];
    const child = { incidentId: 'incident/east/default/orders' } as MajorJoin;
    const joined = await joinMajorIncident(
      { major: { majorId: 'major-east-0123abcd', cluster: 'east', cause: { key: 'dependency:pg', label: 'dependency pg unreachable' } }, child },
      racingClient(signalled),
    );
    expect(joined).toEqual({ majorId: 'major-east-0123abcd' });
    expect(signalled).toEqual([{ workflowId: 'major-east-0123abcd', signal: 'joinMajor', args: [child] }]);
  });
});
