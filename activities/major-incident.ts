// Joins a child incident to the major incident of its common cause: signal-with-start
// through the worker's own client, so the first service of a storm opens the parent
// and every later one joins it. The parent answers with a signal (majorRole).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { signalWithStart } from './signal-with-start.js';
import { joinMajorSignal, majorIncidentStartOptions, type MajorIncidentInput, type MajorJoin } from '../workflows/messages.js';

export interface JoinMajorRequest {
  major: MajorIncidentInput;
  child: MajorJoin;
}

/** Signal-with-start of the parent with the child's join; `client` defaults to the worker's (the activity context's). */
export async function joinMajorIncident(request: JoinMajorRequest, client: Client = Context.current().client): Promise<{ majorId: string }> {
  await signalWithStart(client, 'majorIncidentWorkflow', {
    ...majorIncidentStartOptions(request.major),
    signal: joinMajorSignal,
    signalArgs: [request.child],
  });
  return { majorId: request.major.majorId };
}

/** An incident that has ended, and how (its Temporal status; NOT_FOUND once retention removed it). */
export interface EndedIncident {
  incidentId: string;
  status: string;
}

/**
 * Which of these incidents are no longer running: the major incident's check on children
 * that ended without reporting resolved (terminated by hand, failed). Running ones, and
 * those in the middle of a continue-as-new, are left out.
 */
export async function endedIncidents(incidentIds: string[], client: Client = Context.current().client): Promise<EndedIncident[]> {
  const ended: EndedIncident[] = [];
  // A few at a time: a storm has hundreds of children, and a describe is cheap.
  for (let i = 0; i < incidentIds.length; i += 20) {
    const found = await Promise.all(
      incidentIds.slice(i, i + 20).map(async (incidentId) => {
        try {
          const status = (await client.workflow.getHandle(incidentId).describe()).status.name;
          return status === 'RUNNING' || status === 'CONTINUED_AS_NEW' ? undefined : { incidentId, status };
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { incidentId, status: 'NOT_FOUND' };
          throw err;
        }
      }),
    );
    for (const f of found) if (f) ended.push(f);
    Context.current().heartbeat(i);
  }
  return ended;
}
