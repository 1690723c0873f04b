// The workflows the incident worker registers (its workflowsPath points here).
// Only workflow functions are exported: the worker registers every export.
//
// Each declares its versioning behavior, which counts when the worker is
// versioned (WORKER_BUILD_ID set; an unversioned worker ignores it):
// - an incident is PINNED: it lasts hours and finishes on the build that opened
//   it, so a deploy never changes the code under an open incident (its old build
//   drains; a continue-as-new run stays on that build too);
// - the remediation governor is AUTO_UPGRADE: it lives as long as its cluster, so
//   it moves to each new build like a follow-up (changes to governor.ts go behind
//   patched());
// - a post-incident follow-up is AUTO_UPGRADE: it lives a month, so it moves to
//   each new current build at its next step, and every change to
//   post-incident.ts goes behind patched().
import { setWorkflowOptions } from '@temporalio/workflow';
import { remediationGovernorWorkflow } from './governor.js';
import { incidentWorkflow } from './incident.js';
import { postIncidentWorkflow } from './post-incident.js';
import { majorIncidentWorkflow } from './major-incident.js';
import { whenVersioned } from './versioning.js';

setWorkflowOptions(whenVersioned('PINNED'), incidentWorkflow);
setWorkflowOptions(whenVersioned('AUTO_UPGRADE'), postIncidentWorkflow);
// A major incident lives as long as its children: pinned like them.
setWorkflowOptions(whenVersioned('PINNED'), majorIncidentWorkflow);

setWorkflowOptions(whenVersioned('AUTO_UPGRADE'), remediationGovernorWorkflow);

export { incidentWorkflow, postIncidentWorkflow, majorIncidentWorkflow, remediationGovernorWorkflow };
