// The workflows the incident worker registers (its workflowsPath points here).
// Only workflow functions are exported: the worker registers every export.
export { incidentWorkflow } from './incident.js';
export { postIncidentWorkflow } from './post-incident.js';
