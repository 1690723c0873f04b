// Joins a child incident to the major incident of its common cause: signal-with-start
// through the worker's own client, so the first service of a storm opens the parent
// and every later one joins it. The parent answers with a signal (majorRole).
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
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
